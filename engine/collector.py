"""`pause_gc()`: build a big graph without Python's cyclic garbage collector walking it.

Every node is an object the cyclic collector tracks. CPython starts a collection when the
tracked objects allocated since the last one, less those freed, pass a threshold (700 by
default). Survivors move to older generations, and once they add up to a quarter of the old
generation, the next collection walks *every* tracked object of the process: the graph being
built, the previous step's graph (alive while a loop rebinds `loss = ...`) and all the session
holds. Building a 150,000-node graph so costs two or three times the build itself.

A graph makes no reference cycle (a node refers only to its inputs), so its nodes are freed by
reference counting alone and no collection can find garbage among them. `pause_gc()` keeps the
collector from walking them:

* on entry, the two younger generations are collected (`gc.collect(1)`: they hold only what
  was made since the last block, the earlier blocks' nodes having left them), then automatic
  collection is off;
* on exit, the objects the block made are moved straight to the oldest generation
  (`gc.freeze()` then `gc.unfreeze()`, which also resets the young count), so they are walked
  only by full collections, and they do not count toward starting one;
* so that cycles made inside a block by code it calls (a user's module or operation) are still
  found, a full collection runs on exit once the blocks have moved 8 times as many objects as
  the process held at the last such collection (at least 1,000,000): at most one walk of the
  heap per 8 heaps' worth of new nodes, where CPython's own rule walks it about every quarter.

The block leaves the process as it found it: the collector is back on at exit only if it was on
at entry (also when the block raises); thresholds and `gc.callbacks` are never touched, and the
move on exit is made only while nothing is frozen (`gc.get_freeze_count() == 0`), so no frozen
object of the user's is thawed; with frozen objects the block only pauses collection (and asks
again only now and then: counting frozen objects walks them). Blocks nest, in one thread or
several: the outermost block does the work. A `gc.disable()` inside a block is undone when the
block ends (the collector was on when it started); `gc.collect()` inside a block works as
usual. nn's modules and losses build their graphs inside one.

    with pause_gc():
        loss = model_loss(batch)
"""

from __future__ import annotations

import gc
import threading
from contextlib import ContextDecorator
from typing import Any

_lock = threading.Lock()
_open = [0]  # blocks open in any thread
_restore = [False]  # whether the collector was on when the outermost open block started
_moved = [0]  # objects moved to the oldest generation unwalked since the last full collection
_budget = [0]  # how many may be moved before the next full collection (0: collect on the first exit)
_frozen = [0]  # gc.get_freeze_count() when last asked
_waited = [0]  # objects made by blocks since then, while it was not 0
BUDGET_FACTOR = 8
MINIMUM_BUDGET = 1_000_000


class pause_gc(ContextDecorator):  # noqa: N801 (a context manager, named as no_grad is)
    """Context manager and decorator: no automatic cyclic garbage collection inside the block."""

    def __enter__(self) -> pause_gc:
        with _lock:
            if _open[0] == 0:
                _restore[0] = gc.isenabled()
                if _restore[0]:
                    gc.collect(1)  # what the user made before the block: walked as usual
                    gc.disable()
            _open[0] += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        with _lock:
            _open[0] -= 1
            if _open[0] or not _restore[0]:
                return
            try:
                if _nothing_frozen():
                    _settle()
            finally:
                gc.enable()


def _nothing_frozen() -> bool:
    """Whether the permanent generation is empty, without walking it on every exit.

    gc.get_freeze_count() walks the frozen objects (a program that froze its heap may have a
    million). While the last answer was 0 it is asked on every exit (then it costs nothing).
    Once it was n > 0, the blocks only pause collection until they have made about n more
    objects, and then it is asked again: its cost stays in proportion to the graphs built.
    """
    if _frozen[0]:
        _waited[0] += gc.get_count()[0]
        if _waited[0] < _frozen[0]:
            return False
        _waited[0] = 0
    _frozen[0] = gc.get_freeze_count()
    return _frozen[0] == 0


def _settle() -> None:
    """Move the young objects to the oldest generation unwalked, or now and then collect everything."""
    _moved[0] += gc.get_count()[0]
    if _moved[0] > _budget[0]:
        gc.collect()
        _moved[0] = 0
        _budget[0] = max(MINIMUM_BUDGET, BUDGET_FACTOR * len(gc.get_objects()))
        return
    try:
        gc.freeze()  # every tracked object to the permanent generation, the young count to 0 ...
    finally:
        gc.unfreeze()  # ... and back, all of them now in the oldest generation
