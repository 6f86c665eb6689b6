"""The least time a compiled training run can take, planning aside: a lower bound against the floor.

`engine.compile` runs call 1 with the graph (the recording), replays every call after it, and on
each verification call (2, 3, 5, 9, 17, 33, 65 in 100 calls) also runs fn uncompiled to compare.
Whatever the replay's code, a run of n calls costs at least

    n floor steps                   every call computes the step's floats; the hand-written floor is
                                    the fastest pure Python for them (the replay's premise)
  + fn's forward with the graph     once: the recording needs the graph fn builds
  + v x fn's forward               each verification call runs the user's code again, which costs
                                    at least what its forward costs on the barest Python number (`Bare`)

with nothing counted for planning (the graph's order, finding pieces, writing and compiling the
replay's code). With chainrule's own uncompiled call (the forward with the graph, and backward(),
which a verification call runs to compare gradients) in place of the barest number's forward, it
is the least this engine's compiled run can take as its Value is today. `forwards` gives the
forwards; `benchmarks.run` times them in the same turns as the floor and the compiled run, and
reports both bounds beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks import workloads
from engine.replay import CHECK_EVERY
from engine.replay.verify import verifies  # the schedule itself (not part of engine's public API)


class Bare:
    """The barest number fn's code can run on: one float, Python-level operators, no graph, no checks."""

    __slots__ = ("data",)

    def __init__(self, data: float) -> None:
        self.data = data

    def __add__(self, other: Any) -> Bare:
        return Bare(self.data + (other.data if type(other) is Bare else other))

    __radd__ = __add__

    def __mul__(self, other: Any) -> Bare:
        return Bare(self.data * (other.data if type(other) is Bare else other))

    __rmul__ = __mul__

    def relu(self) -> Bare:
        return Bare(self.data if self.data > 0.0 else 0.0)


def verification_calls(calls: int, every: int = CHECK_EVERY) -> list[int]:
    """The calls among 1..calls that run fn uncompiled to compare with the replay."""
    return [call for call in range(1, calls + 1) if verifies(call, every)]


def forwards(Value: type, points: list[tuple[float, float]], labels: list[float]) -> list[Callable[[], Any]]:
    """fn's forward three ways: building the graph, building it and running backward() (what a
    verification call runs), and on `Bare`. `benchmarks.run` times each with the collector off, as
    the least each can cost (the recording pauses it too)."""
    init = workloads.initial_weights()
    model = workloads.Model(Value, init)
    bare = workloads.Model(Bare, init)

    def uncompiled() -> Any:
        loss = workloads.loss(Value, model, points, labels)
        loss.backward()
        return loss

    def graph() -> Any:
        return workloads.loss(Value, model, points, labels)

    return [graph, uncompiled, lambda: workloads.loss(Bare, bare, points, labels)]


def lower_bound(floor_run: float, graph: float, forward: float, verifications: int) -> float:
    """Seconds: the floor's run + one forward with the graph + a verification call's run of fn for each."""
    return floor_run + graph + verifications * forward
