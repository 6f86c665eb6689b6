"""The check stage: which recording a call can replay, if any.

A recording is replayed only while what it depends on holds: the data fn reads from outside its
arguments is as snapshotted (else every recording is dropped and fn is recorded again, with a
CompileWarning), the arguments stand in the same relation to the graph (`Recording.fits`), and no
leaf of the graph has a gradient hook (a replay cannot run one: ValueError).
"""

from __future__ import annotations

import warnings
from typing import Any

from ..core.hooks import live_hooks
from .arguments import Arguments
from .errors import CompileWarning
from .guards import outside_changed
from .reads import Reads
from .recording import Recording

MAX_RECORDINGS = 16  # recordings kept, one per way the arguments alias each other


def check(recordings: dict[Any, Recording], reads: Reads | None, arguments: Arguments, name: str) -> Recording | None:
    """The recording this call replays; None: record fn again. `recordings` (by `Arguments.key`) is
    emptied when the outside data changed."""
    if reads is not None:
        changed = outside_changed(reads)
        if changed is not None:
            warnings.warn(
                f"compile: {name} reads {changed!r} from outside its arguments, and it changed since the "
                "recording, which is now made again (slow). Pass data that changes as an argument.",
                CompileWarning,
                stacklevel=3,
            )
            recordings.clear()
    recording = recordings.get(arguments.key)
    if recording is None or not recording.fits(arguments.given):
        return None
    if live_hooks[0] and any(leaf._hooks for leaf in recording.plan.leaves):
        raise ValueError("compile: a leaf of the recorded graph has a gradient hook, which a replay cannot run")
    return recording


def keep(recordings: dict[Any, Recording], key: Any, recording: Recording) -> None:
    """Keep a recording for calls whose arguments alias as `key`'s do: at most MAX_RECORDINGS, the oldest dropped."""
    if len(recordings) >= MAX_RECORDINGS:
        recordings.pop(next(iter(recordings)))
    recordings[key] = recording
