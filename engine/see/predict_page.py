"""Predict mode for the stepping page: type the gradient the next step adds, then see the step.

The page (`engine.see.stepper_page`) carries, with each frame, that step's questions as JSON: what is
asked (`d.grad += f.data * L.grad = ?`), the true share, the chain-rule line with its numbers and
the local derivative (from `engine.quiz.questions`, so the page asks what `engine.quiz` asks).
With "predict" ticked (or `?predict` in the address, or `step_through(v, predict=True)`), the
page hides each step until its shares are answered, reads an answer with a small arithmetic
parser (numbers, + - * / ** ^ and brackets; no `eval`), checks it with the quiz's rule
(`engine.quiz.is_right`: within 0.1%, or rounded to the digits typed within 1%; said on the page),
shows the line, and keeps a score in the page (`body[data-score]`). No server is involved.
"""

from __future__ import annotations

import html
import json
import math

from .quiz import ABS_TOL, REL_TOL, ROUNDED_TOL, TOLERANCE_HELP, questions
from .steps import Step


def _plain(x: float) -> float | str:
    """A float as JSON can carry it: infinities and NaN as the strings JavaScript's Number() reads."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def questions_json(step: Step) -> str:
    """The step's questions for the page, as JSON."""
    return json.dumps(
        [{"ask": q.ask, "answer": _plain(q.answer), "line": q.line, "local": q.local} for q in questions(step)]
    )


STYLE = """
  #quiz { margin: .3em 0 .5em; display: flex; gap: .5em; align-items: center; flex-wrap: wrap; }
  #quiz[hidden] { display: none; }
  #question { font-family: "DejaVu Sans Mono", monospace; }
  #verdict { font-family: "DejaVu Sans Mono", monospace; white-space: pre-wrap; margin: 0 0 .5em; }
  #verdict.right { color: #2ca02c; } #verdict.wrong { color: #d62728; }
"""

CONTROLS = """<div id="quiz" hidden>
  <span id="question"></span>
  <input id="guess" size="14" aria-label="your answer" autocomplete="off" placeholder="e.g. -2*1">
  <button id="check">check</button>
  <span id="score">score 0 of 0</span>
  <small id="tolerance">$TOLERANCE_HELP</small>
</div>
<pre id="verdict"></pre>""".replace("$TOLERANCE_HELP", html.escape(TOLERANCE_HELP))

