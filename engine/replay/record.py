"""The record stage: fn run once on stand-in leaves, with the tape and the observers on, and what it made of it.

`record` runs fn on a fresh leaf standing for each argument Value (`stand_ins`; a number argument
comes as a followed number, numbers.py), ties the graph to the argument Values fn also reads
from outside (`pin`), and then either keeps a `Recording` (guards.py, plan.py) or says why fn runs
uncompiled; either way this call's result is fn's own numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..core.changes import stale
from ..core.graph import topological_order
from ..core.hooks import live_hooks
from ..core.value import Value
from . import leaves
from .arguments import Arguments, outputs, rebuild, returned
from .errors import Uncompiled
from .guards import Guards
from .numbers import followed
from .plan import Plan
from .reads import Reads, observing
from .recording import Recording, aimed, argument_numbers, write_again
from .tape import Tape
from .uncompiled import backward


class Recorded(NamedTuple):
    """What the record stage made of a call."""

    result: Any  # what the call returns
    tape: Tape  # the recording's account: print(step.tape)
    recording: Recording | None = None  # kept for later calls; None: nothing to keep
    uncompiled: str = ""  # why every later call runs uncompiled ('': it need not)
    warn: bool = False  # whether that reason is one to warn about


def record(fn: Callable[..., Any], args: tuple, arguments: Arguments, name: str, reads: Reads) -> Recorded:
    """fn(*args) recorded (`reads`: the snapshot of what it reads from outside, filled as it runs).

    The caller pauses the cyclic collector (collector.pause_gc) around it and the snapshot."""
    given = arguments.given
    proxies, leaf_args = stand_ins(args, given)
    tape = Tape(name)
    with observing(reads):
        loss, extras, values = outputs(tape.record(fn, *leaf_args))
    writes, refused = leaves.writes(tape.leaf_events, tape.nodes, tape.constants)
    tape.leaf_events = []
    # each stand-in's argument, pinned ones included: a value fn made and the graph does not use may
    # still read a pinned argument's stand-in, and a write into it goes to the Value passed
    argument_of = {p: i for i, p in enumerate(proxies) if p is not None}  # all, before pin()
    # refused: each Value(x) of a number argument x stays the Value fn made (it may have written its .data)
    pinned, loss, values, order = pin(given, proxies, tape, loss, values, topological_order(loss), not refused)
    tape.arguments = proxies
    tape.results = [loss, *values]
    aimed_writes = aimed(writes, argument_of)
    write_again(aimed_writes, given)  # fn's writes into its arguments' stand-ins: into the argument Values

    def by_backward(uncompiled: str = "", warn: bool = False, recording: Recording | None = None) -> Recorded:
        lend(proxies, given)
        result = returned(*backward(loss, values, fill=True), extras)
        give_back(proxies, given)
        return Recorded(result, tape, recording, uncompiled, warn)

    if live_hooks[0] and any(n._hooks for n in order):  # no hook anywhere: no walk
        raise ValueError("compile: the graph has node(s) with gradient hooks, which a replay cannot run")
    if refused:
        return by_backward(f"{refused}, which a replay cannot do", warn=True)
    if stale(order) is not None:  # fn wrote a constant's .data after an operation read it
        return by_backward()  # backward() refuses, as it does uncompiled; nothing is kept
    inner = [v for v in order if v._how.rule is not None]  # v._rule, read directly
    made_before = [v for v in inner if v not in tape.nodes]
    if made_before:
        return by_backward(
            f"its graph uses {len(made_before)} node(s) made before the call (the first: {made_before[0].op!r}), "
            "whose numbers a replay would compute again",
            warn=True,
        )
    try:
        recording = recording_of(
            tape, argument_of, given, pinned, aimed_writes, extras, (loss, values, order), len(inner)
        )
    except Uncompiled as why:
        return by_backward(why.reason)
    try:
        result = returned(*recording.play(given, argument_numbers(given)), extras)
    except Uncompiled:  # the replay touched no gradient
        return by_backward(recording=recording)
    return Recorded(result, tape, recording)


def recording_of(tape: Tape, argument_of: dict[Value, int], given: list[Any], pinned: dict[int, Value],
         writes: list[tuple[Value | int, Any]], extras: Any, graph: tuple[Value, list[Value], list[Value]],
         n_inner: int) -> Recording:  # fmt: skip
    """The recording to keep: the guards and the plan (Uncompiled if the plan has nothing to gain).

    argument_of: each stand-in's argument; graph: the loss, the extra outputs' Values, and the
    loss's graph in topological order."""
    loss, values, order = graph
    stop_leaves = [n for n in order if n in tape.stops]
    # what fn computes and the loss does not use is computed again before each replay: an
    # error it raises (sqrt(-1.0), an overflow) is raised as fn raises it
    unused = tape.unused(order, n_inner, len(stop_leaves))
    guards = Guards(tape, stop_leaves, unused, argument_of)
    # a number passed in stands in the graph as a leaf whose gradient no one reads
    unread = frozenset(p for p, i in argument_of.items() if type(given[i]) is not Value)
    plan = Plan.build(loss, values, order, unread)
    return Recording(plan, given, argument_of, pinned, guards, extras, tape, writes)


