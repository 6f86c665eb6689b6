"""Anomaly mode's memory of where each node was made, and its NaN check."""

from __future__ import annotations

import linecache
import math
import os
import sys
from types import FrameType
from typing import Any

_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))


def where_created() -> str:
    """'file:line: code' of the first caller outside the engine package."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _ENGINE_DIR:
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    filename, line = frame.f_code.co_filename, frame.f_lineno
    code = linecache.getline(filename, line).strip()
    return f"{filename}:{line}: {code}" if code else f"{filename}:{line}"


def is_bad(x: Any) -> bool:
    """True for a NaN or infinite gradient (a float or a Value's data)."""
    x = getattr(x, "data", x)
    return not math.isfinite(x)


UNKNOWN_LINE = (
    "(to learn which line made it, build the graph again inside `with engine.detect_anomaly():`, "
    "where every node remembers its line)"
)


def describe(node: Any) -> str:
    """The node for a message: its operation, its label, and the line that made it when anomaly mode saw it."""
    name = f" {node.label!r}" if node.label else ""
    where = f"created at {node._origin}" if node._origin else UNKNOWN_LINE
    return f"'{node.op or 'leaf'}'{name} {where}"


def check_sum(where: str, node: Any, i: int, parent: Any, old: Any, share: Any, total: Any) -> None:
    """Raise if two finite gradients flowing into `parent` added up to an infinite or NaN one."""
    if is_bad(total) and not is_bad(old) and not is_bad(share):
        value = lambda x: getattr(x, "data", x)  # noqa: E731
        raise FloatingPointError(
            f"{where}: adding the gradient {value(share)!r} from {describe(node)} to the {value(old)!r} "
            f"its input {i} (data={parent.data!r}) already had gives {value(total)!r}"
        )


def named(error: Exception, where: str, node: Any) -> Exception:
    """The same kind of error, its message led by the operation (and, under anomaly mode, its line)."""
    try:
        return type(error)(f"{where} of {describe(node)}: {error}")
    except Exception:  # an exception class that takes other arguments: keep it as it is
        return error
