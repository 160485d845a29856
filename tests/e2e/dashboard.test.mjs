// The dashboard in headless Chromium: list, filter, sort, page, choose
// columns, open a run, compare, view the diff, open a tuning, export; and
// that the `orchard ui` process prints its URL, serves and stops on SIGTERM.
// Screenshots of each page go to $ORCHARD_E2E_SCREENSHOTS.
import assert from "node:assert/strict";
import {existsSync, readFileSync} from "node:fs";
import {after, before, describe, test} from "node:test";
import {HOSTILE, chartOption, getJson, launchBrowser, makeStore, orchard, shot, startTrainer,
  startUi} from "./fixture.mjs";

let store, ui, browser, page, base;
const dialogs = [];

before(async () => {
  store = makeStore();
  ui = await startUi(store, ["--port", "0"]);
  base = ui.url;
  browser = await launchBrowser();
  page = await browser.newPage({viewport: {width: 1400, height: 900}});
  page.setDefaultTimeout(30000);
  page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on("pageerror", (e) => { dialogs.push(`page error: ${e.message}`); });
}, {timeout: 180000});

after(async () => {
  if (browser) await browser.close();
  if (ui) await ui.stop();
  if (store) store.cleanup();
});

const runByName = async (name) => (await getJson(base, `/api/runs?filter=${encodeURIComponent(`name = '${name}'`)}`)).runs[0].id;
const headerKeys = () => page.$$eval("#runs-table thead th[data-key]", (ths) => ths.map((t) => t.dataset.key));
const columnValues = (key) => page.$$eval(`#runs-table tbody tr`, (trs, k) => {
  const i = [...document.querySelectorAll("#runs-table thead th")].findIndex((t) => t.dataset.key === k);
  return trs.map((tr) => tr.children[i].textContent);
}, key);
const countText = () => page.textContent("#runs-count");

