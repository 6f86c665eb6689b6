// The page: an editor, the output, and what the worker's Python shows (graph, stepping page,
// boundary). All Python runs in worker.js; this file only moves text and pictures around.
// body[data-*] records what happened (status, first output time, runs): the browser test reads it.
"use strict";

const examples = JSON.parse(document.getElementById("examples-data").textContent);
const $ = (id) => document.getElementById(id);
const editor = $("editor"), output = $("output"), runButton = $("run"), state = $("state");
let worker = null, running = false, runs = 0, firstOutput = false, greeted = false;

for (const [name, example] of Object.entries(examples)) {
  const option = document.createElement("option");
  option.value = name;
  option.textContent = example.title;
  $("examples").append(option);
}
const wanted = new URLSearchParams(location.search).get("example");
if (wanted in examples) $("examples").value = wanted;
editor.value = examples[$("examples").value].code;
$("examples").onchange = () => { editor.value = examples[$("examples").value].code; run(); };

function write(text, kind) {
  const span = document.createElement("span");
  if (kind) span.className = kind;
  span.textContent = text + "\n";
  output.append(span);
  output.scrollTop = output.scrollHeight;
  if (!firstOutput && kind !== "note") {
    firstOutput = true;
    document.body.dataset.firstOutput = (performance.now() / 1000).toFixed(2);  // seconds since the page began
  }
}

function setRunning(on) {
  running = on;
  runButton.disabled = on || document.body.dataset.status !== "ready";
  document.body.dataset.running = on ? "yes" : "no";
}

function start() {
  document.body.dataset.status = "loading";
  setRunning(false);
  worker = new Worker("worker.js", { type: "module" });
  worker.onmessage = (event) => {  // a message of any other kind (the learner can post one) is ignored
    if (Object.hasOwn(receive, event.data?.kind)) receive[event.data.kind](event.data);
  };
  worker.onerror = (event) => receive.fatal({ text: event.message || "the worker stopped" });
}

const receive = {
  ready(m) {
    $("runtime").textContent = `Python ${m.python} (Pyodide ${m.pyodide}, CPython compiled to WebAssembly) and ` +
      `Graphviz ${m.graphviz} (viz.js), running in this tab: ready in ${m.seconds.toFixed(1)} s. ` +
      "Nothing is installed, and nothing you type is sent anywhere.";
    document.body.dataset.python = m.python;
    document.body.dataset.marks = JSON.stringify({ start: performance.now() / 1000 - m.seconds, ...m.marks });
    document.body.dataset.status = "ready";
    setRunning(false);
    state.textContent = "ready";
    if (!greeted) run();  // the first example runs by itself once; after a restart the learner runs it
    greeted = true;
  },
  out(m) { write(m.text); },
  err(m) { write(m.text, "err"); },
  graph(m) { $("graph").innerHTML = m.svg; document.body.dataset.graphs = Number(document.body.dataset.graphs || 0) + 1; },
  steps(m) { $("steps").srcdoc = m.html; $("steps").classList.remove("empty"); },
  boundary(m) { drawBoundary(m); },
  done(m) {
    setRunning(false);
    runs += 1;
    state.textContent = (m.ok ? "ran" : "stopped with an error") + ` in ${Number(m.seconds).toFixed(2)} s`;
    document.body.dataset.runs = runs;
    document.body.dataset.lastRun = m.ok ? "ok" : "error";
  },
  fatal(m) {
    write("The Python runtime stopped: " + m.text + "\nStarting a fresh one; run again when it is ready.", "err");
    document.body.dataset.fatal = Number(document.body.dataset.fatal || 0) + 1;
    worker.terminate();
    start();
  },
};

function run() {
  if (running || document.body.dataset.status !== "ready") return;
  output.replaceChildren();
  clearPanels();
  state.textContent = "running\u2026";
  setRunning(true);
  worker.postMessage({ kind: "run", code: editor.value, id: runs + 1 });
}

runButton.onclick = run;
$("restart").onclick = () => {
  worker.terminate();
  write("(Python restarted: everything the code made is gone)", "note");
  state.textContent = "";
  start();
};
editor.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); run(); }
  else if (event.key === "Tab" && !event.shiftKey) {
    event.preventDefault();
    editor.setRangeText("    ", editor.selectionStart, editor.selectionEnd, "end");
  }
});

// The model's score over the plane, one pixel per grid point scaled up smoothly: orange where it
// predicts the positive class, blue the negative, paler near the boundary (score 0); the points on top.
function drawBoundary({ box, size, scores, points, labels, title }) {
  const canvas = $("boundary"), ctx = canvas.getContext("2d");
  const [x0, x1, y0, y1] = box, w = canvas.width, h = canvas.height;
  const small = document.createElement("canvas");
  small.width = small.height = size;
  const image = small.getContext("2d").createImageData(size, size);
  scores.forEach((s, k) => {
    const i = k % size, j = Math.floor(k / size), at = 4 * ((size - 1 - j) * size + i);  // row 0 is the top
    const colour = s > 0 ? [255, 127, 14] : [31, 119, 180];
    const strength = 0.15 + 0.4 * Math.min(1, Math.abs(s));
    for (let c = 0; c < 3; c++) image.data[at + c] = Math.round(255 - strength * (255 - colour[c]));
    image.data[at + 3] = 255;
  });
  small.getContext("2d").putImageData(image, 0, 0);
  const cw = w / (size - 1), ch = h / (size - 1);  // grid point i sits at x = i * cw
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(small, -cw / 2, -ch / 2, w + cw, h + ch);
  points.forEach(([x, y], k) => {
    ctx.beginPath();
    ctx.arc(((x - x0) / (x1 - x0)) * w, h - ((y - y0) / (y1 - y0)) * h, 4, 0, 2 * Math.PI);
    ctx.fillStyle = labels[k] > 0 ? "#ff7f0e" : "#1f77b4";
    ctx.fill();
    ctx.strokeStyle = "#000";
    ctx.stroke();
  });
  $("boundary-title").textContent = title;
  $("boundary-panel").classList.remove("empty");
  document.body.dataset.boundaries = Number(document.body.dataset.boundaries || 0) + 1;
}

// Each run starts with empty panels, so a picture always belongs to the code above it.
function clearPanels() {
  $("graph").innerHTML = '<p class="hint">nothing drawn by this run</p>';
  $("steps").srcdoc = "";
  $("steps").classList.add("empty");
  $("boundary").getContext("2d").clearRect(0, 0, $("boundary").width, $("boundary").height);
  $("boundary-title").textContent = "nothing drawn by this run";
  $("boundary-panel").classList.add("empty");
  document.body.dataset.boundaries = 0;
}

start();
