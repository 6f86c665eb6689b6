"""The replay of a plan (`plan.py`): forward and backward over its slots of floats, on the leaves' numbers.

Gradients flow as one share per edge (or a running sum in a kernel's locals), added into each
node and leaf *in the order backward() adds them*, so values and gradients equal the object
engine's to the last bit. `replay` is `Plan.run`; `interpret.py` computes the same numbers node
by node, without generated code, for the tests to compare.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import chain
from operator import attrgetter
from typing import Any, NamedTuple

from ..core.value import Value
from .errors import Uncompiled
from .same import pack
from .steps import BackwardGroup, BackwardNode, Batch, ForwardGroup, ForwardNode, Steps, sum_in_order

_data = attrgetter("_data")
_grad = attrgetter("grad")
_MINUS_ZERO = pack(-0.0)
NOT_FINITE = "a NaN or an infinity appeared while replaying the recorded graph"
_sum = sum_in_order


class _Forwarded(NamedTuple):
    """What a batch's forward leaves for its backward: its tops, saved values, shared leaves and columns."""

    out: list[float]
    saved: list[tuple[float, ...]]
    shared: tuple[float, ...]
    columns: list[tuple[float, ...]]


def replay(
    plan: Steps, leaves: Sequence[Value] | None = None, data: Sequence[float] | None = None
) -> tuple[float, list[float]]:
    """Forward and backward of `plan` on `data`; the loss and the extra outputs.

    data: the numbers of the plan's leaves, in order (default: each leaf's `_data`); leaves: the
    Values whose gradients are added to (default: the plan's own leaves). Raises Uncompiled,
    before any gradient is touched, when the numbers leave the ground where a replay is known to
    equal backward(): a NaN or an infinity anywhere (an overflow, which the object engine
    reports, or a non-finite input, which a skipped copy would not propagate), an error in an
    operation, or a -0.0 gradient to add to. A wrong count of numbers or leaves, a leaf given
    twice, or data that is not numbers raise ValueError or TypeError.
    """
    leaves, data = _arguments(plan, leaves, data)
    before = gradients_before(leaves, data)
    values = [0.0] * plan.size
    values[: len(data)] = data
    try:
        states = [_forward_batch(b, values) for b in plan.batches]  # over leaves only: they come first
        _forward_groups(plan, values)
        loss = values[plan.loss_slot]
        if loss - loss:
            raise Uncompiled(f"the replayed loss is {loss!r}")
        shares = [0.0] * plan.n_edges
        shares[0] = 1.0
        _backward_groups(plan, values, shares)
        sums = [_backward_batch(b, state, shares, before) for b, state in zip(plan.batches, states, strict=True)]
    except ZeroDivisionError as e:  # the kernel's line stays in the chain of the error raised
        raise Uncompiled("/: division by zero while replaying the recorded graph") from e
    except (ArithmeticError, ValueError) as e:
        raise Uncompiled(f"{e} (while replaying the recorded graph)") from e
    new = _new_gradients(plan, sums, shares, before)
    # nothing can fail from here on: the gradients are written
    for i, g in new:
        leaves[i].grad = g
    return loss, [values[s] for s in plan.output_slots]


def _arguments(
    plan: Steps, leaves: Sequence[Value] | None, data: Sequence[float] | None
) -> tuple[Sequence[Value], list[float]]:
    """The leaves to add gradients to and their numbers, as floats, checked against the plan."""
    if leaves is None:
        leaves = plan.leaves
    elif len({*map(id, leaves)}) != len(leaves):  # two shares of one Value would each be written, the last kept
        raise ValueError("replay: a Value is given twice among the leaves")
    if data is None:
        numbers = list(map(_data, leaves))
    else:
        try:
            numbers = array("d", data).tolist()  # ints as float() makes them; no strings, no None
        except TypeError:
            raise TypeError(
                f"replay: the leaves' numbers must be floats, not {[type(x).__name__ for x in data]}"
            ) from None
    if not len(numbers) == len(leaves) == len(plan.leaves):
        raise ValueError(f"replay: {len(numbers)} numbers and {len(leaves)} leaves for a plan of {len(plan.leaves)}")
    return leaves, numbers


