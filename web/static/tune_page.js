// Tunes: the list of tuning sessions (/api/tunes), and one tune
// (/api/tunes/ID): its trials with their states (pruned ones marked), the
// best-so-far curve, a parallel-coordinates plot of flags against the
// objective, and the "export best model" action (POST /api/tunes/ID/export).
import {api, el, enc, fmt, fmtDuration, fmtTime, message, runHref, section, setText,
  statusBadge, table, throttle, tuneHref} from "./dom.js";
import {bestSoFarOption, makeChart, parallelOption} from "./charts.js";

const objectiveText = (o) => o && o.metric ? `${o.metric} (${o.goal}${o.reduce && o.reduce !== "last" ? `, ${o.reduce}` : ""})` : "none";

export async function tunesPage(root, route) {
  document.title = "Tunes · Orchard";
  const box = el("div");
  root.append(el("h1", {}, "Tuning sessions"), box);
  const load = async () => {
    const body = await api("/api/tunes?limit=1000");
    if (!route.alive()) return;
    box.replaceChildren(body.tunes.length ? table(["tune", "name", "status", "method", "trials", "by status",
      "objective", "best", "best run", "created"],
    body.tunes.map((t) => [el("a", {href: tuneHref(t.id)}, t.id.slice(0, 8)), t.name || "", statusBadge(t.status),
      t.method, fmt(t.trials), Object.entries(t.runs_by_status || {}).map(([s, n]) => `${n} ${s}`).join(", "),
      objectiveText(t.objective), fmt(t.best_value),
      t.best_run ? el("a", {href: runHref(t.best_run)}, t.best_run.slice(0, 8)) : "", fmtTime(t.created)]),
    {class: "runs", id: "tunes-table"}) :
      message("No tuning sessions yet: start one with `orchard tune tune.yaml`."));
  };
  await load();
  const reload = throttle(() => load().catch(() => {}), 2000);
  return {
    onEvent(type) { if (["tune", "run", "status", "reset"].includes(type)) reload(); },
    dispose() { reload.cancel(); },
  };
}

