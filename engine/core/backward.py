"""The backward pass: the reverse-mode driver (`ChainRule`), its fast path for floats, and `Value.backward()`."""

from __future__ import annotations

from typing import Any

from . import anomaly, changes
from .graph import graph_order
from .hooks import live_hooks, run_hooks
from .mode import _mode, enable_grad
from .value import NO_GRAD, Value, to_float


def check_recorded(root: Value, where: str) -> None:
    """Refuse a root that no_grad() left without a graph, as PyTorch refuses one that needs no grad."""
    if root._rule is None and root._origin is NO_GRAD:
        raise RuntimeError(
            f"{where}: this Value was computed inside no_grad(), which records no graph, so it has no "
            "gradients to give (every .grad would stay 0); compute it outside no_grad() to train with it"
        )


def _reset_for_floats(order: list[Value], before: list[Any]) -> bool:
    """Set the non-leaf gradients of `order` to 0 for the fast path, if it can take them all.

    The fast path adds floats, so it takes only float gradients, and a None gradient (PyTorch's
    "no gradient yet", as `zero_grad(set_to_none=True)` leaves it), which it turns into -0.0,
    the float that adding to leaves unchanged (-0.0 + x is x, -0.0 and 0.0 included): the
    gradient is then the sum of the shares alone. Any other gradient (a Value, an int,
    something that is no number) goes the general way: then this returns False and no .grad
    has changed.
    """
    kinds = set(map(type, before))
    if kinds - {float, type(None)}:
        return False
    if kinds == {float}:  # every training step: this loop, without the None test, is ~4% quicker
        for node in order:
            if node._how.rule is not None:
                node.grad = 0.0
        return True
    for node, g in zip(order, before, strict=True):
        if node._how.rule is not None:
            node.grad = 0.0
        elif g is None:
            node.grad = -0.0
    return True


def run_backward(root: Value, grad: Any, create_graph: bool) -> None:
    """Reset the non-leaf gradients of root's graph, seed root with `grad`, accumulate.

    A leaf whose `.grad` is None has no gradient yet: it gets the sum of its shares. If the
    pass fails (a hook or a rule raises, a gradient cannot be added to), every `.grad` of the
    graph is given back what it had before the call.
    """
    check_recorded(root, "backward")
    seed: Any
    if create_graph:
        seed = grad if type(grad) is Value else Value(to_float(grad, "backward grad"))
    else:
        if type(grad) is Value:
            raise TypeError("backward: a Value seed needs create_graph=True")
        seed = to_float(grad, "backward grad")
    order = graph_order([root])
    if changes.changed:  # some Value's data changed: refuse a graph that read its old number
        changes.check(order, "backward")
    before = [node.grad for node in order]  # what every .grad gets back if the pass fails
    if create_graph or live_hooks[0] or _mode[0] == 2 or not _reset_for_floats(order, before):
        # Hooks, Value gradients and anomaly checks can raise half-way.
        try:
            with enable_grad():
                chain = ChainRule("backward", create_graph=create_graph, check=_mode[0] == 2)
                chain.begin(order, [(root, seed)], reset=True)
                chain.run(order)
        except BaseException:
            for node, g in zip(order, before, strict=True):
                node.grad = g
            raise
        return
    try:
        root.grad += seed  # the fast path: floats, no hooks, no checks
        for node in reversed(order):
            rule = node._how.rule
            if rule is None:
                continue
            parents = node.parents
            if len(parents) == 2:
                a, b = parents
                ga, gb = rule(node.grad, node._data, a._data, b._data)
                a.grad += ga
                b.grad += gb
            elif len(parents) == 1:
                a = parents[0]
                (ga,) = rule(node.grad, node._data, a._data)
                a.grad += ga
            else:  # an operation of three or more inputs
                shares = rule(node.grad, node._data, *[p._data for p in parents])
                if len(shares) != len(parents):
                    raise ValueError(
                        f"{node.op}: its rule gave {len(shares)} gradient share(s) for {len(parents)} inputs"
                    )
                for p, share in zip(parents, shares, strict=True):
                    p.grad += share
    except BaseException:  # an operation's rule that raises (a user's), or a thread's interrupt
        for node, g in zip(order, before, strict=True):
            node.grad = g
        raise


