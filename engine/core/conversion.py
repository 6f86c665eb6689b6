"""When a Value may become a float: asked for by name, never behind the user's back.

`float(v)` gives v's number, as `float(t)` does for a PyTorch scalar: written out, it says "the
number, out of the graph" (for printing, logging, or a constant such as `loss / float(loss)`).
But Python also calls `__float__` for any function that wants a float: `math.tanh(x)` on a Value
silently returns a float, and `math.tanh(x) * x` then has the wrong gradient. micrograd has no
`__float__` and raises there; this module lets Value tell the two apart.

`float_by_name(frame)` looks at the instruction the calling frame is running (from its code's
positions, Python 3.11 and later): a call whose function is the name `float` (bound to the
built-in), or `v.__float__()`, asks by name; an operator that is not a call (`"%.3f" % v`) only
formats the number. Any other call (`math.tanh(x)`, `numpy.asarray([x])`, `list(map(float, xs))`)
takes the number for a computation the graph cannot see, and `Value.__float__` refuses it. Where
the frame cannot be read (Python 3.10, code without positions), a conversion is allowed, as before.
"""

from __future__ import annotations

import builtins
import dis
from functools import lru_cache
from types import CodeType, FrameType
from typing import Any

NAME_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FAST", "LOAD_DEREF", "LOAD_CLASSDEREF"})
ATTRIBUTE_LOADS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})
NOT_THE_FUNCTION = frozenset({"PRECALL", "CALL", "PUSH_NULL", "KW_NAMES", "CACHE", "EXTENDED_ARG"})


@lru_cache(maxsize=4096)
def called_function(code: CodeType, offset: int) -> tuple[str, str]:
    """What the instruction at `offset` calls: ('no call', ''), ('name', n), ('attribute', n),
    ('other', '') or ('unknown', '') when the code has no positions to tell."""
    instructions = list(dis.get_instructions(code))
    at = next((i for i in instructions if i.offset == offset), None)
    where = getattr(at, "positions", None)  # Python 3.11 and later
    if at is None or where is None or where.lineno is None:
        return "unknown", ""
    if not at.opname.startswith("CALL"):
        return "no call", ""
    start = (where.lineno, where.col_offset)
    end = (where.end_lineno, where.end_col_offset)
    function = None  # the instruction that loaded the called function spans the call's start up to "("
    for i in instructions:
        p = getattr(i, "positions", None)
        if i.offset >= offset or p is None or p.lineno is None or i.opname in NOT_THE_FUNCTION:
            continue
        span = (p.end_lineno, p.end_col_offset)
        if (p.lineno, p.col_offset) == start and span < end and (function is None or span > function[0]):
            function = (span, i)
    if function is None:
        return "other", ""
    loaded = function[1]
    if loaded.opname in NAME_LOADS:
        return "name", str(loaded.argval)
    if loaded.opname in ATTRIBUTE_LOADS:
        return "attribute", str(loaded.argval)
    return "other", ""


def float_by_name(frame: FrameType | None) -> tuple[bool, str]:
    """(whether the code running in `frame` asks for a float by name, the name of what it calls)."""
    if frame is None:
        return True, ""
    kind, name = called_function(frame.f_code, frame.f_lasti)
    if kind in ("unknown", "no call"):
        return True, name
    if kind == "attribute":
        return name == "__float__", name
    if kind == "name" and name == "float":
        bound = frame.f_locals.get(name, frame.f_globals.get(name, getattr(builtins, name)))
        return bound is float, name
    return False, name


def dropped_gradient(v: Any, called: str) -> str:
    """Why `called(v)` may not take the number of the Value v, and what to write instead.

    Where the Value has an operation of that name (`v.tanh()`, which is also `engine.tanh(v)`),
    that is the way to keep the gradient.
    """
    shown = f"{called}(...)" if called else "this call"
    if called and not called.startswith("_") and callable(getattr(type(v), called, None)):
        instead = f"use engine.{called}(v) (or v.{called}()) to keep the gradient, or v.data for the plain number"
    else:
        instead = (
            "compute it with engine's operations (or define one with engine.operation) to keep the gradient, "
            "or pass v.data (or float(v)) for the plain number"
        )
    return (
        f"{shown} wants a float and was given a Value ({v!r}): taking its number would silently drop "
        f"its gradient; {instead}"
    )
