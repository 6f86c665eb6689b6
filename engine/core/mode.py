"""Switches for how operations record the graph: `no_grad()`, `enable_grad()` and `detect_anomaly()`.

The grad mode belongs to a thread and, within it, to an asyncio task (a `contextvars` context):
`no_grad()` in one thread or task never stops another recording, and a new thread starts with
recording on. A task started inside a `no_grad()` block records nothing while that block is open.
`detect_anomaly()` is process-wide (as PyTorch's is): it is on while any thread is inside one,
whatever order the blocks end in.

The hot path stays one comparison: `_mode[0]` is 1 while no `no_grad()` block is open
anywhere, no `detect_anomaly()` is active and nothing records. Otherwise it is 2 (anomaly mode
on), 3 (some `no_grad()` block is open), when `_make` asks `thread_mode()` what this context
does, or 4 (only recordings open: every context records, and `_make` tells the recorder), or
5 (none of those, and some Value's data changed since an operation read it: `_make` records as
under 1 and tells engine.core.changes which Values it read).
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Coroutine, Generator
from contextlib import AbstractContextManager, ContextDecorator
from contextvars import ContextVar
from typing import Any, TypeVar

# The process-wide fast flag, switched here: 1 while no thread is inside no_grad(), anomaly
# mode is off and no compile records (then _make records without asking anything else), 2 under
# detect_anomaly() (process-wide), 3 while some thread is inside no_grad(), 4 while some thread
# records (engine.compile) and neither of those holds. Under 2 and 3, _make asks thread_mode()
# what this thread does: 0 record nothing, 1 record, 2 record with the line that made the node;
# under 4 every context records, and _make tells this thread's recorder, if it has one. Kept in a
# one-element list so the other modules can switch it.
_mode = [1]


class _Block:
    """One open (or since closed) `no_grad()` / `enable_grad()` block, and the one it sits in."""

    __slots__ = ("grad", "outer", "open", "owner")

    def __init__(self, grad: bool, outer: _Block | None, owner: object) -> None:
        self.grad, self.outer, self.open, self.owner = grad, outer, True, owner


# The innermost block of this context (None: recording, as every thread starts). A task copies
# its creator's context, so it sees the blocks open where it was started; a closed block counts
# as not there, so nothing outlives the block that switched recording off.
_blocks: ContextVar[_Block | None] = ContextVar("chainrule_grad_blocks", default=None)
_lock = threading.Lock()
# open no_grad blocks; open detect_anomaly blocks; open engine.compile recordings; 1 while some
# Value's data changed and no operation has read it since (engine.core.changes)
_counts = {"no_grad_blocks": 0, "anomaly": 0, "recordings": 0, "changed": 0}


def _grad_enabled() -> bool:
    """This context's grad mode: the innermost block still open decides."""
    block = _blocks.get()
    while block is not None and not block.open:
        block = block.outer
    return block is None or block.grad


def _apply() -> None:
    """Set the process-wide fast flag from the counts (called with _lock held)."""
    counts = _counts
    _mode[0] = (
        2 if counts["anomaly"] else 3 if counts["no_grad_blocks"] else 4 if counts["recordings"] else
        5 if counts["changed"] else 1
    )  # fmt: skip


def count_changes(pending: Callable[[], bool]) -> None:
    """Count whether some Value's data changed since an operation last read it (engine.core.changes).

    While one has, `_make` takes its slow path, so that it can see the operations that read it.
    `pending()` is asked under the lock, so that two threads noting and reading leave the flag right.
    """
    with _lock:
        _counts["changed"] = 1 if pending() else 0
        _apply()


def count_recordings(change: int, publish: Callable[[int], None]) -> None:
    """Count a recording opened (+1) or closed (-1) by engine.compile; publish(open recordings) under the lock.

    While any thread records, `_make` takes its slow path, so that it can tell the recorder about
    each node (see `engine.core.value.watch`).
    """
    with _lock:
        _counts["recordings"] += change
        publish(_counts["recordings"])
        _apply()


def thread_mode() -> int:
    """This context's mode as `_make` reads it: 0 records nothing, 1 records, 2 records with origins."""
    # _grad_enabled() written out: _make asks for every node made inside no_grad() (as a compiled
    # step's verification call runs its function), where a call more is a tenth of the node's cost
    block = _blocks.get()
    while block is not None and not block.open:
        block = block.outer
    if block is not None and not block.grad:
        return 0
    return 2 if _mode[0] == 2 else 1