def _shown(x: Any) -> Any:
    return getattr(x, "data", x)


def _added(where: str, node: Value, old: Any, share: Any) -> Any:
    """node's gradient `old` plus a new share; None (no gradient yet) gives the share itself."""
    if old is None:
        return share
    try:
        return old + share
    except TypeError:
        raise TypeError(
            f"{where}: cannot add a gradient to the .grad of {anomaly.describe(node)} (data={node.data!r}), "
            f"which is {type(old).__name__} {old!r}; a gradient is a number, a Value or None"
        ) from None


class ChainRule:
    """The chain rule with everything the fast path leaves out: hooks, Value gradients, NaN checks.

    One mechanism behind backward()'s general path, engine.grad(), backward_steps() and
    apply_chain_rule(). `begin` starts a pass, `run` does the rest; `step(node)` is one node's turn:

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

    def begin(self, order: list[Value], seeds: list[tuple[Value, Any]], *, reset: bool) -> None:
        """Start a pass over `order`: with `reset`, set its non-leaf gradients to 0; set hooked
        leaves' gradients aside; then add each seed."""
        if changes.changed:
            changes.check(order, self.where)
        if reset:
            for node in order:
                if node._how.rule is not None:
                    node.grad = 0.0
        grads = self.grads
        if grads is None:
            for node in order:
                if node._hooks and node._how.rule is None:
                    self.saved[node] = node.grad
                    node.grad = 0.0
        for root, seed in seeds:
            if self.check and anomaly.is_bad(seed):
                raise FloatingPointError(f"{self.where}: the seed gradient is {seed!r}")
            if grads is None:
                root.grad = _added(self.where, root, root.grad, seed)
            else:
                grads[root] = grads[root] + seed if root in grads else seed

    def run(self, order: list[Value]) -> None:
        """The chain rule at every node of `order`, outputs first: the rest of the pass."""
        for node in reversed(order):
            self.step(node)

    def step(self, node: Value) -> tuple[Any, tuple[Any, ...]] | None:
        """Apply the chain rule at `node`; return (its gradient, the shares it gave), None if it gave none."""
        grads = self.grads
        if grads is None:
            g = node.grad
            if g is None:
                return None  # no gradient yet (PyTorch's None): nothing to pass on
        elif node in grads:
            g = grads[node]
        else:
            return None  # nothing reaches this node from the outputs
        if node._hooks:
            g = self._hooked(node, g)
        rule = node._how.rule
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
        totals: dict[Value, Any] = {}  # written only once every share is added: a failure changes nothing
        for i, (parent, share) in enumerate(zip(parents, shares, strict=True)):
            if needed is not None and parent not in needed:
                continue  # engine.grad: no path from here to an input asked for
            if self.check and anomaly.is_bad(share) and not anomaly.is_bad(g):
                raise FloatingPointError(
                    f"{self.where}: backward of {anomaly.describe(node)} gave the gradient {_shown(share)!r} "
                    f"to its input {i} (data={parent.data!r}, incoming gradient {_shown(g)!r})"
                )
            if parent in totals:
                old = totals[parent]
            elif grads is None:
                old = parent.grad
            elif parent not in grads:
                totals[parent] = share
                continue
            else:
                old = grads[parent]
            if type(share) is float and share == 0.0 and type(old) is Value:
                totals[parent] = old
                continue  # adding a zero float would only lengthen the gradient's graph
            total = _added(self.where, parent, old, share)
            if self.check and old is not None:  # finite shares can still add up to inf where paths meet
                anomaly.check_sum(self.where, node, i, parent, old, share, total)
            totals[parent] = total
        for parent, total in totals.items():
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
            node.grad = _added(self.where, node, self.saved.pop(node), hooked)
        else:
            node.grad = hooked
        return hooked


# ---------------------------------------------------------------- Value's method


def backward(self: Value, grad: Any = 1.0, *, create_graph: bool = False) -> None:
    """Fill `.grad` of every node of this graph with d self / d node, times `grad`."""
    run_backward(self, grad, create_graph)


Value.backward = backward
