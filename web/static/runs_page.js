// Runs: the table of every run, filtered with the CLI's filter language,
// sorted and paged by the server (/api/runs), with a column chooser over the
// store's flags and metrics (/api/fields), a selection to compare, and live
// updates. State lives in the URL: #/runs?filter=&sort=&offset=&limit=&col=...
import {api, compareHref, el, fieldRef, fmtField, runHref, setText, statusBadge, tagChips,
  throttle, tuneHref} from "./dom.js";

const kDefaultColumns = ["id", "name", "status", "tune", "created", "started", "finished",
  "duration", "tags", "flags", "metrics"];
const kPageSizes = [10, 25, 50, 100, 200, 500];
const kDescFirst = new Set(["created", "started", "finished", "duration"]);

// Sort keys written "a,-b" (commas inside quotes belong to a name).
function splitList(text) {
  const out = [];
  let cur = "", quote = "";
  for (const c of text || "") {
    if (quote) { if (c === quote) quote = ""; } else if ("`\"'".includes(c)) quote = c;
    else if (c === ",") { if (cur.trim()) out.push(cur.trim()); cur = ""; continue; }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function parseSort(text) {
  return splitList(text).map((k) => k.startsWith("-") ? {ref: k.slice(1), desc: true} : {ref: k, desc: false});
}
const writeSort = (keys) => keys.map((k) => (k.desc ? "-" : "") + k.ref).join(",");

// The field a column of /api/runs stands for, as a sort key.
function columnRef(c) {
  if (c.kind === "builtin") return c.key;
  if (c.kind === "bare") return "`" + c.name + "`";
  const base = `${c.kind === "flag" ? "flags" : "metrics"}.${c.name}`;
  return fieldRef(c.kind, c.name) + c.key.slice(base.length);  // keeps .max, .min, .count
}

function stateFrom(params) {
  const stored = localStorage.getItem("orchard.columns");
  const cols = params.getAll("col");
  return {
    filter: params.get("filter") || "",
    sort: params.get("sort") || "",
    offset: Math.max(0, parseInt(params.get("offset") || "0", 10) || 0),
    limit: kPageSizes.includes(+params.get("limit")) ? +params.get("limit") :
      +(localStorage.getItem("orchard.pageSize") || 50),
    cols: cols.length ? cols : stored ? JSON.parse(stored) : null,
  };
}

function hashFor(s) {
  const p = new URLSearchParams();
  if (s.filter) p.set("filter", s.filter);
  if (s.sort) p.set("sort", s.sort);
  if (s.offset) p.set("offset", s.offset);
  if (s.limit !== 50) p.set("limit", s.limit);
  for (const c of s.cols || []) p.append("col", c);
  const q = p.toString();
  return "#/runs" + (q ? "?" + q : "");
}

export async function runsPage(root, route) {
  let state = stateFrom(route.params);
  let lastBody = null;
  const selected = new Set();
  const go = (patch) => {
    const h = hashFor({...state, ...patch});
    if (h === location.hash) load(); else location.hash = h;
  };

  const filterInput = el("input", {type: "search", name: "filter", value: state.filter, spellcheck: "false",
    placeholder: "filter, e.g. status = completed and lr < 0.01 and metrics.val_acc.max > 0.8",
    "aria-label": "filter"});
  const filterError = el("p", {class: "error", id: "filter-error", role: "alert"});
  const count = el("span", {class: "count", id: "runs-count"});
  const updated = el("span", {class: "muted"});
  const compareBtn = el("button", {type: "button", id: "compare-selected", disabled: true,
    onclick: () => { location.hash = compareHref([...selected]); }}, "Compare");
  const pageSize = el("select", {"aria-label": "runs per page", onchange: () => {
    localStorage.setItem("orchard.pageSize", pageSize.value);
    go({limit: +pageSize.value, offset: 0});
  }}, kPageSizes.map((n) => el("option", {value: n, selected: n === state.limit}, `${n} per page`)));
  const pager = el("span", {class: "pager"});
  const chooser = el("div", {class: "chooser", id: "column-chooser", hidden: true});
  const tableBox = el("div", {class: "table-scroll"});

  root.append(
    el("form", {class: "toolbar", id: "runs-query", onsubmit: (e) => {
      e.preventDefault();
      go({filter: filterInput.value.trim(), offset: 0});
    }}, filterInput, el("button", {type: "submit"}, "Filter"),
    el("button", {type: "button", onclick: () => { filterInput.value = ""; go({filter: "", offset: 0}); }}, "Clear"),
    el("button", {type: "button", id: "columns-button", onclick: () => toggleChooser()}, "Columns…")),
    filterError, chooser,
    el("div", {class: "toolbar"}, count, pager, pageSize, compareBtn, updated),
    tableBox);

  function refreshCompare() {
    compareBtn.disabled = selected.size < 2 || selected.size > 100;
    setText(compareBtn, selected.size ? `Compare ${selected.size} selected` : "Compare (select 2 or more)");
  }

  // Only the latest request draws: an older one answering late (a live
  // reload, a quick second click) must not overwrite a newer page.
  let requested = 0;
  async function load() {
    const mine = ++requested;
    const p = new URLSearchParams({limit: state.limit, offset: state.offset});
    if (state.filter) p.set("filter", state.filter);
    if (state.sort) p.set("sort", state.sort);
    if (state.cols && state.cols.length) p.set("columns", state.cols.join(","));
    let body;
    try {
      body = await api("/api/runs?" + p);
    } catch (e) {
      if (!route.alive() || mine !== requested) return;
      setText(filterError, e.message);
      return;
    }
    if (!route.alive() || mine !== requested) return;
    setText(filterError, "");
    lastBody = body;
    draw(body);
    setText(updated, `updated ${new Date().toLocaleTimeString()}`);
  }

  function draw(body) {
    const sortKeys = parseSort(state.sort);
    const head = el("tr", {}, el("th", {class: "sel"}, el("input", {type: "checkbox", "aria-label": "select page",
      checked: body.runs.length > 0 && body.runs.every((r) => selected.has(r.id)),
      onchange: (e) => {
        for (const r of body.runs) e.target.checked ? selected.add(r.id) : selected.delete(r.id);
        draw(body);
      }})));
    for (const c of body.columns) {
      const ref = columnRef(c);
      const at = sortKeys.findIndex((k) => k.ref === ref || k.ref === c.key);
      const arrow = at < 0 ? "" : (sortKeys[at].desc ? " ▼" : " ▲") + (sortKeys.length > 1 ? at + 1 : "");
      head.append(el("th", {class: "sortable", "data-key": c.key, "aria-sort": at < 0 ? null :
        sortKeys[at].desc ? "descending" : "ascending",
      title: "Sort by this column (shift-click: add as a further key)",
      onclick: (e) => sortBy(ref, c, e.shiftKey)}, c.key, arrow));
    }
    // Each row links to its run: by id or name, else through its first column.
    linkKey = body.columns.some((c) => c.key === "id" || c.key === "name") ? null :
      (body.columns[0] || {}).key;
    const rows = body.runs.map((r) => {
      const tr = el("tr", {"data-run": r.id, class: selected.has(r.id) ? "selected" : null});
      tr.append(el("td", {class: "sel"}, el("input", {type: "checkbox", "aria-label": `select ${r.id}`,
        checked: selected.has(r.id), onchange: (e) => {
          e.target.checked ? selected.add(r.id) : selected.delete(r.id);
          tr.classList.toggle("selected", e.target.checked);
          refreshCompare();
        }})));
      for (const c of body.columns) tr.append(cell(c, r));
      return tr;
    });
    const tbl = el("table", {class: "runs", id: "runs-table"}, el("thead", {}, head), el("tbody", {}, rows));
    tableBox.replaceChildren(body.runs.length ? tbl :
      el("p", {class: "note"}, body.total ? "No runs on this page." :
        state.filter ? "No run matches the filter." : "No runs yet: start one with `orchard run`."));
    const first = body.total ? body.offset + 1 : 0, last = body.offset + body.runs.length;
    setText(count, `${first.toLocaleString()}–${last.toLocaleString()} of ${body.total.toLocaleString()} runs`);
    const lastPage = Math.max(0, Math.floor((body.total - 1) / state.limit) * state.limit);
    pager.replaceChildren(
      el("button", {type: "button", disabled: state.offset === 0, onclick: () => go({offset: 0})}, "« First"),
      el("button", {type: "button", id: "prev-page", disabled: state.offset === 0,
        onclick: () => go({offset: Math.max(0, state.offset - state.limit)})}, "‹ Prev"),
      el("button", {type: "button", id: "next-page", disabled: last >= body.total,
        onclick: () => go({offset: state.offset + state.limit})}, "Next ›"),
      el("button", {type: "button", disabled: last >= body.total, onclick: () => go({offset: lastPage})}, "Last »"));
    refreshCompare();
  }

  let linkKey = null;
  function cell(c, r) {
    const v = r[c.key];
    const td = el("td", {class: typeof v === "number" ? "num" : null});
    if (c.key === "name" && (v === null || v === undefined)) {
      td.append(el("a", {href: runHref(r.id), class: "muted"}, r.id.slice(0, 8)));
      return td;
    }
    if (c.key === linkKey) {
      td.append(el("a", {href: runHref(r.id)}, v === null || v === undefined ? r.id.slice(0, 8) : fmtField(c.key, v)));
      return td;
    }
    if (v === null || v === undefined) return td;
    if (c.key === "id") td.append(el("a", {href: runHref(v)}, v.slice(0, 8)));
    else if (c.key === "name") td.append(el("a", {href: runHref(r.id)}, v));
    else if (c.key === "tune") td.append(el("a", {href: tuneHref(v)}, v.slice(0, 8)));
    else if (c.key === "status") td.append(statusBadge(v));
    else if (c.key === "tags") td.append(...tagChips(v));
    else td.append(fmtField(c.key, v));
    return td;
  }

  function sortBy(ref, c, add) {
    const keys = parseSort(state.sort);
    const at = keys.findIndex((k) => k.ref === ref || k.ref === c.key);
    const firstDesc = c.kind === "metric" || kDescFirst.has(c.key);
    let next;
    if (add) {
      next = at < 0 ? [...keys, {ref, desc: firstDesc}] :
        keys.map((k, i) => i === at ? {ref, desc: !k.desc} : k);
    } else {
      next = [{ref, desc: at === 0 ? !keys[0].desc : firstDesc}];
    }
    go({sort: writeSort(next), offset: 0});
  }

  async function toggleChooser() {
    if (!chooser.hidden) { chooser.hidden = true; return; }
    let fields;
    try { fields = await api("/api/fields"); } catch (e) { setText(filterError, e.message); return; }
    const chosen = new Set(state.cols || kDefaultColumns);
    const box = (ref, label) => el("label", {class: "choice"},
      el("input", {type: "checkbox", value: ref, checked: chosen.has(ref)}), label);
    const group = (title, refs) => el("fieldset", {}, el("legend", {}, title), refs);
    const extra = el("input", {type: "text", name: "extra", spellcheck: "false",
      placeholder: "more, comma-separated: metrics.val_acc.max, flags.`my-flag`",
      value: [...chosen].filter((r) => !isKnown(r, fields)).join(", ")});
    chooser.replaceChildren(
      group("Built-in", fields.builtins.map((b) => box(b, b))),
      group("Flags", [box("flags", "every flag of the page's runs"),
        ...fields.flags.map((f) => box(fieldRef("flag", f), f))]),
      group("Metrics (last value)", [box("metrics", "every metric of the page's runs"),
        ...fields.metrics.map((m) => box(fieldRef("metric", m), m))]),
      el("div", {class: "toolbar"}, extra,
        el("button", {type: "button", id: "apply-columns", onclick: () => {
          const picked = [...chooser.querySelectorAll("input[type=checkbox]:checked")].map((i) => i.value);
          const cols = [...picked, ...splitList(extra.value)];
          if (!cols.length) return;
          localStorage.setItem("orchard.columns", JSON.stringify(cols));
          chooser.hidden = true;
          go({cols, offset: state.offset});
        }}, "Apply"),
        el("button", {type: "button", onclick: () => {
          localStorage.removeItem("orchard.columns");
          chooser.hidden = true;
          go({cols: null});
        }}, "Default columns"),
        el("button", {type: "button", onclick: () => { chooser.hidden = true; }}, "Close")));
    chooser.hidden = false;
  }

  const isKnown = (ref, fields) => kDefaultColumns.includes(ref) || fields.builtins.includes(ref) ||
    fields.flags.some((f) => fieldRef("flag", f) === ref) ||
    fields.metrics.some((m) => fieldRef("metric", m) === ref);

  const reload = throttle(load, 1000);
  await load();
  return {
    update(r) {
      state = stateFrom(r.params);
      if (document.activeElement !== filterInput) filterInput.value = state.filter;
      pageSize.value = String(state.limit);
      load();
    },
    onEvent(type, data) {
      if (type === "metrics") {
        if (lastBody && lastBody.runs.some((r) => r.id === data.run)) reload();
      } else if (type === "run" || type === "status" || type === "deleted" || type === "reset") {
        reload();
      }
    },
    dispose() { reload.cancel(); },
  };
}