SCRIPT = (
    """
// ---- predict mode (engine/predict_page.py): answer each share before its step is shown ----
const predictBox = document.getElementById("predict");
const guess = document.getElementById("guess");
const question = document.getElementById("question");
const verdict = document.getElementById("verdict");
const scoreText = document.getElementById("score");
let revealed = 0, asking = 0, right = 0, answered = 0;
const showStep = show;
show = function (i) {  // while predicting, the steps after the last answered one stay hidden
  if (predictBox.checked && i > revealed) i = revealed;
  showStep(i);
  ask();
};
function questionsOf(k) {
  const frame = document.getElementById("frame-" + k);
  return frame ? JSON.parse(frame.dataset.questions || "[]") : [];
}
function ask() {
  document.getElementById("quiz").hidden = !predictBox.checked;
  if (!predictBox.checked) return;
  if (revealed >= count - 1) { question.textContent = "every step answered"; guess.disabled = true; return; }
  if (current !== revealed) {
    question.textContent = "go to step " + revealed + " to answer the next one"; guess.disabled = true; return;
  }
  guess.disabled = false;
  question.textContent = "step " + (revealed + 1) + ": " + questionsOf(revealed + 1)[asking].ask;
}
// numbers, + - * / ** ^ and brackets, read by recursive descent (nothing is evaluated as code)
function readNumber(text) {
  const tokens = text.replace(/\\u2212/g, "-").match(/\\d*\\.?\\d+(?:[eE][-+]?\\d+)?|\\*\\*|[-+*\\/^()]|\\S/g) || [];
  let at = 0;
  const peek = () => tokens[at];
  function atom() {
    const t = tokens[at++];
    if (t === "(") { const x = sum(); if (tokens[at++] !== ")") throw 0; return x; }
    if (t !== undefined && /^\\d*\\.?\\d+(?:[eE][-+]?\\d+)?$/.test(t)) return Number(t);
    throw 0;
  }
  function unary() {
    if (peek() === "-") { at++; return -unary(); }
    if (peek() === "+") { at++; return unary(); }
    const base = atom();
    if (peek() === "**" || peek() === "^") { at++; return Math.pow(base, unary()); }
    return base;
  }
  function product() {
    let x = unary();
    while (peek() === "*" || peek() === "/") x = tokens[at++] === "*" ? x * unary() : x / unary();
    return x;
  }
  function sum() {
    let x = product();
    while (peek() === "+" || peek() === "-") x = tokens[at++] === "+" ? x + product() : x - product();
    return x;
  }
  try { const x = sum(); return at === tokens.length && tokens.length > 0 ? x : null; } catch (e) { return null; }
}
function halfUnit(text) {  // engine.quiz.half_unit: half a unit in the last digit typed, null for arithmetic
  const m = /^\\s*[-+\u2212]?(\\d*)(?:\\.(\\d*))?(?:[eE]([-+]?\\d+))?\\s*$/.exec(text);
  if (m === null || !(m[1] || m[2])) return null;
  const exponent = Number(m[3] || 0);
  return Math.abs(exponent) > 300 ? null : 0.5 * Math.pow(10, exponent - (m[2] || "").length);
}
function close(x, truth, text) {  // engine.quiz.is_right
  if (Number.isNaN(truth) || Number.isNaN(x)) return Number.isNaN(truth) && Number.isNaN(x);
  if (!Number.isFinite(truth) || !Number.isFinite(x)) return x === truth;
  const off = Math.abs(x - truth);
  if (truth === 0) return off <= $ABS_TOL;
  if (off <= $REL_TOL * Math.abs(truth)) return true;
  const unit = halfUnit(text);
  return unit !== null && off <= unit * (1 + 1e-9) && off <= $ROUNDED_TOL * Math.abs(truth);
}
function check() {
  if (!predictBox.checked || guess.disabled) return;
  const q = questionsOf(revealed + 1)[asking];
  const x = readNumber(guess.value);
  if (x === null) { verdict.className = ""; verdict.textContent = "cannot read " + JSON.stringify(guess.value)
    + ": type a number or arithmetic such as -2*1"; return; }
  const ok = close(x, Number(q.answer), guess.value);
  answered += 1;
  if (ok) right += 1;
  verdict.className = ok ? "right" : "wrong";
  verdict.textContent = ok ? "right: " + q.line
    : "not quite (" + guess.value.trim() + "): " + q.line + "\\nlocal derivative: " + q.local;
  scoreText.textContent = "score " + right + " of " + answered;
  document.body.dataset.score = right + "/" + answered;
  guess.value = "";
  asking += 1;
  if (asking >= questionsOf(revealed + 1).length) { asking = 0; revealed += 1; }
  show(revealed);
  if (!guess.disabled) guess.focus();
}
document.getElementById("check").onclick = check;
guess.addEventListener("keydown", (event) => {  // typing in the box must not step the page
  event.stopPropagation();
  if (event.key === "Enter") check();
});
predictBox.onchange = () => { pause(); revealed = current; asking = 0; show(current); };
if ($PREDICT || /predict/.test(location.search + location.hash)) { predictBox.checked = true; predictBox.onchange(); }
""".replace("$REL_TOL", repr(REL_TOL))
    .replace("$ABS_TOL", repr(ABS_TOL))
    .replace("$ROUNDED_TOL", repr(ROUNDED_TOL))
)

CHECKBOX = '<label title="answer each step before it is shown"><input id="predict" type="checkbox"> predict</label>'
