"""One neuron on one input, forward and backward, explained step by step and drawn.

The neuron is nn.Neuron(1, "tanh"): out = tanh(b + w.0 * x), with readable numbers (by default
micrograd's, chosen so that out = 0.7071 and the tanh's local derivative is 0.5). The script
prints engine.explain's forward and backward tables, then writes the graph with its gradients
as SVG (engine.see.drawing, needs Graphviz's `dot`) and a self-contained HTML page that steps through
the backward pass one node at a time (engine.see.stepper_page): open it in any browser.

    python demos/graph.py                 # files in out/graph/
    python demos/graph.py --x 1 --w 0.5 --b 0
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `demos`, `engine` and `nn` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nn
from demos import common
from engine import Value, explain, to_dot
from engine.see.drawing import DotNotFound, render
from engine.see.stepper_page import stepper_html


def main(argv: Sequence[str] | None = None) -> dict:
    parser = common.make_parser("graph", __doc__)
    parser.add_argument("--x", type=common.finite, default=2.0, help="the input (default %(default)s)")
    parser.add_argument("--w", type=common.finite, default=-3.0, help="the weight (default %(default)s)")
    parser.add_argument("--b", type=common.finite, default=6.881373587019543, help="the bias (default %(default)s)")
    args = common.parse(parser, argv)

    neuron = nn.Neuron(1, activation="tanh")
    neuron.w[0].data, neuron.b.data = args.w, args.b
    x = Value(args.x, label="x")
    try:
        out = neuron([x])
        out.label = "out"
        out.parents[0].label = "n"  # the weighted sum b + w.0 * x, before the tanh
        if not args.quiet:
            print(explain(out))  # both tables; explaining changes no .grad
            print()
        out.backward()
    except common.FAILURES as error:  # say, w * x beyond the largest float
        raise SystemExit(f"graph: {type(error).__name__}: {error}") from None
    try:  # drawn in memory first, then written to --out all at once
        dot = to_dot(out, parameters=neuron)
        svg = render(dot, "svg")
        page = stepper_html(out, parameters=neuron, title="one neuron, backward")
    except DotNotFound as error:
        raise SystemExit(f"graph: {error}") from None
    except OSError as error:
        raise SystemExit(f"graph: cannot draw: {error.strerror or error}") from None
    pictures = {"neuron.svg": svg, "neuron.dot": dot.encode(), "backward.html": page.encode("utf-8")}
    svg_file, dot_file, page_file = common.write_files("graph", args.out, pictures)
    grads = {"x": x.grad, "w.0": neuron.w[0].grad, "b": neuron.b.grad}
    print(
        f"graph: out = tanh(b + w.0 * x) = {out.data:.6g}; "
        + ", ".join(f"d out/d {k} = {g:.6g}" for k, g in grads.items())
    )
    print(
        f"pictures in {args.out}: {svg_file.name} (the graph), {dot_file.name} (its DOT text), "
        f"{page_file.name} (open in a browser)"
    )
    return {"out": out.data, "grads": grads, "pictures": [svg_file, dot_file, page_file]}


if __name__ == "__main__":
    common.script("graph", main)
