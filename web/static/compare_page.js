// Compare 2 to 100 runs (/api/compare): flags with the differing ones
// highlighted, final metrics side by side (the best marked), overlaid metric
// curves, the source-code diff of two of them (/api/diff, side by side or
// unified) and the environment diff.
import {api, compareHref, el, enc, fmt, fmtDuration, fmtTime, message, runHref, section,
  statusBadge, tagChips, throttle, tuneHref} from "./dom.js";
import {lineOption, makeChart, palette} from "./charts.js";
import {diffWithSwitch} from "./diff_view.js";

const colorOf = (i) => palette[i % palette.length];
const label = (r) => r.name ? `${r.name} · ${r.id.slice(0, 8)}` : r.id.slice(0, 8);

function swatch(i) {
  const s = el("span", {class: "swatch"});
  s.style.background = colorOf(i);
  return s;
}

// A table of key -> one value per run, differing rows marked, with an
// "only differing" switch.
function valuesTable(parent, runs, values, differing, id, onlyDiffering) {
  const diff = new Set(differing);
  const keys = Object.keys(values).sort();
  if (!keys.length) { parent.append(message("Nothing recorded.")); return; }
  const body = el("tbody");
  const draw = (only) => {
    const shown = keys.filter((k) => !only || diff.has(k));
    body.replaceChildren(...shown.map((k) => el("tr", {class: diff.has(k) ? "differs" : null, "data-key": k},
      el("th", {}, k), values[k].map((v) => el("td", {class: typeof v === "number" ? "num" : null},
        v === null ? "—" : fmt(v))))));
    if (!shown.length) {
      body.append(el("tr", {}, el("td", {colspan: runs.length + 1, class: "note"}, `All ${keys.length} are the same.`)));
    }
  };
  const box = el("input", {type: "checkbox", checked: onlyDiffering, onchange: (e) => draw(e.target.checked)});
  parent.append(el("label", {class: "choice"}, box, ` only the ${diff.size} that differ`),
    el("table", {class: "compare", id}, el("thead", {}, el("tr", {}, el("th", {}),
      runs.map((r, i) => el("th", {}, swatch(i), label(r))))), body));
  draw(onlyDiffering);
}

