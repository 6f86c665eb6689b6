// The page's Python: Pyodide (CPython in WebAssembly) with chainrule unpacked into its
// site-packages, and viz.js for the pictures. Runs off the page's thread, so a training loop
// never freezes the page. Messages in: {kind: "run", code}. Out: see py/playground.py and below.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const started = performance.now();

async function boot() {
  const marks = {};
  const mark = (name) => (x) => { marks[name] = performance.now() - started; return x; };
  const [pyodide, viz, archive] = await Promise.all([
    loadPyodide({ indexURL: new URL("./pyodide/", import.meta.url).href }).then(mark("pyodide")),
    import("./viz.js").then((module) => module.instance()).then(mark("viz")),  // after Pyodide's fetches begin
    fetch(new URL("./chainrule.zip", import.meta.url)).then((r) => r.arrayBuffer()).then(mark("zip")),
  ]);
  self.vizRender = (dot) => {
    const result = viz.render(dot, { format: "svg" });
    if (result.status !== "success") throw new Error(result.errors.map((e) => e.message).join("; "));
    return result.output;
  };
  pyodide.setStdout({ batched: (text) => postMessage({ kind: "out", text }) });
  pyodide.setStderr({ batched: (text) => postMessage({ kind: "err", text }) });
  pyodide.setStdin({ error: true });  // input() raises: the page has no prompt to answer it
  // into site-packages, not the working folder: a chdir in the learner's code must not lose `engine`
  const site = pyodide.runPython("import site; site.getsitepackages()[0]");
  pyodide.unpackArchive(new Uint8Array(archive), "zip", { extractDir: site });
  pyodide.runPython("import playground");
  mark("import")();
  const python = pyodide.runPython("import sys; sys.version.split()[0]");
  postMessage({
    kind: "ready",
    python,
    pyodide: pyodide.version,
    graphviz: viz.graphvizVersion,
    seconds: (performance.now() - started) / 1000,
    marks,
  });
  return pyodide;
}

const ready = boot().catch((error) => {
  postMessage({ kind: "fatal", text: String(error && error.stack ? error.stack : error) });
  throw error;
});

onmessage = async (event) => {
  const pyodide = await ready;
  const { kind, code, id } = event.data;
  if (kind !== "run") return;
  const t0 = performance.now();
  let ok = false;
  try {
    const run = pyodide.globals.get("__import__")("playground").run;
    ok = run(code);
    run.destroy();
  } catch (error) {  // the runtime itself failed (a Python error is printed by playground.run)
    postMessage({ kind: "fatal", text: String(error && error.message ? error.message : error) });
    return;
  }
  postMessage({ kind: "done", id, ok, seconds: (performance.now() - t0) / 1000 });
};
