"""A picture of a `LayerReport`: the network as columns of neurons, not the scalar graph.

Each neuron is a box with its z, a and delta = dL/dz (read from the graph) for one example;
each edge is a weight, drawn darker and thicker the larger its |dL/dw| (summed over the examples),
with w and dL/dw in its tooltip. Node ids are stable (`x0`, `l1n0`, ..., `loss`), so the same
report always gives the same DOT text and the same SVG.

    layers_to_dot(report)           DOT text (needs neither the graphviz package nor `dot`)
    draw_layers(report)             a graphviz.Digraph (a Jupyter notebook shows it inline)
    save_layers(report, "n.svg")    an SVG, PNG or PDF file (runs `dot`), or the .dot text
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Protocol

from engine.files import write_atomically
from engine.see.drawing import picture_class, quoted, render

from .textbook import LayerData


class LayerReport(Protocol):
    """What a picture reads of a report (an `nn.LayerReport`): rendering knows no more of it."""

    sizes: list[int]
    inputs: list[list[float]]
    loss: float
    layers: list[LayerData]

    @property
    def examples(self) -> int: ...


INPUT_COLOUR = "#bcd9f5"
HIDDEN_COLOUR = "#ffffff"
OUTPUT_COLOUR = "#b6e3b6"
LOSS_COLOUR = "#fdd9a8"
FORMATS = ("svg", "png", "pdf", "dot")


def _number(x: float) -> str:
    return f"{x + 0.0:.4g}"  # + 0.0: -0.0 is written 0


def _grey(t: float) -> str:
    """t in [0, 1] -> a hex colour from light grey (0) to black (1)."""
    level = round(215 * (1.0 - t))
    return f"#{level:02x}{level:02x}{level:02x}"


def _table(rows: list[str], colour: str) -> str:
    """An HTML-like label: one cell per row of text, escaped (&, <, > and quotes)."""
    cells = "".join(f"<tr><td>{html.escape(row)}</td></tr>" for row in rows)
    return f'<<table border="0" cellborder="1" cellspacing="0" cellpadding="3" bgcolor="{colour}">{cells}</table>>'


def _in_order(ids: list[str]) -> str:
    """Keep a column's nodes top to bottom in index order (invisible edges within one rank; in LR they point up)."""
    chain = " -> ".join(reversed(ids)) + " [style=invis]" if len(ids) > 1 else ids[0]
    return f"  {{ rank=same; {chain} }}"


def _check_example(report: LayerReport, example: int) -> None:
    if isinstance(example, bool) or not isinstance(example, int) or not 0 <= example < report.examples:
        raise ValueError(f"layer picture: example must be an int from 0 to {report.examples - 1}, got {example!r}")


def layers_to_dot(report: LayerReport, example: int = 0) -> str:
    """The DOT text of the network of `report`, showing z, a and delta of example `example`."""
    _check_example(report, example)
    n = report.examples
    shape = "-".join(str(s) for s in report.sizes)
    title = f"MLP {shape}, " + (f"example {example} of {n}" if n > 1 else "one example")
    title += f"; loss {_number(report.loss)}; delta = dL/dz; edges darker for larger |dL/dw|"
    if n > 1:
        title += f" (summed over the {n} examples)"
    out = [
        # remincross=false: the last crossing-minimisation pass (run for clusters) rotated a column's
        # order, drawing neurons 2, 0, 1 top to bottom despite the ordering edges
        f"graph [rankdir=LR fontname=Helvetica fontsize=12 bgcolor=white nodesep=0.12 ranksep=1.1 remincross=false "
        f"labelloc=t label={quoted(title)}]",
        'node [fontname="DejaVu Sans Mono" fontsize=10 shape=plain]',
        "edge [arrowsize=0.5]",
    ]
    out.append(f'subgraph cluster_0 {{ label={quoted("input a(0) = x")} color="#999999"')
    for j, x in enumerate(report.inputs[example]):
        label = _table([f"x{j}", f"a {_number(x)}"], INPUT_COLOUR)
        out.append(f"  x{j} [label={label} tooltip={quoted(f'x{j} = {x!r}')}]")
    out.append(_in_order([f"x{j}" for j in range(len(report.inputs[example]))]))
    out.append("}")
    last = len(report.layers)
    for layer in report.layers:
        li = layer.index
        heading = f"layer {li}: {layer.activation}"
        out.append(f'subgraph cluster_{li} {{ label={quoted(heading)} color="#999999"')
        colour = OUTPUT_COLOUR if li == last else HIDDEN_COLOUR
        for k in range(len(layer.b)):
            fields = [
                f"neuron {k}",  # in the box of layer li (not "neuron 1.0", which reads as a number)
                f"z {_number(layer.z[example][k])}",
                f"a {_number(layer.a[example][k])}",
                f"delta {_number(layer.delta_graph[example][k])}",
            ]
            tip = f"layer {li}, neuron {k}: b = {layer.b[k]!r}, dL/db = {layer.db_graph[k]!r}, "
            tip += f"f'(z) = {layer.fprime[example][k]!r}"
            out.append(f"  l{li}n{k} [label={_table(fields, colour)} tooltip={quoted(tip)}]")
        out.append(_in_order([f"l{li}n{k}" for k in range(len(layer.b))]))
        out.append("}")
    largest = max((abs(g) for layer in report.layers for row in layer.dW_graph for g in row), default=0.0)
    for layer in report.layers:
        li = layer.index
        source = [f"x{j}" for j in range(len(layer.W[0]))] if li == 1 else None
        for k, (weights, grads) in enumerate(zip(layer.W, layer.dW_graph, strict=True)):
            for j, (w, g) in enumerate(zip(weights, grads, strict=True)):
                t = abs(g) / largest if largest > 0.0 else 0.0
                tail = source[j] if source else f"l{li - 1}n{j}"
                tip = f"w = {w!r}, dL/dw = {g!r}"
                out.append(
                    f'{tail} -> l{li}n{k} [color="{_grey(t)}" penwidth={0.4 + 2.6 * t:.2f} tooltip={quoted(tip)}]'
                )
    out.append(f"loss [label={_table(['loss ' + _number(report.loss)], LOSS_COLOUR)}]")
    for k in range(len(report.layers[-1].b)):
        out.append(f'l{last}n{k} -> loss [color="#555555"]')
    return "digraph layers {\n" + "".join(f"\t{s}\n" for s in out) + "}\n"


def draw_layers(report: LayerReport, example: int = 0) -> Any:
    """The picture as a graphviz.Digraph (shown inline by Jupyter; .render() / .pipe() to save)."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            "draw() returns a graphviz.Digraph and needs the graphviz package: pip install graphviz "
            "(or pip install 'chainrule[graph]'); report.to_dot() gives the DOT text without it"
        ) from None
    text = layers_to_dot(report, example)
    graph = picture_class(graphviz)("layers", format="svg")  # its render() leaves only the picture
    graph.body.extend(line + "\n" for line in text.splitlines()[1:-1])
    return graph


def save_layers(report: LayerReport, path: str | Path, example: int = 0, *, format: str | None = None) -> Path:
    """Write the picture to `path` as SVG, PNG or PDF (runs Graphviz's `dot`) or DOT text, atomically."""
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".") or "svg").lower()
    if fmt not in FORMATS:
        raise ValueError(f"save: unknown picture format {fmt!r} for {str(path)!r}; use one of {', '.join(FORMATS)}")
    text = layers_to_dot(report, example)
    data = text.encode() if fmt == "dot" else render(text, fmt)
    return write_atomically(path, data, who="save", special="in place")
