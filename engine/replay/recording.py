"""A recording: the plan for one structure of arguments, what a replay of it depends on, and the replay stage.

`Recording.fits` says whether a call's arguments stand in the same relation to the graph as when
recorded; `Recording.replay` checks the guards with the call's numbers, makes fn's `.grad` writes
again and replays the plan with the argument Values in their stand-ins' places (`inputs`): the
arguments go in as values, and the gradients come out into the argument Values themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from ..core.value import Value, to_float
from .guards import Guards
from .plan import Plan
from .steps import gather
from .tape import Tape

_data = attrgetter("_data")
_FLOATS = {float}


class Recording:
    """One recording of fn, for one structure of arguments; built whole, never changed."""

    __slots__ = ("plan", "guards", "extras", "tape", "writes", "pinned", "outside", "watched", "values_at",
                 "fixed_leaves", "gather_data", "gather_leaves")  # fmt: skip

    def __init__(self, plan: Plan, given: list[Any], argument_of: dict[Value, int], pinned: dict[int, Value],
                 guards: Guards, extras: Any, tape: Tape, writes: list[tuple[Value | int, Any]]) -> None:  # fmt: skip
        """given: the recorded call's arguments (`Arguments.given`); argument_of: the leaf standing for
        each argument -> the argument's number in `given`."""
        self.plan = plan
        self.guards = guards
        self.extras = extras  # fn's extra outputs as returned: their nesting
        self.tape = tape
        # (Value, or the number of an argument Value in `given`; number or None): the .grad writes fn
        # makes, made again before each replay (`write_again`)
        self.writes = writes
        self.pinned = pinned  # argument number -> the Value that must be passed there (fn reads it too)
        stood = argument_of.keys()
        self.outside = {leaf for leaf in plan.leaves if leaf not in stood}
        # the leaves whose gradients a call gives the user: parameters and other Values from outside
        watched = [leaf for leaf in plan.leaves if leaf not in stood and leaf not in tape.nodes]
        written = {v: None for v, _ in writes if isinstance(v, Value)}  # an argument's: given to the caller
        watched += [v for v in written if v not in self.outside and v not in stood]
        self.watched = watched
        # the places of the argument Values in `given`: the same in every call this recording replays
        # (Arguments.key tells Values from numbers)
        self.values_at = tuple(i for i, x in enumerate(given) if type(x) is Value)
        self.fixed_leaves, self.gather_data, self.gather_leaves = _inputs(plan.leaves, argument_of, self.values_at)

    def fits(self, given: list[Any]) -> bool:
        """True if the arguments stand in the same relation to the graph as when recorded."""
        pinned, outside = self.pinned, self.outside
        for i in self.values_at:
            x = given[i]
            if pinned.get(i, x) is not x or (i not in pinned and x in outside):
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
        data = list(self.gather_data([*map(_data, self.fixed_leaves), *numbers]))
        if self.gather_leaves is None:  # no argument Value among the leaves: the plan's own
            return self.plan.run(None, data)
        return self.plan.run(list(self.gather_leaves([*self.plan.leaves, *given])), data)


def _inputs(leaves: Sequence[Value], argument_of: dict[Value, int], values_at: tuple[int, ...]) -> tuple:
    """Where a replay takes each leaf's number and Value from: (the leaves that are no argument's
    stand-in, a gather of the numbers from [their numbers, *the arguments' numbers], and a gather
    of the Values from [*the plan's leaves, *the arguments], or None when no argument is a Value)."""
    n = len(leaves)
    taken = {k: argument_of[leaf] for k, leaf in enumerate(leaves) if leaf in argument_of}  # leaf -> argument
    fixed = [k for k in range(n) if k not in taken]
    place = {k: j for j, k in enumerate(fixed)}
    numbers = gather([place[k] if k in place else len(fixed) + taken[k] for k in range(n)])
    values = set(values_at)
    swapped = [n + taken[k] if taken.get(k, -1) in values else k for k in range(n)]
    return tuple(leaves[k] for k in fixed), numbers, gather(swapped) if swapped != list(range(n)) else None


def argument_numbers(given: list[Any]) -> list[float]:
    """The number of each argument: a Value's, or the number itself as a float."""
    if set(map(type, given)) <= _FLOATS:  # a mini-batch's numbers: read as they are
        return given
    return [x if type(x) is float else x._data if type(x) is Value else to_float(x, "compile input") for x in given]


def aimed(writes: list[tuple[Value, Any]], argument_of: dict[Value, int]) -> list[tuple[Value | int, Any]]:
    """fn's `.grad` writes, each to a Value, or to argument number i where fn wrote into its stand-in."""
    return [(argument_of.get(v, v), g) for v, g in writes]


def write_again(writes: list[tuple[Value | int, Any]], given: list[Any]) -> None:
    """Make fn's `.grad` writes (`aimed`) again, a write to an argument into the Value passed this call."""
    for v, g in writes:
        (given[v] if isinstance(v, int) else v).grad = g
