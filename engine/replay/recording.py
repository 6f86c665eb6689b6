"""What happens while `engine.compile` records a function: its constants, its stop-gradients, its comparisons.

A replay reruns the graph's arithmetic, never the function's Python. So the recording notes,
for the thread that records and only while it records:

- every `Value(number)` made: the graph's constants (their numbers are compared by checks);
- results made by `detach()` or inside `no_grad()`: *stop-gradient* leaves, whose sources are
  remembered so that a replay computes them again from the current numbers;
- comparisons of Values (`if v > 0`, `max(values)`): Python then chose with a number that
  the replay cannot see change.

The hooks are swapped into `Value`, `no_grad` and `engine.value` for the length of one
recording and swapped back after it, so they cost nothing at any other time. Operations in
grad mode are not hooked at all (that would slow the recording of a large graph): inside
`no_grad()` `_make` is (in each engine module that calls it). Recordings take a lock, since the hooks are global.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from .. import value as _value
from ..mode import no_grad
from ..value import Operation, Value

LOCK = threading.RLock()  # one recording at a time (the hooks are swapped into classes)

_COMPARISONS = ("__lt__", "__le__", "__gt__", "__ge__")
_MISSING = object()


class Recording:
    """A context manager: while it is open, this thread's constants, stop-gradients and comparisons are noted."""

    def __init__(self) -> None:
        self.constants: set[Value] = set()  # leaves made from numbers
        self.stops: dict[Value, tuple[Operation | None, tuple]] = {}  # stop-gradient leaf -> (operation, sources)
        self.comparisons = 0
        self._restore: list[tuple[Any, str, Any]] = []  # (owner, name, what was there or _MISSING)

    def __enter__(self) -> Recording:
        LOCK.acquire()
        try:
            self._install()
        except BaseException:
            self._uninstall()
            LOCK.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._uninstall()
        finally:
            LOCK.release()

    def _swap(self, owner: Any, name: str, new: Any) -> None:
        self._restore.append(
            (owner, name, vars(owner).get(name, _MISSING) if isinstance(owner, type) else getattr(owner, name))
        )
        setattr(owner, name, new)

    def _uninstall(self) -> None:
        while self._restore:
            owner, name, old = self._restore.pop()
            if old is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, old)

    def _install(self) -> None:
        owner = threading.get_ident()
        ident = threading.get_ident
        constants, stops = self.constants, self.stops
        make = _value._make
        makers = [
            m
            for name, m in list(sys.modules.items())
            if name.split(".")[0] == "engine" and getattr(m, "_make", None) is make
        ]
        init, detach = Value.__init__, Value.detach
        enter, exit_ = no_grad.__enter__, no_grad.__exit__
        depth = [0]

        def recorded_make(data: float, parents: tuple, operation: Operation) -> Value:
            v = make(data, parents, operation)
            if v._rule is None and ident() == owner:  # made under no_grad(): a leaf computed from the graph
                stops[v] = (operation, parents)
            return v

        def use(maker: Callable) -> None:
            for module in makers:
                setattr(module, "_make", maker)  # noqa: B010 (a module attribute, named for the reader)

        def recorded_enter(self: no_grad) -> Any:
            result = enter(self)
            if ident() == owner:
                depth[0] += 1
                if depth[0] == 1:
                    use(recorded_make)
            return result

        def recorded_exit(self: no_grad, *exc: object) -> None:
            try:
                exit_(self, *exc)
            finally:
                if ident() == owner:
                    depth[0] -= 1
                    if depth[0] == 0:
                        use(make)

        def recorded_init(self: Value, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            if ident() == owner:
                constants.add(self)

        def recorded_detach(self: Value) -> Value:
            v = detach(self)
            if ident() == owner:
                constants.discard(v)
                stops[v] = (None, (self,))
            return v

        def counted(method: Callable) -> Callable:
            def compare(self: Value, other: Any) -> bool:
                if ident() == owner:
                    recording.comparisons += 1
                return method(self, other)

            return compare

        recording = self
        for module in makers:  # put back as it was, even if a no_grad() block is left open
            self._swap(module, "_make", make)
        self._swap(no_grad, "__enter__", recorded_enter)
        self._swap(no_grad, "__exit__", recorded_exit)
        self._swap(Value, "__init__", recorded_init)
        self._swap(Value, "detach", recorded_detach)
        for name in _COMPARISONS:
            self._swap(Value, name, counted(getattr(Value, name)))
