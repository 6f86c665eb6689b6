"""Data changed after a graph read it: `p.data = x` (or an optimizer's step()) between forward and backward.

The chain rule reads each input's data. A number changed after an operation read it would give
the gradients of a computation that never happened (w * w read w = 3, w.data = 5, and backward
would give 10, not 6), so backward() refuses, as PyTorch refuses a tensor modified in place.

How it is seen, without a byte more per node and with nothing added to an operation's quick
path: `Value.data = x` that changes the number notes the Value here, with the number it had. An
operation that reads a noted Value afterwards takes it off (a graph built since reads the new
number). While any Value is noted, `_mode[0]` is 5, so that operations leave their quick path to
look; the first operations of the next forward pass read every changed parameter and the quick
path is back. backward() (and engine.grad, the stepper, the quiz, `apply_chain_rule`) refuses a
graph that holds a Value still noted: that graph read its old number. A backward pass that finds
none forgets every note.

The boundary: the check is made by the next backward pass after a change, in any thread. A graph
built before the change, backpropagated only after a later graph has read the new number or
after another backward pass (another thread's included) has forgotten the notes, is not seen;
nor is a write to the slot `_data` (the engine's own). Forgetting at each backward pass keeps a
changed Value that nothing reads again from holding operations off their quick path for long.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from . import anomaly
from .mode import count_changes

changed: dict[Any, float] = {}  # Value -> the number it had when it was first changed since noted


def note(v: Any, old: float) -> None:
    """Remember that `v`'s number was `old` when it changed (the first change counts)."""
    if v not in changed:
        changed[v] = old
        if len(changed) == 1:  # the first: operations must now look (the flag is set from the dict, under a lock)
            count_changes(_pending)


def read(parents: Iterable[Any]) -> None:
    """An operation read `parents`, one of them noted: the graph it builds has their new numbers."""
    for p in parents:
        changed.pop(p, None)
    if not changed:  # the last: operations take their quick path again
        count_changes(_pending)


def stale(order: Iterable[Any]) -> tuple[Any, float] | None:
    """(the first node of `order` changed after the graph read it, the number it had), or None."""
    if changed:
        for node in order:
            old = changed.get(node, node)
            if old is not node and not _same(old, node._data):
                return node, old
    return None


def check(order: Iterable[Any], where: str, forget: bool = True) -> None:
    """Raise if a node of `order` changed after the graph read it; else, with `forget`, forget every note."""
    found = stale(order)
    if found is not None:
        node, old = found
        raise RuntimeError(
            f"{where}: the data of {anomaly.describe(node)} was changed from {old!r} to {node._data!r} after "
            "the graph read it (an optimizer's step() or `.data = ...` between the forward pass and "
            "backward()), so its gradients would be those of numbers never computed with. Run the forward "
            "pass again after the change, or change .data only after backward()"
        )
    if forget and changed:
        changed.clear()
        count_changes(_pending)


def _same(a: float, b: float) -> bool:
    """The same float, bit for bit in effect: a change back to the old number is no change."""
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b) or (a != a and b != b)


def _pending() -> bool:
    return bool(changed)
