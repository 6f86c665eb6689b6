"""What a compiled function raises, warns, and the one way out of a replay: `Uncompiled`.

Every stage that finds it cannot promise what fn would compute now (a guard, the replay, the
plan) raises `Uncompiled` with the reason; `Compiled.__call__` catches that one type and runs the
call uncompiled (`always`: every later call too).
"""

from __future__ import annotations

import warnings
from typing import Any

from .tape import shown_line


class GraphChanged(RuntimeError):
    """The function now builds a different graph from the one recorded."""


class CompileWarning(UserWarning):
    """A replay cannot follow something fn did this call, which therefore runs uncompiled or is recorded again."""


class Uncompiled(Exception):
    """This call runs fn uncompiled, for `reason`: a replay might differ from backward().

    read: the number Python read while recording that would now read otherwise (a `tape.Read`),
    when that is the reason; always: every later call runs uncompiled too (the plan has nothing
    to gain over building the graph).
    """

    def __init__(self, reason: str, *, read: Any = None, always: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.read = read
        self.always = always


def warn_read_changed(warned: set[Any], name: str, read: Any) -> None:
    """A CompileWarning that a number fn read now reads differently, once per place (`warned` holds
    the places warned about): this call, and every call where it changes, runs uncompiled."""
    where = read.where or ("?", 0)
    if where in warned:
        return
    warned.add(where)
    line = shown_line(read.where) or "a line of the engine's"
    warnings.warn(
        f"compile: {name} read the number of a Value while it was recorded ({read.how}, at {line}), "
        "and would now read another: this call runs uncompiled (slow), as will every call where it changes. "
        "Keep such choices inside the graph (relu, abs), or pass the number as an argument.",
        CompileWarning,
        stacklevel=3,
    )
