"""`explain(v)`: the forward and backward passes of a graph as tables a person can read.

The forward table lists every node, inputs first, with the operation that made it and its
value. The backward table lists the backward pass step by step, for each node and each of its
inputs, the chain rule

    input.grad += (d node / d input) * node.grad

with the formula, the local derivative, the amount added and the input's gradient so far. The
pass is computed aside (`engine.see.viewed`): explaining changes no `.grad`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TextIO

from ..core.spelling import number
from ..core.value import CONSTANT, Value
from .drawing import check_size, leaf_role, parameter_set
from .naming import NamedGraph, expression, named_graph
from .viewed import ViewedPass, viewed_pass


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Rows as aligned text columns; the columns in `right` are right-aligned (numbers)."""
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]

    def line(row: list[str]) -> str:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(cells).rstrip()

    return [line(header), line(["-" * w for w in widths])] + [line(row) for row in rows]


def forward_table(steps: ViewedPass | NamedGraph, parameters: set[Value] | None = None) -> list[str]:
    """Every node, inputs first: its name, how it was made (or input, parameter, constant), its value."""
    names = steps.names
    rows = []
    for node in steps.order:
        made = expression(node, names) if node.parents else leaf_role(node, parameters or set())
        rows.append([names[node], made, number(node.data)])
    return ["forward pass (inputs first)"] + _table(["node", "= operation", "data"], rows, right={2})


def backward_table(steps: ViewedPass) -> list[str]:
    """The backward pass step by step; one row per (node, input) pair; then the leaves' gradients."""
    rows = []
    for step in steps.steps:
        for i, share in enumerate(step.shares):
            first = i == 0
            rows.append(
                [
                    str(step.index) if first else "",
                    f"{step.name} = {step.expression}" if first else "",
                    number(step.grad) if first else "",
                    share.name,
                    share.formula,
                    number(share.local),
                    number(share.amount),
                    number(share.now),
                ]
            )
    header = ["step", "node", "node.grad", "input", "d node/d input", "local", "added", "input.grad now"]
    title = f"backward pass (output first): input.grad += local * node.grad, seed {steps.names[steps.root]}.grad = "
    lines = [title + number(steps.seed)] + _table(header, rows, right={0, 2, 5, 6, 7})
    leaves = [node for node in steps.order if not node.parents and node._origin is not CONSTANT]
    if leaves:
        shown = ", ".join(f"{steps.names[n]}.grad = {number(steps.grads.get(n, 0.0))}" for n in leaves)
        lines.append(f"gradients of the inputs and parameters: {shown}")
        earlier = [n for n in leaves if n.grad is not None and not (type(n.grad) is float and n.grad == 0.0)]
        if earlier:
            shown = ", ".join(f"{steps.names[n]}.grad = {number(n.grad)}" for n in earlier)
            lines.append(f"already there from earlier passes (backward() adds this pass to them): {shown}")
    return lines


DEFAULT_MAX_NODES = 1000  # one example through the README's 2-16-16-1 network (985 nodes) fits; a batch does not


class Explanation(str):
    """explain's tables: a str whose repr is the text itself, so the REPL shows the tables, not an escaped string."""

    def __repr__(self) -> str:
        return str(self)


def explain(
    v: Value,
    *,
    forward_only: bool = False,
    grad: float = 1.0,
    file: TextIO | None = None,
    parameters: Iterable[Value] | Any = (),
    max_nodes: int = DEFAULT_MAX_NODES,
) -> Explanation:
    """v's forward pass and (unless forward_only) its backward pass, run step by step, as tables.

    Returns the text (typed at the REPL, it shows as the tables; `print()` it in a script), and
    writes it to `file` if one is given. The backward part shows what `v.backward(grad)` gives,
    from zero gradients, and changes no `.grad` (see `engine.see.viewed`). A leaf is called a
    parameter when it is in `parameters=` (Values, or a model) or has a dotted label as nn gives
    its parameters, a constant when a Python number made it (the 2 in `2 * x`), else an input. A
    graph of more than `max_nodes` nodes raises GraphTooLarge.
    """
    check_size(v, max_nodes, "explain", "its tables would run to thousands of lines", "Explain")
    params = parameter_set(parameters)
    if forward_only:
        lines = forward_table(named_graph(v), params)
    else:
        steps = viewed_pass(v, grad, who="explain")
        lines = forward_table(steps, params) + [""] + backward_table(steps)
    text = Explanation("\n".join(lines))
    if file is not None:
        print(text, file=file)
    return text
