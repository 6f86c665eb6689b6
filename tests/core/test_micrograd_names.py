"""micrograd's names on chainrule's Value: `_prev`, `_op` and `_backward()` (= `apply_chain_rule()`).

Each pattern is one a reader of micrograd's lecture or notebooks types: a hand-written graph walk over
`_prev`/`_op`, backpropagation one node at a time, `sum()` over Values.
"""

import math

import pytest
from hypothesis import given, settings
from strategies import build_or_reject, expressions_with_inputs

import engine
from engine import Value, topological_order


def lecture_neuron():
    """The lecture's neuron: o = tanh(x1*w1 + x2*w2 + b), each node labelled as there."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return {v.label: v for v in (x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o)}


def test_prev_is_the_set_of_inputs_and_op_the_operations_name():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    assert c._prev == {a, b} and isinstance(c._prev, set)
    assert c._op == "*" == c.op
    assert a._prev == set() and a._op == ""
    assert (a + a)._prev == {a}  # one input used twice: a set holds it once
    assert (a**2)._op == "**2" and a.tanh()._op == "tanh" and a.exp()._op == "exp"
    with engine.no_grad():
        assert (a * b)._prev == set() and (a * b)._op == ""


def test_micrograd_names_cost_no_memory():
    assert "_prev" not in Value.__slots__ and "_op" not in Value.__slots__
    assert not hasattr(Value(1.0), "__dict__")  # still only the slots: no bytes added per node
    with pytest.raises(AttributeError):
        Value(1.0)._prev = set()  # read-only: the graph is built by operations, not by hand


def test_hand_written_topological_sort_and_trace_over_prev():
    """A depth-first build_topo and a trace of nodes and edges, written the way the lecture does."""
    o = lecture_neuron()["o"]
    topo, visited = [], set()

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build_topo(child)
            topo.append(v)

    build_topo(o)
    assert set(topo) == set(topological_order(o)) and len(topo) == 10
    assert all(topo.index(p) < topo.index(v) for v in topo for p in v._prev)

    nodes, edges = set(), set()

    def trace(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                trace(child)

    trace(o)
    assert len(nodes) == 10 and len(edges) == 9
    ops = sorted(v._op for v in nodes if v._op)
    assert ops == ["*", "*", "+", "+", "tanh"]


def test_hand_written_draw_dot_over_prev_and_op():
    graphviz = pytest.importorskip("graphviz")
    o = lecture_neuron()["o"]
    o.backward()
    dot = graphviz.Digraph(format="svg", graph_attr={"rankdir": "LR"})
    nodes, edges = set(), set()
    stack = [o]
    while stack:
        v = stack.pop()
        if v in nodes:
            continue
        nodes.add(v)
        for child in v._prev:
            edges.add((child, v))
            stack.append(child)
    for n in nodes:
        uid = str(id(n))
        dot.node(name=uid, label=f"{n.label} | data {n.data:.4f} | grad {n.grad:.4f}", shape="record")
        if n._op:
            dot.node(name=uid + n._op, label=n._op)
            dot.edge(uid + n._op, uid)
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    text = dot.source
    assert text.count("shape=record") == 10
    assert "o | data 0.7071 | grad 1.0000" in text and "x1 | data 2.0000 | grad -1.5000" in text


def test_manual_backpropagation_one_node_at_a_time_gives_the_lectures_numbers():
    v = lecture_neuron()
    v["o"].grad = 1.0
    v["o"]._backward()
    assert v["n"].grad == pytest.approx(0.5, abs=1e-15)
    v["n"]._backward()
    assert v["b"].grad == v["x1*w1 + x2*w2"].grad == v["n"].grad
    v["x1*w1 + x2*w2"]._backward()
    v["x2*w2"]._backward()
    v["x1*w1"]._backward()
    for leaf in ("x1", "x2", "w1", "w2", "b"):
        v[leaf]._backward()  # a leaf has no step: nothing changes
    grads = {k: v[k].grad for k in ("x1", "w1", "x2", "w2", "n")}
    assert grads == pytest.approx({"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "n": 0.5}, abs=1e-15)
    # exactly what backward() gives
    w = lecture_neuron()
    w["o"].backward()
    assert [w[k].grad for k in v] == [v[k].grad for k in v]


def test_manual_pass_in_reverse_topological_order_equals_backward():
    v = lecture_neuron()
    v["o"].grad = 1.0
    for node in reversed(topological_order(v["o"])):
        node._backward()
    w = lecture_neuron()
    w["o"].backward()
    assert {k: x.grad for k, x in v.items()} == {k: x.grad for k, x in w.items()}


def test_each_call_adds_its_shares_again_as_micrograds_closure_does():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    c.grad = 1.0
    c.apply_chain_rule()
    c.apply_chain_rule()
    assert (a.grad, b.grad) == (-6.0, 4.0)
    c.grad = 0.5
    c._backward()
    assert (a.grad, b.grad) == (-7.5, 5.0)


def test_the_step_uses_the_nodes_grad_not_a_fresh_seed():
    a = Value(0.3)
    y = a.exp()
    y._backward()  # y.grad is 0.0 until someone sets it
    assert a.grad == 0.0
    y.grad = 2.0
    y._backward()
    assert a.grad == 2.0 * math.exp(0.3)


@settings(max_examples=60, deadline=None)
@given(expressions_with_inputs())
def test_stepping_every_node_by_hand_matches_backward_on_random_graphs(case):
    expression, point = case
    out, nodes = build_or_reject(expression, [Value(x) for x in point])
    hand_out, hand_nodes = build_or_reject(expression, [Value(x) for x in point])
    out.backward()
    hand_out.grad = 1.0
    for node in reversed(topological_order(hand_out)):
        node.apply_chain_rule()
    assert [n.grad for n in hand_nodes] == [n.grad for n in nodes]


def test_step_runs_the_nodes_hooks_as_backward_does():
    a = Value(2.0)
    y = a * 3.0
    y.register_hook(lambda g: g * 10)
    y.grad = 1.0
    y._backward()
    assert a.grad == 30.0 and y.grad == 10.0


def test_step_on_value_gradients_builds_their_graph():
    x = Value(3.0)
    y = x * x
    y.grad = Value(1.0)
    y._backward()
    assert type(x.grad) is Value and x.grad.data == 6.0
    (dd,) = engine.grad(x.grad, [x])
    assert dd == 2.0


def test_step_under_detect_anomaly_names_the_operation_of_a_nan():
    x = Value(0.0)
    y = x.sqrt()
    y.grad = 1.0
    with engine.detect_anomaly():
        with pytest.raises(FloatingPointError, match="sqrt"):
            y._backward()


def test_sum_over_values_starts_from_the_number_0():
    xs = [Value(float(i)) for i in range(1, 5)]
    total = sum(xs)
    assert total.data == 10.0
    total.backward()
    assert [x.grad for x in xs] == [1.0] * 4
    squares = sum(x**2 for x in xs)
    squares.backward()
    assert [x.grad for x in xs] == [1.0 + 2.0 * x.data for x in xs]
