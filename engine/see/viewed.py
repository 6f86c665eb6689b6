"""The one rule of every viewing tool: looking never changes what you look at.

`explain`, `step_through` (and its predict mode), `draw`/`to_dot(step=)`, the stepping page,
`quiz`, `nn.backprop_report` and the command line compute what they show with `viewed_pass(v)`:
the backward pass of `v` run with the rules, order and hooks of `backward()`, but into a dict
of gradients of its own, so that no `.grad` of the graph is read or written. Every gradient
starts at 0 (a `.grad` of None too, as backward() treats it), the root is seeded, and what a
leaf had from earlier passes is left out of the numbers: backward() would add this pass on top
of it. The pass still runs the user's code (hooks, the rules of user operations); whatever that
code does to the graph (`.grad`, `.data`, labels, parents, hooks) is undone by `untouched`, also
when it raises or Ctrl-C stops it part-way.

`v.backward_steps()` is the one tool that applies its steps to the graph.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..core.backward import ChainRule
from ..core.hooks import _lock, live_hooks
from ..core.mode import _mode
from ..core.value import Value, to_float
from .naming import NamedGraph, named_graph
from .steps import Step, make_step


@contextmanager
def untouched(nodes: Sequence[Value]) -> Iterator[None]:
    """Give every node back its .grad, data, parents, label, hooks and origin on the way out, however it is left."""
    saved = [(n, n.grad, n._data, n.parents, n._how, dict(n._hooks or {})) for n in nodes]
    try:
        yield
    finally:
        hooks_now = sum(len(n._hooks or ()) for n in nodes)
        for node, grad, data, parents, how, hooks in saved:
            node.grad = grad
            node._data = data
            node.parents = parents
            node._how = how
            if node._hooks is not None and node._hooks != hooks:  # the dict itself was changed in place
                node._hooks.clear()
                node._hooks.update(hooks)
        with _lock:  # hooks added or removed meanwhile were counted: count them back
            live_hooks[0] -= hooks_now - sum(len(h) for *_, h in saved)


@dataclass(frozen=True)
class ViewedPass:
    """One backward pass of `root`, computed aside: its steps and the gradients after each of them.

    `changes[k]` holds the gradients that step k+1 set (a node's own, passed through its hooks,
    and its inputs' new totals); `start` the seeded root; `grads` the gradients at the end.
    """

    root: Value
    seed: float
    graph: NamedGraph
    steps: list[Step]
    start: dict[Value, Any]
    changes: list[list[tuple[Value, Any]]]
    grads: dict[Value, Any]

    @property
    def order(self) -> list[Value]:
        return self.graph.order

    @property
    def names(self) -> dict[Value, str]:
        return self.graph.names

    def grads_after(self, k: int) -> dict[Value, Any]:
        """Every gradient the pass has given after its first k steps (a node not in it has 0)."""
        grads = dict(self.start)
        for change in self.changes[:k]:
            grads.update(change)
        return grads


def viewed_pass(root: Value, grad: float = 1.0, *, who: str = "backward pass") -> ViewedPass:
    """root's backward pass as `backward()` would run it from zero gradients, without changing the graph."""
    if type(root) is not Value:
        raise TypeError(f"{who}: expected a Value, got {type(root).__name__}")
    if type(grad) is Value:
        raise TypeError(f"{who}: the seed gradient must be a number")
    seed = to_float(grad, f"{who} grad")
    graph = named_graph(root)
    order = graph.order
    grads: dict[Value, Any] = dict.fromkeys(order, 0.0)  # as backward() from zero: 0.0 + -0.0 is 0.0
    steps: list[Step] = []
    changes: list[list[tuple[Value, Any]]] = []
    chain = ChainRule(who, check=_mode[0] == 2, grads=grads)
    with untouched(order):
        chain.begin(order, [(root, seed)], reset=False)  # into `grads`: no .grad is touched
        start = dict(grads)
        taken: list[tuple[Value, Any, tuple[Any, ...], tuple[Any, ...]]] = []
        for node in reversed(order):
            applied = chain.step(node)
            if applied is None:
                if node._hooks and node in grads:  # a hooked leaf: its hooks changed its gradient
                    if changes:
                        changes[-1].append((node, grads[node]))
                    else:
                        start[node] = grads[node]
                continue
            nows = tuple(grads[p] for p in node.parents)
            taken.append((node, *applied, nows))
            changes.append([(node, applied[0]), *zip(node.parents, nows, strict=True)])
        for index, (node, g, amounts, nows) in enumerate(taken, start=1):
            steps.append(make_step(index, len(taken), node, g, amounts, graph.names, nows))
    return ViewedPass(root, seed, graph, steps, start, changes, dict(grads))
