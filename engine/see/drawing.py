"""Pictures of a computation graph: DOT text, `graphviz.Digraph`s, SVG/PNG files.

    to_dot(v)            DOT text (needs neither the graphviz package nor the `dot` program)
    draw(v)              a graphviz.Digraph (a Jupyter notebook shows it inline; .render() writes SVG)
    save(v, "g.svg")     an SVG, PNG or PDF file (runs `dot`), or the .dot text, written atomically

Pictures are made by one renderer, Graphviz's `dot` program unless `use_renderer(r)` names
another: `r(dot_texts, fmt)` turns a list of DOT graphs into a list of pictures (bytes), one
each. Everything that renders (save, the stepping page, nn's layer pictures) goes through it, so
a page running chainrule in a browser (docs/play/) draws with Graphviz compiled to WebAssembly.

Every `Value` is one record `name | data | grad`; every operation is one small node
between its inputs and its result. Node ids follow the topological order, so the same
graph always gives the same DOT text and the same SVG.

Colours tell a node's role:
    output     the Value being drawn (the root)
    result     any other node an operation made
    parameter  a leaf in `parameters=` (a list of Values, or a model: anything with a
               `.parameters()` method), or whose label is a dotted name such as
               `layers.0.neurons.1.w.0` (how `nn` labels its parameters; a lone
               `nn.Neuron`'s bias is just `b`, so pass `parameters=neuron` for it)
    input      any other leaf made with Value(...), labelled or not
    constant   the leaf a Python number in an expression (`2 * x`) becomes
`step=k` draws the graph as it is after step k of the backward pass, with the node of step k and
its edges in red; `backward=True` draws the gradients of the whole pass. Both are computed aside
(`engine.see.viewed`): they start from zero gradients and change no `.grad`.

From the command line (engine/see/command.py):
    python -m engine "tanh(x*w + b)" x=2 w=-3 b=6.88 --backward -o neuron.svg
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.spelling import number
from ..core.value import CONSTANT, Value
from ..files import write_atomically
from .naming import NamedGraph, expression, named_graph
from .steps import Step
from .viewed import viewed_pass

DEFAULT_MAX_NODES = 1000

INSTALL_HINT = (
    "install Graphviz, which provides it: `apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS) or `conda install -c conda-forge graphviz`"
)

ROLE_COLOURS = {
    "output": "#b6e3b6",
    "result": "#ffffff",
    "parameter": "#fdd9a8",
    "input": "#bcd9f5",
    "constant": "#e6e6e6",
}
CURRENT = "#d62728"  # the node of the step being shown, and the edges its gradient flows along
RECEIVING = "#ff7f0e"  # the inputs that step adds to
NUMBER_WIDTH = 10  # every number takes the same width, so the layout stays put from step to step


class GraphTooLarge(ValueError):
    """The graph has more nodes than `max_nodes`: a picture of it would be unreadable and slow."""


class DotNotFound(RuntimeError):
    """Graphviz's `dot` program, which turns DOT text into SVG or PNG, is not installed."""


class DotFailed(RuntimeError):
    """Graphviz's `dot` refused the DOT text (say, a label longer than it reads, or holding a NUL)."""


# ---------------------------------------------------------------- the graph, named once


def count_nodes(root: Value, limit: int) -> int:
    """The number of nodes in root's graph, counting no further than limit + 1."""
    seen = {root}
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if parent not in seen:
                seen.add(parent)
                if len(seen) > limit:
                    return len(seen)
                stack.append(parent)
    return len(seen)


def check_size(
    root: Value,
    max_nodes: int,
    who: str = "draw",
    why: str = "a picture that large is unreadable and slow to lay out",
    verb: str = "Draw",
) -> None:
    """Raise GraphTooLarge, quickly, when root's graph has more than max_nodes nodes (saying `why`)."""
    if type(root) is not Value:
        raise TypeError(f"{who}: expected a Value, got {type(root).__name__}")
    if count_nodes(root, max_nodes) > max_nodes:
        raise GraphTooLarge(
            f"{who}: the graph has more than max_nodes={max_nodes} nodes; {why}. {verb} the graph of one "
            "example (e.g. the loss of a single input point), or pass a larger max_nodes= if you really want it."
        )


