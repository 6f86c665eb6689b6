// How long a learner waits: the page's cold start, measured in headless Chromium. Each run launches
// a fresh browser (nothing cached, no compiled code kept), opens the page served from 127.0.0.1, and
// reads the seconds from the page's start to the worked example's first line of output, and to
// Python being ready. Prints every run and the median. Build the page first.
//
//   node test/coldstart.mjs [runs]        (from docs/play/; 5 runs unless told)
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const play = join(dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.argv[2] || 5);
const server = spawn(process.env.PYTHON || "python3", [join(play, "build.py"), "--serve", "--port", "0"],
  { stdio: ["ignore", "pipe", "inherit"] });
const base = await new Promise((resolve, reject) => {
  let seen = "";
  server.stdout.on("data", (chunk) => {
    seen += chunk;
    const found = /serving (http:\/\/127\.0\.0\.1:\d+\/)/.exec(seen);
    if (found) resolve(found[1]);
  });
  server.on("exit", (code) => reject(new Error(`the server stopped (${code}):\n${seen}`)));
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const firsts = [], readies = [];
try {
  for (let i = 0; i < runs; i++) {
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run"],
    });
    const page = await browser.newPage();
    await page.goto(base);
    await page.waitForFunction(() => document.body.dataset.firstOutput, null, { timeout: 60_000 });
    const { firstOutput, marks } = await page.evaluate(() => document.body.dataset);
    const ready = JSON.parse(marks);
    firsts.push(Number(firstOutput));
    readies.push(ready.start + ready.import / 1000);
    console.log(`run ${i + 1}: first output ${firstOutput} s after the page began; Python ready at ` +
      `${readies.at(-1).toFixed(2)} s (runtime ${(ready.pyodide / 1000).toFixed(2)} s after the worker began)`);
    await browser.close();
  }
  console.log(`median of ${runs}: first output ${median(firsts).toFixed(2)} s, Python ready ${median(readies).toFixed(2)} s`);
} finally {
  server.kill();
}
