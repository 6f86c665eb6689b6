"""One self-contained HTML page that steps through a backward pass, picture by picture.

Frame 0 is the graph with every gradient reset and the output seeded; frame k is the graph
after step k of `v.backward_steps()`, with that step's node in red and its chain-rule lines
as the caption. The SVG frames (rendered by Graphviz's `dot`, or the renderer in use) are
embedded in the page, so the file opens anywhere, offline. Buttons: previous / next / play;
keys: left and right arrows, space to play or pause, Home and End. The graph starts fitted to
the window's width; f switches to full size, scrolled to the step's node. A legend says what
the red and orange mean. The address can pick a frame (`page.html#step=3`) or start playing
(`page.html?autoplay`).

The pictures show one backward pass from zero gradients, computed aside (`engine.see.viewed`):
writing the page changes no `.grad`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from ..core.spelling import number
from ..core.value import Value
from ..files import write_atomically
from .drawing import CURRENT, RECEIVING, check_size, prepare, render_all, source
from .predict_page import CHECKBOX, CONTROLS, SCRIPT, STYLE, questions_json
from .viewed import viewed_pass

DEFAULT_MAX_NODES = 150  # one frame per non-leaf node, each a picture of the whole graph


class Frame(NamedTuple):
    """One picture of the page: its caption, its DOT text, the DOT id of the step's node ('' at the start)
    and the step's questions for predict mode (JSON)."""

    caption: str
    dot: str
    node: str
    questions: str = "[]"


def frames(
    v: Value, *, rankdir: str = "LR", max_nodes: int = DEFAULT_MAX_NODES, parameters: Iterable[Value] = ()
) -> list[Frame]:
    """A Frame for the start and one after each step of v's backward pass (computed aside: no .grad changes)."""
    check_size(v, max_nodes, "stepper")
    seen = viewed_pass(v, who="stepper")
    pic = prepare(v, rankdir=rankdir, max_nodes=max_nodes, parameters=parameters, graph=seen.graph)
    root = seen.names[v]
    start = (
        f"start: every gradient of the graph at 0, {root}.grad seeded with {number(seen.seed)} "
        f"(d{root}/d{root} = 1); {len(seen.steps)} steps to go"
    )
    result = [Frame(start, source(pic, None, seen.grads_after(0)), "")]
    grads = seen.grads_after(0)
    for step, change in zip(seen.steps, seen.changes, strict=True):
        grads.update(change)
        result.append(Frame(str(step), source(pic, step, grads), pic.ids[step.node], questions_json(step)))
    return result


def render_frames(dot_texts: list[str]) -> list[str]:
    """SVG text of each DOT graph, from one call of the renderer (one run of `dot`) over them all."""
    return [svg[svg.index(b"<svg") :].decode() for svg in render_all(dot_texts, "svg")]


def stepper_html(
    v: Value,
    *,
    title: str | None = None,
    rankdir: str = "LR",
    max_nodes: int = DEFAULT_MAX_NODES,
    parameters: Iterable[Value] = (),
    predict: bool = False,
) -> str:
    """The page's HTML text: every frame's SVG inline, with the script that steps through them.

    With predict=True the page starts in predict mode (see `engine.predict_page`).
    """
    made = frames(v, rankdir=rankdir, max_nodes=max_nodes, parameters=parameters)
    svgs = render_frames([frame.dot for frame in made])
    title = title or "backward pass, step by step"
    templates = "\n".join(
        f'<template id="frame-{i}" data-caption="{html.escape(frame.caption)}" data-node="{frame.node}"'
        f' data-questions="{html.escape(frame.questions)}">'
        f"{svg}</template>"
        for i, (frame, svg) in enumerate(zip(made, svgs, strict=True))
    )
    return (
        PAGE.replace("$TITLE", html.escape(title))
        .replace("$COUNT", json.dumps(len(svgs)))
        .replace("$PREDICT_STYLE", STYLE)
        .replace("$PREDICT_CONTROLS", CONTROLS)
        .replace("$PREDICT_CHECKBOX", CHECKBOX)
        .replace("$PREDICT_SCRIPT", SCRIPT.replace("$PREDICT", "true" if predict else "false"))
        .replace("$CURRENT", CURRENT)
        .replace("$RECEIVING", RECEIVING)
        .replace("$FRAMES", templates)
    )