export async function comparePage(root, route) {
  const ids = (route.params.get("ids") || "").split(",").map((s) => s.trim()).filter(Boolean);
  if (ids.length < 2) {
    root.append(el("h1", {}, "Compare runs"), message("Select two or more runs in the runs table to compare them."),
      el("a", {href: "#/runs"}, "Back to the runs"));
    return null;
  }
  const cmp = await api(`/api/compare?runs=${ids.map(enc).join(",")}`);
  if (!route.alive()) return null;
  const runs = cmp.runs;
  document.title = `Compare ${runs.length} runs · Orchard`;
  root.append(el("h1", {}, `Compare ${runs.length} runs`));

  const without = (i) => compareHref(runs.filter((_, j) => j !== i).map((r) => r.id));
  root.append(el("table", {class: "runs", id: "compare-runs"},
    el("thead", {}, el("tr", {}, ["", "run", "name", "status", "tune", "created", "duration", "commit", "tags", ""]
      .map((h) => el("th", {}, h)))),
    el("tbody", {}, runs.map((r, i) => el("tr", {"data-run": r.id},
      el("td", {}, swatch(i)), el("td", {}, el("a", {href: runHref(r.id)}, r.id.slice(0, 8))),
      el("td", {}, r.name || ""), el("td", {}, statusBadge(r.status)),
      el("td", {}, r.tune ? el("a", {href: tuneHref(r.tune)}, r.tune.slice(0, 8)) : ""),
      el("td", {}, fmtTime(r.created)), el("td", {}, fmtDuration(r.duration)),
      el("td", {}, el("code", {}, (r.commit || "").slice(0, 10)), r.dirty ? " (dirty)" : ""),
      el("td", {}, tagChips(r.tags)),
      el("td", {}, runs.length > 2 ? el("a", {href: without(i), title: "leave this run out"}, "×") : ""))))));

  valuesTable(section(root, "Flags"), runs, cmp.flags.values, cmp.flags.differing, "compare-flags", false);

  // Final metrics, the best of each marked.
  const metricsBody = section(root, "Final metrics");
  const names = Object.keys(cmp.metrics.values).sort();
  if (!names.length) metricsBody.append(message("None of these runs reported metrics."));
  else {
    metricsBody.append(el("table", {class: "compare", id: "compare-metrics"},
      el("thead", {}, el("tr", {}, el("th", {}, "metric (last value)"), runs.map((r, i) => el("th", {}, swatch(i), label(r))))),
      el("tbody", {}, names.map((n) => el("tr", {"data-key": n}, el("th", {}, n),
        cmp.metrics.values[n].map((m, i) => m ? el("td", {
          class: "num" + (cmp.metrics.best[n] === runs[i].id ? " best" : ""),
          title: `min ${fmt(m.min)}, max ${fmt(m.max)}, ${m.count} points, last step ${m.last_step}`,
        }, fmt(m.last)) : el("td", {}, "—")))))));
  }

  // Overlaid curves, a chart per metric, a line per run in its colour.
  const curves = section(root, "Curves");
  const chartGrid = el("div", {class: "charts"});
  const charts = new Map();
  curves.append(chartGrid);
  const drawCurves = async () => {
    const body = await api(`/api/metrics?runs=${runs.map((r) => enc(r.id)).join(",")}`);
    if (!route.alive()) return;
    const byName = new Map();
    for (const s of body.series) {
      if (!byName.has(s.name)) byName.set(s.name, []);
      const i = runs.findIndex((r) => r.id === s.run);
      byName.get(s.name).push({name: label(runs[i]), points: s.points, color: colorOf(i), i});
    }
    for (const name of [...byName.keys()].sort()) {
      if (!charts.has(name)) charts.set(name, makeChart(chartGrid, name));
      const chart = charts.get(name);
      if (chart) chart.setOption(lineOption(byName.get(name).sort((a, b) => a.i - b.i)), {notMerge: true});
    }
    if (!byName.size && !chartGrid.previousSibling) curves.prepend(message("No metric series to draw."));
  };

  // The code diff of two of the runs.
  const codeBody = section(root, "Code diff");
  const pick = (name, at) => el("select", {name, "aria-label": name}, runs.map((r, i) =>
    el("option", {value: r.id, selected: i === at}, label(r))));
  const selA = pick("base", 0), selB = pick("other", 1);
  const diffBox = el("div", {id: "compare-diff"});
  let asked = 0;  // the latest diff asked for wins
  const drawDiff = async () => {
    const mine = ++asked;
    diffBox.replaceChildren(message("Loading the diff…"));
    let d;
    try {
      d = await api(`/api/diff?a=${enc(selA.value)}&b=${enc(selB.value)}`);
    } catch (e) {
      if (mine === asked) diffBox.replaceChildren(el("p", {class: "error"}, e.message));
      return;
    }
    if (!route.alive() || mine !== asked) return;
    diffBox.replaceChildren();
    for (const n of d.notes || []) diffBox.append(message(n));
    const changed = d.files.length;
    diffBox.append(el("p", {}, changed ? `${changed} file${changed > 1 ? "s" : ""} changed from ` :
      "The code snapshots hold the same files: ", el("code", {}, label(d.a)), " to ", el("code", {}, label(d.b)), "."));
    if (d.unified) diffWithSwitch(diffBox, d.unified);
  };
  selA.addEventListener("change", drawDiff);
  selB.addEventListener("change", drawDiff);
  if (runs.length > 2) codeBody.append(el("div", {class: "toolbar"}, "from ", selA, " to ", selB));
  codeBody.append(diffBox);

  valuesTable(section(root, "Environment"), runs, cmp.env.values, cmp.env.differing, "compare-env", true);

  await Promise.all([drawCurves(), drawDiff()]);
  // Curves of runs still going follow their new points.
  const redraw = throttle(() => drawCurves().catch(() => {}), 1000);
  return {
    onEvent(type, d) { if (type === "metrics" && runs.some((r) => r.id === d.run)) redraw(); },
    dispose() { redraw.cancel(); },
  };
}
