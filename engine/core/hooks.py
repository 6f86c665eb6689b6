"""Gradient hooks: `Value.register_hook(fn)` and the handle that removes one."""

from __future__ import annotations

import threading
from collections.abc import Callable
from itertools import count
from numbers import Real
from typing import Any

# How many hooks exist: while none do, backward() takes its fast path. Changed under a lock:
# two threads adding or removing hooks at once must not lose a count.
live_hooks = [0]
_lock = threading.Lock()
_ids = count()


class HookHandle:
    """Returned by `register_hook`; `remove()` takes the hook off its node."""

    __slots__ = ("_node", "_id")

    def __init__(self, node: Any, hook_id: int) -> None:
        self._node = node
        self._id = hook_id

    def remove(self) -> None:
        """Remove the hook (doing it twice is harmless)."""
        with _lock:
            hooks = self._node._hooks
            if hooks and hooks.pop(self._id, None) is not None:
                live_hooks[0] -= 1
                if not hooks:
                    self._node._hooks = None

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def add_hook(node: Any, fn: Callable[[Any], Any]) -> HookHandle:
    if not callable(fn):
        raise TypeError(f"register_hook: expected a function of the gradient, got {type(fn).__name__}")
    with _lock:
        if node._hooks is None:
            node._hooks = {}
        hook_id = next(_ids)
        node._hooks[hook_id] = fn
        live_hooks[0] += 1
    return HookHandle(node, hook_id)


def run_hooks(node: Any, grad: Any) -> Any:
    """Pass `grad` through the node's hooks in the order they were added.

    A hook's result is checked as an operation's is: a Value, or a real number made a float
    (numpy's float32 included, which would otherwise make every later gradient a float32); a
    number too large for a float, or anything else, raises an error naming the hook.
    """
    for fn in list(node._hooks.values()):
        result = fn(grad)
        if result is not None:
            grad = result if type(result) is float or type(result) is type(node) else _gradient(node, fn, result)
    return grad


def _gradient(node: Any, fn: Callable[[Any], Any], result: Any) -> float:
    """A hook's result that is not a float or a Value, as a float; else an error naming the hook and its node."""
    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    label = f" {node.label!r}" if node.label else ""
    where = f"the hook {name} on '{node.op or 'leaf'}'{label}"
    if not isinstance(result, Real):
        shown = f"{type(result).__name__} {result!r}"
        raise TypeError(f"{where} returned {shown}; a hook returns None or a gradient (a number or a Value)")
    try:
        return float(result)
    except OverflowError:
        shown = f"{type(result).__name__} {_digits(result)}"
        raise OverflowError(f"{where} returned the {shown}, too large for a float") from None


def _digits(x: Any) -> str:
    """A number for a message: a huge int by its size, not its hundreds of digits."""
    return repr(x) if not isinstance(x, int) or x.bit_length() < 128 else f"of {x.bit_length()} bits"