def is_grad_enabled() -> bool:
    """True unless this thread or task is inside `no_grad()` (and not inside an `enable_grad()` within it)."""
    return _grad_enabled()


def is_anomaly_enabled() -> bool:
    """True while any thread is inside `detect_anomaly()` (the switch is process-wide)."""
    return _counts["anomaly"] > 0


F = TypeVar("F", bound=Callable[..., Any])


def _drive(switch: AbstractContextManager, inner: Any) -> Generator[Any, Any, Any]:
    """Run a generator (or a coroutine's steps) with `switch` on while its body runs, off between.

    Each resumption (next, send, throw, close) enters the switch and leaves it when the body
    yields, so the caller's code between two yields runs in the caller's own mode.
    """
    try:
        with switch:
            sent = inner.send(None)
        while True:
            try:
                received = yield sent
            except GeneratorExit:
                with switch:
                    inner.close()
                raise
            except BaseException as error:
                with switch:
                    sent = inner.throw(error)
            else:
                with switch:
                    sent = inner.send(received)
    except StopIteration as done:
        return done.value


class _Stepped:
    """An awaitable that runs a coroutine's steps through `_drive`."""

    __slots__ = ("switch", "coroutine")

    def __init__(self, switch: AbstractContextManager, coroutine: Coroutine) -> None:
        self.switch, self.coroutine = switch, coroutine

    def __await__(self) -> Generator[Any, Any, Any]:
        return _drive(self.switch, self.coroutine)


class _GradSwitch(ContextDecorator):
    value = True

    def __call__(self, func: F) -> F:  # type: ignore[override]
        """Decorate `func`: the mode applies while its body runs, a generator's or coroutine's included."""
        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def generator(*args: Any, **kwargs: Any) -> Any:
                return (yield from _drive(self, func(*args, **kwargs)))

            return generator  # type: ignore[return-value]
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def coroutine(*args: Any, **kwargs: Any) -> Any:
                return await _Stepped(self, func(*args, **kwargs))

            return coroutine  # type: ignore[return-value]
        return super().__call__(func)

    def __init__(self) -> None:
        # The blocks this object opened and has not closed: a decorated function that calls
        # itself, or one object entered by two tasks or threads at once, opens it again before
        # closing it.
        self._open: list[_Block] = []

    def __enter__(self) -> _GradSwitch:
        with _lock:
            block = _Block(self.value, _blocks.get(), self)
            _blocks.set(block)
            self._open.append(block)
            if not block.grad:
                _counts["no_grad_blocks"] += 1
                _apply()
        return self

    def __exit__(self, *exc: object) -> None:
        with _lock:
            top = _blocks.get()
            if top is not None and top.owner is self and top.open:
                block = top  # blocks nest within a context: the innermost one is this one
                _blocks.set(top.outer)
            else:  # left in another context than it was entered in: close the latest one
                block = next(b for b in reversed(self._open) if b.open)
            block.open = False
            self._open.remove(block)
            if not block.grad:
                _counts["no_grad_blocks"] -= 1
                _apply()


class no_grad(_GradSwitch):
    """Context manager and decorator: this thread's (or task's) operations record no parents and no rule.

    Results are leaves, so nothing is kept for a backward pass: use it to evaluate
    a model fast (e.g. over a grid for a picture) or to update parameters. Other
    threads and tasks keep recording. backward() of a result made inside it raises.
    On a generator (or async) function, as in PyTorch, it applies while the body runs,
    and the caller's mode is back between two yields.
    """

    value = False


class enable_grad(_GradSwitch):
    """Context manager and decorator: record the graph again in this thread or task, even inside `no_grad()`."""

    value = True


class detect_anomaly(ContextDecorator):
    """Context manager and decorator for hunting NaNs; process-wide, as in PyTorch.

    Inside it, each new node remembers the line of user code that created it, and a
    backward pass that produces a NaN or infinite gradient raises `FloatingPointError`
    naming the operation and that line. It is on while any thread is inside one.
    """

    def __enter__(self) -> detect_anomaly:
        with _lock:
            _counts["anomaly"] += 1
            _apply()
        return self

    def __exit__(self, *exc: object) -> None:
        with _lock:
            _counts["anomaly"] -= 1
            _apply()
