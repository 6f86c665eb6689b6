"""Switches for how operations record the graph: `no_grad()` and `detect_anomaly()`."""

from __future__ import annotations

from contextlib import ContextDecorator

from .value import _mode

_state = {"grad": True, "anomaly": False}


def _apply() -> None:
    _mode[0] = 0 if not _state["grad"] else 2 if _state["anomaly"] else 1


def is_grad_enabled() -> bool:
    """True unless inside `no_grad()`."""
    return _state["grad"]


def is_anomaly_enabled() -> bool:
    """True inside `detect_anomaly()`."""
    return _state["anomaly"]


class _Switch(ContextDecorator):
    key = ""
    value = False

    def __init__(self) -> None:
        # A stack, not one saved value: a decorated function that calls itself, or one
        # instance entered twice, enters this same object again before leaving it.
        self._saved: list[bool] = []

    def __enter__(self) -> _Switch:
        self._saved.append(_state[self.key])
        _state[self.key] = self.value
        _apply()
        return self

    def __exit__(self, *exc: object) -> None:
        _state[self.key] = self._saved.pop()
        _apply()


class no_grad(_Switch):
    """Context manager and decorator: operations inside record no parents and no rule.

    Results are leaves, so nothing is kept for a backward pass: use it to evaluate
    a model fast (e.g. over a grid for a picture) or to update parameters.
    """

    key, value = "grad", False


class enable_grad(_Switch):
    """Context manager and decorator: record the graph again, even inside `no_grad()`."""

    key, value = "grad", True


class detect_anomaly(_Switch):
    """Context manager and decorator for hunting NaNs.

    Inside it, each new node remembers the line of user code that created it, and a
    backward pass that produces a NaN or infinite gradient raises `FloatingPointError`
    naming the operation and that line.
    """

    key, value = "anomaly", True
