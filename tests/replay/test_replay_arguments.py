"""The arguments of a compiled call go in as values: read once (engine/replay/arguments.py), their
numbers handed to the replay, their gradients written into the argument Values themselves.

Each test compares a compiled function with the same function run uncompiled, to the bit, on
Values passed as arguments: what fn writes into their `.grad`, aliasing, a Value passed in one
call and a number in the next, and the walker's own answers.
"""

import struct

import pytest

import engine
from engine import Value
from engine.replay import arguments


def bits(xs):
    return [struct.pack("<d", x) if isinstance(x, float) else repr(x) for x in xs]


def run_both(fn, make_args, calls=4, start=5.0):
    """The compiled fn (no verification calls: they would mend a wrong replay) and fn uncompiled,
    each on its own arguments from make_args(k, side), whose .grad starts at `start`; their results."""
    step = engine.compile(fn, check_every=0)
    got, want = [], []
    for k in range(calls):
        mine, theirs = make_args(k, "compiled"), make_args(k, "uncompiled")
        for a in (*mine, *theirs):
            if isinstance(a, Value):
                a.grad = start
        loss = step(*mine)
        got.append(bits([loss, *[a.grad for a in mine if isinstance(a, Value)]]))
        out = fn(*theirs)
        out.backward()
        want.append(bits([out.data, *[a.grad for a in theirs if isinstance(a, Value)]]))
    return got, want


def test_a_grad_write_to_a_value_argument_inside_fn_is_made_again_on_that_argument():
    w = Value(0.5)

    def fn(x, y):
        x.grad = 0.0  # each call starts x's gradient from zero (y's accumulates)
        return (x * w + y).tanh() * x

    got, want = run_both(fn, lambda k, _: [Value(0.1 * k + 0.2), Value(-0.3 * k)])
    assert got == want


def test_the_same_value_twice_and_two_values_record_apart_and_replay_exactly():
    w = Value(1.5)

    def fn(a, b):
        return (a * w + b * b).tanh() + a * b

    shared = {"compiled": Value(0.7), "uncompiled": Value(0.7)}  # one Value passed twice, on each side
    got, want = run_both(fn, lambda k, side: [shared[side]] * 2 if k % 2 else [Value(0.7), Value(0.2)])
    assert got == want


def test_numbers_and_values_in_nested_lists_give_the_gradients_of_backward():
    w = [Value(0.3), Value(-0.8)]

    def fn(rows, scale):
        return sum(((r[0] * w[0] + r[1] * w[1]).tanh() * scale for r in rows), Value(0.0))

    def make(k):
        return [[[0.1 * k, 1.0], [Value(0.5), -0.25 * k]], Value(1.0 + k)]

    step = engine.compile(fn, check_every=0)
    uncompiled_w = [Value(0.3), Value(-0.8)]
    for k in range(4):
        for p in w:
            p.grad = 0.0
        rows, scale = make(k)
        loss = step(rows, scale)
        got = bits([loss, scale.grad, rows[1][0].grad, *[p.grad for p in w]])
        for p in w:
            p.grad = 0.0
        rows, scale = make(k)
        w, uncompiled_w = uncompiled_w, w
        for p in w:
            p.grad = 0.0
        out = fn(rows, scale)
        out.backward()
        want = bits([out.data, scale.grad, rows[1][0].grad, *[p.grad for p in w]])
        w, uncompiled_w = uncompiled_w, w
        assert got == want


def test_the_walker_reads_structure_values_and_aliasing_once():
    a, b = Value(1.0), Value(2.0)
    found = arguments.read(([a, 1.5], (b, a), 3))
    assert found.given == [a, 1.5, b, 3]
    assert found.key == (0, -1, 2, 0, -1)
    assert found.shape == (True, (True, "x", "x"), (False, "x", "x"), "x")
    assert arguments.read(([b, 1.5], (a, b), 3)).key == found.key  # the same aliasing, other Values
    assert arguments.read(([a, 1.5], (a, a), 3)).key != found.key
    with pytest.raises(TypeError, match="arguments must be Values, numbers or lists of them, got str"):
        arguments.read((["no"],))
    with pytest.raises(TypeError, match="got bool"):
        arguments.read((True,))
    nested = [[a, 2], (3.0, [b])]
    assert arguments.rebuild(nested, lambda x: x) == nested and arguments.rebuild(nested, lambda x: x) is not nested
    assert list(arguments.items(nested)) == [a, 2, 3.0, b]


def test_the_order_after_swapping_stand_ins_is_the_engines_own(monkeypatch):
    """pin() swaps leaves (Value(x) of a number argument, a parameter passed in) and keeps the order
    without walking again: it must be the order topological_order() walks, node for node."""
    import nn
    from engine.core.graph import topological_order
    from engine.replay import record

    checked = []
    pin = record.pin

    def checking(*args, **kwargs):
        pinned, loss, outputs, order = pin(*args, **kwargs)
        assert order == topological_order(loss)
        checked.append(len(order))
        return pinned, loss, outputs, order

    monkeypatch.setattr(record, "pin", checking)
    model = nn.MLP(2, [4, 1], seed=3)
    params = model.parameters()
    w = Value(0.4)

    def batch(xb, yb):  # numbers passed in: each Value(x) is swapped for x's stand-in
        return sum(((model(x) - y) ** 2 for x, y in zip(xb, yb, strict=True)), Value(0.0))

    def chain(p, *xs):  # a parameter passed in and read from outside: pinned
        h = Value(0.0)
        for x in xs:
            h = (h * w + x * p + Value(x * 2.0) + params[0]).tanh()  # Value(x * 2.0): an inner node
        return h * h + p

    engine.compile(batch)([[0.5, -1.0], [0.25, 2]], [1.0, -1.0])
    engine.compile(chain)(params[0], *[0.1 * k for k in range(30)])
    assert len(checked) == 2 and min(checked) > 30


def test_a_value_fn_makes_and_does_not_use_follows_a_parameter_passed_in():
    """p is passed in and read from outside (pinned); fn also computes exp(100 * p) to look at. After
    p.data changes, a replay computes that value again from p's number now, and raises where fn does."""
    p, w = Value(1.0), Value(2.0)

    def fn(q):
        _shown = (q * 100.0).exp()  # made, not used by the loss: computed again before each replay
        return (q * w + p).tanh()

    step = engine.compile(fn, check_every=0)
    for _ in range(3):
        step(p)
    p.data = 9.0  # exp(900.0) overflows
    with pytest.raises(OverflowError, match="exp"):
        fn(p)
    with pytest.raises(OverflowError, match="exp"):
        step(p)
