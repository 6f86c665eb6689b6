"""What a compiled function raises, warns, and the one way out of a replay: `Uncompiled`.

Every stage that finds it cannot promise what fn would compute now (a guard, the replay, the
plan) raises `Uncompiled` with the reason; `Compiled.__call__` catches that one type and runs the
call uncompiled (`always`: every later call too).
"""

from __future__ import annotations

from typing import Any


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
