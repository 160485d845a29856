// Run: everything recorded about one run (/api/runs/ID): status and times,
// flags, live metric curves, logs, artifacts to download, the code snapshot
// and the environment. Follows the run while it is active.
import {api, el, enc, flatten, fmt, fmtBytes, fmtDuration, fmtTime, message, section,
  statusBadge, table, tagChips, throttle, tuneHref} from "./dom.js";
import {lineOption, makeChart} from "./charts.js";
import {diffWithSwitch} from "./diff_view.js";

const shellQuote = (a) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
export const artifactHref = (run, path, inline) =>
  `/api/runs/${enc(run)}/artifacts/${path.split("/").map(enc).join("/")}${inline ? "?inline=1" : ""}`;
const kInline = /\.(png|jpe?g|gif|txt|log|csv)$/i;

export async function runPage(root, route) {
  let run = await api(`/api/runs/${enc(route.arg)}`);
  if (!route.alive()) return null;
  const id = run.id;
  const head = el("div", {class: "page-head"});
  const overview = el("div", {class: "grid2"});
  root.append(head, overview);
  const metricsBody = section(root, "Metrics");
  const logsBody = section(root, "Logs");
  const artifactsBody = section(root, "Artifacts");
  const codeBody = section(root, "Code");
  const envBody = section(root, "Environment");

  function drawHead() {
    const title = run.name || run.id;
    document.title = `${title} · Orchard`;
    head.replaceChildren(
      el("h1", {id: "run-title"}, title, " ", statusBadge(run.status)),
      el("div", {class: "sub"}, el("code", {}, run.id), " ", ...tagChips(run.tags),
        run.tune ? [" · trial ", String(run.trial ?? ""), " of tune ",
          el("a", {href: tuneHref(run.tune)}, run.tune.slice(0, 8))] : null));
    const kv = [["status", statusBadge(run.status)], ["exit code", fmt(run.exit_code)],
      ["error", run.error], ["created", fmtTime(run.created)], ["started", fmtTime(run.started)],
      ["finished", fmtTime(run.finished)], ["duration", fmtDuration(run.duration)],
      ["host", run.host], ["pid", fmt(run.pid)], ["seed", fmt(run.seed)],
      ["attempt", fmt(run.attempt)], ["command", el("code", {}, (run.command || []).map(shellQuote).join(" "))],
      ["run folder", el("code", {}, run.run_dir)], ["working folder", el("code", {}, run.cwd)],
      ["notes", run.notes]].filter(([, v]) => v !== null && v !== undefined && v !== "");
    const flags = Object.entries(run.flags || {});
    overview.replaceChildren(
      el("section", {}, el("h2", {}, "Overview"), table(["", ""], kv, {class: "kv"})),
      el("section", {}, el("h2", {}, "Flags"), flags.length ?
        table(["flag", "value"], flags.map(([k, v]) => [k, fmt(v)]), {class: "kv", id: "run-flags"}) :
        message("No flags.")));
  }

  // Metric curves: a chart per metric, redrawn as points arrive.
  const charts = new Map();
  const summary = el("div");
  const chartGrid = el("div", {class: "charts"});
  metricsBody.append(summary, chartGrid);
  async function loadMetrics() {
    const body = await api(`/api/metrics?runs=${enc(id)}`);
    if (!route.alive()) return;
    summary.replaceChildren(run.metrics.length ? table(["metric", "last", "min", "max", "last step", "points"],
      run.metrics.map((m) => [m.name, fmt(m.last), fmt(m.min), fmt(m.max), fmt(m.last_step), fmt(m.count)]),
      {id: "run-metrics"}) : message("No metrics reported (yet)."));
    for (const s of body.series) {
      if (!charts.has(s.name)) charts.set(s.name, makeChart(chartGrid, s.name));
      const chart = charts.get(s.name);
      const label = s.downsampled ? `${s.name} (${s.points.length} of ${s.count} points)` : s.name;
      if (chart) chart.setOption(lineOption([{name: label, points: s.points}]), {notMerge: true});
    }
  }

  // Logs, tailed with ?after= as chunks arrive.
  const pre = el("pre", {class: "logs", id: "run-logs"});
  const more = el("button", {type: "button", hidden: true, onclick: () => loadLogs()}, "Load more");
  logsBody.append(pre, more);
  let after = 0;
  let loadingLogs = false;
  async function loadLogs() {
    if (loadingLogs) return;
    loadingLogs = true;
    try {
      const body = await api(`/api/runs/${enc(id)}/logs?after=${after}&limit=1000`);
      if (!route.alive()) return;
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      for (const c of body.chunks) pre.append(el("span", {class: `log-${c.stream}`}, c.text));
      after = body.next_after;
      more.hidden = !body.more;
      if (!pre.childNodes.length) pre.append(el("span", {class: "muted"}, "(no output)"));
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    } finally {
      loadingLogs = false;
    }
  }

  async function loadArtifacts() {
    const body = await api(`/api/runs/${enc(id)}/artifacts`);
    if (!route.alive()) return;
    artifactsBody.replaceChildren(body.artifacts.length ? table(["file", "size", "sha256", "modified", ""],
      body.artifacts.map((a) => [el("a", {href: artifactHref(id, a.path), download: a.path.split("/").pop()}, a.path),
        fmtBytes(a.size), el("code", {title: a.sha256}, (a.sha256 || "").slice(0, 12)), fmtTime(a.mtime),
        kInline.test(a.path) ? el("a", {href: artifactHref(id, a.path, true), target: "_blank", rel: "noopener"}, "view") : ""]),
      {id: "run-artifacts"}) :
      message(run.finished ? "No artifacts: the run folder was empty when it ended." :
        "The artifact index is recorded when the run ends."));
  }

  async function loadCode() {
    const c = run.code || {};
    codeBody.replaceChildren(el("p", {}, "commit ", el("code", {}, c.commit || "none"),
      c.dirty ? " (with uncommitted changes)" : ""));
    if (c.diff) {
      codeBody.append(el("h3", {}, "Uncommitted changes (git diff)"));
      diffWithSwitch(codeBody, c.diff);
    }
    let snap;
    try {
      snap = await api(`/api/runs/${enc(id)}/snapshot`);
    } catch (e) {
      if (e.status !== 404) throw e;
      codeBody.append(message("No code snapshot was recorded for this run."));
      return;
    }
    if (!route.alive()) return;
    const list = el("ul", {class: "files", id: "snapshot-files"});
    const view = el("div", {class: "file-view"});
    codeBody.append(el("h3", {}, `Snapshot of ${snap.root || "the source folder"} (${snap.files.length} files)`),
      el("div", {class: "browser"}, list, view));
    const open = async (f, button) => {
      for (const b of list.querySelectorAll("button")) b.classList.toggle("active", b === button);
      const file = await api(`/api/runs/${enc(id)}/snapshot/${f.path.split("/").map(enc).join("/")}`);
      view.replaceChildren(el("div", {class: "file-head"}, el("code", {}, file.path), " ", fmtBytes(file.size)),
        file.binary ? message("A binary file.") : el("pre", {class: "code", id: "snapshot-content"}, file.content));
    };
    for (const f of snap.files) {
      const b = el("button", {type: "button", "data-path": f.path, onclick: () => open(f, b)}, f.path);
      list.append(el("li", {}, b));
    }
    if (snap.skipped && snap.skipped.length) {
      codeBody.append(el("details", {}, el("summary", {}, `${snap.skipped.length} files not recorded`),
        table(["file", "why"], snap.skipped.map((s) => [s.path, s.reason]))));
    }
    if (snap.files.length) open(snap.files[0], list.querySelector("button"));
  }

  function drawEnv() {
    const rows = Object.entries(flatten(run.env || {}));
    envBody.replaceChildren(rows.length ? table(["key", "value"], rows.map(([k, v]) => [k, fmt(v)]),
      {class: "kv", id: "run-env"}) : message("No environment recorded."));
  }

  drawHead();
  drawEnv();
  const guard = (p) => p.catch((e) => route.alive() && root.append(el("p", {class: "error"}, e.message)));
  await Promise.all([guard(loadMetrics()), guard(loadLogs()), guard(loadArtifacts()), guard(loadCode())]);

  const refreshRun = throttle(async () => {
    try { run = await api(`/api/runs/${enc(id)}`); } catch { return; }
    if (!route.alive()) return;
    drawHead();
    drawEnv();
    loadArtifacts().catch(() => {});
  }, 500);
  const refreshMetrics = throttle(async () => {
    try { run = await api(`/api/runs/${enc(id)}`); await loadMetrics(); } catch { /* next event retries */ }
  }, 1000);
  const refreshLogs = throttle(() => loadLogs().catch(() => {}), 500);
  return {
    onEvent(type, d) {
      if (type === "status" && d.id === id) refreshRun();
      else if (type === "metrics" && d.run === id) refreshMetrics();
      else if (type === "logs" && d.run === id) refreshLogs();
      else if (type === "reset") { refreshRun(); refreshMetrics(); refreshLogs(); }
    },
    dispose() { refreshRun.cancel(); refreshMetrics.cancel(); refreshLogs.cancel(); },
  };
}
