"""The recording's passes: stand-in leaves for the arguments, the tape tied to the Values fn also
reads from outside, and what a recording keeps (`_Entry`) and what a check compares (`signature`).

`Compiled._record` (run.py) runs them in order: `stand_ins`, fn on the tape (`tape.py`), `pin`,
then the guards (`guards.py`) and the plan (`plan.py`), kept as an `_Entry`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from ..core import value as _value
from ..core.graph import topological_order
from ..core.value import Value
from .guards import Guards
from .numbers import followed
from .plan import Plan
from .tape import Tape

_pack = struct.Struct("<d").pack


class _Entry:
    """One recording: the plan for one structure of arguments, and what it depends on."""

    def __init__(self, plan: Plan, proxies: list[Value | None], pinned: dict[int, Value], guards: Guards,
                 extras: Any, signature: tuple, tape: Tape, writes: list[tuple[Value, Any]]) -> None:  # fmt: skip
        self.plan = plan
        self.proxies = proxies  # the leaf standing for each argument (None: the argument Value itself)
        self.pinned = pinned  # argument number -> the Value that must be passed there (fn reads it too)
        self.guards = guards
        self.extras = extras
        self.signature = signature
        self.tape = tape
        arguments = set(proxies)
        self.outside = {leaf for leaf in plan.leaves if leaf not in arguments}
        # the leaves whose gradients a call gives the user: parameters and other Values from outside
        self.watched = [leaf for leaf in plan.leaves if leaf not in arguments and leaf not in tape.nodes]
        self.writes = writes  # (Value, number or None): the .grad writes fn makes, made again before each replay
        self.watched += [v for v in {v: None for v, _ in writes} if v not in self.outside and v not in arguments]

    def fits(self, given: list[Any]) -> bool:
        """True if the arguments stand in the same relation to the graph as when recorded."""
        for i, x in enumerate(given):
            if self.pinned.get(i, x) is not x or (i not in self.pinned and type(x) is Value and x in self.outside):
                return False
        return True

    def run(self, given: list[Any]) -> tuple[float, list[float]]:
        for proxy, x in zip(self.proxies, given, strict=True):
            if proxy is not None:
                t = type(x)
                # into the slot: a stand-in is the replay's own leaf, not a change of data a graph read
                if t is float:
                    proxy._data, proxy.grad = x, 0.0
                elif t is Value:
                    proxy._data, proxy.grad = x._data, x.grad
                else:
                    proxy._data, proxy.grad = _value._number(x, "compile input"), 0.0
        self.guards.run()
        for v, g in self.writes:
            v.grad = g
        result = self.plan.run()
        give_back(self.proxies, given)
        return result


def give_back(proxies: list[Value | None], given: list[Any]) -> None:
    """The argument Values get the gradients their stand-ins collected."""
    for proxy, x in zip(proxies, given, strict=True):
        if proxy is not None and type(x) is Value:
            x.grad = proxy.grad


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
    return proxies, _substitute(list(args), by_id, iter(numbers))


def _substitute(obj: Any, stand_ins: dict[int, Value], numbers: Iterator[Any]) -> Any:
    """The argument structure with each Value replaced by its stand-in leaf, each number by its Number."""
    if isinstance(obj, (list, tuple)):
        return type(obj)([_substitute(item, stand_ins, numbers) for item in obj])
    if type(obj) is Value:
        return stand_ins[id(obj)]
    return next(numbers)


def pin(given: list[Any], proxies: list[Value | None], tape: Tape, loss: Value, outputs: list[Value],
        order: list[Value], aliases: bool = True
        ) -> tuple[dict[int, Value], Value, list[Value], list[Value]]:  # fmt: skip
    """Tie the graph to each argument Value that fn also reads from outside (a parameter passed in).

    The graph must use that Value itself in both places, as backward() would: its stand-in is
    replaced by it everywhere (parents, the tape, the results) and the argument is pinned. A leaf
    `Value(x)` of a number argument x is replaced by x's stand-in in the same way, with `aliases`
    (not for a graph that runs uncompiled: fn may have written such a leaf's .data)
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
        for n in _everything(order, tape.stops):
            if any(p in swap for p in n.parents):
                n.parents = tuple(swap.get(p, p) for p in n.parents)
        tape.swap(swap)
        loss = swap.get(loss, loss)
        outputs = [swap.get(v, v) for v in outputs]
        for i in pinned:
            proxies[i] = None
        order = topological_order(loss)
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


def kinds(tape: Tape, proxies: list[Value | None], stop_leaves: list[Value], guards: Guards) -> dict[Value, Any]:
    """What each special leaf is: a constant, argument i, or a stop-gradient (with what computes it)."""
    found: dict[Value, Any] = {c: "constant" for c in tape.constants}
    found.update((p, i) for i, p in enumerate(proxies) if p is not None)
    for n in stop_leaves:
        found[n] = ("stop", guards.signature)
    return found


def signature(plan: Plan, kinds: dict[Value, Any]) -> tuple:
    """What a check compares: operations and wiring, constants, the Values read, arguments, outputs."""
    leaves = plan.leaves
    return (
        ("operations or their wiring", plan.wiring),
        ("constants", hash(tuple(_pack(n.data) for n in leaves if kinds.get(n) == "constant"))),
        ("Values read from outside", hash(tuple(id(n) for n in leaves if n not in kinds))),
        ("arguments", hash(tuple((i, kinds[n]) for i, n in enumerate(leaves) if type(kinds.get(n)) is int))),
        (
            "detached or no_grad() values",
            hash(tuple((i, kinds[n]) for i, n in enumerate(leaves) if type(kinds.get(n)) is tuple)),
        ),
        ("extra outputs", tuple(plan.output_slots)),
    )