def is_parameter_label(label: str) -> bool:
    """True for a dotted name such as `w.0` or `layers.0.neurons.1.b`: how nn labels parameters."""
    return bool(re.fullmatch(r"[A-Za-z_]\w*(\.\w+)+", label))


def parameter_set(parameters: Any) -> set[Value]:
    """The Values of `parameters=`: an iterable of Values, or an object with a `.parameters()` method."""
    if callable(getattr(parameters, "parameters", None)):
        parameters = parameters.parameters()
    return set(parameters)


def role(node: Value, root: Value, parameters: set[Value]) -> str:
    """The node's role in the picture: output, result, parameter, input or constant."""
    if node is root:
        return "output"
    if node.parents:
        return "result"
    return leaf_role(node, parameters)


def leaf_role(leaf: Value, parameters: set[Value]) -> str:
    """parameter (in `parameters`, or a dotted label as nn gives), constant (a Python number), else input."""
    if leaf in parameters or is_parameter_label(leaf.label):
        return "parameter"
    return "constant" if leaf._origin is CONSTANT else "input"


@dataclass
class Picture:
    """A graph ready to draw: its nodes in topological order, their names, ids and roles."""

    root: Value
    order: list[Value]
    names: dict[Value, str]
    ids: dict[Value, str]
    roles: dict[Value, str]
    rankdir: str
    legend: bool


def prepare(
    v: Value,
    *,
    rankdir: str = "LR",
    max_nodes: int = DEFAULT_MAX_NODES,
    parameters: Iterable[Value] | Any = (),
    legend: bool = True,
    graph: NamedGraph | None = None,
) -> Picture:
    """Check the size, then name, number and classify every node of v's graph."""
    check_size(v, max_nodes)
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"draw: rankdir must be 'LR' (left to right) or 'TB' (top to bottom), got {rankdir!r}")
    graph = graph or named_graph(v)
    params = parameter_set(parameters)
    ids = {node: f"n{i}" for i, node in enumerate(graph.order)}
    roles = {node: role(node, v, params) for node in graph.order}
    return Picture(v, graph.order, graph.names, ids, roles, rankdir, legend)


# ---------------------------------------------------------------- DOT text


def record_text(text: str) -> str:
    """Escape text for a field of a DOT record label (braces, bars, angle brackets, quotes, spaces, &)."""
    text = " ".join(text.splitlines()).replace("&", "&amp;")  # Graphviz reads &amp; &lt; ... as entities
    return re.sub(r'([\\{}|<>" ])', r"\\\1", text)


def quoted(text: str) -> str:
    """A DOT double-quoted string (for attributes that are not record labels)."""
    text = " ".join(text.splitlines()).replace("&", "&amp;")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _field(x: Any) -> str:
    return record_text(number(x, 4).rjust(NUMBER_WIDTH))


def statements(pic: Picture, step: Step | None = None, grads: dict[Value, Any] | None = None) -> list[str]:
    """The DOT statements of the picture, with `step` (if any) highlighted.

    The gradients shown are `grads` (a node not in it has 0) if given, else each node's `.grad`.
    """
    out = [
        f"graph [rankdir={pic.rankdir} fontname=Helvetica bgcolor=white]",
        'node [fontname="DejaVu Sans Mono" fontsize=11]',
        'edge [color="#555555" arrowsize=0.7]',
    ]
    current = step.node if step else None
    receiving = {s.input for s in step.shares} if step else set()
    for node in pic.order:
        nid, name = pic.ids[node], pic.names[node]
        grad = node.grad if grads is None else grads.get(node, 0.0)
        label = f"{{{record_text(name)}|data {_field(node.data)}|grad {_field(grad)}}}"
        tip = f"{name} = {expression(node, pic.names)}" if node.parents else f"{name} ({pic.roles[node]})"
        style = f'style=filled fillcolor="{ROLE_COLOURS[pic.roles[node]]}"'
        if node is current:
            style += f' color="{CURRENT}" penwidth=3'
        elif node in receiving:
            style += f' color="{RECEIVING}" penwidth=2'
        out.append(f'{nid} [shape=record label="{label}" tooltip={quoted(tip)} {style}]')
        if node.parents:
            hot = node is current
            colour = f' color="{CURRENT}" penwidth=2' if hot else ""
            op_style = f' color="{CURRENT}" fontcolor="{CURRENT}" penwidth=2' if hot else ""
            out.append(f"{nid}_op [shape=circle label={quoted(node.op)} fontsize=12 width=0.3 margin=0.02{op_style}]")
            for parent in node.parents:
                out.append(f"{pic.ids[parent]} -> {nid}_op{' [' + colour.strip() + ']' if hot else ''}")
            out.append(f"{nid}_op -> {nid}{' [' + colour.strip() + ']' if hot else ''}")
    if pic.legend:
        out.append(_legend(pic))
    return out


