"""The typed plan: `Plan.run` takes the leaves' numbers and the Values to add gradients to as arguments."""

import math
import struct

import pytest

import engine
from engine import Value
from engine.replay.errors import Uncompiled
from engine.replay.steps import Batch, ForwardGroup, ForwardNode, LeafEdge, StraightRun


def bits(xs):
    return [struct.pack("<d", x) for x in xs]


def neuron_on(xs: list[Value], w: list[Value]) -> Value:
    total = Value(0.0)
    for x in xs:
        total = total + ((w[0] * x + w[1]).tanh() * w[2] + x).sigmoid() * (w[2] * x - w[0]).tanh()
    return total + w[0] * w[1]


def test_run_takes_the_numbers_and_the_values_to_add_to_as_arguments():
    w = [Value(0.5), Value(-0.25), Value(0.75)]
    step = engine.compile(lambda: neuron_on(xs, w), check_every=0)
    xs = [Value(0.1 * i - 0.4) for i in range(12)]
    step()
    plan = step.plan
    assert plan.n_kernels == 1 and {type(s) for s in plan.forward_steps} <= {ForwardGroup, ForwardNode, StraightRun}
    assert all(type(b) is Batch for b in plan.batches) and all(type(e) is LeafEdge for e in plan.leaf_edges)
    # other numbers, and other Values to write to: the plan's own leaves are left as they are
    others = [Value(0.0) for _ in plan.leaves]
    for v in others:
        v.grad = 0.5
    ours = {id(v) for v in w + xs}  # the leaves but the constants (the sum's start)
    numbers = [1.5 * leaf.data - 0.125 if id(leaf) in ours else leaf.data for leaf in plan.leaves]
    kept = [(leaf._data, leaf.grad) for leaf in plan.leaves]
    loss, outputs = plan.run(others, numbers)
    assert [(leaf._data, leaf.grad) for leaf in plan.leaves] == kept and outputs == []
    # what backward() gives on those numbers, from those gradients
    for leaf, x in zip(plan.leaves, numbers, strict=True):
        leaf.data, leaf.grad = x, 0.5
    want = neuron_on(xs, w)
    want.backward()
    assert bits([loss]) == bits([want.data])
    mine = [i for i, leaf in enumerate(plan.leaves) if id(leaf) in ours]
    assert len(mine) == len(w) + len(xs)
    assert bits([others[i].grad for i in mine]) == bits([plan.leaves[i].grad for i in mine])


def test_run_refuses_numbers_it_cannot_replay_before_touching_a_gradient():
    w = [Value(0.5), Value(-0.25), Value(0.75)]
    xs = [Value(0.1 * i - 0.4) for i in range(12)]
    step = engine.compile(lambda: neuron_on(xs, w), check_every=0)
    step()
    plan = step.plan
    others = [Value(0.0) for _ in plan.leaves]
    numbers = [leaf.data for leaf in plan.leaves]
    with pytest.raises(ValueError, match="numbers"):
        plan.run(others, numbers[:-1])
    numbers[-1] = math.nan
    with pytest.raises(Uncompiled, match="NaN"):
        plan.run(others, numbers)
    assert [v.grad for v in others] == [0.0] * len(others)
    others[0].grad = -0.0
    with pytest.raises(Uncompiled, match="-0.0"):
        plan.run(others, [leaf.data for leaf in plan.leaves])


def test_run_refuses_a_leaf_given_twice_and_numbers_that_are_not_numbers():
    w = [Value(0.5), Value(-0.25), Value(0.75)]
    xs = [Value(float(i % 3 - 1)) for i in range(12)]
    step = engine.compile(lambda: neuron_on(xs, w), check_every=0)
    step()
    plan = step.plan
    others = [Value(0.0) for _ in plan.leaves]
    numbers = [leaf.data for leaf in plan.leaves]
    twice = [*others[:-1], others[0]]
    with pytest.raises(ValueError, match="twice"):
        plan.run(twice, numbers)
    with pytest.raises(TypeError, match="floats"):
        plan.run(others, [*numbers[:-1], "1.0"])
    assert [v.grad for v in others] == [0.0] * len(others)
    # whole numbers as ints: the same replay as their floats
    loss, _ = plan.run(others, numbers)
    as_ints = [int(x) if x == int(x) else x for x in numbers]
    assert any(type(x) is int for x in as_ints)
    again = [Value(0.0) for _ in plan.leaves]
    assert bits([plan.run(again, as_ints)[0]]) == bits([loss])
    assert bits([v.grad for v in again]) == bits([v.grad for v in others])
