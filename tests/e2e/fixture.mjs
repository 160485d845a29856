// Set-up for the dashboard's end-to-end tests: a real store filled by the
// real `orchard` binary (runs of tests/e2e/trainer.mjs and a small tuning
// session), `orchard ui` started as a process, and headless Chromium driven
// by playwright-core. Every process started here is stopped by its PID, and
// every wait is bounded.
import {spawn, spawnSync} from "node:child_process";
import {copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from "node:fs";
import {createRequire} from "node:module";
import net from "node:net";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const top = path.resolve(here, "../..");
export const ORCHARD = process.env.ORCHARD && path.resolve(process.env.ORCHARD);
export const HOSTILE = "<script>alert(1)</script>";
export const screenshots = process.env.ORCHARD_E2E_SCREENSHOTS || path.join(top, "build/e2e-screenshots");
const require = createRequire(import.meta.url);
const {chromium} = require(path.join(top, "node_modules/playwright-core"));

const children = new Set();
process.on("exit", () => { for (const c of children) try { c.kill("SIGKILL"); } catch { /* gone */ } });

// Runs `orchard ARGS` to completion (bounded), returning its output.
export function orchard(args, {cwd, env, timeout = 60000, ok = true} = {}) {
  const r = spawnSync(ORCHARD, args, {cwd, env: {...process.env, ...env}, encoding: "utf8", timeout});
  if (r.error) throw new Error(`orchard ${args.join(" ")}: ${r.error.message}`);
  if (ok && r.status !== 0) {
    throw new Error(`orchard ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}

// An empty project folder holding the trainer, with its own store.
export function newProject() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "orchard-e2e-"));
  const project = path.join(dir, "project");
  mkdirSync(project);
  for (const f of ["trainer.mjs", "config.mjs"]) copyFileSync(path.join(here, f), path.join(project, f));
  const env = {ORCHARD_HOME: path.join(dir, "home", ".orchard")};
  return {dir, project, env, cleanup: () => rmSync(dir, {recursive: true, force: true})};
}

// `orchard run -q ARGS -- node trainer.mjs` in the project.
export function runTrainer(store, args) {
  return orchard(["run", "-q", ...args, "--", process.execPath, "trainer.mjs"],
    {cwd: store.project, env: store.env, ok: !args.includes("fail=true")});
}

// `orchard run` in the background; returns the child and a promise of its exit.
export function startTrainer(store, args) {
  const child = spawn(ORCHARD, ["run", "-q", ...args, "--", process.execPath, "trainer.mjs"],
    {cwd: store.project, env: {...process.env, ...store.env}, stdio: "ignore"});
  children.add(child);
  const exited = new Promise((resolve) => child.once("exit", (code) => { children.delete(child); resolve(code); }));
  return {child, exited};
}

// A store with: two runs whose code differs, a run and tag named HOSTILE, a
// failed run, a run with a long series, and a grid tune with ASHA pruning.
export function makeStore() {
  const store = newProject();
  try {
    fill(store);
  } catch (e) {
    store.cleanup();
    throw e;
  }
  return store;
}

function fill(store) {
  const {project, env} = store;
  const run = (args) => runTrainer(store, args);
  run(["--name", "baseline", "--tag", "first", "lr=0.1", "epochs=5"]);
  // The second run's code differs: a changed line holding markup, and a new
  // file whose name is markup.
  writeFileSync(path.join(project, "config.mjs"), "// The trainer's configuration.\n" +
    `// ${HOSTILE} is text, not markup\nexport const config = {model: "tiny-mlp", hidden: 128};\n`);
  writeFileSync(path.join(project, "<img src=x onerror=alert(2)>.md"), `${HOSTILE}\n`);
  run(["--name", "tuned", "--tag", "first", "lr=0.03", "epochs=5"]);
  run(["--name", HOSTILE, "--tag", HOSTILE, "lr=0.05", "epochs=3"]);
  run(["--name", "broken", "lr=0.1", "fail=true"]);
  run(["--name", "long", "lr=0.01", "epochs=2", "points=5000"]);
  // The grid mostly improves from trial to trial (lr varies slowest, batch 16
  // is a little worse than 32), so ASHA lets the better trials finish and
  // prunes those that fall behind.
  writeFileSync(path.join(project, "tune.yaml"), [
    "name: e2e-grid",
    `command: [${JSON.stringify(process.execPath)}, trainer.mjs]`,
    "flags: {epochs: 4, sleep: 150}",
    "search:",
    "  lr: [0.001, 0.3, 0.003, 0.1, 0.01, 0.03]",
    "  batch: [32, 16]",
    "method: grid",
    "seed: 3",
    "objective: {metric: val_acc, goal: max}",
    "early_stopping: {method: asha, grace: 1, reduction: 2, max_t: 4, unit: epoch}",
    "resources: {concurrency: 1}",
    ""].join("\n"));
  orchard(["tune", "tune.yaml"], {cwd: project, env, timeout: 120000});
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => { const {port} = s.address(); s.close(() => resolve(port)); });
  });
}

