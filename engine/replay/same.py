"""When two things a replay compares are the same: the same object, or numbers (and strings) equal to the bit."""

from __future__ import annotations

import struct
from typing import Any

pack = struct.Struct("<d").pack  # a float as its 8 bytes


def bits(x: Any) -> Any:
    """What comparing to the bit compares: a float's 8 bytes (so 0.0 and -0.0, and NaNs, differ), else repr(x)."""
    return pack(x) if type(x) is float else repr(x)


def same(a: Any, b: Any) -> bool:
    """a and b are the same for a replay: the same object, or numbers (and strings) equal to the bit.

    What a read gives now against what it gave when recorded (a float, bool, int or str), an item
    of outside data against the one snapshotted (guards.py), and a `.grad` or `.data` engine code
    left against what it found (leaves.py).
    """
    if a is b:
        return True
    t = type(a)
    if t is not type(b):
        return False
    if t is float:
        return pack(a) == pack(b)
    if t in (int, str, bytes, bool):
        return a == b
    if t is tuple:
        return len(a) == len(b) and all(map(same, a, b))
    return False
