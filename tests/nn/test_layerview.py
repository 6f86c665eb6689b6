"""The layer view of a backward pass: the textbook equations agree with the scalar graph, and a wrong one is caught."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import examples

import engine
import nn
from engine import Value
from nn import layerview

ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear"]
LOSSES = ["mse", "hinge", "bce_with_logits", "cross_entropy"]


def data_for(loss: str, n: int, seed: int = 0):
    """(X, targets, outputs of the last layer, loss function) for n moons points (n=None: one point)."""
    X, y = nn.make_moons(n or 2, noise=0.1, seed=seed)
    if loss == "mse":
        targets = [0.5 * t for t in y]
        nout, fn = 1, nn.mse_loss
    elif loss == "hinge":
        targets, nout, fn = list(y), 1, nn.hinge_loss
    elif loss == "bce_with_logits":
        targets, nout, fn = [(t + 1) // 2 for t in y], 1, nn.bce_with_logits
    else:
        targets, nout, fn = [(t + 1) // 2 for t in y], 2, nn.cross_entropy
    if n is None:
        return X[0], targets[0], nout, fn
    return X, targets, nout, fn


def test_forward_with_preactivations_builds_the_graph_forward_builds():
    layer = nn.Layer(3, 4, "tanh", seed=5)
    x = [Value(0.3), Value(-1.2), Value(2.0)]
    zs, outs = layer.forward_with_preactivations(x)
    plain = layer.forward(x)
    assert [a.data for a in outs] == [a.data for a in plain]
    for a, b in zip(outs, plain, strict=True):  # node for node: the same operations on the same inputs
        mine, theirs = engine.topological_order(a), engine.topological_order(b)
        assert [(n.op, n.data) for n in mine] == [(n.op, n.data) for n in theirs]
        assert [n for n in mine if not n.parents] == [n for n in theirs if not n.parents]
    for z, a in zip(zs, outs, strict=True):
        assert a.op == "tanh" and a.parents == (z,)
    (sum(outs, Value(0.0)) * 1.0).backward()
    first = [p.grad for p in layer.parameters()]
    layer.zero_grad()
    (sum(plain, Value(0.0)) * 1.0).backward()
    assert [p.grad for p in layer.parameters()] == first
    linear = nn.Layer(2, 2, "linear", seed=1)
    zs, outs = linear.forward_with_preactivations([Value(1.0), Value(2.0)])
    assert all(z is a for z, a in zip(zs, outs, strict=True))  # no node for a linear activation


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("batch", [None, 6], ids=["one example", "batch"])
def test_textbook_and_graph_agree_for_every_activation_and_loss(activation, loss, batch):
    X, targets, nout, fn = data_for(loss, batch)
    model = nn.MLP(2, [4, 3, nout], activation, seed=7)
    report = nn.backprop_report(model, X, fn, targets)
    assert report.agree, str(report)
    assert report.examples == (1 if batch is None else batch)
    assert len(report.checks) == 5 * 3
    assert report.max_rel_diff <= 1e-14
    # the deltas really are the graph's and textbook's numbers, not copies of each other
    for layer in report.layers:
        for dg, dt in zip(layer.delta_graph, layer.delta_textbook, strict=True):
            assert dg == pytest.approx(dt, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("output_activation", ACTIVATIONS)
def test_output_activations_and_l2(output_activation):
    X, y = nn.make_moons(5, seed=2)
    model = nn.MLP(2, [3, 1], "tanh", output_activation=output_activation, seed=3)
    report = nn.backprop_report(model, X, nn.mse_loss, [0.5 * t for t in y], l2=1e-2)
    assert report.agree, str(report)
    assert "2 l2 W" in report.checks[3].equation


@examples(40)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    nin=st.integers(1, 3),
    activation=st.sampled_from(ACTIVATIONS),
    output_activation=st.sampled_from(ACTIVATIONS),
    n=st.integers(1, 3),
    seed=st.integers(0, 10**6),
    xs=st.lists(st.floats(-3, 3), min_size=9, max_size=9),
)
def test_any_depth_and_width_agree(sizes, nin, activation, output_activation, n, seed, xs):
    model = nn.MLP(nin, sizes, activation, output_activation=output_activation, seed=seed)
    X = [xs[i * nin : (i + 1) * nin] for i in range(n)]
    outs_per_example = sizes[-1]

    def loss(outputs):
        flat = [v for out in outputs for v in (out if isinstance(out, list) else [out])]
        return nn.mse_loss(flat, [0.3] * (n * outs_per_example))

    report = nn.backprop_report(model, X, loss)
    assert report.agree, str(report)
    assert len(report.layers) == len(sizes)


def test_the_graph_deltas_are_the_pre_activation_gradients():
    model = nn.MLP(2, [3, 1], "sigmoid", seed=4)
    trace = nn.trace_layers(model, [0.2, -0.7])
    loss = nn.mse_loss(trace.outputs, 1.0)
    report = trace.report(loss)
    z = trace.zs[0][0]
    assert [v.grad for v in z] == [0.0, 0.0, 0.0]  # the report changes no .grad ...
    loss.backward()
    assert report.layers[0].delta_graph[0] == [v.grad for v in z]  # ... and shows what backward() gives
    # and by the chain rule by hand for one hidden neuron: dL/dz = 2 (out - t) * w2 * s'(z)
    out = trace.outputs.data
    w2 = model.layers[1].neurons[0].w[1].data
    a = trace.activations[0][0][1].data
    assert report.layers[0].delta_graph[0][1] == pytest.approx(2 * (out - 1.0) * w2 * a * (1 - a), rel=1e-14)


def test_a_wrong_derivative_is_flagged(monkeypatch):
    """tanh'(z) written as 1 - z**2 instead of 1 - tanh(z)**2: the recursion disagrees with the graph."""
    X, y = nn.make_moons(4, seed=1)
    model = nn.MLP(2, [4, 4, 1], "tanh", seed=2)
    assert nn.backprop_report(model, X, nn.hinge_loss, y).agree
    monkeypatch.setitem(layerview.DERIVATIVES, "tanh", lambda z, a: 1.0 - z * z)
    report = nn.backprop_report(model, X, nn.hinge_loss, y)
    assert not report.agree
    flagged = {c.equation.split(" =")[0] for c in report.flagged}
    assert {"delta(1)", "delta(2)", "dL/dW(1)", "dL/db(2)"} <= flagged
    assert "z(1)" not in flagged and "delta(3)" not in flagged  # the forward and the output layer are still right
    text = str(report)
    assert "FLAGGED" in text and "DISAGREE" in text.splitlines()[-1]
    assert report.to_dict()["agree"] is False


