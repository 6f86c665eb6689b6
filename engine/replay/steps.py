"""The typed parts of a plan (`plan.py`): its groups, their forward and backward steps, the batches of copies.

Each is a frozen record built whole, once, by the plan's passes. They hold numbers (slots of
floats, share slots, leaf numbers) and operations, never the graph's Values, in two forms: the
plain numbers the interpreter (`interpret.py`) reads, and the fast accessors (`gather`) the replay
(`play.py`) calls. Slots: the leaves first, then each batch's tops, then each group's nodes, then
the extra outputs inside pieces. Share slots: one per edge of the graph, slot 0 the loss's seed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from itertools import repeat
from operator import add, itemgetter
from typing import Any, Protocol, final

from ..core.value import OperationLike as Operation
from ..core.value import Value
from .kernels import Kernel

Gather = Callable[[Sequence[float]], tuple]
# start + x0 + x1 + ..., added left to right in doubles as backward() adds shares. Up to Python
# 3.11 the built-in sum does exactly that, in C; from 3.12 it compensates rounding errors, which
# is more accurate but not the same number.
sum_in_order: Callable[[Any, float], float] = (
    sum if sys.version_info < (3, 12) else lambda xs, start: reduce(add, xs, start)
)


def gather(indices: Sequence[int]) -> Gather:
    """A fast function list -> tuple of the items at `indices` (a tuple even for one or none)."""
    if not indices:
        return lambda xs: ()
    if len(indices) == 1:
        i = indices[0]
        return lambda xs: (xs[i],)
    return itemgetter(*indices)


def gather_some(indices: Sequence[int]) -> Gather | None:
    """gather(indices), or None for none: sum((), x) is x itself, so the replay skips the call."""
    return gather(indices) if indices else None


def one_or_gather(indices: Sequence[int]) -> int | Gather:
    """The one index, or a gather of several: a lone share is read by index."""
    return indices[0] if len(indices) == 1 else gather(indices)


def incoming_gather(incoming: Sequence[Sequence[int]]) -> Callable[[list[float]], list[float]]:
    """A function shares -> each node's gradient: 0.0 plus its incoming shares, in arrival order."""
    if all(len(k) == 1 for k in incoming):
        get = gather([k[0] for k in incoming])
        return lambda shares: list(map(add, repeat(0.0), get(shares)))
    gathers = [gather(k) for k in incoming]
    return lambda shares: [sum_in_order(g(shares), 0.0) for g in gathers]


@dataclass(frozen=True, slots=True)
class Group:
    """Nodes outside repeated pieces of one depth and operation, in slots start..stop-1.

    operands[i][n]: the slot of node n's operand i. Their shares go to share slots first_edge + n *
    arity + i; incoming[n]: the share slots node n's gradient adds up, in the order backward() adds them.
    """

    start: int
    stop: int
    operation: Operation
    operands: tuple[tuple[int, ...], ...]
    first_edge: int
    incoming: tuple[tuple[int, ...], ...]


@final
@dataclass(frozen=True, slots=True)
class ForwardGroup:
    """A group's forward step: values[start:stop] = map(forward, *operand columns).

    checked: its operands are checked finite first (the operation may absorb a NaN or an infinity).
    """

    start: int
    stop: int
    forward: Callable[..., float]
    getters: tuple[Gather, ...]
    checked: bool


@final
@dataclass(frozen=True, slots=True)
class ForwardNode:
    """The forward step of a group of one node (a link of a chain of sums, say): its operands read by index."""

    slot: int
    forward: Callable[..., float]
    operands: tuple[int, ...]
    checked: bool


@final
@dataclass(frozen=True, slots=True)
class BackwardGroup:
    """A group's backward step: shares[first:last] = each node's rule(g, out, *operands), nodes in order.

    gather_in: shares -> each node's gradient, 0.0 plus its shares in the order backward() adds them.
    """

    start: int
    stop: int
    rule: Callable[..., tuple]
    getters: tuple[Gather, ...]
    gather_in: Callable[[list[float]], list[float]]
    first: int
    last: int


@final
@dataclass(frozen=True, slots=True)
class BackwardNode:
    """The backward step of a group of one node: incoming is the index of its one share, or a gather of them."""

    slot: int
    rule: Callable[..., tuple]
    operands: tuple[int, ...]
    incoming: int | Gather
    first: int
    last: int


