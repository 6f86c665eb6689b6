// Every `>>>` example of README.md and docs/*.md, run inside Pyodide under Node, with the files the
// page ships (dist/chainrule.zip: build it first with `python build.py`) and viz.js as the renderer.
// Passes when every example passes or is skipped for something the browser lacks, said per example,
// and the examples run are every `>>>` of the pages, counted here without Python.
//
//   node test/doctests.mjs          (from docs/play/)
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { loadPyodide } from "pyodide";
import { instance } from "@viz-js/viz";

const play = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(play, "..", "..");
const pages = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];

const t0 = Date.now();
const [pyodide, viz] = await Promise.all([loadPyodide(), instance()]);
globalThis.vizRender = (dot) => {
  const result = viz.render(dot, { format: "svg" });
  if (result.status !== "success") throw new Error(result.errors.map((e) => e.message).join("; "));
  return result.output;
};
globalThis.postMessage = () => {};  // what the page's worker would receive from show() and boundary()
const site = pyodide.runPython("import site; site.getsitepackages()[0]");
pyodide.unpackArchive(new Uint8Array(readFileSync(join(play, "dist", "chainrule.zip"))), "zip", { extractDir: site });
pyodide.FS.mkdirTree("/repo/docs");
for (const page of pages) pyodide.FS.writeFile(`/repo/${page}`, readFileSync(join(root, page)));
pyodide.FS.writeFile(`${site}/doctests.py`, readFileSync(join(play, "test", "doctests.py")));
const result = JSON.parse(pyodide.runPython("import playground, doctests; doctests.report('/repo')"));

// the runner itself can fail: a wrong number is a failure; a missing module skips the rest of its block
pyodide.FS.writeFile("/repo/wrong.md", "```python\n>>> from engine import Value\n>>> Value(2.0) * 3\n6.0\n\n```\n" +
  "```python\n>>> import torch\n>>> torch.zeros(1)\n0\n\n```\n");
const check = JSON.parse(pyodide.runPython(`
import json, doctests
from pathlib import Path
probe = {"passed": 0, "skipped": [], "failed": []}
doctests.run_page(Path("/repo/wrong.md"), "wrong.md", probe)
json.dumps(probe)`));
assert.equal(check.passed, 1);
assert.equal(check.failed.length, 1);
assert.match(check.failed[0], /Expected:\n    6\.0\nGot:\n    Value\(data=6\.0/);
assert.deepEqual(check.skipped.map((s) => s.split(": ").slice(-1)[0]), Array(2).fill("needs torch, which Pyodide does not have"));

let shown = 0;  // every `>>> ` of the pages, counted as tests/test_readme.py counts them
for (const page of pages) shown += readFileSync(join(root, page), "utf8").split(">>> ").length - 1;
for (const skip of result.skipped) console.log(`skipped ${skip}`);
for (const failure of result.failed) console.log(`FAILED\n${failure}`);
console.log(`Python ${result.python} (Pyodide ${pyodide.version}): ${result.passed} examples passed, ` +
  `${result.skipped.length} skipped, ${result.failed.length} failed, of ${shown} in ${result.pages.length} pages ` +
  `(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
assert.deepEqual(result.pages, pages);
assert.equal(result.failed.length, 0);
assert.equal(result.passed + result.skipped.length, shown, "examples run and skipped should be every >>> of the pages");
