"""fn run as if it were not compiled: for a call's result (a fallback) or for a verification call.

The arguments are checked and passed as given (`_as_leaves`), fn's return value is checked and read back as
floats (`results`, `finish`), backward() runs (`_backward`); a verification call (`verifies`
says which) runs fn again, forward and backward, and compares loss, outputs and gradients with the
replay to the bit (`agrees`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from numbers import Real
from typing import Any

from ..collector import pause_gc
from ..core.graph import topological_order
from ..core.value import Value

_pack = struct.Struct("<d").pack


def _flatten(obj: Any, out: list) -> list:
    """The Values of a nested list/tuple structure, depth first."""
    if isinstance(obj, (list, tuple)):
        for item in obj:
            _flatten(item, out)
    elif isinstance(obj, Value):
        out.append(obj)
    return out


def _rebuild(obj: Any, values: Iterator[Any]) -> Any:
    """The nested structure of `obj` with its Values taken in turn from `values`, other items as they are."""
    if isinstance(obj, (list, tuple)):
        return type(obj)([_rebuild(item, values) for item in obj])
    return next(values) if isinstance(obj, Value) else obj


_PLAIN = (int, float, bool, str, type(None))


def _plain_items(obj: Any) -> bool:
    """True if every item of a nested list/tuple structure is a Value or a plain number, bool, str or None."""
    if isinstance(obj, (list, tuple)):
        return all(_plain_items(item) for item in obj)
    return isinstance(obj, Value) or type(obj) in _PLAIN


def _as_leaves(obj: Any) -> Any:
    """The arguments as fn gets them uncompiled: the same Values and numbers, in lists and tuples as given."""
    if isinstance(obj, (list, tuple)):
        return type(obj)([_as_leaves(item) for item in obj])
    if isinstance(obj, Value) or (isinstance(obj, Real) and not isinstance(obj, bool)):
        return obj
    raise TypeError(f"compile: arguments must be Values, numbers or lists of them, got {type(obj).__name__}")


def results(result: Any) -> tuple[Value, Any, list[Value]]:
    """fn's return value as (loss, extras as returned, extras flattened), checked."""
    loss, extras = result if isinstance(result, tuple) else (result, None)
    if not isinstance(loss, Value):
        raise TypeError(f"compile: the function must return a Value (the loss), got {type(loss).__name__}")
    outputs = _flatten(extras, []) if extras is not None else []
    if extras is not None and not _plain_items(extras):
        raise TypeError(
            "compile: the extra outputs must be Values, numbers (int, float, bool), str or None, in lists or tuples"
        )
    return loss, extras, outputs


def finish(loss: float, outs: list[float], extras: Any) -> Any:
    """What a call returns: the loss, or (loss, extras) with the extras' floats in their nesting."""
    if extras is None:
        return loss
    return loss, _rebuild(extras, iter(outs))


def _backward(loss: Value, outputs: list[Value], fill: bool = False) -> tuple[float, list[float]]:
    """loss.backward(), then the loss and the extra outputs as floats.

    With `fill`, a gradient set to None (no gradient yet) starts from -0.0 first: -0.0 + share
    is share to the bit, so the result is the new share, as in PyTorch; left None if it fails.
    """
    filled = [v for v in topological_order(loss) if v.grad is None] if fill else []
    for v in filled:
        v.grad = -0.0
    try:
        loss.backward()
    except BaseException:
        for v in filled:
            v.grad = None
        raise
    return loss._data, [v._data for v in outputs]


def run(fn: Callable[..., Any], args: tuple, fill: bool = False) -> Any:
    """Build the graph and call backward(), as if `fn` were not compiled; what the call returns."""
    loss, extras, outputs = results(fn(*_as_leaves(list(args))))
    return finish(*_backward(loss, outputs, fill), extras)


# ---------------------------------------------------------------- verification calls


def verifies(call: int, every: int) -> bool:
    """Whether call number `call` is a verification: 2, 3, 5, 9, 17 ... up to `every`, then every `every`-th."""
    if not every:
        return False
    gap = call - 1
    return (call <= every and gap >= 1 and gap & (gap - 1) == 0) or call % every == 0


def _bits(x: Any) -> Any:
    return _pack(x) if type(x) is float else repr(x)


def agrees(fn: Callable[..., Any], args: tuple, leaves: list[Value], before: list[Any], replayed: list[float]) -> bool:
    """fn run again as the caller runs it (grad mode as it is, forward and backward(), from the
    gradients as they were before the replay): do its loss, extra outputs and the gradient of
    every leaf equal the replay's to the bit? If not, or if fn raises, the gradients are put back
    as they were (`before`); if they agree, they are the uncompiled call's, the same bits."""
    replayed_grads = [_bits(v.grad) for v in leaves]
    for v, g in zip(leaves, before, strict=True):
        v.grad = g
    try:
        with pause_gc():  # as the recording runs fn: the graph is freed by reference counting
            loss, _, outputs = results(fn(*_as_leaves(list(args))))
            _backward(loss, outputs, fill=any(g is None for g in before))
        now = [loss._data, *[v._data for v in outputs]]
        grads = [_bits(v.grad) for v in leaves]
    except BaseException:
        for v, g in zip(leaves, before, strict=True):
            v.grad = g
        raise
    if list(map(_bits, now)) != list(map(_bits, replayed)) or grads != replayed_grads:
        for v, g in zip(leaves, before, strict=True):
            v.grad = g
        return False
    return True
