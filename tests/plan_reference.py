"""The plain interpreter (`engine.replay.interpret`) as the reference of every replay in the tests.

`checked_against_the_interpreter(run)` wraps `Plan.run`: each replay is interpreted first, on the
same leaves and numbers, and whatever the replay returns (the loss, the extra outputs) and writes
(every leaf's gradient, and no other) must be the interpreter's numbers to the bit. A replay that
raises (Uncompiled, before touching any gradient) is not compared. tests/conftest.py puts the
wrapper on every test (the replay fuzzers' programs included), but for those marked
`uninterpreted` (a test that counts the calls of an operation, which the interpreter makes too).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from engine.replay.interpret import interpret

CHECKED = {"replays": 0}


def bits(x: Any) -> Any:
    return struct.pack("<d", x) if type(x) is float else ("not a float", repr(x))


def checked_against_the_interpreter(run: Callable) -> Callable:
    def run_and_compare(plan, leaves=None, data=None):
        leaves_ = plan.leaves if leaves is None else leaves
        before = [leaf.grad for leaf in leaves_]
        try:
            want = interpret(plan, leaves, data)
        except (ArithmeticError, ValueError, TypeError) as e:
            want = e
        got = run(plan, leaves, data)  # raises before writing, or returns what must be compared
        assert not isinstance(want, Exception), f"the replay returned {got} where the interpreter raised {want!r}"
        loss, outputs = got
        assert bits(loss) == bits(want.loss), ("loss", loss, want.loss)
        assert list(map(bits, outputs)) == list(map(bits, want.outputs)), ("outputs", outputs, want.outputs)
        expected = [want.grads.get(i, g) for i, g in enumerate(before)]
        after = [leaf.grad for leaf in leaves_]
        assert list(map(bits, after)) == list(map(bits, expected)), ("gradients", after, expected)
        CHECKED["replays"] += 1
        return got

    return run_and_compare
