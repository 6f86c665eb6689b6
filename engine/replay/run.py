"""A compiled function: `Compiled.__call__` dispatches each call to the stages, each in a file of its own.

    arguments.read     the arguments' structure, fixed by the first call (else ValueError)
    check.check        the recording this call can replay, if any (check.py)
    record.record      none: fn recorded on this call (record.py)
    Recording.replay   the guards, fn's .grad writes, the plan on the arguments' numbers (recording.py)
    verify.verify      on verification calls: fn run uncompiled and compared to the bit (verify.py)
    uncompiled         the way out: a stage raised errors.Uncompiled, so this call runs as if not compiled

`compile`'s docstring is the contract; docs/compile.md says what each stage observes and checks.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any

from ..collector import pause_gc
from ..core.mode import is_anomaly_enabled, is_grad_enabled
from ..core.value import Value
from . import check, uncompiled
from .arguments import Arguments, difference, read, returned
from .errors import CompileWarning, GraphChanged, Uncompiled, warn_read_changed
from .plan import Plan
from .reads import Reads
from .record import record
from .recording import Recording
from .tape import Tape
from .verify import verifies, verify

CHECK_EVERY = 1000  # verification calls: 2, 3, 5, 9 ... up to this, then every this-th


class Compiled:
    """A function whose graph was recorded on its first call and is replayed on later ones.

    Calling it returns the loss as a float (and the extra outputs as floats, in the same
    nested shape, when `fn` returned `(loss, extras)`) and adds d loss / d leaf into the
    `.grad` of every leaf of the graph, exactly as `loss.backward()` would.
    """

    def __init__(self, fn: Callable[..., Any], check_every: int = CHECK_EVERY) -> None:
        if not callable(fn):
            raise TypeError(f"compile: expected a function that builds a loss, got {type(fn).__name__}")
        if isinstance(check_every, bool) or not isinstance(check_every, int) or check_every < 0:
            raise ValueError(f"compile: check_every must be an int >= 0, got {check_every!r}")
        self.fn = fn
        self.check_every = check_every
        self.calls = 0
        self.plan: Plan | None = None  # the plan used last
        self.tape: Tape | None = None  # the tape of the last recording: print(step.tape) shows it
        self.uncompiled = ""  # why `fn` runs uncompiled, when a recording found it must
        self._recordings: dict[Any, Recording] = {}  # how the arguments alias (Arguments.key) -> its recording
        self._reads: Reads | None = None  # what fn reads from outside, snapshotted by the last recording
        self._shape: Any = None  # the structure of the arguments: fixed by the first call
        self._lock = threading.RLock()  # calls from several threads run one after the other
        self._warned: set[Any] = set()  # the lines whose changed reads were warned about

    @property
    def _name(self) -> str:
        return getattr(self.fn, "__name__", "the function")

    def __call__(self, *args: Any) -> Any:
        with self._lock:
            self.calls += 1
            if not is_grad_enabled():
                raise RuntimeError("compile: called inside no_grad(), where no graph is built to record or replay")
            if self.uncompiled or is_anomaly_enabled():
                # a replay checks nothing: let backward() find the NaN and name the line that made it
                return uncompiled.run(self.fn, args)
            found = self._arguments(args)
            if any(type(x) is Value and x._rule is not None for x in found.given):
                return uncompiled.run(self.fn, args)  # a node of another graph: backward() must go through it
            recording = check.check(self._recordings, self._reads, found, self._name)
            if recording is None:
                return self._record(args, found)
            try:
                return self._replay(recording, args, found)
            except Uncompiled as why:
                if why.read is not None:
                    warn_read_changed(self._warned, self._name, why.read)
                return uncompiled.fall_back(self.fn, args, why)

    def _arguments(self, args: tuple) -> Arguments:
        """The arguments read; ValueError if their structure is not the first call's."""
        found = read(args)
        if self._shape is None:
            self._shape = found.shape
        elif found.shape != self._shape:
            raise ValueError(
                f"compile: {difference(self._shape, found.shape)}; compile a new function for a different shape"
            )
        return found

    def _record(self, args: tuple, found: Arguments) -> Any:
        """Record fn on this call; keep the recording, or the reason fn runs uncompiled from now on."""
        with pause_gc():  # the graph is freed by reference counting, not by collections mid-recording
            self._reads = Reads(self.fn)  # what fn can read now, before it runs
            made = record(self.fn, args, found, self._name, self._reads)
        self.tape = made.tape
        if made.recording is not None:
            check.keep(self._recordings, found.key, made.recording)
            self.plan = made.recording.plan
        if made.uncompiled:
            self.uncompiled = made.uncompiled
            if made.warn:
                warnings.warn(f"compile: {self._name} runs uncompiled, since {made.uncompiled}", CompileWarning, 3)
        return made.result

    def _replay(self, recording: Recording, args: tuple, found: Arguments) -> Any:
        """Replay the recording; on a verification call, compare it with fn run uncompiled."""
        self.plan = recording.plan
        if not verifies(self.calls, self.check_every):
            return returned(*recording.replay(found.given), recording.extras)
        leaves = [*recording.watched, *[found.given[i] for i in recording.values_at]]
        before = [v.grad for v in leaves]
        loss, outs = recording.replay(found.given)
        try:
            verify(self.fn, args, leaves, before, [loss, *outs], self._name, self.calls)
        except GraphChanged:
            # the recording is known wrong: no later call may replay it (an unverified call would return
            # its numbers in silence), so every later call runs uncompiled
            self._recordings.clear()
            self.uncompiled = f"its replay differed from fn at the verification call number {self.calls}"
            raise
        return returned(loss, outs, recording.extras)

    @property
    def code(self) -> str:
        """The Python source of the generated code: the kernels (a forward and a backward loop per shape
        of repeated piece), then each run of small groups as straight-line code; the other groups
        run as maps of each operation."""
        name = getattr(self.fn, "__name__", "fn")
        if self.uncompiled:
            return f"# {name} runs uncompiled, since {self.uncompiled}\n"
        if self.plan is None:
            return f"# {name} is not recorded yet: call it once\n"
        none = f"# {name}: no repeated pieces, so no kernel; its groups run as maps of each operation\n"
        return self.plan.code or none

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", "fn")
        if self.uncompiled:
            return f"Compiled({name}: runs uncompiled, since {self.uncompiled})"
        if self.plan is None:
            return f"Compiled({name}, not recorded yet)"
        p = self.plan
        return (
            f"Compiled({name}: {p.n_nodes} nodes, {p.n_pieces} repeated pieces in {p.n_kernels} kernel(s), "
            f"{p.n_groups} groups, {len(p.leaves)} leaves)"
        )


