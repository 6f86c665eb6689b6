"""How the project writes nodes and numbers: labels, short generated names, compact numbers.

A node with a label is called by its label. Every unlabeled node gets a short name
`v1`, `v2`, ... numbered in topological order (inputs first), so the same graph always
gets the same names, in the REPL, in tables and in pictures. A generated name never
repeats a label already used in the graph.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .backward import topological_order
from .value import Value


def node_names(graph: Value | Sequence[Value]) -> dict[Value, str]:
    """{node: name} for every node of a graph (a root `Value`, or its topological order)."""
    order = topological_order(graph) if isinstance(graph, Value) else list(graph)
    taken = {node.label for node in order if node.label}
    names: dict[Value, str] = {}
    counter = 0
    for node in order:
        if node.label:
            names[node] = node.label
            continue
        counter += 1
        while f"v{counter}" in taken:
            counter += 1
        names[node] = f"v{counter}"
    return names


def number(x: Any, digits: int = 6) -> str:
    """A float written short: `digits` significant digits, always with a decimal point (-3.0, 0.5)."""
    x = getattr(x, "data", x)
    if x is None:  # a gradient set to None: none yet
        return "None"
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    text = f"{x:.{digits}g}"
    if text.lstrip("-").isdigit():
        text += ".0"
    return text


def expression(node: Value, names: dict[Value, str]) -> str:
    """The operation that made `node`, in its inputs' names: 'a * b', 'tanh(c)', 'x**2'."""
    op = node.op
    args = [names[p] for p in node.parents]
    if not args:
        return ""
    if op in ("+", "-", "*", "/") and len(args) == 2:
        return f"{args[0]} {op} {args[1]}"
    if op == "**" and len(args) == 2:
        return f"{args[0]} ** {args[1]}"
    if op.startswith("**") and len(args) == 1:
        return f"{args[0]}{op}"
    if op == "neg":
        return f"-{args[0]}"
    return f"{op}({', '.join(args)})"