def _legend(pic: Picture) -> str:
    present = [r for r in ROLE_COLOURS if r in set(pic.roles.values())]
    rows = "".join(f'<tr><td bgcolor="{ROLE_COLOURS[r]}">{r}</td></tr>' for r in present)
    table = f'<table border="0" cellborder="1" cellspacing="0">{rows}</table>'
    return f"legend [shape=plaintext fontsize=11 label=<{table}>]"


def source(pic: Picture, step: Step | None = None, grads: dict[Value, Any] | None = None) -> str:
    """The whole DOT text, laid out as graphviz.Digraph writes it (so draw() and to_dot() agree)."""
    return "digraph chainrule {\n" + "".join(f"\t{s}\n" for s in statements(pic, step, grads)) + "}\n"


def to_dot(
    v: Value,
    *,
    rankdir: str = "LR",
    max_nodes: int = DEFAULT_MAX_NODES,
    parameters: Iterable[Value] | Any = (),
    step: int | None = None,
    legend: bool = True,
    backward: bool = False,
) -> str:
    """The DOT text of v's graph: one record per Value, one node per operation.

    With `step=k` the gradients are those after step k of the backward pass (its node in red); with
    `backward=True`, those of the whole pass; both computed aside, changing no `.grad`.
    """
    check_size(v, max_nodes, "to_dot")
    if step is None and not backward:
        return source(prepare(v, rankdir=rankdir, max_nodes=max_nodes, parameters=parameters, legend=legend))
    seen = viewed_pass(v, who="draw")
    taken = len(seen.steps) if step is None else step
    if isinstance(taken, bool) or not isinstance(taken, int) or not 0 <= taken <= len(seen.steps):
        raise ValueError(f"draw: step must be an int from 0 to {len(seen.steps)} (this graph's steps), got {step!r}")
    pic = prepare(v, rankdir=rankdir, max_nodes=max_nodes, parameters=parameters, legend=legend, graph=seen.graph)
    shown = seen.steps[taken - 1] if step is not None and taken > 0 else None
    return source(pic, shown, seen.grads_after(taken))


# ---------------------------------------------------------------- rendering


def dot_program() -> str:
    """The path of Graphviz's `dot`, or DotNotFound saying how to install it."""
    found = shutil.which("dot")
    if found is None:
        raise DotNotFound(
            "drawing a graph needs Graphviz's `dot` program, which is not on PATH; "
            f"{INSTALL_HINT}. engine.to_dot(v) gives the DOT text without it."
        )
    return found


Renderer = Callable[[Sequence[str], str], list[bytes]]
"""renderer(dot_texts, fmt) -> one picture (bytes) in fmt (svg, png or pdf) for each DOT graph, in order."""


def dot_renderer(dot_texts: Sequence[str], fmt: str) -> list[bytes]:
    """Graphviz's `dot`: one run over all the graphs for SVG (cut apart at each document), else one run each."""
    if fmt != "svg":
        return [_run_dot(text, fmt) for text in dot_texts]
    svg = _run_dot("".join(dot_texts), fmt)
    return [b"<?xml" + part for part in svg.split(b"<?xml")[1:]]