describe("runs", () => {
  test("the runs page lists every run, with the libraries loaded", async () => {
    const all = await getJson(base, "/api/runs?limit=1000");
    await page.goto(base);
    await page.waitForSelector("#runs-table tbody tr");
    assert.equal(await page.locator("#runs-table tbody tr").count(), Math.min(all.total, 50));
    assert.match(await countText(), new RegExp(`of ${all.total} runs`));
    assert.equal(await page.evaluate(() => typeof window.echarts + typeof window.Diff2Html), "objectobject");
    assert.equal(await page.locator("#banner .banner").count(), 0);
    await page.waitForSelector("#live.live-on");
    await shot(page, "runs");
  });

  test("a filter in the CLI's language narrows the list; a bad one says where", async () => {
    const filter = "lr <= 0.03 and status = completed";
    const want = await getJson(base, `/api/runs?limit=1000&filter=${encodeURIComponent(filter)}`);
    assert.ok(want.total > 0 && want.total < (await getJson(base, "/api/runs")).total);
    await page.fill("input[name=filter]", filter);
    await page.press("input[name=filter]", "Enter");
    await page.waitForFunction((n) => document.querySelector("#runs-count").textContent.includes(`of ${n} runs`), want.total);
    const ids = await page.$$eval("#runs-table tbody tr", (trs) => trs.map((t) => t.dataset.run));
    assert.deepEqual(ids.sort(), want.runs.map((r) => r.id).sort());
    assert.ok((await page.evaluate(() => location.hash)).includes("filter="), "the filter is in the URL");
    await page.fill("input[name=filter]", "lr <");
    await page.press("input[name=filter]", "Enter");
    await page.waitForSelector("#filter-error:not(:empty)");
    assert.match(await page.textContent("#filter-error"), /filter.*column/);
    await shot(page, "runs-filter-error");
    await page.click("text=Clear");
    await page.waitForFunction(() => document.querySelector("#filter-error").textContent === "");
  });

  test("clicking a header sorts on the server, again reverses", async () => {
    await page.goto(`${base}#/runs?filter=${encodeURIComponent("flags.lr > 0")}`);
    await page.waitForSelector('#runs-table th[data-key="flags.lr"]');
    await page.click('#runs-table th[data-key="flags.lr"]');
    await page.waitForSelector('#runs-table th[data-key="flags.lr"][aria-sort=ascending]');
    const up = (await columnValues("flags.lr")).map(Number);
    assert.deepEqual(up, [...up].sort((a, b) => a - b));
    assert.ok(up[0] < up[up.length - 1]);
    await page.click('#runs-table th[data-key="flags.lr"]');
    await page.waitForSelector('#runs-table th[data-key="flags.lr"][aria-sort=descending]');
    const down = (await columnValues("flags.lr")).map(Number);
    assert.deepEqual(down, [...up].sort((a, b) => b - a));
    assert.match(await page.evaluate(() => location.hash), /sort=-flags\.lr/);
  });

  test("pages of 10 come from the server", async () => {
    const total = (await getJson(base, "/api/runs")).total;
    assert.ok(total > 10, `the fixture has ${total} runs`);
    await page.goto(`${base}#/runs`);
    await page.waitForFunction((n) => document.querySelector("#runs-count").textContent.includes(`1–${n} of ${n} runs`), total);
    await page.selectOption('select[aria-label="runs per page"]', "10");
    await page.waitForFunction(() => document.querySelectorAll("#runs-table tbody tr").length === 10);
    assert.match(await countText(), new RegExp(`^1–10 of ${total} runs`));
    const first = await page.$$eval("#runs-table tbody tr", (trs) => trs.map((t) => t.dataset.run));
    await page.click("#next-page");
    await page.waitForFunction(() => document.querySelector("#runs-count").textContent.startsWith("11–"));
    const second = await page.$$eval("#runs-table tbody tr", (trs) => trs.map((t) => t.dataset.run));
    assert.equal(second.length, Math.min(10, total - 10));
    assert.equal(second.filter((id) => first.includes(id)).length, 0, "no run on both pages");
    const api = await getJson(base, "/api/runs?limit=10&offset=10");
    assert.deepEqual(second, api.runs.map((r) => r.id));
    await page.click("#prev-page");
    await page.waitForFunction(() => document.querySelector("#runs-count").textContent.startsWith("1–10"));
    await page.selectOption('select[aria-label="runs per page"]', "50");
  });

  test("the column chooser shows the store's flags and metrics", async () => {
    await page.goto(`${base}#/runs`);
    await page.click("#columns-button");
    await page.waitForSelector("#column-chooser:not([hidden]) input[value='flags.batch']");
    for (const box of await page.$$("#column-chooser input[type=checkbox]")) await box.uncheck();
    for (const v of ["name", "status", "flags.lr", "metrics.val_acc"]) await page.check(`#column-chooser input[value='${v}']`);
    await page.fill("#column-chooser input[name=extra]", "metrics.val_acc.max");
    await page.click("#apply-columns");
    await page.waitForFunction(() => document.querySelectorAll("#runs-table thead th[data-key]").length === 5);
    assert.deepEqual(await headerKeys(), ["name", "status", "flags.lr", "metrics.val_acc", "metrics.val_acc.max"]);
    const row = await page.$$eval("#runs-table tbody tr", (trs) => trs.find((t) =>
      t.children[1].textContent === "baseline").children[4].textContent);
    assert.equal(Number(row), Number((await getJson(base, `/api/runs/${await runByName("baseline")}`))
      .metrics.find((m) => m.name === "val_acc").last.toPrecision(6)));
    await shot(page, "runs-columns");
    await page.reload();  // remembered
    await page.waitForSelector("#runs-table");
    assert.deepEqual(await headerKeys(), ["name", "status", "flags.lr", "metrics.val_acc", "metrics.val_acc.max"]);
    await page.click("#columns-button");
    await page.click("text=Default columns");
    await page.waitForSelector('#runs-table th[data-key="created"]');
  });
});

describe("a run", () => {
  test("shows flags, curves, logs, artifacts and the code snapshot", async () => {
    const id = await runByName("baseline");
    await page.goto(`${base}#/runs?filter=${encodeURIComponent("name = baseline")}`);
    await page.click("#runs-table a:text-is('baseline')");
    await page.waitForSelector("#run-title");
    assert.equal(await page.evaluate(() => location.hash), `#/run/${id}`);
    assert.match(await page.textContent("#run-flags"), /lr\s*0\.1/);
    await page.waitForFunction(() => document.querySelectorAll("[data-chart] canvas").length >= 2);
    const val = await chartOption(page, "val_acc");
    assert.ok(val.canvas);
    assert.deepEqual(val.series.map((s) => [s.type, s.n]), [["line", 5]]);
    assert.match(await page.textContent("#run-logs"), /epoch 5: val_acc=/);
    assert.match(await page.textContent("#run-logs .log-stderr"), /warning: a line on stderr/);
    const link = page.locator("#run-artifacts a", {hasText: "plots/summary.txt"}).first();
    const href = await link.getAttribute("href");
    assert.equal(href, `/api/runs/${id}/artifacts/plots/summary.txt`);
    assert.equal(await page.evaluate(async (h) => (await fetch(h)).text(), href), "lr=0.1\n");
    await page.click("#snapshot-files button[data-path='trainer.mjs']");
    await page.waitForFunction(() => (document.querySelector("#snapshot-content") || {}).textContent?.includes("@orchard"));
    assert.match(await page.textContent("#run-env"), /host/);
    await shot(page, "run");
  });

  test("a long series is down-sampled to at most 2,000 points", async () => {
    await page.goto(`${base}#/run/${await runByName("long")}`);
    await page.waitForFunction(() => [...document.querySelectorAll("[data-chart]")].some((d) => d.dataset.chart === "noise"));
    const noise = await chartOption(page, "noise");
    assert.ok(noise.series[0].n <= 2000 && noise.series[0].n > 100, JSON.stringify(noise));
    assert.match(noise.series[0].name, /of 5000 points/);
  });
});

