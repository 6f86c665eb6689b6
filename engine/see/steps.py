"""The backward pass one node at a time: `Value.backward_steps()`.

Each step takes one non-leaf node, in the order `backward()` visits them (reverse
topological order), and applies the chain rule to it: for every input,

    input.grad += (d node / d input) * node.grad

The step is applied as it is taken (the one viewing tool that changes `.grad`; the others
compute their steps aside, see `engine.see.viewed`), so between two `next()` calls every `.grad` is
what backward() has built so far; after the last step every gradient equals what
`backward()` gives (leaf gradients accumulate across passes, as with backward()).

Printing a step shows the rule with its formula and numbers:

    a.grad += b.data * c.grad = -3.0 * 1.0 = -3.0
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..core.backward import ChainRule, check_recorded
from ..core.graph import topological_order
from ..core.mode import _mode
from ..core.spelling import number
from ..core.symbolic import operand_fill
from ..core.value import Value, to_float
from .naming import NamedGraph, expression, named_graph


def local_formula(node: Value, names: dict[Value, str]) -> tuple[str, ...]:
    """The formulas of d node / d input for each input of `node`, in the graph's names.

    Each operation's formula is read off its derivative rule (`Operation.formula`); for a rule
    that cannot be read and gave none, the formula is written `dout/da`.
    """
    parents = node.parents
    out = names[node]
    formulas = node.operation.formula() if node.operation is not None else None
    if formulas is not None and len(formulas) == len(parents):
        fill = operand_fill([names[p] for p in parents])
        return tuple(f.format(out=out, **fill) for f in formulas)
    return tuple(f"d{out}/d{names[p]}" for p in parents)


@dataclass(frozen=True)
class Share:
    """What one step adds to one input: `input.grad += local * grad_in = amount`; `now`: its gradient after."""

    input: Value
    name: str
    formula: str
    local: float
    amount: float
    now: Any = None


@dataclass(frozen=True)
class Step:
    """One node's turn in the backward pass: the gradient flowing in and what each input gets."""

    index: int
    total: int
    node: Value
    name: str
    expression: str
    grad: float
    shares: tuple[Share, ...]

    def lines(self) -> list[str]:
        """One chain-rule line per input, with the formula and the numbers."""
        lines = []
        for s in self.shares:
            factor = f"({s.formula})" if " " in s.formula and not s.formula.startswith("(") else s.formula
            lines.append(
                f"{s.name}.grad += {factor} * {self.name}.grad"
                f" = {number(s.local)} * {number(self.grad)} = {number(s.amount)}"
            )
        return lines

    def __str__(self) -> str:
        name = self.name
        head = f"step {self.index}/{self.total}: {name} = {self.expression}, {name}.grad = {number(self.grad)}"
        return "\n".join([head] + ["    " + line for line in self.lines()])

    __repr__ = __str__


class BackwardSteps(Iterator[Step]):
    """The backward pass of `root` as an iterator of `Step`s, each applied as it is taken.

    The first `next()` resets the non-leaf gradients and seeds `root.grad` with `grad`,
    exactly as backward() does; `len()` is the number of steps (the non-leaf nodes).
    """

    def __init__(self, root: Value, grad: float = 1.0, names: dict[Value, str] | None = None) -> None:
        if type(grad) is Value:
            raise TypeError("backward_steps: the seed gradient must be a number (stepping has no create_graph)")
        self.root = root
        self.seed = to_float(grad, "backward_steps grad")
        self.graph = named_graph(root) if names is None else NamedGraph(root, topological_order(root), names)
        self.order = self.graph.order
        self.names = self.graph.names
        self._todo = [node for node in reversed(self.order) if node._rule is not None]
        self._pending = iter(reversed(self.order))
        self._chain = ChainRule("backward", check=_mode[0] == 2)
        self._started = False
        self.taken = 0

    def __len__(self) -> int:
        return len(self._todo)

    def __iter__(self) -> BackwardSteps:
        return self

    def start(self) -> None:
        """Reset the non-leaf gradients and seed the root (the first next() does this itself)."""
        if self._started:
            return
        self._started = True
        self._chain.begin(self.order, [(self.root, self.seed)], reset=True)

    def __next__(self) -> Step:
        self.start()
        for node in self._pending:
            applied = self._chain.step(node)  # hooks, adding the shares and anomaly checks, as backward()
            if applied is None:
                continue
            self.taken += 1
            return self._step(node, *applied)
        raise StopIteration

    def _step(self, node: Value, g: float, amounts: tuple[float, ...]) -> Step:
        """The step just taken at `node`, with the formula and the numbers of each share."""
        nows = tuple(p.grad for p in node.parents)
        return make_step(self.taken, len(self), node, g, amounts, self.names, nows)


def make_step(
    index: int,
    total: int,
    node: Value,
    g: Any,
    amounts: tuple[Any, ...],
    names: dict[Value, str],
    nows: tuple[Any, ...],
) -> Step:
    """Step `index` of `total`, taken at `node` with gradient g: each input's formula, local derivative,
    share and gradient after the step."""
    parents = node.parents
    locals_ = node._rule(1.0, node.data, *[p.data for p in parents])  # type: ignore[misc]
    formulas = local_formula(node, names)
    shares = tuple(
        Share(parent, names[parent], formulas[i], locals_[i], amounts[i], nows[i]) for i, parent in enumerate(parents)
    )
    return Step(index, total, node, names[node], expression(node, names), g, shares)


def backward_steps(root: Value, grad: float = 1.0) -> BackwardSteps:
    """The backward pass of `root` one node at a time: d root / d node, applied step by step.

    The one way of looking at a backward pass that changes `.grad`: each `next()` applies its step
    to the graph, as backward() does. explain, draw, step_through and quiz compute theirs aside.
    """
    if type(root) is not Value:
        raise TypeError(f"backward_steps: expected a Value, got {type(root).__name__}")
    check_recorded(root, "backward_steps")
    return BackwardSteps(root, grad)


Value.backward_steps = backward_steps  # v.backward_steps(): a method of Value, defined here