def stand_ins(args: tuple, given: list[Any]) -> tuple[list[Value | None], Any]:
    """A fresh leaf standing for each distinct argument, and the arguments with the leaves (for a number,
    the number followed: numbers.py) in their places."""
    by_id: dict[int, Value] = {}
    proxies: list[Value | None] = []
    numbers: list[Any] = []
    for x in given:
        if type(x) is Value:
            proxy = by_id[id(x)] = Value(x._data, x.label)
        else:  # fn gets the number itself, followed (numbers.py)
            proxy = Value(x)
            numbers.append(followed(x, proxy))
        proxies.append(proxy)
    taken = iter(numbers)
    return proxies, rebuild(list(args), lambda x: by_id[id(x)] if type(x) is Value else next(taken))


def lend(proxies: list[Value | None], given: list[Any]) -> None:
    """The stand-ins of argument Values start from their gradients, for a backward() through the recorded graph."""
    for proxy, x in zip(proxies, given, strict=True):
        if proxy is not None and type(x) is Value:
            proxy.grad = x.grad


def give_back(proxies: list[Value | None], given: list[Any]) -> None:
    """The argument Values get the gradients their stand-ins collected; the stand-ins start again from 0.0."""
    for proxy, x in zip(proxies, given, strict=True):
        if proxy is not None:
            if type(x) is Value:
                x.grad = proxy.grad
            proxy.grad = 0.0


def pin(given: list[Any], proxies: list[Value | None], tape: Tape, loss: Value, outputs: list[Value],
        order: list[Value], aliases: bool = True
        ) -> tuple[dict[int, Value], Value, list[Value], list[Value]]:  # fmt: skip
    """Tie the graph to each argument Value that fn also reads from outside (a parameter passed in).

    The graph must use that Value itself in both places, as backward() would: its stand-in is
    replaced by it everywhere (parents, the tape, the results) and the argument is pinned. A leaf
    `Value(x)` of a number argument x is replaced by x's stand-in in the same way, with `aliases`
    (not for a graph that runs uncompiled: fn may have written such a leaf's .data).
    Returns (pinned, loss, outputs, order), the last three as they are after the swap.
    """
    in_graph = set(order) if any(type(x) is Value for x in given) else set()
    pinned = {}
    swap: dict[Any, Value] = dict(tape.aliases) if aliases else {}  # Value(x) of a number argument x: x's stand-in
    for i, x in enumerate(given):
        if type(x) is Value and x in in_graph:
            pinned[i] = x
            swap[proxies[i]] = x
    if swap:
        swapped = swap.keys().isdisjoint
        for n in _everything(order, tape.stops):
            if not swapped(n.parents):
                n.parents = tuple(swap.get(p, p) for p in n.parents)
        tape.swap(swap)
        loss = swap.get(loss, loss)
        outputs = [swap.get(v, v) for v in outputs]
        for i in pinned:
            proxies[i] = None
        order = topological_order(loss)  # walked again: a followed number's node may be an inner one (x * 2.0)
    return pinned, loss, outputs, order


def _everything(order: list[Value], stops: dict[Value, tuple]) -> list[Value]:
    """The graph's nodes and every node a stop-gradient leaf's sources reach."""
    found = list(order)
    seen = set(order)
    stack = [p for n in order if n in stops for p in stops[n][1]]
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            found.append(n)
            stack.extend(n.parents)
            stack.extend(stops[n][1] if n in stops else ())
    return found