describe("compare", () => {
  test("two runs: differing flags, overlaid curves, final metrics, diff side by side and unified", async () => {
    const [a, b] = [await runByName("baseline"), await runByName("tuned")];
    await page.goto(`${base}#/runs?filter=${encodeURIComponent("tag = first")}`);
    await page.waitForSelector(`#runs-table tr[data-run="${a}"]`);
    await page.check(`#runs-table tr[data-run="${a}"] input[type=checkbox]`);
    await page.check(`#runs-table tr[data-run="${b}"] input[type=checkbox]`);
    await page.click("#compare-selected");
    await page.waitForSelector("#compare-flags");
    assert.match(await page.evaluate(() => location.hash), /^#\/compare\?ids=/);
    assert.equal(await page.getAttribute('#compare-flags tr[data-key="lr"]', "class"), "differs");
    assert.equal(await page.getAttribute('#compare-flags tr[data-key="epochs"]', "class"), null);
    assert.equal(await page.locator("#compare-metrics td.best").count(), 2, "a best value per metric");
    await page.waitForFunction(() => document.querySelectorAll("[data-chart] canvas").length >= 2);
    assert.deepEqual((await chartOption(page, "val_acc")).series.map((s) => s.n), [5, 5]);

    await page.click("#compare-diff button[data-format=side-by-side]");
    await page.waitForSelector("#compare-diff .d2h-file-side-diff");
    const text = await page.textContent("#compare-diff");
    assert.ok(text.includes(`${HOSTILE} is text, not markup`), "the changed line, as text");
    assert.ok(text.includes("hidden: 128"));
    assert.ok(text.includes("<img src=x onerror=alert(2)>.md"), "a file named with markup, as text");
    assert.equal(await page.locator("#app script, #app img").count(), 0, "nothing of the diff became markup");
    await shot(page, "compare");
    await page.click("#compare-diff button[data-format=unified]");
    await page.waitForSelector("#compare-diff .d2h-file-diff .d2h-code-linenumber");
    assert.equal(await page.locator("#compare-diff .d2h-file-side-diff").count(), 0);
    assert.ok((await page.textContent("#compare-diff")).includes(HOSTILE));
    await page.locator("#compare-diff").scrollIntoViewIfNeeded();
    await shot(page, "compare-unified");
    assert.ok((await page.locator("#compare-env").count()) === 1);
  });
});

describe("tuning", () => {
  test("trials with their states, best so far, parallel coordinates", async () => {
    const tunes = await getJson(base, "/api/tunes");
    const tune = await getJson(base, `/api/tunes/${tunes.tunes[0].id}`);
    assert.ok(tune.trials.some((t) => t.pruned), "the fixture's tune has a pruned trial");
    await page.goto(base);
    await page.click("nav a[data-page=tunes]");
    await page.click(`#tunes-table a[href="#/tune/${tune.tune.id}"]`);
    await page.waitForSelector("#trials-table");
    assert.equal(await page.locator("#trials-table tbody tr").count(), tune.trials.length);
    assert.ok(await page.locator('#trials-table tr[data-status="pruned"]').count() > 0);
    assert.match(await page.textContent("#tune-best"), /best: .* = 0\.9/);
    const par = await chartOption(page, "parallel coordinates");
    assert.deepEqual(par.parallelAxis, ["batch", "lr", "val_acc (max)"]);
    assert.equal(par.series[0].type, "parallel");
    assert.ok(par.series[0].n > 0 && par.series[1].n > 0, JSON.stringify(par));
    const hist = await chartOption(page, "best so far");
    assert.equal(hist.series[0].name, "best so far");
    assert.equal(hist.series[0].n, tune.best_so_far.length);
    await shot(page, "tune");
  });

  test("export best model writes the bundle and shows where", async () => {
    await page.click("#export-button");
    await page.waitForSelector("#export-dir");
    const dir = await page.textContent("#export-dir");
    assert.match(dir, /\/exports\/tune-\w+-run-[0-9a-f]+$/);
    assert.ok(existsSync(`${dir}/bundle.json`) && existsSync(`${dir}/model.pt`));
    assert.equal(JSON.parse(readFileSync(`${dir}/bundle.json`, "utf8")).format, "orchard-bundle");
    await shot(page, "tune-export");
    await page.click("#export-button");  // the same name again: refused, not replaced
    await page.waitForSelector("#export-result .error");
    assert.match(await page.textContent("#export-result .error"), /exist/);
  });
});

describe("live updates", () => {
  test("a new run appears in the open runs table without a reload", async () => {
    await page.goto(`${base}#/runs`);
    await page.waitForSelector("#runs-table tbody tr");
    await page.evaluate(() => { window.__sameDocument = true; });
    orchard(["run", "-q", "--name", "arrived-live", "lr=0.2", "epochs=1", "--", process.execPath, "trainer.mjs"],
      {cwd: store.project, env: store.env});
    await page.waitForSelector("#runs-table a:text-is('arrived-live')", {timeout: 20000});
    assert.equal(await page.evaluate(() => window.__sameDocument), true, "no page load");
  });
});

describe("live run", () => {
  test("a running run's curves and status follow it", async () => {
    // 8 epochs of 2 s: long enough to be seen running on a loaded machine.
    const t = startTrainer(store, ["--name", "growing", "lr=0.03", "epochs=8", "sleep=2000"]);
    let id = null;
    for (const deadline = Date.now() + 15000; !id && Date.now() < deadline;) {
      id = (await getJson(base, "/api/runs?filter=name%20%3D%20growing")).runs[0]?.id ?? null;
      if (!id) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(id, "the run was recorded");
    await page.goto(`${base}#/run/${id}`);
    await page.waitForSelector("#run-title .st-running");
    const points = () => page.evaluate(() => {
      const div = [...document.querySelectorAll("[data-chart]")].find((d) => d.dataset.chart === "val_acc");
      const c = div && window.echarts.getInstanceByDom(div);
      return c ? c.getOption().series[0].data.length : 0;
    });
    await page.waitForFunction(() => document.querySelector("[data-chart] canvas"), null, {timeout: 15000});
    const early = await points();
    assert.ok(early < 8, `${early} points while running`);
    await page.waitForSelector("#run-title .st-completed", {timeout: 45000});
    await page.waitForFunction(() => {
      const div = [...document.querySelectorAll("[data-chart]")].find((d) => d.dataset.chart === "val_acc");
      return window.echarts.getInstanceByDom(div).getOption().series[0].data.length === 8;
    }, null, {timeout: 10000});
    assert.match(await page.textContent("#run-logs"), /epoch 8: val_acc=/);
    assert.equal(await t.exited, 0);
  });
});

describe("security", () => {
  test(`a run and tag named ${HOSTILE} render as text`, async () => {
    const id = await runByName(HOSTILE);
    await page.goto(`${base}#/runs?limit=100`);
    await page.waitForSelector(`#runs-table tr[data-run="${id}"]`);
    const row = page.locator(`#runs-table tr[data-run="${id}"]`);
    assert.ok((await row.textContent()).includes(HOSTILE));
    assert.equal(await row.locator(".tag").textContent(), HOSTILE);
    await page.goto(`${base}#/run/${id}`);
    await page.waitForSelector("#run-title");
    assert.ok((await page.textContent("#run-title")).includes(HOSTILE));
    assert.ok((await page.textContent("title")).includes(HOSTILE));
    await page.goto(`${base}#/compare?ids=${id},${await runByName("baseline")}`);
    await page.waitForSelector("#compare-runs");
    assert.ok((await page.textContent("#compare-runs")).includes(HOSTILE));
    // Chart tooltips are built as text too.
    await page.waitForSelector('[data-chart="val_acc"] canvas');
    const box = await page.locator('[data-chart="val_acc"]').boundingBox();
    await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.6);
    await page.waitForSelector('[data-chart="val_acc"] .tip');
    assert.ok((await page.textContent('[data-chart="val_acc"] .tip')).includes(HOSTILE));
    await shot(page, "hostile-name");
    assert.equal(await page.locator("#app script").count(), 0);
    assert.deepEqual(dialogs, [], "no dialog and no page error");
  });

  test("orchard ui printed its URL, served, and stops on SIGTERM", async () => {
    assert.match(ui.output(), /^Orchard dashboard for .*\n {2}http:\/\/127\.0\.0\.1:\d+\/\n/);
    const {code, signal} = await ui.stop();
    assert.deepEqual({code, signal}, {code: 0, signal: null});
    assert.match(ui.output(), /stopping/);
    await assert.rejects(fetch(base, {signal: AbortSignal.timeout(3000)}));
  });
});