def gradients_before(leaves: Sequence[Value], data: list[float]) -> list[float]:
    """The leaves' gradients to add to; Uncompiled if the data or they leave the replay's ground."""
    total = sum(data)
    if total - total:  # a NaN or an infinity among the leaves (or a sum that overflowed)
        raise Uncompiled("a leaf of the recorded graph is NaN or infinite")
    before = list(map(_grad, leaves))
    if None in before:  # `p.grad = None`: the object engine starts from -0.0 (the new share, to the bit)
        raise Uncompiled("a gradient is None")
    try:
        grads = array("d", before).tobytes()
    except TypeError:  # a gradient that is a Value (from create_graph): let backward() add to it
        raise Uncompiled("a gradient to add to is a Value") from None
    # A -0.0 gradient (or None) makes the sign of every zero share visible, which a replay does
    # not promise: a skipped +0.0 share, or a kernel's 0.0 where a rule gives -0.0 (found by the
    # fuzzer), would change the sign of a zero total.
    at = grads.find(_MINUS_ZERO)
    while at >= 0:
        if at % 8 == 0:
            raise Uncompiled("a gradient to add to is -0.0")
        at = grads.find(_MINUS_ZERO, at + 1)
    return before


def _forward_batch(b: Batch, values: list[float]) -> _Forwarded:
    """A batch's kernel forward: its tops and exposed nodes into their slots; what its backward needs."""
    shared = b.get_shared(values)
    columns = [g(values) for g in b.get_columns]
    out, saved, exposed, check = b.kernel.forward(shared, b.count, *columns)
    if check - check:
        raise Uncompiled(NOT_FINITE)
    values[b.start : b.stop] = out
    for s, xs in zip(b.exposed_start, exposed, strict=True):
        values[s : s + len(xs)] = xs
    return _Forwarded(out, saved, shared, columns)


def _forward_groups(plan: Steps, values: list[float]) -> None:
    """The forward steps: each group as one map (checked first where it may absorb a non-finite), or a run."""
    get = values.__getitem__
    for step in plan.forward_steps:
        if type(step) is ForwardGroup:  # the most common step first: a plan may have hundreds
            operands = [g(values) for g in step.getters]
            if step.checked:
                for column in operands:
                    total = sum(column)
                    if total - total:
                        raise Uncompiled(NOT_FINITE)
            values[step.start : step.stop] = map(step.forward, *operands)
        elif type(step) is ForwardNode:  # one node: as above, its columns of one read by index
            xs = [*map(get, step.operands)]
            if step.checked:
                for x in xs:
                    if x - x:  # as sum((x,)) - sum((x,)) above: nonzero or NaN exactly when x is not finite
                        raise Uncompiled(NOT_FINITE)
            values[step.slot] = step.forward(*xs)
        else:  # a run of small groups, as straight-line code
            step.forward(values)


def _backward_groups(plan: Steps, values: list[float], shares: list[float]) -> None:
    """The backward steps: each group's shares from its nodes' gradients, as backward() computes them."""
    get = values.__getitem__
    for step in plan.backward_steps:
        if type(step) is BackwardGroup:
            operands = [g(values) for g in step.getters]
            gradients = step.gather_in(shares)
            outs = values[step.start : step.stop]
            shares[step.first : step.last] = chain.from_iterable(map(step.rule, gradients, outs, *operands))
        elif type(step) is BackwardNode:  # one node: its gradient and operands by index, as gather_in adds them
            ins = step.incoming
            g = 0.0 + shares[ins] if isinstance(ins, int) else _sum(ins(shares), 0.0)
            shares[step.first : step.last] = step.rule(g, values[step.slot], *map(get, step.operands))
        else:
            step.backward(values, shares)


def _backward_batch(b: Batch, state: _Forwarded, shares: list[float], before: list[float]) -> list[float]:
    """A batch's kernel backward, copies in backward order: the sums of its summed leaves."""
    acc = [before[s.leaf] if s.before is None else _sum(s.before(shares), before[s.leaf]) for s in b.summed_leaves]
    G = b.gather_in(shares)[::-1]
    columns = [c[::-1] for c in state.columns]
    return b.kernel.backward(G, state.out[::-1], state.saved[::-1], state.shared, acc, shares, b.bases, *columns)


def _new_gradients(plan: Steps, sums: list[list[float]], shares: list[float], before: list[float]) -> list[Any]:
    """(leaf, its new gradient) for every leaf whose gradient someone reads."""
    new = []
    for b, totals in zip(plan.batches, sums, strict=True):
        for s, total in zip(b.summed_leaves, totals, strict=True):
            new.append((s.leaf, total if s.after is None else _sum(s.after(shares), total)))
    for edge in plan.leaf_edges:  # one share: before + share is what sum((share,), before) adds
        i, ins = edge.leaf, edge.get
        new.append((i, before[i] + shares[ins] if isinstance(ins, int) else _sum(ins(shares), before[i])))
    return new