def compile(fn: Callable[..., Any], *, check_every: int = CHECK_EVERY) -> Compiled:  # noqa: A001
    """Record `fn`'s graph on its first call; replay it (forward and backward) on later calls.

    `fn(*args)` must return the loss `Value`, or `(loss, extras)` with extras Values or plain
    numbers (in nested lists) to read back. Each call returns the loss (and extras) as floats and
    adds d loss / d leaf into every leaf's `.grad`, as backward() does: the same numbers, to the bit.

    The contract (docs/compile.md): a call replays exactly what fn would compute now, or runs fn
    uncompiled, or raises. The recording observes the tape (every operation, constant,
    stop-gradient, and every number Python read), every Python frame fn runs (the globals it
    names, its closure cells: their data is snapshotted), every read and write of a `.grad` and
    write of a `.data`, and follows each number argument (fn gets it as a number). Writes of a
    number or None into `.grad` are made again before each replay; other reads or writes of
    leaves make fn run uncompiled, with a CompileWarning naming the line. Checked on every call:
    the reads (else that call runs uncompiled), the snapshotted data (else recorded again), the
    arguments' nesting and lengths (else ValueError), hooks, and that every number is finite and
    every gradient a float other than -0.0 (else uncompiled).

    Verification calls run fn again uncompiled, as the caller would (forward and backward), and
    compare loss, extras and every gradient with the replay, to the bit: calls 2, 3, 5, 9, 17 ...
    (doubling gaps) up to `check_every`, then every `check_every`-th (default 1000; 0: never). A
    difference raises GraphChanged, with the gradients as they were. Calls from several threads
    run one at a time.
    """
    return Compiled(fn, check_every=check_every)
