// How long a learner waits: the page's cold start, measured in headless Chromium. Each run launches
// a fresh browser (nothing cached, no compiled code kept), opens the page served from 127.0.0.1, and
// reads the seconds from the page's start to the worked example's first line of output, and to
// Python being ready. Prints every run and the median.
//
//   node test/coldstart.mjs [runs]        (from docs/play/; 5 runs unless told)
import { launch, serve } from "./browser.mjs";

const runs = Number(process.argv[2] || 5);
const { base, server } = await serve();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const firsts = [], readies = [];
try {
  for (let i = 0; i < runs; i++) {
    const browser = await launch();
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
