"""How the project writes a number: short, always with a decimal point, non-finite ones as Python does."""

from __future__ import annotations

import math
from typing import Any


def number(x: Any, digits: int = 6) -> str:
    """A float written short: `digits` significant digits, always with a decimal point (-3.0, 0.5)."""
    x = getattr(x, "data", x)
    if x is None:  # a gradient set to None: none yet
        return "None"
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    text = f"{x:.{digits}g}"
    if text.lstrip("-").isdigit():
        text += ".0"
    return text
