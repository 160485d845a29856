// Access and safety of `orchard ui` as a process, on a small store of its
// own: artifact paths that leave the run folder are refused; a server bound
// to a non-loopback address refuses requests without its token, also from
// this machine, and serves the dashboard with it; a missing library is
// reported on the page with the command that installs it.
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import {freePort, getJson, launchBrowser, newProject, rawGet, runTrainer, shot, startUi} from "./fixture.mjs";

let store, browser;
const servers = [];

before(async () => {
  store = newProject();
  runTrainer(store, ["--name", "only", "lr=0.1", "epochs=2"]);
  browser = await launchBrowser();
}, {timeout: 120000});

after(async () => {
  if (browser) await browser.close();
  for (const s of servers) await s.stop();
  if (store) store.cleanup();
});

async function ui(args) {
  const s = await startUi(store, args);
  servers.push(s);
  return s;
}

describe("artifacts", () => {
  test("paths with .. or absolute paths are refused with 4xx", async () => {
    const s = await ui(["--port", "0"]);
    const port = new URL(s.url).port;
    const id = (await getJson(s.url, "/api/runs")).runs[0].id;
    const ok = await rawGet(port, `/api/runs/${id}/artifacts/plots/summary.txt`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body, "lr=0.1\n");
    for (const bad of ["../../orchard.db", "plots/../../../orchard.db", "%2e%2e/%2e%2e/orchard.db",
      "..%2f..%2forchard.db", "/etc/passwd", "%2Fetc%2Fpasswd", "//etc/passwd", "plots/..%5c..%5corchard.db"]) {
      const r = await rawGet(port, `/api/runs/${id}/artifacts/${bad}`);
      assert.ok(r.status >= 400 && r.status < 500, `${bad}: ${r.status} ${r.body}`);
      assert.ok(!r.body.includes("SQLite format") && !r.body.includes("root:"), bad);
    }
  });
});

describe("a server on a non-loopback address", () => {
  test("refuses requests without the token, from this machine too, and serves with it", async () => {
    const port = await freePort();
    const s = await ui(["--host", "0.0.0.0", "--port", String(port)]);
    assert.match(s.token, /^[A-Za-z0-9_-]{16,}$/, s.output());
    assert.match(s.url, new RegExp(`:${port}/\\?token=${s.token}$`));
    const local = `http://127.0.0.1:${port}`;
    for (const p of ["/", "/api/runs", "/api/info", "/static/app.js", "/vendor/echarts.min.js"]) {
      const r = await rawGet(port, p);
      assert.equal(r.status, 401, `${p} without the token`);
      assert.ok(!r.body.includes('"runs"'), p);
    }
    assert.equal((await rawGet(port, "/api/runs", {Authorization: "Bearer wrong"})).status, 401);
    const good = await rawGet(port, "/api/runs", {Authorization: `Bearer ${s.token}`});
    assert.equal(good.status, 200);
    assert.equal(JSON.parse(good.body).total, 1);

    const page = await browser.newPage();
    page.setDefaultTimeout(30000);
    const refused = await page.goto(`${local}/`);
    assert.equal(refused.status(), 401);
    assert.match(await page.textContent("body"), /access token/);
    await page.goto(`${local}/?token=${s.token}`);  // sets the cookie the page's own requests carry
    await page.waitForSelector("#runs-table tbody tr");
    assert.equal(await page.locator("#runs-table tbody tr").count(), 1);
    await page.waitForSelector("#live.live-on");
    await shot(page, "token-dashboard");
    await page.close();
    assert.deepEqual(await s.stop(), {code: 0, signal: null});
  });
});

describe("missing libraries", () => {
  test("the page says to run scripts/install-deps.sh", async () => {
    const s = await ui(["--port", "0", "--assets", `${store.dir}/no_node_modules`]);
    const page = await browser.newPage();
    page.setDefaultTimeout(30000);
    await page.goto(s.url);
    await page.waitForSelector("#banner .banner");
    const text = await page.textContent("#banner");
    assert.match(text, /scripts\/install-deps\.sh/);
    assert.match(text, /echarts\.min\.js/);
    await page.waitForSelector("#runs-table tbody tr");  // the table works without the libraries
    await shot(page, "missing-libraries");
    await page.close();
  });
});
