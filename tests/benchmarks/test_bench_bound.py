"""benchmarks/bound.py: the least a compiled run can take is measured on the same workload and schedule."""

from __future__ import annotations

import struct
import sys

import engine
from benchmarks import bound, workloads


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_the_barest_number_computes_the_workloads_loss_to_the_bit():
    points, labels = workloads.make_moons(30)
    init = workloads.initial_weights()
    ours = workloads.loss(engine.Value, workloads.Model(engine.Value, init), points, labels)
    bare = workloads.loss(bound.Bare, workloads.Model(bound.Bare, init), points, labels)
    assert type(bare) is bound.Bare
    assert bits(bare.data) == bits(ours.data)


def test_the_verification_calls_are_the_calls_on_which_a_compiled_function_runs_fn_again():
    w = engine.Value(0.5)

    def fn():
        return w * 3.0 + 1.0

    runs = []  # counted from outside fn, which must not read anything that changes

    def profile(frame, event, arg):
        if event == "call" and frame.f_code is fn.__code__:
            runs.append(1)

    step = engine.compile(fn)
    sys.setprofile(profile)
    try:
        for _ in range(70):
            step()
    finally:
        sys.setprofile(None)
    calls = bound.verification_calls(70)
    assert calls == [2, 3, 5, 9, 17, 33, 65]
    assert len(runs) == 1 + len(calls)  # the recording, then one uncompiled call per verification call


def test_the_forwards_compute_the_same_loss_and_the_bound():
    points, labels = workloads.make_moons(10)
    graph, uncompiled, bare = (f() for f in bound.forwards(engine.Value, points, labels))
    # with the graph; with the graph and backward() (a verification call's run); bare
    assert graph.parents and uncompiled.parents and uncompiled.grad == 1.0 and type(bare) is bound.Bare
    assert bits(graph.data) == bits(uncompiled.data) == bits(bare.data)
    assert bound.lower_bound(1.0, 0.25, 0.5, 4) == 1.0 + 0.25 + 4 * 0.5