def write_stepper(v: Value, path: str | Path, **options) -> Path:
    """Write the stepping page for v's backward pass to `path` (an .html file); return the path."""
    return write_atomically(path, stepper_html(v, **options).encode("utf-8"), who="save", special="in place")


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>$TITLE</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1em; color: #222; }
  h1 { font-size: 1.2em; margin: 0 0 .5em; }
  #controls { display: flex; gap: .5em; align-items: center; margin-bottom: .5em; }
  button { font-size: 1em; padding: .3em .9em; }
  #caption { background: #f6f6f6; border-left: 4px solid #d62728; padding: .5em .8em;
             font-family: "DejaVu Sans Mono", monospace; white-space: pre-wrap; min-height: 3.5em; }
  #legend { margin: 0 0 .5em; font-size: .9em; color: #444; }
  .swatch { display: inline-block; width: 1.4em; height: .8em; border: 3px solid; vertical-align: middle; }
  #view { overflow: auto; max-height: calc(100vh - 13em); border: 1px solid #ddd; }
  #view svg { display: block; }
  body.fit #view svg { max-width: 100%; height: auto; }
$PREDICT_STYLE</style>
</head>
<body class="fit" data-step="" data-current="" data-status="loading">
<h1>$TITLE</h1>
<div id="controls">
  <button id="prev" title="previous step (left arrow)">&#9664; previous</button>
  <button id="play" title="play / pause (space)">play</button>
  <button id="next" title="next step (right arrow)">next &#9654;</button>
  <input id="slider" type="range" min="0" value="0" aria-label="step">
  <span id="counter"></span>
  <label title="whole graph at once, or full size (f)"><input id="fit" type="checkbox" checked> fit to width</label>
  $PREDICT_CHECKBOX
</div>
<p id="legend"><span class="swatch" style="border-color:$CURRENT"></span> this step's node, and the edges
its gradient flows back along &nbsp; <span class="swatch" style="border-color:$RECEIVING"></span>
the inputs it adds to (input.grad += local * node.grad)</p>
$PREDICT_CONTROLS
<pre id="caption"></pre>
<div id="view"></div>
$FRAMES
<script>
"use strict";
const count = $COUNT;
const view = document.getElementById("view");
const caption = document.getElementById("caption");
const slider = document.getElementById("slider");
const counter = document.getElementById("counter");
const playButton = document.getElementById("play");
let current = 0;
let timer = null;

function show(i) {
  current = Math.max(0, Math.min(count - 1, i));
  const frame = document.getElementById("frame-" + current);
  view.replaceChildren(frame.content.cloneNode(true));
  caption.textContent = frame.dataset.caption;
  slider.value = current;
  counter.textContent = "step " + current + " of " + (count - 1);
  document.body.dataset.step = current;
  document.body.dataset.current = focus(frame.dataset.node);
  if (current === count - 1) pause();
}
// Centre the node of this step in the viewer (a full-size graph is wider than the window); return its id.
function focus(id) {
  for (const title of view.querySelectorAll("g.node > title")) {
    if (title.textContent === id) {
      const box = title.parentNode.getBoundingClientRect();
      const frame = view.getBoundingClientRect();
      view.scrollLeft += box.left + box.width / 2 - (frame.left + frame.width / 2);
      view.scrollTop += box.top + box.height / 2 - (frame.top + frame.height / 2);
      return id;
    }
  }
  return "";
}
const fit = document.getElementById("fit");
fit.onchange = () => { document.body.classList.toggle("fit", fit.checked); show(current); };
function play() {
  if (current === count - 1) show(0);
  playButton.textContent = "pause";
  timer = setInterval(() => show(current + 1), 1200);
}
function pause() {
  if (timer !== null) clearInterval(timer);
  timer = null;
  playButton.textContent = "play";
}
document.getElementById("prev").onclick = () => { pause(); show(current - 1); };
document.getElementById("next").onclick = () => { pause(); show(current + 1); };
playButton.onclick = () => (timer === null ? play() : pause());
slider.max = count - 1;
slider.oninput = () => { pause(); show(Number(slider.value)); };
document.addEventListener("keydown", (event) => {
  const moves = { ArrowLeft: current - 1, ArrowRight: current + 1, Home: 0, End: count - 1 };
  if (event.key in moves) { pause(); show(moves[event.key]); event.preventDefault(); }
  else if (event.key === " ") { playButton.click(); event.preventDefault(); }
  else if (event.key === "f") { fit.click(); }
});
const wanted = /step=(\\d+)/.exec(location.hash);
show(wanted ? Number(wanted[1]) : 0);
if (/autoplay/.test(location.search + location.hash)) play();
$PREDICT_SCRIPT
document.body.dataset.status = "ready";
</script>
</body>
</html>
"""
