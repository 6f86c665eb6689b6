"""What happens while `engine.compile` records a function: which nodes it made, and what it read.

A replay reruns the graph's arithmetic, never the function's Python. So the recording watches,
for the thread that records and only while it records:

- every node made (the graph's own nodes), and every `Value(number)` made (its constants);
- results made under `no_grad()` and by `detach()`: *stop-gradient* leaves, whose sources are
  remembered so that a replay computes them again from the current numbers;
- comparisons of Values, and reads of `.data` by code outside the engine of a Value whose
  number can change (anything but a constant made by this call): Python then decides with a
  number that the replay cannot see change.

The hooks are swapped into `Value` and `engine.value` for the length of one recording and
swapped back after it, so they cost nothing at any other time. Recordings take a lock: the
hooks are global, so two recordings at once would see each other's nodes.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from . import value as _value
from .value import Value

LOCK = threading.RLock()  # one recording at a time (the hooks are swapped into the class)

_COMPARISONS = ("__lt__", "__le__", "__gt__", "__ge__")


class Recording:
    """A context manager: while it is open, this thread's new nodes and reads are noted."""

    def __init__(self) -> None:
        self.made: set[Value] = set()  # nodes made by operations (with a graph)
        self.constants: set[Value] = set()  # leaves made from numbers
        self.stops: dict[Value, tuple[Callable | None, tuple]] = {}  # stop-gradient leaf -> (rule, sources)
        self.comparisons = 0
        self.reads: list[Value] = []  # Values whose .data code outside the engine read
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> Recording:
        LOCK.acquire()
        try:
            self._install()
        except BaseException:
            LOCK.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for name, attr in self._saved.items():
                if name == "_make":
                    _value._make = attr
                else:
                    setattr(Value, name, attr)
        finally:
            LOCK.release()

    def _install(self) -> None:
        owner = threading.get_ident()
        ident = threading.get_ident
        made, constants, stops, reads = self.made, self.constants, self.stops, self.reads
        saved = self._saved
        saved["_make"] = make = _value._make
        saved["__init__"] = init = Value.__init__
        saved["detach"] = detach = Value.detach
        saved["data"] = member = Value.__dict__["data"]
        for name in _COMPARISONS:
            saved[name] = getattr(Value, name)

        def recorded_make(data: float, parents: tuple, op: str, rule: Callable) -> Value:
            v = make(data, parents, op, rule)
            if ident() == owner:
                if v._rule is None:  # made under no_grad(): a leaf computed from the graph
                    stops[v] = (rule, parents)
                else:
                    made.add(v)
            return v

        def recorded_init(self: Value, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            if ident() == owner:
                constants.add(self)

        def recorded_detach(self: Value) -> Value:
            v = detach(self)
            if ident() == owner:
                constants.discard(v)
                made.discard(v)
                stops[v] = (None, (self,))
            return v

        get, put = member.__get__, member.__set__
        engine_globals = {id(m.__dict__) for name, m in list(sys.modules.items()) if name.split(".")[0] == "engine"}
        frame = sys._getframe

        def read(self: Value) -> float:
            if id(frame(1).f_globals) not in engine_globals and ident() == owner and self not in constants:
                reads.append(self)
            return get(self)

        def counted(method: Callable) -> Callable:
            def compare(self: Value, other: Any) -> bool:
                if ident() == owner:
                    self_.comparisons += 1
                return method(self, other)

            return compare

        self_ = self
        _value._make = recorded_make
        Value.__init__ = recorded_init
        Value.detach = recorded_detach
        for name in _COMPARISONS:
            setattr(Value, name, counted(saved[name]))
        Value.data = property(read, put)
