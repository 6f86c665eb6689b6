"""The backward pass: several paths, repeated passes, seeds, depth, graph order, no_grad, detach, repr."""

import math
import sys

import pytest
from hypothesis import given
from strategies import examples, expressions_with_inputs, reals

import engine
from engine import Value, no_grad, topological_order

# ---------------------------------------------------------------- several paths


def test_a_plus_a_counts_both_paths():
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0


def test_a_times_a_counts_both_paths():
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0


def test_a_to_the_a_counts_base_and_exponent():
    a = Value(2.0)
    (a**a).backward()
    # d/da a**a = a**a * (log(a) + 1)
    assert a.grad == pytest.approx(4.0 * (math.log(2.0) + 1.0))


@given(x=reals(-3.0, 3.0))
@examples(50)
def test_reused_intermediate_sums_every_path(x):
    a = Value(x)
    b = a * a  # used three times below
    c = b * b + 3 * b - b.tanh()
    c.backward()
    # c = a**4 + 3 a**2 - tanh(a**2);  dc/da = 4 a**3 + 6 a - 2 a (1 - tanh(a**2)**2)
    expected = 4 * x**3 + 6 * x - 2 * x * (1 - math.tanh(x * x) ** 2)
    assert a.grad == pytest.approx(expected, rel=1e-12, abs=1e-12)
    # and the intermediate gets dc/db = 2 b + 3 - (1 - tanh(b)**2)
    assert b.grad == pytest.approx(2 * x * x + 3 - (1 - math.tanh(x * x) ** 2), rel=1e-12, abs=1e-12)


def test_diamond_graph():
    x = Value(0.5)
    left, right = x.sin(), x.exp()
    (left * right).backward()
    assert x.grad == pytest.approx(math.cos(0.5) * math.exp(0.5) + math.sin(0.5) * math.exp(0.5))


def test_an_input_not_on_any_path_keeps_zero_grad():
    a, b = Value(1.0), Value(2.0)
    c = a * 3
    c.backward()
    assert b.grad == 0.0 and a.grad == 3.0


# ---------------------------------------------------------------- repeated passes


def test_backward_twice_doubles_leaf_grads_and_keeps_intermediates():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    d = c.tanh()
    d.backward()
    first = (a.grad, b.grad, c.grad, d.grad)
    d.backward()
    assert a.grad == 2 * first[0] and b.grad == 2 * first[1]
    assert c.grad == first[2] and d.grad == first[3]  # non-leaves show the latest pass only


@given(case=expressions_with_inputs())
@examples(100)
def test_backward_twice_on_random_dags(case):
    expression, point = case
    inputs = [Value(x) for x in point]
    try:
        out, nodes = expression.build(inputs)
    except OverflowError:
        return
    out.backward()
    first = [n.grad for n in nodes]
    # A leaf summing shares that cancel is exact only up to rounding of the shares' size.
    rounding = 1e-12 * max([1.0] + [abs(g) for g in first if math.isfinite(g)])
    out.backward()
    for node, g in zip(nodes, first, strict=True):
        if math.isnan(g):
            assert math.isnan(node.grad)
        elif node.is_leaf():
            assert node.grad == pytest.approx(2 * g, rel=1e-12, abs=rounding)
        else:
            assert node.grad == g


def test_second_root_resets_shared_intermediates_but_leaves_accumulate():
    a, b = Value(2.0), Value(5.0)
    c = a * b
    d = c + 1
    e = c * 2
    d.backward()
    assert c.grad == 1.0 and a.grad == 5.0
    e.backward()
    assert c.grad == 2.0  # reset, then e's pass only
    assert a.grad == 5.0 + 10.0  # leaves accumulate across passes
    assert b.grad == 2.0 + 4.0


def test_zeroing_leaf_grads_by_hand_starts_over():
    a = Value(3.0)
    y = a * a
    y.backward()
    a.grad = 0.0
    y.backward()
    assert a.grad == 6.0


def test_backward_of_a_leaf_seeds_itself():
    a = Value(4.0)
    a.backward()
    assert a.grad == 1.0


# ---------------------------------------------------------------- seeds


@given(seed=reals(-10.0, 10.0), x=reals(-3.0, 3.0))
@examples(50)
def test_seed_scales_every_gradient(seed, x):
    a = Value(x)
    y = (a * a).sin()
    y.backward(grad=seed)
    assert y.grad == seed
    assert a.grad == pytest.approx(seed * math.cos(x * x) * 2 * x, rel=1e-12, abs=1e-12)


def test_seed_positional_and_integer():
    a = Value(2.0)
    (a * 3).backward(2)
    assert a.grad == 6.0 and type(a.grad) is float


# ---------------------------------------------------------------- depth


