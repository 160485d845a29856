// A placeholder page: the runs table over /api/runs, updated by /api/events.
// Every value is set with textContent, never as markup.
"use strict";
const form = document.getElementById("query");
const table = document.getElementById("runs");
const errorBox = document.getElementById("error");
const count = document.getElementById("count");
const limit = 50;
let offset = 0;

function cell(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text === null || text === undefined ? "" :
    Array.isArray(text) ? text.join(", ") : String(text);
  return el;
}

async function load() {
  const params = new URLSearchParams({
    filter: form.filter.value, sort: form.sort.value, limit, offset,
  });
  const resp = await fetch("/api/runs?" + params);
  const body = await resp.json();
  errorBox.textContent = resp.ok ? "" : body.error;
  if (!resp.ok) return;
  table.replaceChildren();
  const head = document.createElement("tr");
  for (const c of body.columns) head.appendChild(cell("th", c.key));
  table.appendChild(head);
  for (const run of body.runs) {
    const tr = document.createElement("tr");
    for (const c of body.columns) tr.appendChild(cell("td", run[c.key]));
    table.appendChild(tr);
  }
  count.textContent = `${body.total ? offset + 1 : 0}-${offset + body.runs.length} of ${body.total}`;
}

form.addEventListener("submit", (e) => { e.preventDefault(); offset = 0; load(); });
document.getElementById("prev").addEventListener("click", () => { offset = Math.max(0, offset - limit); load(); });
document.getElementById("next").addEventListener("click", () => { offset += limit; load(); });
const events = new EventSource("/api/events");
let pending = null;
for (const type of ["run", "status", "deleted"]) {
  events.addEventListener(type, () => { clearTimeout(pending); pending = setTimeout(load, 300); });
}
load();
