"""Whose code a function or a frame runs: chainrule's own (engine, nn), the standard library's, or the user's.

Code of chainrule and of Python's standard library reads what it is handed and state of its own,
not the user's data: a compiled replay does not snapshot what it reads (replay/reads.py), an
operation's forward may call it (symbolic.outside_read), and the line a message names is the
innermost one outside chainrule (`user_frame`). The standard library is `sys.stdlib_module_names`
by module and the folder of `os` by file, so no list of modules is kept here.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGINE_FILES = os.path.join(_ROOT, "engine") + os.sep  # a file of the engine starts so
CHAINRULE_FILES = (ENGINE_FILES, os.path.join(_ROOT, "nn") + os.sep)  # a file of the engine or nn
_STANDARD_FILES = os.path.dirname(os.__file__) + os.sep


def chainrule(module: str | None) -> bool:
    """True for a module of chainrule's: the engine or nn."""
    return (module or "").split(".")[0] in ("engine", "nn")


def ours(module: str | None) -> bool:
    """True for code of chainrule or the standard library (by its module's name): it reads no data of the user's."""
    root = (module or "").split(".")[0]
    return root in ("engine", "nn") or root in sys.stdlib_module_names


def standard_file(file: str) -> bool:
    """True for a file of the standard library (contextlib, abc ...), not of an installed package."""
    return file.startswith(_STANDARD_FILES) and "-packages" + os.sep not in file


def user_frame(frame: Any) -> Any:
    """The innermost frame from `frame` outward that runs code outside the engine and nn (None if none)."""
    while frame is not None and frame.f_code.co_filename.startswith(CHAINRULE_FILES):
        frame = frame.f_back
    return frame
