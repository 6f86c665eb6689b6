"""The backward pass: an iterative topological sort and reverse-mode accumulation."""

from __future__ import annotations

from typing import Any

from . import anomaly
from .hooks import live_hooks, run_hooks
from .mode import enable_grad
from .value import NO_GRAD, Value, _mode, _number


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


def check_recorded(root: Value, where: str) -> None:
    """Refuse a root that no_grad() left without a graph, as PyTorch refuses one that needs no grad."""
    if root._rule is None and root._origin is NO_GRAD:
        raise RuntimeError(
            f"{where}: this Value was computed inside no_grad(), which records no graph, so it has no "
            "gradients to give (every .grad would stay 0); compute it outside no_grad() to train with it"
        )


def run_backward(root: Value, grad: Any, create_graph: bool) -> None:
    """Reset the non-leaf gradients of root's graph, seed root with `grad`, accumulate."""
    check_recorded(root, "backward")
    seed: Any
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
                chain = ChainRule("backward", create_graph=create_graph, check=_mode[0] == 2)
                chain.seed(order, [(root, seed)])
                for node in reversed(order):
                    chain.step(node)
        except BaseException:
            for node, g in zip(order, before, strict=True):
                node.grad = g
            raise
        return
    order = graph_order([root], reset=True)
    root.grad += seed  # the fast path: floats, no hooks, no checks; no rule raises on floats
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


def _shown(x: Any) -> Any:
    return getattr(x, "data", x)


class ChainRule:
    """The chain rule with everything the fast path leaves out: hooks, Value gradients, NaN checks.

    One mechanism behind backward()'s general path, engine.grad(), backward_steps() and
    apply_chain_rule(). `seed` starts a pass; `step(node)` is one node's turn:

        g = node's gradient, passed through its hooks
        input.grad += rule(g, ...)[i]    for each input i

    Gradients live in each node's `.grad`, or, when `grads` is given, in that dict (engine.grad
    touches no `.grad`); then only inputs in `needed` get one. `check` (anomaly mode) raises
    FloatingPointError where a finite gradient first turns NaN or infinite, naming the operation
    and the line that made it; `where` starts each message.
    """

    def __init__(
        self,
        where: str,
        *,
        create_graph: bool = False,
        check: bool = False,
        grads: dict[Value, Any] | None = None,
        needed: set[Value] | None = None,
    ) -> None:
        self.where = where
        self.create_graph = create_graph
        self.check = check
        self.grads = grads
        self.needed = needed
        self.saved: dict[Value, Any] = {}  # a hooked leaf's gradient from before, added back after its hooks

    def seed(self, order: list[Value], seeds: list[tuple[Value, Any]]) -> None:
        """Start a pass over `order`: set hooked leaves' gradients aside, then add each seed."""
        grads = self.grads
        if grads is None:
            for node in order:
                if node._hooks and node._rule is None:
                    self.saved[node] = node.grad
                    node.grad = 0.0
        for root, seed in seeds:
            if self.check and anomaly.is_bad(seed):
                raise FloatingPointError(f"{self.where}: the seed gradient is {seed!r}")
            if grads is None:
                root.grad = root.grad + seed
            else:
                grads[root] = grads[root] + seed if root in grads else seed

    def step(self, node: Value) -> tuple[Any, tuple[Any, ...]] | None:
        """Apply the chain rule at `node`; return (its gradient, the shares it gave), None if it gave none."""
        grads = self.grads
        if grads is None:
            g = node.grad
        elif node in grads:
            g = grads[node]
        else:
            return None  # nothing reaches this node from the outputs
        if node._hooks:
            g = self._hooked(node, g)
        rule = node._rule
        if rule is None:
            return None
        parents = node.parents
        try:
            if self.create_graph:
                shares = rule(g, node, *parents)
            else:
                shares = rule(g, node.data, *[p.data for p in parents])
        except (ArithmeticError, ValueError, TypeError) as e:
            raise anomaly.named(e, f"{self.where}: backward", node) from e
        needed = self.needed
        for i, (parent, share) in enumerate(zip(parents, shares, strict=True)):
            if needed is not None and parent not in needed:
                continue  # engine.grad: no path from here to an input asked for
            if self.check and anomaly.is_bad(share) and not anomaly.is_bad(g):
                raise FloatingPointError(
                    f"{self.where}: backward of {anomaly.describe(node)} gave the gradient {_shown(share)!r} "
                    f"to its input {i} (data={parent.data!r}, incoming gradient {_shown(g)!r})"
                )
            if grads is None:
                old = parent.grad
            elif parent not in grads:
                grads[parent] = share
                continue
            else:
                old = grads[parent]
            if type(share) is float and share == 0.0 and type(old) is Value:
                continue  # adding a zero float would only lengthen the gradient's graph
            total = old + share
            if self.check:  # finite shares can still add up to inf where paths meet
                anomaly.check_sum(self.where, node, i, parent, old, share, total)
            if grads is None:
                parent.grad = total
            else:
                grads[parent] = total
        return g, shares

    def _hooked(self, node: Value, g: Any) -> Any:
        """The node's gradient passed through its hooks, stored back where the pass keeps it."""
        hooked = run_hooks(node, g)
        if self.check and anomaly.is_bad(hooked) and not anomaly.is_bad(g):
            raise FloatingPointError(
                f"{self.where}: a hook on {anomaly.describe(node)} turned its gradient {_shown(g)!r} "
                f"into {_shown(hooked)!r}"
            )
        if self.grads is not None:
            self.grads[node] = hooked
        elif node in self.saved:
            node.grad = self.saved.pop(node) + hooked
        else:
            node.grad = hooked
        return hooked
