// DOM and API helpers shared by the pages. Every string that comes from the
// store (run names, tags, flags, logs, file contents) enters the document
// through el() or setText(), as text nodes or attribute values, never as
// markup. The one exception is diff2html's output (diff_view.js).

// el("td", {class: "num", title: t}, child, "text", ...): children that are
// not nodes become text nodes; null, undefined and false are skipped.
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "href") e.setAttribute("href", safeHref(v));
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  add(e, children);
  return e;
}

export function add(parent, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    parent.append(c instanceof Node ? c : String(c));
  }
  return parent;
}

export function setText(node, text) {
  node.textContent = text === null || text === undefined ? "" : String(text);
  return node;
}

// Only links within the dashboard and the API: no javascript: or data: URLs.
function safeHref(v) {
  const s = String(v);
  return s.startsWith("#") || (s.startsWith("/") && !s.startsWith("//")) ? s : "#";
}

export const enc = encodeURIComponent;
export const runHref = (id) => `#/run/${enc(id)}`;
export const tuneHref = (id) => `#/tune/${enc(id)}`;
export const compareHref = (ids) => `#/compare?ids=${ids.map(enc).join(",")}`;

// An API error carries the server's message ({"error": ...}).
export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function api(path, options) {
  let resp;
  try {
    resp = await fetch(path, options);
  } catch (e) {
    throw new ApiError(0, `cannot reach the server (${e.message}); is \`orchard ui\` still running?`);
  }
  const type = resp.headers.get("Content-Type") || "";
  const body = type.startsWith("application/json") ? await resp.json() : await resp.text();
  if (!resp.ok) throw new ApiError(resp.status, (body && body.error) || `HTTP ${resp.status}`);
  return body;
}

// How a field is written in the filter language and in `columns`/`sort`:
// odd names are quoted in backticks (docs/filters.md).
export function fieldRef(kind, name) {
  if (kind === "builtin") return name;
  const q = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name :
    name.includes("`") ? `"${name.replace(/["\\]/g, "\\$&")}"` : "`" + name + "`";
  return `${kind === "flag" ? "flags" : "metrics"}.${q}`;
}

// Numbers with up to 6 significant digits; arrays joined; objects as JSON.
export function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    return String(Number(v.toPrecision(6)));
  }
  if (Array.isArray(v)) return v.map(fmt).join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function fmtTime(sec) {
  if (sec === null || sec === undefined) return "";
  const d = new Date(sec * 1000), p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function fmtDuration(s) {
  if (s === null || s === undefined) return "";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60), h = Math.floor(m / 60);
  return h ? `${h}h ${m % 60}m` : `${m}m ${Math.round(s % 60)}s`;
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

// A cell value by column key: times and durations formatted, the rest fmt().
export function fmtField(key, v) {
  if (["created", "started", "finished"].includes(key)) return fmtTime(v);
  if (key === "duration") return fmtDuration(v);
  return fmt(v);
}

export const statusBadge = (s) => el("span", {class: `badge st-${String(s).replace(/\W/g, "")}`}, s);
export const tagChips = (tags) => (tags || []).map((t) => el("span", {class: "tag"}, t));

// A section with a heading; returns the body element to fill.
export function section(parent, title, extra) {
  const body = el("div", {class: "section-body"});
  parent.append(el("section", {}, el("h2", {}, title, extra || null), body));
  return body;
}

export function message(text, cls = "note") { return el("p", {class: cls}, text); }

// A table from a header row and rows of cells (strings or nodes).
export function table(headers, rows, attrs) {
  return el("table", attrs || {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((r) => r instanceof Node ? r : el("tr", {}, r.map((c) => el("td", {}, c))))));
}

// Flattens nested objects into JSON-pointer keys (/libraries/libtorch), as
// /api/compare does for the environment.
export function flatten(obj, prefix = "", out = {}) {
  if (obj && typeof obj === "object" && !Array.isArray(obj) && Object.keys(obj).length) {
    for (const [k, v] of Object.entries(obj)) flatten(v, `${prefix}/${k}`, out);
  } else {
    out[prefix || "/"] = obj;
  }
  return out;
}

// Calls fn at most once per `ms`, the last call winning (live updates).
export function throttle(fn, ms) {
  let timer = null, last = 0;
  const run = () => { timer = null; last = Date.now(); fn(); };
  const wrapped = () => {
    if (timer) return;
    timer = setTimeout(run, Math.max(0, last + ms - Date.now()));
  };
  wrapped.cancel = () => { clearTimeout(timer); timer = null; };
  return wrapped;
}
