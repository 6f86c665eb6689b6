"""What the page adds to Python in the browser: pictures through viz.js, showing results, the boundary.

The page's worker (src/worker.js) defines `vizRender(dot)` (Graphviz compiled to WebAssembly) and
`postMessage`; this module installs the first as chainrule's renderer (`engine.see.drawing.use_renderer`)
and sends the page what a run shows:

    show(v, **options)  the graph of a Value, as SVG (options as to_dot's, e.g. max_nodes=);
                        a Stepper (`engine.step_through(v)`): the stepping page
    boundary(model, X, y, title)   the model's decision over the plane, with the points, drawn on the page
    run(code)           runs the editor's code; a Value or Stepper on its last line is shown, anything else printed
"""

from __future__ import annotations

import ast
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import js  # the worker's global scope (Pyodide)
from pyodide.ffi import JsException, to_js

from engine import Stepper, Value, to_dot
from engine.see.drawing import DotFailed, use_renderer

MONOSPACE = "DejaVu Sans Mono"  # the engine's font for numbers: its advance is 0.6 em, as Courier's
SHOWN_MONOSPACE = "DejaVu Sans Mono,Menlo,Consolas,monospace"
GRID = 25  # the boundary's grid: GRID x GRID points of the plane (each one a forward pass)


def viz_renderer(dot_texts: Sequence[str], fmt: str) -> list[bytes]:
    """chainrule's renderer in the browser: viz.js, one graph at a time, SVG only.

    viz.js has no font files, only the metrics of Times, Helvetica and Courier: a graph in the
    engine's monospace font is laid out as Courier (the same width per character) and drawn in a
    monospace font of the learner's machine.
    """
    if fmt != "svg":
        raise DotFailed(f"in the browser chainrule draws SVG only (with viz.js), not {fmt!r}")
    pictures = []
    for text in dot_texts:
        try:
            svg = str(js.vizRender(text.replace(f'fontname="{MONOSPACE}"', 'fontname="Courier"')))
        except JsException as error:
            raise DotFailed(f"viz.js refused the DOT text: {error}") from None
        pictures.append(svg.replace('font-family="Courier,monospace"', f'font-family="{SHOWN_MONOSPACE}"').encode())
    return pictures


def send(kind: str, **fields: Any) -> None:
    js.postMessage(to_js({"kind": kind, **fields}, dict_converter=js.Object.fromEntries))


def show(thing: Any, **options: Any) -> None:
    """Show a Value's graph (options as engine.to_dot takes them: max_nodes=, rankdir=, step=), or a Stepper's page."""
    if isinstance(thing, Stepper):
        send("steps", html=thing.page)
    elif isinstance(thing, Value):
        from engine.see.drawing import render

        send("graph", svg=render(to_dot(thing, **options)).decode())
    else:
        raise TypeError(f"show: expected a Value or engine.step_through(v), got {type(thing).__name__}")


def boundary(model: Any, X: Sequence[Sequence[float]], y: Sequence[int], title: str = "") -> None:
    """Send the page the model's score over a grid covering the points (no graph is built), and the points."""
    from nn.metrics import outputs  # here: a page that never trains does not wait for nn to load

    xs, ys = [p[0] for p in X], [p[1] for p in X]
    pad_x, pad_y = 0.15 * (max(xs) - min(xs)) + 0.1, 0.15 * (max(ys) - min(ys)) + 0.1
    box = [min(xs) - pad_x, max(xs) + pad_x, min(ys) - pad_y, max(ys) + pad_y]
    grid = [
        [box[0] + (box[1] - box[0]) * i / (GRID - 1), box[2] + (box[3] - box[2]) * j / (GRID - 1)]
        for j in range(GRID)
        for i in range(GRID)
    ]
    scores = [float(s) for s in outputs(model, grid)]
    send("boundary", box=box, size=GRID, scores=scores, points=[list(p) for p in X], labels=list(y), title=title)


def run(code: str) -> bool:
    """Run the editor's code in a fresh namespace; show or print its last expression. True if it ran."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    try:
        tree = ast.parse(code, "<editor>")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<editor>", "exec"), namespace)
        if last is not None:
            result = eval(compile(ast.Expression(last.value), "<editor>", "eval"), namespace)
            if isinstance(result, (Value, Stepper)):
                show(result)
            if result is not None and not isinstance(result, Stepper):
                print(repr(result))
        return True
    except BaseException as error:  # the learner's error, shown as Python shows it, from their code down
        frames = traceback.extract_tb(error.__traceback__)
        mine = next((k for k, frame in enumerate(frames) if frame.filename == "<editor>"), len(frames))
        shown = traceback.format_list(frames[mine:])
        sys.stderr.write("Traceback (most recent call last):\n" + "".join(shown))
        sys.stderr.write("".join(traceback.format_exception_only(type(error), error)))
        return False
    finally:
        namespace.clear()  # the run's graphs are freed here, before the page says the run is done


use_renderer(viz_renderer)
