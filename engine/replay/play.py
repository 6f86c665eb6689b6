"""The replay of a plan (`plan.py`): forward and backward over its slots of floats, on the leaves' current numbers.

Gradients flow as one share per edge (or a running sum in a kernel's locals), added into each
node and leaf *in the order backward() adds them*, so values and gradients equal the object
engine's to the last bit. `replay` is `_Plan.run`.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Callable
from functools import reduce
from itertools import chain, repeat
from operator import add, attrgetter, itemgetter
from typing import Any

from ..core.value import Value
from .errors import Uncompiled

_data = attrgetter("_data")
_grad = attrgetter("grad")
_MINUS_ZERO = struct.Struct("<d").pack(-0.0)
NOT_FINITE = "a NaN or an infinity appeared while replaying the recorded graph"

# start + x0 + x1 + ..., added left to right in doubles as backward() adds shares. Up to Python
# 3.11 the built-in sum does exactly that, in C; from 3.12 it compensates rounding errors, which
# is more accurate but not the same number.
_sum = sum if sys.version_info < (3, 12) else lambda xs, start: reduce(add, xs, start)


def _incoming_gather(nodes: list[Value], incoming: dict[Value, list[int]]) -> Callable[[list], list]:
    """A function shares -> each node's gradient: its incoming shares summed in arrival order."""
    ins = [incoming[n] for n in nodes]
    if all(len(k) == 1 for k in ins):
        gather = _gather([k[0] for k in ins])
        return lambda shares: list(map(add, repeat(0.0), gather(shares)))
    gathers = [_gather(k) for k in ins]
    return lambda shares: [_sum(g(shares), 0.0) for g in gathers]


def _gather(indices: list[int]) -> Callable[[list], tuple]:
    """A fast function list -> tuple of the items at `indices` (a tuple even for one or none)."""
    if not indices:
        return lambda xs: ()
    if len(indices) == 1:
        i = indices[0]
        return lambda xs: (xs[i],)
    return itemgetter(*indices)


def replay(plan: Any, leaves: Any = None, data: Any = None) -> tuple[float, list[float]]:
    """Forward and backward of `plan` (a `Plan`) on the leaves' current numbers; the loss and the extra outputs.

    Raises Uncompiled, before any gradient is touched, when the numbers leave the ground where
    a replay is known to equal backward(): a NaN or an infinity anywhere (an overflow, which
    the object engine reports, or a non-finite input, which a skipped copy would not
    propagate), an error in an operation, or a -0.0 gradient to add to.
    """
    if leaves is None:
        leaves = plan.leaves
    if data is None:
        data = list(map(_data, leaves))
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
    values = [0.0] * plan.size
    values[: len(leaves)] = data
    try:
        states = []
        for b in plan.batches:  # over leaves only: they come first
            shared = b.get_shared(values)
            columns = [g(values) for g in b.get_columns]
            out, saved, exposed, check = b.forward(shared, b.count, *columns)
            if check - check:
                raise Uncompiled(NOT_FINITE)
            values[b.start : b.stop] = out
            for s, xs in zip(b.exposed_start, exposed, strict=True):
                values[s : s + len(xs)] = xs
            states.append((out, saved, shared, columns))
        get = values.__getitem__
        for step in plan.forward_steps:
            if type(step) is not tuple:  # a run of small groups, as straight-line code
                step(values)
                continue
            start, stop, f, getters, checked, single = step
            if single is not None:  # one node: as below, its columns of one read by index
                xs = [*map(get, single)]
                if checked:
                    for x in xs:
                        if x - x:  # as sum((x,)) - sum((x,)) below: nonzero or NaN exactly when x is not finite
                            raise Uncompiled(NOT_FINITE)
                values[start] = f(*xs)
                continue
            operands = [g(values) for g in getters]
            if checked:
                for column in operands:
                    total = sum(column)
                    if total - total:
                        raise Uncompiled(NOT_FINITE)
            values[start:stop] = map(f, *operands)
        loss = values[plan.loss_slot]
        if loss - loss:
            raise Uncompiled(f"the replayed loss is {loss!r}")

        shares = [0.0] * plan.n_edges
        shares[0] = 1.0
        for step in plan.backward_steps:
            if type(step) is not tuple:
                step(values, shares)
                continue
            start, stop, rule, getters, gather_in, first, last, single, ins = step
            if single is not None:  # one node: its gradient and operands by index, as gather_in adds them
                g = 0.0 + shares[ins] if type(ins) is int else _sum(ins(shares), 0.0)
                shares[first:last] = rule(g, values[start], *map(get, single))
                continue
            operands = [g(values) for g in getters]
            shares[first:last] = chain.from_iterable(map(rule, gather_in(shares), values[start:stop], *operands))
        summed = []
        for b, gather_in, (out, saved, shared, columns) in zip(plan.batches, plan.batch_inputs, states, strict=True):
            acc = [before[i] if g is None else _sum(g(shares), before[i]) for i, g, _ in b.summed_leaves]
            sums = b.backward(
                gather_in(shares)[::-1], out[::-1], saved[::-1], shared, acc, shares, b.bases,
                *[c[::-1] for c in columns],
            )  # fmt: skip
            summed.append(sums)
    except ZeroDivisionError as e:  # the kernel's line stays in the chain of the error raised
        raise Uncompiled("/: division by zero while replaying the recorded graph") from e
    except (ArithmeticError, ValueError) as e:
        raise Uncompiled(f"{e} (while replaying the recorded graph)") from e
    new = []
    for b, sums in zip(plan.batches, summed, strict=True):
        for (i, _, after), total in zip(b.summed_leaves, sums, strict=True):
            new.append((i, total if after is None else _sum(after(shares), total)))
    for i, ins in plan.leaf_edges:  # one share: before + share is what sum((share,), before) adds
        new.append((i, before[i] + shares[ins] if type(ins) is int else _sum(ins(shares), before[i])))
    # nothing can fail from here on: the gradients are written
    for i, g in new:
        leaves[i].grad = g
    return loss, [values[s] for s in plan.output_slots]
