"""How the project writes nodes: labels, short generated names, and each node as its operation.

A node with a label is called by its label. Every unlabeled node gets a short name
`v1`, `v2`, ... numbered in topological order (inputs first), so the same graph always
gets the same names, in the REPL, in tables and in pictures. A generated name never
repeats a label already used in the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..core.graph import topological_order
from ..core.value import Value


@dataclass(frozen=True)
class NamedGraph:
    """A graph as pictures and tables show it: its root, its nodes (inputs first) and their names."""

    root: Value
    order: list[Value]
    names: dict[Value, str]


def named_graph(root: Value) -> NamedGraph:
    """root's graph in topological order, each node with its name."""
    order = topological_order(root)
    return NamedGraph(root, order, node_names(order))


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


def expression(node: Value, names: dict[Value, str]) -> str:
    """The operation that made `node`, in its inputs' names: 'a * b', 'tanh(c)', 'x**2' ('' for a leaf).

    An operation with a `spelling` (the operators) is written with it; any other as a call.
    """
    op = node.operation
    if op is None or not node.parents:
        return ""
    args = [names[p] for p in node.parents]
    if op.spelling is not None:
        return op.spelling.format(*args)
    return f"{op.name}({', '.join(args)})"
