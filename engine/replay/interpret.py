"""A plain interpreter of a plan (`plan.py`): its typed steps node by node, with each operation's own forward and rule.

No generated code and no shortcut: every copy of every batch, every node of every group, its
value by `operation.forward`, its shares by `operation.rule`, a node's gradient 0.0 plus its
shares and a leaf's its gradient before plus its shares, in the order backward() adds them.
What the replay (`play.py`: kernels, straight-line runs, group steps) computes must be these
numbers to the bit wherever it returns; the tests hold it to that. The interpreter checks
nothing (no NaN, no -0.0): an operation's error is raised as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ..core.value import Value
from .steps import Batch, Group, Steps


class Interpreted(NamedTuple):
    """What a plan computes: the loss, the extra outputs, and each leaf's new gradient (by leaf number)."""

    loss: float
    outputs: list[float]
    grads: dict[int, Any]


def interpret(plan: Steps, leaves: Sequence[Value] | None = None, data: Sequence[float] | None = None) -> Interpreted:
    """Forward and backward of `plan` on `data` (as `Plan.run` takes them); no gradient is written."""
    if leaves is None:
        leaves = plan.leaves
    numbers = [leaf._data for leaf in leaves] if data is None else list(data)
    if not len(numbers) == len(leaves) == len(plan.leaves):
        raise ValueError(f"interpret: {len(numbers)} numbers and {len(leaves)} leaves for a plan of {len(plan.leaves)}")
    values = [0.0] * plan.size
    values[: len(numbers)] = numbers
    inner = [[_forward_copy(b, c, values) for c in range(b.count)] for b in plan.batches]
    for group in plan.groups:
        _forward_group(group, values)
    shares = [0.0] * plan.n_edges
    shares[0] = 1.0  # the seed: the loss's gradient is 0.0 + 1.0
    for group in reversed(plan.groups):
        _backward_group(group, values, shares)
    for b, copies in zip(plan.batches, inner, strict=True):
        for c in reversed(range(b.count)):
            _backward_copy(b, c, copies[c], values, shares)
    wanted = [(e.leaf, e.shares) for e in plan.leaf_edges]
    wanted += [(s.leaf, s.shares) for b in plan.batches for s in b.summed_leaves]
    grads = {i: _added(leaves[i].grad, [shares[e] for e in edges]) for i, edges in wanted}
    return Interpreted(values[plan.loss_slot], [values[s] for s in plan.output_slots], grads)


def _added(start: Any, xs: list[float]) -> Any:
    """start + x0 + x1 + ..., left to right, as backward() adds shares."""
    for x in xs:
        start = start + x
    return start


def _forward_copy(b: Batch, c: int, values: list[float]) -> list[float]:
    """Copy c of batch b: its inner nodes' values; its top and its exposed nodes go to their slots."""
    slots = b.leaf_slots[c]
    inner: list[float] = []
    for operation, refs in zip(b.operations, b.refs, strict=True):
        inner.append(operation.forward(*[inner[k] if k >= 0 else values[slots[~k]] for k in refs]))
    values[b.start + c] = inner[-1]
    for j, start in zip(b.exposed, b.exposed_start, strict=True):
        values[start + c] = inner[j]
    return inner


def _forward_group(group: Group, values: list[float]) -> None:
    for n in range(group.stop - group.start):
        values[group.start + n] = group.operation.forward(*[values[column[n]] for column in group.operands])


def _backward_group(group: Group, values: list[float], shares: list[float]) -> None:
    arity = len(group.operands)
    for n in range(group.stop - group.start):
        g = _added(0.0, [shares[e] for e in group.incoming[n]])
        operands = [values[column[n]] for column in group.operands]
        given = group.operation.rule(g, values[group.start + n], *operands)
        for i, share in enumerate(given):
            shares[group.first_edge + n * arity + i] = share


def _backward_copy(b: Batch, c: int, inner: list[float], values: list[float], shares: list[float]) -> None:
    """Copy c of batch b, its inner nodes in reverse: each leaf share to its share slot."""
    slots = b.leaf_slots[c]
    grads = [0.0] * len(inner)  # a node's gradient starts from 0.0, as backward() resets it
    grads[-1] = _added(0.0, [shares[e] for e in b.incoming[c]])
    edge = b.first_edge + c * b.n_edges
    for j in reversed(range(len(inner))):
        refs = b.refs[j]
        operands = [inner[k] if k >= 0 else values[slots[~k]] for k in refs]
        for k, share in zip(refs, b.operations[j].rule(grads[j], inner[j], *operands), strict=True):
            if k >= 0:
                grads[k] = grads[k] + share
            else:
                shares[edge] = share
                edge += 1