@final
@dataclass(frozen=True, slots=True)
class StraightRun:
    """A run of small groups as straight-line code (`straight.py`): forward(V) and backward(V, S)."""

    forward: Callable[[list[float]], None]
    backward: Callable[[list[float], list[float]], None]
    source: str = field(repr=False)  # print(step.code) shows it
    groups: tuple[Group, ...] = field(repr=False)


ForwardStep = ForwardGroup | ForwardNode | StraightRun
BackwardStep = BackwardGroup | BackwardNode | StraightRun


@dataclass(frozen=True, slots=True)
class SummedLeaf:
    """A shared leaf whose gradient a batch's loop sums in a local: before[leaf] + shares, in order.

    shares: all its incoming share slots; the loop's own are those between `before` and `after`
    (gathers of the others, added before the loop's and after them; None: none).
    """

    leaf: int
    shares: tuple[int, ...]
    before: Gather | None
    after: Gather | None


@final
@dataclass(frozen=True, slots=True)
class LeafEdge:
    """A leaf's new gradient: before + its shares (`shares`, in order; `get`: the one index, or a gather)."""

    leaf: int
    shares: tuple[int, ...]
    get: int | Gather


@dataclass(frozen=True, slots=True, eq=False, repr=False)  # a batch is itself: compared and shown as one
class Batch:
    """All copies of one repeated piece, run by one kernel (`kernels.py`), tops in slots start..stop-1.

    The piece's shape: inner node j is operations[j] of refs[j] (inner node k >= 0, or the copy's
    leaf ~k), the top last; leaf_slots[c][k]: the slot of copy c's leaf k. Copy c's leaf shares go to
    share slots first_edge + c * n_edges + e, e numbering `edge_args` (the leaf of each, as backward()
    adds them); incoming[c]: the share slots copy c's top adds up. shared: the leaves the same in
    every copy; dropped: those whose gradient no one reads (no share written); summed: those the
    loop sums in locals; exposed[i]: an inner node whose values go to slots exposed_start[i] + c.
    """

    count: int
    start: int
    stop: int
    first_edge: int
    n_edges: int
    refs: tuple[tuple[int, ...], ...]
    operations: tuple[Operation, ...]
    leaf_slots: tuple[tuple[int, ...], ...]
    edge_args: tuple[int, ...]
    incoming: tuple[tuple[int, ...], ...]
    shared: tuple[int, ...]
    dropped: tuple[int, ...]
    summed: tuple[int, ...]
    summed_leaves: tuple[SummedLeaf, ...]
    exposed: tuple[int, ...]
    exposed_start: tuple[int, ...]
    kernel: Kernel
    # the replay's accessors: the shared leaves' values, each other leaf's column, the copies'
    # first share slots in backward order, and the tops' gradients
    get_shared: Gather
    get_columns: tuple[Gather, ...]
    bases: tuple[int, ...]
    gather_in: Callable[[list[float]], list[float]]

    def __repr__(self) -> str:
        return (
            f"Batch({self.count} copies of a {len(self.refs)}-node piece, tops in slots {self.start}..{self.stop - 1})"
        )

    @property
    def forward(self) -> Callable[..., tuple]:
        return self.kernel.forward

    @property
    def backward(self) -> Callable[..., list[float]]:
        return self.kernel.backward

    @property
    def source(self) -> str:
        return self.kernel.source


class Steps(Protocol):
    """What the replay (`play.py`) and the interpreter (`interpret.py`) read of a plan (`plan.Plan`)."""

    @property
    def leaves(self) -> tuple[Value, ...]: ...
    @property
    def batches(self) -> tuple[Batch, ...]: ...
    @property
    def groups(self) -> tuple[Group, ...]: ...
    @property
    def forward_steps(self) -> tuple[ForwardStep, ...]: ...
    @property
    def backward_steps(self) -> tuple[BackwardStep, ...]: ...
    @property
    def leaf_edges(self) -> tuple[LeafEdge, ...]: ...
    @property
    def size(self) -> int: ...
    @property
    def n_edges(self) -> int: ...
    @property
    def loss_slot(self) -> int: ...
    @property
    def output_slots(self) -> tuple[int, ...]: ...
