"""The way out: a call run as if fn were not compiled, for the one reason a stage gave (`errors.Uncompiled`).

fn gets the arguments as given (`arguments.as_given`), backward() runs (`backward`) and the call
returns what a replay would (`arguments.returned`). An error fn raises on the way says why the
call ran uncompiled (`fall_back`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.graph import topological_order
from ..core.value import Value
from .arguments import as_given, outputs, returned
from .errors import Uncompiled


def backward(loss: Value, extras: list[Value], fill: bool = False) -> tuple[float, list[float]]:
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
    return loss._data, [v._data for v in extras]


def run(fn: Callable[..., Any], args: tuple, fill: bool = False) -> Any:
    """Build the graph and call backward(), as if `fn` were not compiled; what the call returns."""
    loss, extras, values = outputs(fn(*as_given(args)))
    return returned(*backward(loss, values, fill), extras)


def fall_back(fn: Callable[..., Any], args: tuple, why: Uncompiled) -> Any:
    """This call, uncompiled, for `why`; an error fn raises says that the call ran uncompiled, and why."""
    try:
        return run(fn, args, fill=True)
    except (ArithmeticError, ValueError) as error:
        try:
            wrapped = type(error)(f"compile: {why}; run uncompiled, the function raised: {error}")
        except Exception:
            raise error from None
        raise wrapped from error
