"""backward_steps(): one step per non-leaf node in backward()'s order, applied as taken, same result."""

import math

import pytest
from hypothesis import given
from strategies import OPERATIONS, build_or_reject, examples, expressions_with_inputs

from engine import Value, topological_order
from engine.see.naming import node_names


def same(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


@examples(60)
@given(expressions_with_inputs(max_inputs=3, max_steps=12))
def test_steps_follow_backward_order_and_end_with_its_gradients(case):
    expression, point = case
    stepped_out, stepped = build_or_reject(expression, [Value(x) for x in point])
    reference_out, reference = build_or_reject(expression, [Value(x) for x in point])
    reference_out.backward()

    order = topological_order(stepped_out)
    expected_nodes = [n for n in reversed(order) if not n.is_leaf()]
    steps = stepped_out.backward_steps()
    assert len(steps) == len(expected_nodes)
    taken = list(steps)
    assert [s.node for s in taken] == expected_nodes
    assert [s.index for s in taken] == list(range(1, len(expected_nodes) + 1))
    for a, b in zip(stepped, reference, strict=True):
        assert same(a.grad, b.grad)
    assert same(stepped_out.grad, reference_out.grad)


def test_each_step_is_applied_as_it_is_taken():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    d = c + a
    d.label = "d"
    steps = d.backward_steps()
    first = next(steps)
    assert first.node is d and first.grad == 1.0
    assert (c.grad, a.grad, b.grad) == (1.0, 1.0, 0.0)  # c's step is not taken yet
    second = next(steps)
    assert second.node is c
    assert (a.grad, b.grad) == (1.0 + b.data, a.data)  # d(d)/da = b + 1, d(d)/db = a
    with pytest.raises(StopIteration):
        next(steps)


def test_chain_rule_line_reads_with_numbers():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    (step,) = list(c.backward_steps())
    assert step.lines() == [
        "a.grad += b.data * c.grad = -3.0 * 1.0 = -3.0",
        "b.grad += a.data * c.grad = 2.0 * 1.0 = 2.0",
    ]
    assert str(step).startswith("step 1/1: c = a * b, c.grad = 1.0")
    assert repr(step) == str(step)


def test_tanh_step_carries_the_local_derivative_and_amount():
    x = Value(0.5, label="x")
    y = x.tanh()
    y.label = "y"
    z = 3.0 * y  # so y's incoming gradient is 3
    z.label = "z"
    steps = list(z.backward_steps())
    tanh_step = steps[1]
    (share,) = tanh_step.shares
    local = 1.0 - math.tanh(0.5) ** 2
    assert tanh_step.grad == 3.0
    assert share.formula == "(1 - y.data**2)"
    assert share.local == pytest.approx(local, rel=1e-15)
    assert share.amount == pytest.approx(3.0 * local, rel=1e-15)
    assert f"x.grad += (1 - y.data**2) * y.grad = {local:.6g} * 3.0 = {3 * local:.6g}" == tanh_step.lines()[0]


@pytest.mark.parametrize("operation", OPERATIONS, ids=repr)
def test_every_operation_has_a_formula_and_a_right_local_derivative(operation):
    """The local derivative of each step matches a central finite difference of the operation."""
    point = (0.7, 1.3) if operation.arity == 2 else (0.7,)
    inputs = [Value(x, label=f"x{i}") for i, x in enumerate(point)]
    out = operation.apply(*inputs)
    steps = list(out.backward_steps())
    step = steps[0]
    assert step.node is out
    names = node_names(out)
    for share in step.shares:
        assert not share.formula.startswith("d"), f"no formula for {out.op!r}: {share.formula}"
        if share.input in inputs:
            i = inputs.index(share.input)
            h = 1e-6

            def f(x, i=i):
                shifted = list(point)
                shifted[i] = x
                return operation.apply(*[Value(v) for v in shifted]).data

            numeric = (f(point[i] + h) - f(point[i] - h)) / (2 * h)
            total = sum(s.local for s in step.shares if s.input is share.input)
            assert total == pytest.approx(numeric, rel=1e-5, abs=1e-7), names[share.input]


def test_formula_table_covers_every_operation_of_value():
    outs = [operation.apply(*[Value(0.7)] * operation.arity) for operation in OPERATIONS]
    ops = {out.op for out in outs}
    covered = {out.op for out in outs if out.operation.formula() is not None}
    assert covered == ops


def test_leaf_gradients_accumulate_over_two_passes_like_backward():
    def graph():
        a = Value(1.5, label="a")
        return a, (a * a).tanh() + a

    a1, out1 = graph()
    for _ in range(2):
        out1.backward()
    a2, out2 = graph()
    for _ in range(2):
        list(out2.backward_steps())
    assert a2.grad == a1.grad
    assert a2.grad == pytest.approx(2 * (2 * 1.5 * (1 - math.tanh(1.5**2) ** 2) + 1), rel=1e-12)


def test_seed_and_hooks_match_backward():
    def graph():
        a, b = Value(0.3, label="a"), Value(-1.2, label="b")
        c = a * b + a.exp()
        c.register_hook(lambda g: 2 * g)
        a.register_hook(lambda g: g + 1.0)
        return a, b, c.sin()

    a1, b1, out1 = graph()
    out1.backward(0.5)
    a2, b2, out2 = graph()
    list(out2.backward_steps(0.5))
    assert (a2.grad, b2.grad) == (a1.grad, b1.grad)


def test_a_leaf_has_no_steps_but_is_seeded():
    x = Value(4.0, label="x")
    steps = x.backward_steps()
    assert len(steps) == 0
    assert list(steps) == []
    assert x.grad == 1.0


def test_bad_seed_is_refused():
    x = Value(1.0)
    with pytest.raises(TypeError, match="seed"):
        x.backward_steps(Value(1.0))
    with pytest.raises(TypeError, match="backward_steps grad"):
        x.backward_steps("1")


def test_generated_names_are_stable_and_avoid_labels():
    def graph():
        a = Value(1.0, label="v1")
        return (a * 2 + 3).tanh()

    first, second = node_names(graph()), node_names(graph())
    assert list(first.values()) == list(second.values())
    # the label 'v1' is kept; the generated names skip it: 2 -> v2, a*2 -> v3, 3 -> v4, sum -> v5, tanh -> v6
    assert list(first.values()) == ["v1", "v2", "v3", "v4", "v5", "v6"]
