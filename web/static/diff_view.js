// Source diffs, drawn by diff2html (served from npm as /vendor/diff2html.min.js)
// from git-format diff text, side by side or unified.
//
// This is the one place where markup that is not built with el() enters the
// page: diff2html generates it and escapes every line and file name of the
// diff itself (tests/e2e checks that a snapshot file holding <script> and a
// file named with markup show up as text). Nothing else is passed through.
import {el} from "./dom.js";

export const haveDiff2Html = () => typeof window.Diff2Html === "object";

// Fills container with the diff; format: "side-by-side" or "unified".
export function renderDiff(container, diffText, format) {
  if (!haveDiff2Html()) {
    container.replaceChildren(el("p", {class: "error"},
      "Diff views need diff2html: run scripts/install-deps.sh."));
    return;
  }
  // Orchard writes "new file" / "deleted file" under "diff --git"; diff2html
  // knows git's "new file mode M" form (without it, an added file reads as renamed).
  diffText = diffText.replace(/^(diff --git [^\n]*\n)(new|deleted) file\n/gm, "$1$2 file mode 100644\n");
  const html = window.Diff2Html.html(diffText, {
    outputFormat: format === "unified" ? "line-by-line" : "side-by-side",
    drawFileList: true,
    fileListToggle: false,
    matching: "lines",
    diffStyle: "word",
    colorScheme: "light",
  });
  container.className = `diff-view diff-${format}`;
  container.innerHTML = html;
}

// A diff with a side-by-side / unified switch; the choice is remembered.
export function diffWithSwitch(parent, diffText) {
  let format = localStorage.getItem("orchard.diffFormat") || "side-by-side";
  const view = el("div", {class: "diff-view"});
  const buttons = ["side-by-side", "unified"].map((f) => el("button", {
    type: "button", "data-format": f, onclick: () => { format = f; draw(); },
  }, f === "unified" ? "Unified" : "Side by side"));
  const draw = () => {
    localStorage.setItem("orchard.diffFormat", format);
    for (const b of buttons) b.classList.toggle("active", b.dataset.format === format);
    renderDiff(view, diffText, format);
  };
  parent.append(el("div", {class: "toolbar"}, el("span", {class: "seg"}, buttons)), view);
  draw();
}