def _run_dot(dot_text: str, fmt: str) -> bytes:
    try:
        done = subprocess.run([dot_program(), f"-T{fmt}"], input=dot_text.encode(), capture_output=True)
    except FileNotFoundError:
        raise DotNotFound(f"Graphviz's `dot` program could not be started; {INSTALL_HINT}.") from None
    if done.returncode != 0:
        raise DotFailed(f"dot -T{fmt} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


_renderer: Renderer = dot_renderer


def use_renderer(renderer: Renderer | None) -> Renderer:
    """Make every picture go through `renderer` (None: back to `dot`); return the renderer it replaces."""
    global _renderer
    if renderer is not None and not callable(renderer):
        raise TypeError(f"use_renderer: expected a function (dot_texts, fmt) -> list of bytes, got {renderer!r}")
    previous, _renderer = _renderer, dot_renderer if renderer is None else renderer
    return previous


def render_all(dot_texts: Sequence[str], fmt: str = "svg") -> list[bytes]:
    """One picture (svg, png or pdf, as bytes) of each DOT graph, from the renderer in use."""
    pictures = list(_renderer(list(dot_texts), fmt))
    if len(pictures) != len(dot_texts) or not all(isinstance(p, bytes) for p in pictures):
        raise DotFailed(f"the renderer returned {len(pictures)} pictures for {len(dot_texts)} graphs, or not bytes")
    return pictures


def render(dot_text: str, fmt: str = "svg") -> bytes:
    """The picture (svg, png or pdf) of one DOT graph, as bytes, from the renderer in use (`dot` by default)."""
    return render_all([dot_text], fmt)[0]


def draw(
    v: Value,
    *,
    rankdir: str = "LR",
    max_nodes: int = DEFAULT_MAX_NODES,
    parameters: Iterable[Value] | Any = (),
    step: int | None = None,
    legend: bool = True,
    format: str = "svg",
    backward: bool = False,
) -> Any:
    """v's graph as a graphviz.Digraph (shown inline by Jupyter); `.render("g")` writes g.svg (or `format`)."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            "draw() returns a graphviz.Digraph and needs the graphviz package: pip install graphviz "
            "(or pip install 'chainrule[graph]'); engine.to_dot(v) gives the DOT text without it"
        ) from None
    if format not in graphviz.FORMATS:
        raise ValueError(f"draw: unknown picture format {format!r}; use e.g. 'svg', 'png' or 'pdf'")
    text = to_dot(
        v, rankdir=rankdir, max_nodes=max_nodes, parameters=parameters, step=step, legend=legend, backward=backward
    )
    dot_program()  # fail now, with install hints, rather than when the notebook tries to show it
    graph = picture_class(graphviz)("chainrule", format=format)
    graph.body.extend(line + "\n" for line in text.splitlines()[1:-1])
    return graph


@functools.cache
def picture_class(graphviz: Any) -> type:
    """graphviz.Digraph whose `render("g")` leaves g.svg alone: the DOT source file `g` it also
    writes is removed (cleanup=True), as `to_dot()` gives that text; `cleanup=False` keeps it."""

    class Picture(graphviz.Digraph):  # type: ignore[name-defined,misc]
        def render(self, *args: Any, cleanup: bool = True, **kwargs: Any) -> Any:
            return super().render(*args, cleanup=cleanup, **kwargs)

    return Picture


FORMATS = ("svg", "png", "pdf", "dot")


def save(
    v: Value,
    path: str | Path,
    *,
    format: str | None = None,
    rankdir: str = "LR",
    max_nodes: int = DEFAULT_MAX_NODES,
    parameters: Iterable[Value] | Any = (),
    step: int | None = None,
    legend: bool = True,
    backward: bool = False,
) -> Path:
    """Write v's graph to `path` as SVG, PNG, PDF or DOT text (by `format`, else by the suffix)."""
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".") or "svg").lower()
    if fmt not in FORMATS:
        raise ValueError(f"save: unknown picture format {fmt!r} for {str(path)!r}; use one of {', '.join(FORMATS)}")
    text = to_dot(
        v, rankdir=rankdir, max_nodes=max_nodes, parameters=parameters, step=step, legend=legend, backward=backward
    )
    data = text.encode() if fmt == "dot" else render(text, fmt)
    return write_atomically(path, data, who="save", special="in place")
