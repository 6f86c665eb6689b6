"""A compiled function: record on the first call, then check the guards and replay on later calls.

A replay depends on more than the graph, and checks it (`compile`'s docstring is the contract):
arguments stand in by position (`guards.structure`, `record._Entry.fits`), numbers followed
(`numbers.py`); what the frames fn ran read from outside is snapshotted (`reads.py`) and guarded
(`guards.outside_changed`); what fn does to leaves is seen (`leaves.py`) and made again or
refused; every number Python read while recording is guarded, and detach() and no_grad()
results are recomputed (`guards.py`);
a call whose numbers leave the ground where a replay is known to equal backward() -- a NaN or an
infinity anywhere, an error -- runs uncompiled instead; and verification calls run fn again
uncompiled and compare.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any

from ..collector import pause_gc
from ..core.changes import stale
from ..core.graph import topological_order
from ..core.hooks import live_hooks
from ..core.mode import is_anomaly_enabled, is_grad_enabled
from ..core.value import Value
from . import leaves, record, uncompiled
from .errors import CompileWarning, GraphChanged, Uncompiled
from .guards import Guards, difference, outside_changed, structure
from .plan import Plan
from .reads import Reads, observing
from .record import give_back, pin, stand_ins
from .tape import Tape, shown_line
from .uncompiled import finish, results, verifies

CHECK_EVERY = 1000  # verification calls: 2, 3, 5, 9 ... up to this, then every this-th
MAX_RECORDINGS = 16  # recordings kept, one per structure of arguments


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
        self._entries: dict[Any, record._Entry] = {}  # argument structure -> its recording
        self._reads: Reads | None = None
        self._shape: Any = None  # the structure of the arguments: fixed by the first call
        self._lock = threading.RLock()  # calls from several threads run one after the other
        self._warned: set[Any] = set()  # the lines whose changed reads were warned about
        self.tape: Tape | None = None  # the tape of the last recording: print(step.tape) shows it
        self.uncompiled = ""  # why `fn` runs uncompiled, when the recording found nothing to gain

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
            given: list[Any] = []
            aliases: list[int] = []
            shape = structure(list(args), {}, given, aliases)
            if self._shape is None:
                self._shape = shape
            elif shape != self._shape:
                raise ValueError(
                    f"compile: {difference(self._shape, shape)}; compile a new function for a different shape"
                )
            key = tuple(aliases)
            if any(type(x) is Value and x._rule is not None for x in given):
                return uncompiled.run(self.fn, args)  # a node of another graph: backward() must go through it
            entry = self._entries.get(key)
            if self._reads is not None:
                changed = outside_changed(self._reads)
                if changed is not None:
                    warnings.warn(
                        f"compile: {self._name} reads {changed!r} from outside its arguments, and it changed "
                        "since the recording, which is now made again (slow). Pass data that changes as an "
                        "argument.",
                        CompileWarning,
                        stacklevel=2,
                    )
                    self._entries.clear()
                    entry = None
            if entry is None or not entry.fits(given):
                return self._record(args, key, given)
            plan = self.plan = entry.plan
            if live_hooks[0] and any(leaf._hooks for leaf in plan.leaves):
                raise ValueError("compile: a leaf of the recorded graph has a gradient hook, which a replay cannot run")
            verifying = verifies(self.calls, self.check_every)
            if verifying:
                leaves = [*entry.watched, *[x for x in given if type(x) is Value]]
                before = [v.grad for v in leaves]
            try:
                loss, outs = entry.run(given)
                if verifying:
                    self._verify(args, leaves, before, [loss, *outs])
            except Uncompiled as why:
                if why.read is not None:
                    self._warn_changed(why.read)
                return self._fallback(args, why)
            return finish(loss, outs, entry.extras)

    def _verify(self, args: tuple, leaves: list[Value], before: list[Any], replayed: list[float]) -> None:
        """A verification call: fn run again uncompiled, as the caller would run it (forward and
        backward), its loss, extra outputs and gradients compared to the bit with the replay just
        made; GraphChanged (gradients as they were) if they differ."""
        if not uncompiled.agrees(self.fn, args, leaves, before, replayed):
            # the recording is known wrong: no later call may replay it (an unverified call would return
            # its numbers in silence), so every later call runs uncompiled
            self._entries.clear()
            self.uncompiled = f"its replay differed from fn at the verification call number {self.calls}"
            raise GraphChanged(
                f"compile: {self._name} now computes another loss than the replay of its recording (a verification "
                f"call, number {self.calls}, ran it uncompiled and compared): data it reads from a place no guard "
                "watches changed, or its Python control flow depends on the data. Later calls run uncompiled. "
                "Pass data that changes as an argument, or compile it again."
            )

    def _warn_changed(self, read: Any) -> None:
        """Warn once per place that a number fn read now reads differently."""
        where = read.where or ("?", 0)
        if where in self._warned:
            return
        self._warned.add(where)
        line = shown_line(read.where) or "a line of the engine's"
        warnings.warn(
            f"compile: {self._name} read the number of a Value while it was recorded ({read.how}, at {line}), "
            "and would now read another: this call runs uncompiled (slow), as will every call where it changes. "
            "Keep such choices inside the graph (relu, abs), or pass the number as an argument.",
            CompileWarning,
            stacklevel=3,
        )

    def _fallback(self, args: tuple, why: Uncompiled) -> Any:
        """This call, uncompiled: the replay met numbers where it might not equal backward()."""
        try:
            return uncompiled.run(self.fn, args, fill=True)
        except (ArithmeticError, ValueError) as error:
            try:
                wrapped = type(error)(f"compile: {why}; run uncompiled, the function raised: {error}")
            except Exception:
                raise error from None
            raise wrapped from error

    def _record(self, args: tuple, key: Any, given: list[Any]) -> Any:
        """Run fn on stand-in leaves while recording; keep the plan (with the cyclic collector paused)."""
        with pause_gc():
            return self._record_paused(args, key, given)

    def _record_paused(self, args: tuple, key: Any, given: list[Any]) -> Any:
        proxies, leaf_args = stand_ins(args, given)
        self._reads = Reads(self.fn)  # what fn can read now, before it runs
        tape = Tape(self._name)
        with observing(self._reads):
            loss, extras, outputs = results(tape.record(self.fn, *leaf_args))
        stood = list(proxies)
        writes, refused = leaves.writes(tape.leaf_events, tape.nodes, tape.constants)
        tape.leaf_events = []
        # refused: each Value(x) of a number argument x stays the Value fn made (it may have written its .data)
        pinned, loss, outputs, order = pin(
            given, proxies, tape, loss, outputs, topological_order(loss), aliases=not refused
        )
        tape.arguments = proxies
        tape.results = [loss, *outputs]
        self.tape = tape
        for stand_in, x in zip(proxies, given, strict=True):
            if stand_in is not None and type(x) is Value:
                stand_in.grad = x.grad

        def by_backward() -> Any:
            result = finish(*uncompiled._backward(loss, outputs, fill=True), extras)
            give_back(proxies, given)
            return result

        if live_hooks[0] and any(n._hooks for n in order):  # no hook anywhere: no walk
            raise ValueError("compile: the graph has node(s) with gradient hooks, which a replay cannot run")
        if pinned:  # a write to the stand-in of an argument that is also read from outside: to the Value itself
            to = {stood[i]: x for i, x in pinned.items()}
            writes = [(to.get(v, v), g) for v, g in writes]
        if refused:
            self.uncompiled = f"{refused}, which a replay cannot do"
            warnings.warn(
                f"compile: {self._name} runs uncompiled, since {self.uncompiled}", CompileWarning, stacklevel=3
            )
            return by_backward()
        if stale(order) is not None:  # fn wrote a constant's .data after an operation read it
            return by_backward()  # backward() refuses, as it does uncompiled; nothing is kept
        inner = [v for v in order if v._how.rule is not None]  # v._rule, read directly
        made_before = [v for v in inner if v not in tape.nodes]
        if made_before:
            self.uncompiled = (
                f"its graph uses {len(made_before)} node(s) made before the call (the first: {made_before[0].op!r}), "
                "whose numbers a replay would compute again"
            )
            warnings.warn(
                f"compile: {self._name} runs uncompiled, since {self.uncompiled}", CompileWarning, stacklevel=3
            )
            return by_backward()
        stop_leaves = [n for n in order if n in tape.stops]
        # what fn computes and the loss does not use is computed again before each replay: an
        # error it raises (sqrt(-1.0), an overflow) is raised as fn raises it
        unused = tape.unused(order, len(inner), len(stop_leaves))
        guards = Guards(tape, stop_leaves, unused)
        try:
            # a number passed in stands in the graph as a leaf whose gradient no one reads
            unread = frozenset(p for p, x in zip(proxies, given, strict=True) if p is not None and type(x) is not Value)
            plan = Plan.build(loss, outputs, order, unread)
        except Uncompiled as reason:
            self.uncompiled = reason.reason
            return by_backward()
        signature = record.signature(plan, record.kinds(tape, proxies, stop_leaves, guards))
        entry = record._Entry(plan, proxies, pinned, guards, extras, signature, tape, writes)
        if len(self._entries) >= MAX_RECORDINGS:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = entry
        self.plan = plan
        try:
            result = finish(*plan.run(), extras)  # the graph's own numbers: the same operations on the same data
        except Uncompiled:  # plan.run() touched no gradient
            return by_backward()
        give_back(proxies, given)
        return result

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
        kernels: list[str] = []
        seen: set[str] = set()
        for b in self.plan.batches:
            if b.source not in seen:
                seen.add(b.source)
                kernels.append(f"# kernel {len(kernels) + 1}: {b.count} copies\n{b.source}")
        for source in self.plan.straight:
            kernels.append(f"# a run of small groups outside repeated pieces, line by line\n{source}")
        if not kernels:
            return f"# {name}: no repeated pieces, so no kernel; its groups run as maps of each operation\n"
        return "\n\n".join(kernels)

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
