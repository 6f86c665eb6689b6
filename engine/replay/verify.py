"""Verification calls: fn run again uncompiled, as the caller would run it, and compared with the replay to the bit.

`verifies` says which calls verify (2, 3, 5, 9, 17 ... up to `every`, then every `every`-th);
`verify` runs fn forward and backward from the gradients as they were before the replay and
compares loss, extra outputs and every gradient; a difference raises GraphChanged, with the
gradients put back as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..collector import pause_gc
from ..core.value import Value
from .arguments import as_given, outputs
from .errors import GraphChanged
from .same import bits
from .uncompiled import backward


def verifies(call: int, every: int) -> bool:
    """Whether call number `call` is a verification: 2, 3, 5, 9, 17 ... up to `every`, then every `every`-th."""
    if not every:
        return False
    gap = call - 1
    return (call <= every and gap >= 1 and gap & (gap - 1) == 0) or call % every == 0


def verify(fn: Callable[..., Any], args: tuple, leaves: list[Value], before: list[Any], replayed: list[float],
           name: str, call: int) -> None:  # fmt: skip
    """GraphChanged (gradients as they were) unless fn, run uncompiled, agrees with the replay (`agrees`)."""
    if not agrees(fn, args, leaves, before, replayed):
        raise GraphChanged(
            f"compile: {name} now computes another loss than the replay of its recording (a verification "
            f"call, number {call}, ran it uncompiled and compared): data it reads from a place no guard "
            "watches changed, or its Python control flow depends on the data. Later calls run uncompiled. "
            "Pass data that changes as an argument, or compile it again."
        )


def agrees(fn: Callable[..., Any], args: tuple, leaves: list[Value], before: list[Any], replayed: list[float]) -> bool:
    """fn run again as the caller runs it (grad mode as it is, forward and backward(), from the
    gradients as they were before the replay): do its loss, extra outputs and the gradient of
    every leaf equal the replay's to the bit? If not, or if fn raises, the gradients are put back
    as they were (`before`); if they agree, they are the uncompiled call's, the same bits."""
    replayed_grads = [bits(v.grad) for v in leaves]
    _put_back(leaves, before)
    try:
        with pause_gc():  # as the recording runs fn: the graph is freed by reference counting
            loss, _, values = outputs(fn(*as_given(args)))
            backward(loss, values, fill=any(g is None for g in before))
        now = [loss._data, *[v._data for v in values]]
        grads = [bits(v.grad) for v in leaves]
    except BaseException:
        _put_back(leaves, before)
        raise
    if list(map(bits, now)) != list(map(bits, replayed)) or grads != replayed_grads:
        _put_back(leaves, before)
        return False
    return True


def _put_back(leaves: list[Value], grads: list[Any]) -> None:
    for v, g in zip(leaves, grads, strict=True):
        v.grad = g