export async function tunePage(root, route) {
  let detail = await api(`/api/tunes/${enc(route.arg)}`);
  if (!route.alive()) return null;
  const id = detail.tune.id;
  const head = el("div", {class: "page-head"});
  root.append(head);
  const exportBody = section(root, "Export the best model");
  const historyBody = section(root, "Best so far");
  const parallelBody = section(root, "Flags against the objective");
  const trialsBody = section(root, "Trials");
  const specBody = section(root, "Spec");
  const fixedNote = el("p", {class: "note"});
  const history = makeChart(historyBody, "best so far", "chart wide");
  const parallel = makeChart(parallelBody, "parallel coordinates", "chart wide tall");
  const parallelNote = el("p", {class: "note"});
  parallelBody.append(parallelNote);

  // Export: the server writes the bundle under HOME/exports/NAME.
  const nameInput = el("input", {type: "text", name: "bundle-name", spellcheck: "false",
    placeholder: "bundle name (default tune-TUNE-run-RUN)"});
  const force = el("input", {type: "checkbox", name: "force"});
  const result = el("div", {id: "export-result", "aria-live": "polite"});
  const button = el("button", {type: "button", id: "export-button", onclick: async () => {
    button.disabled = true;
    result.replaceChildren(message("Exporting…"));
    const req = {};
    if (nameInput.value.trim()) req.name = nameInput.value.trim();
    if (force.checked) req.force = true;
    try {
      const r = await api(`/api/tunes/${enc(id)}/export`, {method: "POST",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(req)});
      const card = r.card || {};
      result.replaceChildren(el("div", {class: "ok"},
        el("p", {}, "Exported ", el("a", {href: runHref(r.run)}, r.run.slice(0, 8)), ` (${r.why}) to `),
        el("p", {}, el("code", {id: "export-dir"}, r.dir)),
        table(["", ""], [["format", fmt(card.format)], ["classes", fmt((card.classes || []).length || null)],
          ["files", Object.keys(card.files || {}).join(", ")], ["metrics", fmt(card.metrics)]], {class: "kv"}),
        el("p", {class: "muted"}, `Batch inference: orchard infer --model ${r.dir} …`)));
    } catch (e) {
      result.replaceChildren(el("p", {class: "error", role: "alert"}, e.message));
    } finally {
      button.disabled = false;
    }
  }}, "Export best model");
  exportBody.append(el("div", {class: "toolbar"}, nameInput,
    el("label", {class: "choice"}, force, " replace an existing bundle"), button), result);

  let sortKey = "trial", sortDesc = false;
  function draw() {
    const t = detail.tune;
    const trials = detail.trials;
    document.title = `${t.name || t.id} · tune · Orchard`;
    const counts = {};
    for (const tr of trials) counts[tr.status] = (counts[tr.status] || 0) + 1;
    const best = trials.find((tr) => tr.id === t.best_run);
    head.replaceChildren(el("h1", {id: "tune-title"}, t.name || t.id, " ", statusBadge(t.status)),
      el("div", {class: "sub"}, el("code", {}, t.id), ` · ${t.method} · objective ${objectiveText(t.objective)}`,
        t.seed !== undefined && t.seed !== null ? ` · seed ${t.seed}` : "",
        ` · ${trials.length} trials: `, Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(", ")),
      el("p", {id: "tune-best"}, t.best_run ? ["best: ", el("a", {href: runHref(t.best_run)},
        best && best.name ? best.name : t.best_run.slice(0, 8)), ` = ${fmt(best ? best.value : t.best_value)}`] :
        "no completed trial yet"));
    button.disabled = !t.best_run;

    const metric = t.objective ? t.objective.metric : "objective";
    if (history) history.setOption(bestSoFarOption(metric, trials, detail.best_so_far), {notMerge: true});
    const dims = detail.dimensions.filter((d) => d.varies);
    const drawn = trials.filter((tr) => typeof tr.value === "number").length;
    if (parallel) parallel.setOption(parallelOption(dims.length ? dims : detail.dimensions, metric,
      t.objective ? t.objective.goal : "", trials), {notMerge: true});
    setText(parallelNote, `${drawn} of ${trials.length} trials drawn` +
      (drawn < trials.length ? " (the others reported no objective value)" : "") +
      "; pruned trials are dashed grey. Drag along an axis to select a range.");

    // Tuned flags get a column each; fixed ones are listed once above.
    const flagNames = (dims.length ? dims : detail.dimensions).map((d) => d.name);
    const fixed = detail.dimensions.filter((d) => !d.varies && trials.length)
      .map((d) => `${d.name}=${fmt(trials[0].flags ? trials[0].flags[d.name] : null)}`);
    setText(fixedNote, fixed.length ? `Fixed flags: ${fixed.join(", ")}` : "");
    const cols = [["trial", (tr) => tr.trial], ["run", (tr) => tr.name || tr.id], ["status", (tr) => tr.status],
      ["attempt", (tr) => tr.attempt], ...flagNames.map((f) => [f, (tr) => tr.flags ? tr.flags[f] : null]),
      [metric, (tr) => tr.value], ["last step", (tr) => tr.last_step], ["duration", (tr) => tr.duration]];
    const getter = new Map(cols);
    const val = getter.get(sortKey) || getter.get("trial");
    const sorted = [...trials].sort((a, b) => {
      const x = val(a), y = val(b);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * (sortDesc ? -1 : 1);
    });
    const th = ([name]) => el("th", {class: "sortable", onclick: () => {
      sortDesc = sortKey === name ? !sortDesc : name === metric;
      sortKey = name;
      draw();
    }}, name, sortKey === name ? (sortDesc ? " ▼" : " ▲") : "");
    trialsBody.replaceChildren(fixedNote, el("div", {class: "table-scroll"}, el("table", {class: "runs", id: "trials-table"},
      el("thead", {}, el("tr", {}, cols.map(th))),
      el("tbody", {}, sorted.map((tr) => el("tr", {"data-run": tr.id, "data-status": tr.status,
        class: [tr.id === t.best_run ? "best" : "", tr.pruned ? "pruned" : ""].join(" ").trim() || null},
      el("td", {class: "num"}, fmt(tr.trial)),
      el("td", {}, el("a", {href: runHref(tr.id)}, tr.name || tr.id.slice(0, 8)), tr.id === t.best_run ? " ★" : ""),
      el("td", {}, statusBadge(tr.status)), el("td", {class: "num"}, fmt(tr.attempt)),
      flagNames.map((f) => el("td", {}, fmt(tr.flags ? tr.flags[f] : null))),
      el("td", {class: "num"}, fmt(tr.value)), el("td", {class: "num"}, fmt(tr.last_step)),
      el("td", {}, fmtDuration(tr.duration))))))));
    specBody.replaceChildren(el("pre", {class: "code"}, JSON.stringify(t.spec, null, 2)));
  }
  draw();

  const reload = throttle(async () => {
    try { detail = await api(`/api/tunes/${enc(id)}`); } catch { return; }
    if (route.alive()) draw();
  }, 1000);
  const mine = (run) => detail.trials.some((tr) => tr.id === run);
  return {
    onEvent(type, d) {
      if ((type === "tune" && d.id === id) || (type === "run" && d.tune === id) ||
          (type === "status" && mine(d.id)) || (type === "metrics" && mine(d.run)) || type === "reset") reload();
    },
    dispose() { reload.cancel(); },
  };
}
