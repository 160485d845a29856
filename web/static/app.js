// The dashboard: a hash router over the pages (#/runs, #/run/ID,
// #/compare?ids=a,b, #/tunes, #/tune/ID), one server-sent-event stream
// shared by them (/api/events), and a check that the libraries from npm
// were served.
import {api, el, setText} from "./dom.js";
import {disposeCharts, haveECharts} from "./charts.js";
import {haveDiff2Html} from "./diff_view.js";
import {runsPage} from "./runs_page.js";
import {runPage} from "./run_page.js";
import {comparePage} from "./compare_page.js";
import {tunePage, tunesPage} from "./tune_page.js";

const pages = {runs: runsPage, run: runPage, compare: comparePage, tunes: tunesPage, tune: tunePage};
const root = document.getElementById("app");
const liveBox = document.getElementById("live");
let current = null;  // {name, page: {onEvent?, update?, dispose?}}
let generation = 0;

function parseHash() {
  const h = location.hash.replace(/^#\/?/, "");
  const q = h.indexOf("?");
  const path = q < 0 ? h : h.slice(0, q);
  const [name, ...rest] = path.split("/").map((s) => { try { return decodeURIComponent(s); } catch { return s; } });
  return {name: name || "runs", arg: rest.join("/"), params: new URLSearchParams(q < 0 ? "" : h.slice(q + 1))};
}

async function route() {
  const r = parseHash();
  for (const a of document.querySelectorAll("nav a[data-page]")) {
    a.classList.toggle("active", a.dataset.page === r.name || (a.dataset.page === "runs" && r.name === "run"));
  }
  // A page that can follow its own parameters (the runs table) keeps its
  // state and focus instead of being rebuilt.
  if (current && current.name === r.name && current.page && current.page.update &&
      current.arg === r.arg) {
    current.page.update(r);
    return;
  }
  if (current && current.page && current.page.dispose) current.page.dispose();
  disposeCharts();
  current = {name: r.name, arg: r.arg, page: null};
  const gen = ++generation;
  root.replaceChildren();
  window.scrollTo(0, 0);
  const page = pages[r.name];
  if (!page) {
    root.append(el("p", {class: "error"}, `No page '${r.name}'. `, el("a", {href: "#/runs"}, "Back to the runs")));
    return;
  }
  try {
    const p = await page(root, {...r, alive: () => gen === generation});
    if (gen === generation) current.page = p || null;
  } catch (e) {
    if (gen === generation) root.append(el("p", {class: "error", role: "alert"}, e.message));
  }
}

// Live updates: one EventSource for the whole app; the page decides what to
// reload. A refused stream (too many open) is retried later.
let source = null;
function connect() {
  source = new EventSource("/api/events");
  const on = (text, cls) => { setText(liveBox, text); liveBox.className = cls; };
  source.onopen = () => on("● live", "live-on");
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      on("○ live updates off (retrying)", "live-off");
      setTimeout(connect, 10000);
    } else {
      on("○ reconnecting", "live-off");
    }
  };
  for (const type of ["run", "status", "deleted", "metrics", "logs", "tune", "reset"]) {
    source.addEventListener(type, (e) => {
      let data = {};
      try { data = JSON.parse(e.data); } catch { return; }
      if (current && current.page && current.page.onEvent) current.page.onEvent(type, data);
    });
  }
}

// The libraries come from npm through the binary (/vendor/); say how to get
// them when they did not load.
async function checkLibraries() {
  const missing = [];
  if (!haveECharts()) missing.push("echarts.min.js");
  if (!haveDiff2Html()) missing.push("diff2html.min.js");
  if (!missing.length) return;
  let why = "";
  try { await api(`/vendor/${missing[0]}`); } catch (e) { why = e.message; }
  document.getElementById("banner").replaceChildren(el("div", {class: "banner", role: "alert"},
    el("b", {}, "The dashboard's libraries are not installed. "),
    `Missing: ${missing.join(", ")}. Run scripts/install-deps.sh (it runs npm ci) and reload. `,
    why ? el("span", {class: "why"}, `Server: ${why}`) : null));
}

window.addEventListener("hashchange", route);
checkLibraries();
connect();
route();
