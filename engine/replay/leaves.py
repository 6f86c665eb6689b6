"""What fn does to the `.grad` and `.data` of Values while it is recorded, seen as it happens.

A Value keeps its gradient in the slot `grad`. While any thread records, that slot is reached
through a `_Seen` descriptor put on the class in its place (`watching()`, counted, so recordings
in several threads share one installation), which tells the recording thread's tape
(`Tape.touched`) of every read and write of `.grad`, with the code that did it; the `data`
setter tells it of every write of `.data`. Nothing else changes: the descriptor stores into the
same slot. A write of the private slot `_data` itself is not seen.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..core.value import Value, recorders
from .same import same

_SLOTS = {name: Value.__dict__[name] for name in ("grad",)}
_lock = threading.Lock()
_open = [0]


class _Seen:
    """A slot of Value, with its reads and writes told to the recording thread's tape."""

    __slots__ = ("slot", "name")

    def __init__(self, name: str) -> None:
        self.slot = _SLOTS[name]
        self.name = name

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        if obj is None:
            return self
        value = self.slot.__get__(obj, cls)
        tape = recorders.tape
        if tape is not None:
            tape.touched(obj, "read", value, value, sys._getframe(1))
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        tape = recorders.tape
        if tape is not None:
            try:
                old = self.slot.__get__(obj, Value)
            except AttributeError:  # a Value being made: its slot is set for the first time, by the engine
                old = self
            if old is not self:
                tape.touched(obj, self.name, old, value, sys._getframe(1))
        self.slot.__set__(obj, value)


@contextmanager
def watching() -> Iterator[None]:
    """Value's `grad` seen (`_Seen`) for as long as this block runs, in any thread."""
    with _lock:
        _open[0] += 1
        if _open[0] == 1:
            for name in _SLOTS:
                setattr(Value, name, _Seen(name))
    try:
        yield
    finally:
        with _lock:
            _open[0] -= 1
            if _open[0] == 0:
                for name, slot in _SLOTS.items():
                    setattr(Value, name, slot)


def writes(events: list[tuple], made: Any, constants: Any) -> tuple[list[tuple[Value, Any]], str]:
    """What fn did to Values it did not make (`made` holds the ones it made), from the tape's events.

    Returns (the `.grad` writes a replay makes again, in order: (Value, number or None)), and '' --
    or ([], why a replay cannot follow, naming the line). A replay can make a write again when fn
    (or nn) wrote a number or None into `.grad` and read no `.grad` of a Value it did not make; the
    engine's own writes must leave each `.grad` as they found it (engine.grad does). Of the Values
    fn made, only a constant's `.data` may be written, with a plain number: a replay computes every
    other node (an operation's result, a detach(), a number passed in) from its sources again."""
    first: dict[tuple[Value, str], Any] = {}
    final: dict[Value, Any] = {}
    for v, what, old, value, where in events:
        if v in made:
            if what == "_data" and (v not in constants or type(value) not in (float, int)):
                kind = "a number passed as an argument into " if v in constants else ""
                return [], f"it writes {kind}the .data of a Value it computed ({where or 'in the engine'})"
            continue
        if where is None:  # the engine's code
            if what != "read":
                first.setdefault((v, what), old)
                final.setdefault(v, None)
            continue
        if what == "read":
            return [], f"it reads the .grad of a Value it did not make ({where})"
        if what == "_data":
            return [], f"it writes the .data of a Value it did not make ({where})"
        if value is not None and type(value) not in (float, int):
            return [], f"it writes a {type(value).__name__} into the .grad of a Value ({where})"
        final[v] = ("user", value)
    for (v, what), old in first.items():
        if final[v] is not None or not same(v.grad if what == "grad" else v._data, old):
            slot = what.strip("_")
            return [], f"the engine's code it runs (backward()?) changes the .{slot} of a Value it did not make"
    return [(v, how[1]) for v, how in final.items() if how is not None], ""