// Starts `orchard ui ARGS` and waits (bounded) for the URL it prints.
export async function startUi(store, args, timeout = 15000) {
  const child = spawn(ORCHARD, ["ui", ...args], {cwd: store.project, env: {...process.env, ...store.env},
    stdio: ["ignore", "pipe", "pipe"]});
  children.add(child);
  let out = "", err = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { err += d; });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => {
    children.delete(child);
    resolve({code, signal});
  }));
  const deadline = Date.now() + timeout;
  while (!/Ctrl-C stops/.test(out)) {
    const done = await Promise.race([exited, new Promise((r) => setTimeout(r, 50))]);
    if (done) throw new Error(`orchard ui exited early (${JSON.stringify(done)}): ${out}${err}`);
    if (Date.now() > deadline) { child.kill("SIGKILL"); throw new Error(`orchard ui printed no URL: ${out}${err}`); }
  }
  const url = out.match(/http:\/\/[^\s]+/)[0];
  const token = (out.match(/access token[^:]*: (\S+)/) || [])[1] || "";
  return {child, url, token, output: () => out + err, exited,
    // SIGTERM, then (bounded) wait; SIGKILL if it does not stop.
    async stop(ms = 10000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), ms);
      const r = await exited;
      clearTimeout(t);
      return r;
    }};
}

// An HTTP GET with the path sent exactly as written (fetch() would resolve
// `..` segments before sending).
export function rawGet(port, rawPath, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({host: "127.0.0.1", port, path: rawPath, headers, timeout: 10000}, (res) => {
      let body = "";
      res.on("data", (d) => { body += d; });
      res.on("end", () => resolve({status: res.statusCode, body, headers: res.headers}));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${rawPath} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

export async function getJson(base, p) {
  const r = await fetch(new URL(p, base), {signal: AbortSignal.timeout(10000)});
  if (!r.ok) throw new Error(`GET ${p}: ${r.status} ${await r.text()}`);
  return r.json();
}

// Debian's chromium, with the flags that keep it off the network.
export async function launchBrowser() {
  mkdirSync(screenshots, {recursive: true});
  return chromium.launch({
    executablePath: process.env.ORCHARD_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    timeout: 30000,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

export async function shot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({path: path.join(screenshots, `${name}.png`), fullPage: true, timeout: 20000});
}

// The options of an ECharts chart in the page, by its data-chart name.
export function chartOption(page, name) {
  return page.evaluate((n) => {
    const div = [...document.querySelectorAll("[data-chart]")].find((d) => d.dataset.chart === n);
    const chart = div && window.echarts.getInstanceByDom(div);
    if (!chart) return null;
    const o = chart.getOption();
    return {series: o.series.map((s) => ({name: s.name, type: s.type, n: (s.data || []).length})),
      parallelAxis: (o.parallelAxis || []).map((a) => a.name), canvas: !!div.querySelector("canvas")};
  }, name);
}
