// The page in headless Chromium, served from 127.0.0.1 by `python build.py --serve` (which builds it):
// the worked example's gradients appear by themselves on a cold start, a graph SVG is drawn, the
// stepping page goes next / previous and takes a predicted answer, the lecture's MLP and the moons
// training give the numbers of the docs, a 100,000-deep chain neither crashes nor hangs the page,
// and no request goes anywhere but 127.0.0.1. Screenshots go to test/screenshots/ (not committed).
// How long the cold start takes is printed, not asserted (a timed test fails with the machine's
// load, not the page's): test/coldstart.mjs measures it.
//
//   node test/page.mjs        (from docs/play/; CHROMIUM=/path/to/chromium to use another browser)
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { launch, serve } from "./browser.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const play = join(here, "..");
const shots = join(here, "screenshots");
mkdirSync(shots, { recursive: true });

// ---- the server: the documented command, on a free port of 127.0.0.1
const { base, server } = await serve();
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
const requests = [], elsewhere = [];
await context.route("**/*", (route) => {  // every request of the page and its worker passes here
  const url = new URL(route.request().url());
  requests.push(url.href);
  if (url.hostname === "127.0.0.1" && url.href.startsWith(base)) return route.continue();
  elsewhere.push(url.href);
  return route.abort("blockedbyclient");
});
context.on("request", (request) => { if (!request.url().startsWith(base) && !elsewhere.includes(request.url())) elsewhere.push(request.url()); });

const page = await context.newPage();
const problems = [];
page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
page.on("crash", () => problems.push("the page crashed"));
page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });

const body = (key) => page.evaluate((k) => document.body.dataset[k], key);
const outputText = () => page.locator("#output").innerText();
async function runExample(name, seconds) {
  const before = Number((await body("runs")) || 0);
  await page.selectOption("#examples", name);  // choosing an example runs it
  await page.waitForFunction((n) => Number(document.body.dataset.runs || 0) > n && document.body.dataset.running === "no",
    before, { timeout: seconds * 1000 });
  assert.equal(await body("fatal"), undefined, `${name}: the runtime died:\n${await outputText()}`);
  assert.equal(await body("lastRun"), "ok", `${name} failed:\n${await outputText()}`);
  return outputText();
}
const results = {};
try {
  // ---- 1. cold start: the worked example runs by itself; its gradients and its graph appear
  await page.goto(base, { waitUntil: "domcontentloaded" });
  await page.waitForFunction(() => document.body.dataset.runs === "1", null, { timeout: 60_000 });
  const first = Number(await body("firstOutput"));
  results.firstOutput = first;
  const worked = await outputText();
  assert.match(worked, /gradients: 6\.0 -4\.0 -2\.0 4\.0/);
  assert.match(worked, /step 3\/3: e = a \* b, e\.grad = -2\.0\n\s+a\.grad \+= b\.data \* e\.grad = -3\.0 \* -2\.0 = 6\.0/);
  const python = await body("python");
  assert.match(await page.locator("#runtime").innerText(), new RegExp(`Python ${python.replaceAll(".", "\\.")} \\(Pyodide 0\\.27\\.7`));
  const labels = await page.locator("#graph svg g.node text").allTextContents();
  for (const name of ["a", "b", "c", "d", "e", "f", "L"]) assert.ok(labels.includes(name), `graph lacks ${name}: ${labels}`);
  assert.ok(labels.some((t) => /grad\s+6\.0/.test(t)), `the graph does not show a.grad = 6.0: ${labels}`);
  await page.screenshot({ path: join(shots, "1-worked.png"), fullPage: true });

  // ---- 2. the stepping page: next, previous, and a predicted answer
  await runExample("neuron", 60);
  const steps = page.frameLocator("#steps");
  await steps.locator("body[data-status=ready]").waitFor({ timeout: 10_000 });
  const counter = steps.locator("#counter"), caption = steps.locator("#caption");
  assert.equal(await counter.innerText(), "step 0 of 5");
  await steps.locator("#next").click();
  assert.equal(await counter.innerText(), "step 1 of 5");
  assert.match(await caption.innerText(), /^step 1\/5: o = tanh\(n\), o\.grad = 1\.0/);
  await steps.locator("#next").click();
  assert.equal(await counter.innerText(), "step 2 of 5");
  await steps.locator("#prev").click();
  assert.equal(await counter.innerText(), "step 1 of 5");
  await page.screenshot({ path: join(shots, "2-steps.png"), fullPage: true });
  await steps.locator("#play").click();  // one step every 1.2 s, until paused
  await steps.locator("#counter", { hasText: "step 2 of 5" }).waitFor({ timeout: 5_000 });
  await steps.locator("#play").click();
  assert.equal(await steps.locator("#play").innerText(), "play");
  await steps.locator("body").press("Home");
  assert.equal(await counter.innerText(), "step 0 of 5");
  await steps.locator("#prev").click();
  await steps.locator("#predict").check();
  assert.match(await steps.locator("#question").innerText(), /^step 1: n\.grad \+= .* = \?$/);
  await steps.locator("#guess").fill("1 - 0.7071**2");  // d tanh(n)/dn = 1 - tanh(n)^2, o.grad = 1
  await steps.locator("#check").click();
  assert.match(await steps.locator("#verdict").innerText(), /^right: n\.grad \+= /);
  assert.equal(await steps.locator("body").getAttribute("data-score"), "1/1");
  assert.equal(await counter.innerText(), "step 1 of 5");
  await page.screenshot({ path: join(shots, "3-predict.png"), fullPage: true });

  // ---- 3. the lecture's MLP gives docs/micrograd.md's loss
  const mlp = await runExample("mlp", 60);
  assert.match(mlp, /step 20  loss 0\.0188/);
  assert.match(mlp, /predictions: \[0\.94, -0\.93, -0\.94, 0\.92\]/);

  // ---- 4. moons: the accuracy of demos/moons.py, as the README states it, and the boundary forming
  const readme = readFileSync(join(play, "..", "..", "README.md"), "utf8");
  const [, train, test] = /(\d+(?:\.\d+)?)% of the training\s+points and (\d+(?:\.\d+)?)% of 200 held-out/.exec(readme);
  const t0 = Date.now();
  const moons = await runExample("moons", 180);
  results.moonsSeconds = (Date.now() - t0) / 1000;
  const [, gotTrain, gotTest] = /train accuracy ([\d.]+)%, test accuracy ([\d.]+)%/.exec(moons);
  assert.equal(Number(gotTrain), Number(train), moons);
  assert.equal(Number(gotTest), Number(test), moons);
  assert.equal(await body("boundaries"), "11");  // step 1, then every 10th
  assert.equal(await page.locator("#boundary-title").innerText(), "after step 100");
  await page.locator("#boundary").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "4-moons.png"), fullPage: true });

  // ---- 5. a 100,000-deep chain: built, differentiated and freed, and the page still works
  const t1 = Date.now();
  const deep = await runExample("deep", 120);
  results.deepSeconds = (Date.now() - t1) / 1000;
  assert.match(deep, /depth 100,000: y = 1\.0 +dy\/dx = 22015\.\d+/);
  await page.screenshot({ path: join(shots, "5-deep.png"), fullPage: true });
  const again = await runExample("worked", 60);
  assert.match(again, /gradients: 6\.0 -4\.0 -2\.0 4\.0/);

  // ---- 6. errors read as Python's, from the learner's code down; a run that never ends is stopped
  async function runCode(code, seconds = 30) {
    const before = Number(await body("runs"));
    await page.fill("#editor", code);
    await page.click("#run");
    await page.waitForFunction((n) => Number(document.body.dataset.runs) > n, before, { timeout: seconds * 1000 });
    return outputText();
  }
  const syntax = await runCode("1 +");
  assert.match(syntax, /SyntaxError: invalid syntax/);
  assert.equal(await body("lastRun"), "error");
  const raised = await runCode("from engine import Value\nx = Value(0.0)\ny = x.log()");
  assert.match(raised, /^Traceback \(most recent call last\):\n  File "<editor>", line 3, in <module>/);
  assert.match(raised, /ValueError: log: log\(0\.0\) is undefined/);
  assert.doesNotMatch(raised, /playground\.py/);
  assert.match(await runCode("input()"), /OSError/);
  const posted = "import js\nfrom pyodide.ffi import to_js\nfor kind in ('__proto__', 'toString', 'nothing'):\n" +
    "    js.postMessage(to_js({'kind': kind}, dict_converter=js.Object.fromEntries))\nprint('still here')";
  assert.match(await runCode(posted), /still here/);  // a stray message neither breaks the page nor ends the run
  await page.fill("#editor", "while True:\n    pass");
  await page.click("#run");
  await page.waitForTimeout(1000);
  assert.equal(await body("running"), "yes");
  await page.click("#restart");
  await page.waitForFunction(() => document.body.dataset.status === "ready", null, { timeout: 60_000 });
  await page.waitForTimeout(500);
  assert.equal(await body("running"), "no", "after a restart the page waits for the learner");
  assert.match(await runCode("print(6 * 7)"), /^42\n$/);

  // ---- 7. offline: nothing went anywhere but the server the page came from
  assert.deepEqual(elsewhere, [], `requests left 127.0.0.1: ${elsewhere}`);
  assert.ok(requests.some((u) => u.endsWith("pyodide.asm.wasm")) && requests.some((u) => u.endsWith("chainrule.zip")));
  assert.deepEqual(problems, []);
  console.log(`ok: first output ${results.firstOutput} s after the page began (cold); moons ${results.moonsSeconds} s; ` +
    `deep chain ${results.deepSeconds} s; ${requests.length} requests, all to ${base}; Python ${python}`);
} finally {
  await browser.close();
  server.kill();
}
