"""The walk: every node of a graph in topological order, inputs first, without recursion.

One iterative depth-first walk serves the backward pass, the pictures and tables, and the
compiler (which walks stop-gradient sources with its own `parents`, and the inner nodes of a
piece with `stop` and `limit`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from .value import Value


def topological_order(root: Value) -> list[Value]:
    """Every node of root's graph, inputs first: each node comes after all its parents.

    backward() visits this list in reverse. Iterative (a depth-first search with an
    explicit stack holding the current path), so any depth works.
    """
    return graph_order([root])


def graph_order(
    roots: list[Value],
    parents: Callable[[Value], Iterable[Value]] | None = None,
    *,
    stop: Callable[[Value], bool] | None = None,
    limit: int | None = None,
) -> list[Value]:
    """Every node of the roots' graphs, each after its parents: the one walk of the engine.

    `parents(node)` gives a node's parents if given, else `node.parents`. A parent for which
    `stop(parent)` is true is neither listed nor walked through. With `limit`, the walk ends
    once it has met more than `limit` nodes to list, and returns more than `limit` nodes (not
    in order): a caller that wants at most `limit` then knows, after at most `limit` + 1 steps
    down, however deep the graph below.
    """
    if stop is not None or limit is not None:
        return _bounded_order(roots, parents or _parents, stop or _never, limit)
    order: list[Value] = []
    seen: set[Value] = set()
    for root in roots:
        if type(root) is not Value:
            raise TypeError(f"expected a Value, got {type(root).__name__}")
        if root in seen:
            continue
        seen.add(root)
        path = [root]
        while path:
            node = path[-1]
            for parent in node.parents if parents is None else parents(node):
                if parent not in seen:
                    seen.add(parent)
                    path.append(parent)
                    break
            else:  # every parent is finished: so is this node
                path.pop()
                order.append(node)
    return order


def _parents(node: Value) -> tuple[Value, ...]:
    return node.parents


def _never(node: Value) -> bool:
    return False


def _bounded_order(
    roots: list[Value], parents: Callable[[Value], Iterable[Value]], stop: Callable[[Value], bool], limit: int | None
) -> list[Value]:
    """graph_order with `stop` and `limit`: the same walk, with a test per parent and per step.

    Each node on the path will be listed, so the walk ends as soon as those listed and those on
    the path are more than `limit` (a chain deeper than `limit` is not walked to its bottom).
    """
    order: list[Value] = []
    seen: set[Value] = set()
    most = math.inf if limit is None else limit
    for root in roots:
        if type(root) is not Value:
            raise TypeError(f"expected a Value, got {type(root).__name__}")
        if root in seen:
            continue
        seen.add(root)
        path = [root]
        while path:
            if len(order) + len(path) > most:
                return order + path  # more than `limit`: the rest is not walked
            node = path[-1]
            for parent in parents(node):
                if parent not in seen:
                    seen.add(parent)
                    if not stop(parent):
                        path.append(parent)
                        break
            else:  # every parent is finished: so is this node
                order.append(path.pop())
    return order