def test_chain_of_100000_operations_at_the_default_recursion_limit():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # Python's default, whatever the runner set
    try:
        n = 100_000
        x = Value(1.0)
        y = x
        for i in range(n):
            y = y * 1.00001 if i % 2 else y + 0.5  # 50,000 products, 50,000 sums
        y.backward()
        assert x.grad == pytest.approx(1.00001 ** (n // 2), rel=1e-9)
        order = topological_order(y)
        assert len(order) == 2 * n + 1  # x, the n results and the n constants
        assert order[-1] is y
        repr(y)
        del order, y
    finally:
        sys.setrecursionlimit(limit)


def test_deep_chain_of_unary_operations():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        x = Value(0.3)
        y = x
        for _ in range(50_000):
            y = -y
        y.backward()
        assert x.grad == 1.0 and y.data == 0.3
    finally:
        sys.setrecursionlimit(limit)


def test_wide_sum():
    xs = [Value(float(i)) for i in range(10_000)]
    total = xs[0]
    for x in xs[1:]:
        total = total + x * x
    total.backward()
    assert xs[0].grad == 1.0
    assert all(x.grad == 2.0 * x.data for x in xs[1:])


# ---------------------------------------------------------------- topological order


def assert_parents_first(order: list, root: Value) -> None:
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order), "a node appears twice"
    assert order[-1] is root
    for node in order:
        for parent in node.parents:
            assert id(parent) in position, "a parent is missing"
            assert position[id(parent)] < position[id(node)]


def test_topological_order_of_a_small_graph():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    c = a * b
    d = c + a
    order = topological_order(d)
    assert set(map(id, order)) == {id(a), id(b), id(c), id(d)}
    assert_parents_first(order, d)
    assert order[0].is_leaf()


@given(case=expressions_with_inputs(max_steps=20))
@examples(100)
def test_topological_order_of_random_dags(case):
    expression, point = case
    try:
        out, nodes = expression.build([Value(x) for x in point])
    except OverflowError:
        return
    order = topological_order(out)
    assert_parents_first(order, out)
    # every node the expression made is there (plus any constants the operations wrapped)
    assert {id(n) for n in nodes} <= {id(n) for n in order}


def test_topological_order_does_not_touch_grads():
    a = Value(2.0)
    b = a * a
    b.backward()
    topological_order(b)
    assert (a.grad, b.grad) == (4.0, 1.0)


def test_topological_order_is_exported_from_engine():
    assert engine.topological_order is topological_order


def test_a_walk_with_a_limit_stops_a_step_past_it_however_deep_the_graph():
    """A bounded walk from the top of a 5,000-deep chain asks for at most limit + 1 nodes' parents,
    and says it found more than the limit; within the limit it is the plain walk."""
    from engine.core.graph import graph_order

    top = Value(1.0)
    for _ in range(5000):
        top = top * 1.0
    asked = []

    def parents(node):
        asked.append(node)
        return node.parents

    found = graph_order([top], parents, stop=lambda n: n.operation is None, limit=10)
    assert len(found) > 10 and len(asked) <= 11
    inner = [n for n in topological_order(top) if n.operation is not None]
    assert graph_order([top], stop=lambda n: n.operation is None, limit=5000) == inner
    assert len(graph_order([top], stop=lambda n: n.operation is None, limit=4999)) == 5000


# ---------------------------------------------------------------- no_grad and detach


def test_no_grad_records_nothing():
    a = Value(2.0)
    with no_grad():
        b = a * 3 + a.exp()
    assert b.data == pytest.approx(6.0 + math.exp(2.0))
    assert b.parents == () and b.op == "" and b.is_leaf()
    c = a * 3  # recording is back after the block
    assert c.parents[0] is a


def test_no_grad_as_decorator():
    @no_grad()
    def evaluate(v):
        return (v * v).tanh()

    a = Value(0.5)
    out = evaluate(a)
    assert out.is_leaf() and out.data == pytest.approx(math.tanh(0.25))
    assert (a * a).parents == (a, a)
    assert evaluate.__name__ == "evaluate"


def test_no_grad_restores_recording_after_an_error():
    a = Value(-1.0)
    with pytest.raises(ValueError), no_grad():
        a.log()
    assert (a + 1).parents[0] is a


def test_no_grad_nests():
    a = Value(1.0)
    with no_grad():
        with no_grad():
            pass
        assert (a + 1).is_leaf()
    assert not (a + 1).is_leaf()


def test_a_recursive_no_grad_function_restores_recording_on_the_way_out():
    # The decorator enters one and the same object at every level of the recursion.
    @no_grad()
    def depth(n):
        assert not engine.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3
    assert engine.is_grad_enabled()
    a = Value(1.0)
    assert (a + 1).parents[0] is a


def test_one_no_grad_object_entered_twice_restores_recording():
    a = Value(1.0)
    switch = no_grad()
    with switch:
        with switch:
            assert (a + 1).is_leaf()
        assert (a + 1).is_leaf()
    assert not (a + 1).is_leaf()


def test_backward_through_a_no_grad_result_stops_there():
    a = Value(2.0)
    with no_grad():
        frozen = a * 3
    (frozen * a).backward()
    assert a.grad == 6.0  # only the recorded path: d/da (frozen * a) = frozen
    assert frozen.grad == 2.0


def test_detach_gives_a_new_leaf_with_the_same_data():
    a = Value(2.0)
    b = (a * 3).tanh()
    b.label = "b"
    d = b.detach()
    assert d is not b
    assert d.data == b.data and d.is_leaf() and d.parents == () and d.op == ""
    (d * a).backward()
    assert a.grad == pytest.approx(d.data)  # nothing flowed through the detached copy
    assert b.grad == 0.0


# ---------------------------------------------------------------- repr


def test_repr_shows_data_grad_op_and_label():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    c = a * b
    c.label = "c"
    assert repr(c) == "Value(data=6.0, grad=0.0, op='*', label='c')"
    c.backward()
    assert repr(c) == "Value(data=6.0, grad=1.0, op='*', label='c')"
    assert repr(a) == "Value(data=2.0, grad=3.0, label='a')"


def test_repr_of_a_plain_leaf():
    assert repr(Value(1)) == "Value(data=1.0, grad=0.0)"
