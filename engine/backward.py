"""The backward pass: an iterative topological sort and reverse-mode accumulation."""

from __future__ import annotations

from typing import Any

from . import debug
from .hooks import live_hooks, run_hooks
from .mode import enable_grad
from .value import Value, _mode, _number


def topological_order(root: Value) -> list[Value]:
    """Every node of root's graph, inputs first: each node comes after all its parents.

    backward() visits this list in reverse. Iterative (a depth-first search with an
    explicit stack holding the current path), so any depth works.
    """
    return graph_order([root])


def graph_order(roots: list[Value], reset: bool = False) -> list[Value]:
    """Every node of the roots' graphs, each after its parents; with reset, non-leaf grads set to 0."""
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
            for parent in node.parents:
                if parent not in seen:
                    seen.add(parent)
                    path.append(parent)
                    break
            else:  # every parent is finished: so is this node
                path.pop()
                order.append(node)
                if reset and node._rule is not None:
                    node.grad = 0.0
    return order


def run_backward(root: Value, grad: Any, create_graph: bool) -> None:
    """Reset the non-leaf gradients of root's graph, seed root with `grad`, accumulate."""
    if create_graph:
        seed = grad if type(grad) is Value else Value(_number(grad, "backward grad"))
    else:
        if type(grad) is Value:
            raise TypeError("backward: a Value seed needs create_graph=True")
        seed = _number(grad, "backward grad")
    if create_graph or live_hooks[0] or _mode[0] == 2:
        # Hooks, Value gradients and anomaly checks can raise half-way: then every .grad
        # of the graph gets back what it had before the call.
        order = graph_order([root])
        before = [node.grad for node in order]
        try:
            for node in order:
                if node._rule is not None:
                    node.grad = 0.0
            with enable_grad():
                _accumulate_general(order, root, seed, create_graph, check=_mode[0] == 2)
        except BaseException:
            for node, g in zip(order, before, strict=True):
                node.grad = g
            raise
        return
    order = graph_order([root], reset=True)  # on floats no rule raises: nothing to undo
    root.grad += seed
    for node in reversed(order):
        rule = node._rule
        if rule is None:
            continue
        parents = node.parents
        if len(parents) == 2:
            a, b = parents
            ga, gb = rule(node.grad, node.data, a.data, b.data)
            a.grad += ga
            b.grad += gb
        else:
            a = parents[0]
            a.grad += rule(node.grad, node.data, a.data)[0]


def _accumulate_general(order: list[Value], root: Value, seed: Any, create_graph: bool, check: bool) -> None:
    """The same pass, plus hooks, Value gradients (create_graph) and NaN checks (anomaly)."""
    saved = {}  # a hooked leaf's gradient from before this pass, added back after its hooks
    for node in order:
        if node._hooks and node._rule is None:
            saved[node] = node.grad
            node.grad = 0.0
    if check and debug.is_bad(seed):
        raise FloatingPointError(f"backward: the seed gradient is {seed!r}")
    root.grad = root.grad + seed
    for node in reversed(order):
        g = node.grad
        if node._hooks:
            hooked = run_hooks(node, g)
            if check and debug.is_bad(hooked) and not debug.is_bad(g):
                raise FloatingPointError(
                    f"a hook on {debug.describe(node)} turned its gradient {getattr(g, 'data', g)!r} "
                    f"into {getattr(hooked, 'data', hooked)!r}"
                )
            g = hooked
            node.grad = saved.pop(node) + g if node in saved else g
        rule = node._rule
        if rule is None:
            continue
        parents = node.parents
        try:
            if create_graph:
                shares = rule(g, node, *parents)
            else:
                shares = rule(g, node.data, *[p.data for p in parents])
        except (ArithmeticError, ValueError, TypeError) as e:
            raise debug.named(e, "backward", node) from e
        for i, (parent, share) in enumerate(zip(parents, shares, strict=True)):
            if check and debug.is_bad(share) and not debug.is_bad(g):
                raise FloatingPointError(
                    f"backward of {debug.describe(node)} gave the gradient {getattr(share, 'data', share)!r} "
                    f"to its input {i} (data={parent.data!r}, incoming gradient {getattr(g, 'data', g)!r})"
                )
            if type(share) is float and share == 0.0 and type(parent.grad) is Value:
                continue  # adding a zero float would only lengthen the gradient's graph
            total = parent.grad + share
            if check:  # finite shares can still add up to inf where paths meet
                debug.check_sum("backward", node, i, parent, parent.grad, share, total)
            parent.grad = total
