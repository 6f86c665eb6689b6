"""A recording: the plan for one structure of arguments, what a replay of it depends on, and the replay stage.

`Recording.fits` says whether a call's arguments stand in the same relation to the graph as when
recorded; `Recording.replay` checks the guards with the call's numbers, makes fn's `.grad` writes
again and replays the plan with the argument Values in their stand-ins' places (`inputs`): the
arguments go in as values, and the gradients come out into the argument Values themselves.
"""

from __future__ import annotations

from typing import Any

from ..core.value import Value, to_float
from .guards import Guards
from .plan import Plan
from .tape import Tape


class Recording:
    """One recording of fn, for one structure of arguments; built whole, never changed."""

    __slots__ = ("plan", "guards", "extras", "tape", "writes", "pinned", "outside", "watched", "inputs")

    def __init__(self, plan: Plan, proxies: list[Value | None], pinned: dict[int, Value], guards: Guards,
                 extras: Any, tape: Tape, writes: list[tuple[Value | int, Any]]) -> None:  # fmt: skip
        """proxies: the leaf standing for each argument in `given` (None: the argument Value itself, pinned)."""
        self.plan = plan
        self.guards = guards
        self.extras = extras  # fn's extra outputs as returned: their nesting
        self.tape = tape
        # (Value, or the number of an argument Value in `given`; number or None): the .grad writes fn
        # makes, made again before each replay (`write_again`)
        self.writes = writes
        self.pinned = pinned  # argument number -> the Value that must be passed there (fn reads it too)
        stood = set(proxies)
        self.outside = {leaf for leaf in plan.leaves if leaf not in stood}
        # the leaves whose gradients a call gives the user: parameters and other Values from outside
        watched = [leaf for leaf in plan.leaves if leaf not in stood and leaf not in tape.nodes]
        written = {v: None for v, _ in writes if isinstance(v, Value)}  # an argument's: given to the caller
        watched += [v for v in written if v not in self.outside and v not in stood]
        self.watched = watched
        at = {leaf: i for i, leaf in enumerate(plan.leaves)}
        # (the plan's leaf, the argument): where each argument's number goes in a replay
        self.inputs = [(at[p], i) for i, p in enumerate(proxies) if p is not None and p in at]

    def fits(self, given: list[Any]) -> bool:
        """True if the arguments stand in the same relation to the graph as when recorded."""
        for i, x in enumerate(given):
            if self.pinned.get(i, x) is not x or (i not in self.pinned and type(x) is Value and x in self.outside):
                return False
        return True

    def replay(self, given: list[Any]) -> tuple[float, list[float]]:
        """The guards checked on the arguments' numbers, fn's `.grad` writes made again, then the plan replayed."""
        found = argument_numbers(given)
        self.guards.run(found)
        write_again(self.writes, given)
        return self.play(given, found)

    def play(self, given: list[Any], numbers: list[float]) -> tuple[float, list[float]]:
        """The plan replayed on the arguments' numbers: the loss and the extra outputs; the gradients
        added into the argument Values and the other leaves."""
        leaves = list(self.plan.leaves)
        data = [leaf._data for leaf in leaves]
        for leaf, i in self.inputs:
            data[leaf] = numbers[i]
            x = given[i]
            if type(x) is Value:
                leaves[leaf] = x
        return self.plan.run(leaves, data)


def argument_numbers(given: list[Any]) -> list[float]:
    """The number of each argument: a Value's, or the number itself as a float."""
    return [x if type(x) is float else x._data if type(x) is Value else to_float(x, "compile input") for x in given]


def aimed(writes: list[tuple[Value, Any]], proxies: list[Value | None]) -> list[tuple[Value | int, Any]]:
    """fn's `.grad` writes, each to a Value, or to argument number i where fn wrote into its stand-in."""
    argument = {p: i for i, p in enumerate(proxies) if p is not None}
    return [(argument.get(v, v), g) for v, g in writes]


def write_again(writes: list[tuple[Value | int, Any]], given: list[Any]) -> None:
    """Make fn's `.grad` writes (`aimed`) again, a write to an argument into the Value passed this call."""
    for v, g in writes:
        (given[v] if isinstance(v, int) else v).grad = g