def test_a_tiny_wrong_derivative_is_flagged_too(monkeypatch):
    """An error of one part in 1e9 in sigmoid' is far above rounding: still flagged."""
    X, y = nn.make_moons(3, seed=1)
    model = nn.MLP(2, [3, 1], "sigmoid", seed=2)
    monkeypatch.setitem(layerview.DERIVATIVES, "sigmoid", lambda z, a: a * (1.0 - a) * (1 + 1e-9))
    report = nn.backprop_report(model, X, nn.bce_with_logits, [(t + 1) // 2 for t in y])
    assert [c.equation.split(" =")[0] for c in report.flagged] == ["delta(1)", "dL/dW(1)", "dL/db(1)"]


def test_relu_derivative_at_zero_is_zero_as_in_the_engine():
    model = nn.MLP(1, [1, 1], "relu", seed=0)
    report = nn.backprop_report(model, [0.0], nn.mse_loss, 1.0)  # z of the hidden neuron is b = 0 exactly
    assert report.layers[0].z[0] == [0.0]
    assert report.layers[0].fprime[0] == [0.0]
    assert report.agree


def test_data_is_plain_lists_and_json_ready():
    X, y = nn.make_moons(3, seed=0)
    model = nn.MLP(2, [2, 2], "tanh", seed=1)
    report = nn.backprop_report(model, X, nn.cross_entropy, [(t + 1) // 2 for t in y])
    data = report.data
    assert json.loads(json.dumps(data)) == data
    layer = data["layers"][0]
    assert set(layer) >= {"z", "a", "fprime", "delta_graph", "delta_textbook", "dW_graph", "dW_textbook"}
    assert len(layer["z"]) == 3 and len(layer["z"][0]) == 2  # [example][neuron]
    assert len(layer["dW_graph"]) == 2 and len(layer["dW_graph"][0]) == 2  # [neuron][input]
    assert data["sizes"] == [2, 2, 2] and data["agree"] is True
    assert data["loss"] == pytest.approx(nn.cross_entropy([model(x) for x in X], [(t + 1) // 2 for t in y]).data)


def test_str_shows_every_layer_and_check():
    model = nn.MLP(2, [3, 1], "tanh", seed=1)
    text = str(nn.backprop_report(model, [0.5, -1.0], nn.mse_loss, 0.25))
    assert "layer 1: tanh" in text and "layer 2: linear" in text
    assert "delta(1) = (W(2)^T delta(2)) * f'(z(1))" in text
    assert "dL/dW(2) = delta(2) a(1)^T" in text
    assert text.splitlines()[-1].startswith("textbook and scalar graph agree: 10 checks")


def test_the_parameters_gradients_are_left_as_they_were():
    model = nn.MLP(2, [3, 1], seed=0)
    for i, p in enumerate(model.parameters()):
        p.grad = float(i)
    before = [p.grad for p in model.parameters()]
    data = [p.data for p in model.parameters()]
    nn.backprop_report(model, [[1.0, 2.0], [0.5, 0.1]], nn.mse_loss, [0.0, 1.0])
    assert [p.grad for p in model.parameters()] == before
    assert [p.data for p in model.parameters()] == data


def test_a_loss_that_uses_the_parameters_elsewhere_is_refused():
    model = nn.MLP(2, [3, 1], seed=0)
    trace = nn.trace_layers(model, [1.0, 2.0])
    with_penalty = nn.mse_loss(trace.outputs, 0.0) + nn.l2_penalty(model.parameters(), 1e-3)
    with pytest.raises(ValueError, match=r"parameter layers\.0\.neurons\.0\.w\.0 outside the network.*l2=alpha"):
        trace.report(with_penalty)
    inner = nn.mse_loss(trace.outputs, 0.0) + trace.activations[0][0][1]
    with pytest.raises(ValueError, match="inner node"):
        trace.report(inner)
    with pytest.raises(ValueError, match="does not use"):
        trace.report(Value(2.0) * 3.0)
    with pytest.raises(TypeError, match="must be a Value"):
        trace.report(1.0)


def test_bad_inputs_are_named():
    model = nn.MLP(2, [1], seed=0)
    with pytest.raises(ValueError, match="example 1 must be a list of 2 numbers"):
        nn.backprop_report(model, [[1.0, 2.0], [1.0]], nn.mse_loss, [0.0, 0.0])
    with pytest.raises(TypeError, match="input 0 of the example must be a number"):
        nn.backprop_report(model, ["a", 1.0], nn.mse_loss, 0.0)
    with pytest.raises(TypeError, match="expected an nn.MLP"):
        nn.backprop_report(nn.Layer(2, 1, seed=0), [1.0, 2.0], nn.mse_loss, 0.0)
    with pytest.raises(ValueError, match="l2 must be"):
        nn.backprop_report(model, [1.0, 2.0], nn.mse_loss, 0.0, l2=-1.0)
    with pytest.raises(TypeError, match="must return a Value"):
        nn.backprop_report(model, [1.0, 2.0], lambda out, t: 0.0, 0.0)


def test_relative_difference_is_against_the_size_of_the_terms():
    assert layerview._difference([1.0], [1.0 + 2**-52], [1.0]) == (2**-52, 2**-52)
    assert layerview._difference([0.0], [0.0], [0.0]) == (0.0, 0.0)
    assert layerview._difference([1e-300], [0.0], [0.0])[1] == math.inf
    assert layerview._difference([math.nan], [1.0], [1.0])[1] == math.inf


# ---------------------------------------------------------------- the textbook's relu at the edges


def same(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


@pytest.mark.parametrize("z", [math.nan, -math.nan, -0.0, 0.0, -1.5, 2.0, math.inf, -math.inf])
def test_the_textbook_relu_agrees_with_the_engine_at_the_edges(z):
    x = Value(z)
    a = x.relu()
    a.backward()
    assert same(layerview.FUNCTIONS["relu"](z), a.data), (z, a.data)
    assert same(layerview.DERIVATIVES["relu"](z, a.data), x.grad), (z, x.grad)


def test_a_nan_input_through_relu_is_checked_not_flagged():
    model = nn.MLP(2, [3, 1], "relu", seed=1)
    report = nn.backprop_report(model, [math.nan, 1.0], nn.mse_loss, 0.25)
    relu_check = next(c for c in report.checks if c.equation == "a(1) = relu(z(1))")
    assert relu_check.ok, relu_check
    assert report.agree, report.summary()


def test_every_activation_a_layer_offers_has_a_textbook_formula_and_is_an_engine_operation():
    assert list(layerview.FUNCTIONS) == list(layerview.DERIVATIVES) == list(layerview.FORMULAS)
    assert set(layerview.FUNCTIONS) == set(nn.ACTIVATIONS)
    for name, apply in nn.ACTIVATIONS.items():
        if apply is None:
            assert name == "linear"
            continue
        node = apply(Value(0.5))
        assert node.op == name and node.operation is getattr(engine, name)
