"""The benchmark's hand-written floor computes the same loss, gradients and update as the engine.

The floor (benchmarks/floor.py) is micrograd's demo step written by hand in floats; it is only a fair
bar if it does the same work. Here it is checked against `engine.Value` running the benchmark's own
workload code, on random small networks and on the benchmark's full-size step, including the kinks
(a relu input of exactly 0, a hinge margin of exactly 0) where both must take derivative 0.
"""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import examples

from benchmarks import floor, workloads
from engine import Value


def engine_loss_and_grads(layers, points, labels):
    model = workloads.Model(Value, layers)
    total = workloads.loss(Value, model, points, labels)
    total.backward()
    return total.data, [p.grad for p in model.parameters()], model


def assert_agree(layers, points, labels):
    loss, grads, _ = engine_loss_and_grads(layers, points, labels)
    floor_loss, floor_grads = floor.loss_and_grads(layers, points, labels)
    floor_flat = floor.flat_parameters(floor_grads)
    assert len(floor_flat) == len(grads)
    assert math.isclose(floor_loss, loss, rel_tol=1e-12, abs_tol=1e-12)
    for i, (a, b) in enumerate(zip(floor_flat, grads, strict=True)):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), f"gradient {i}: floor {a!r}, engine {b!r}"


def scaled(layers, factor):
    """The same network with its output layer multiplied by factor (to push some margins past 1)."""
    *hidden, (ws, bs) = floor.copy_layers(layers)
    return hidden + [([[w * factor for w in row] for row in ws], [b * factor for b in bs])]


@examples(40)
@given(
    hidden=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    n_points=st.integers(1, 12),
    seed=st.integers(0, 10_000),
    output_scale=st.sampled_from([0.5, 1.0, 4.0]),
)
def test_floor_matches_engine_on_random_networks(hidden, n_points, seed, output_scale):
    points, labels = workloads.make_moons(n_points, noise=0.2, seed=seed)
    layers = scaled(workloads.initial_weights((2, *hidden, 1), seed=seed), output_scale)
    assert_agree(layers, points, labels)


def test_floor_exercises_both_sides_of_every_relu_and_still_matches():
    points, labels = workloads.make_moons(20, seed=3)
    layers = scaled(workloads.initial_weights((2, 5, 4, 1), seed=3), 4.0)
    _, _, model = engine_loss_and_grads(layers, points, labels)
    # the case is only a good test if some hinges are flat and some are not, and some units are off
    margins = [1 - y * model([Value(x0), Value(x1)]).data for (x0, x1), y in zip(points, labels, strict=True)]
    assert any(m <= 0 for m in margins) and any(m > 0 for m in margins)
    weights, biases = model.layers[0]
    first = [
        sum((w.data * x for w, x in zip(row, p, strict=True)), b.data)
        for p in points
        for row, b in zip(weights, biases, strict=True)
    ]
    assert any(a <= 0 for a in first) and any(a > 0 for a in first)
    assert_agree(layers, points, labels)


def test_floor_takes_derivative_zero_at_the_kinks():
    # inputs at the origin: every first-layer relu input is exactly 0 whatever the weights; the
    # second layer has one unit at 0.5 and one exactly at 0; the score is exactly 1, so the hinge
    # 1 - y * score sits exactly at its kink for y = +1 and is 2 for y = -1
    layers = [
        ([[0.5, -0.25], [1.0, 2.0], [-1.5, 0.75]], [0.0] * 3),
        ([[1.0, -2.0, 0.5], [0.25, 0.5, -1.0]], [0.5, 0.0]),
        ([[3.0, -1.0]], [-0.5]),
    ]
    points, labels = [(0.0, 0.0)] * 3, [1.0, -1.0, 1.0]
    loss, grads = floor.loss_and_grads(layers, points, labels)
    params = floor.flat_parameters(layers)
    assert loss == pytest.approx(2 / 3 + 1e-4 * sum(p * p for p in params), abs=1e-15)
    # by hand: d loss / d score = 1/3 from the one live hinge; it reaches the output bias, the output
    # weight of the live unit (times its value 0.5) and that unit's bias (times weight 3); nothing
    # passes a relu at its kink. Every parameter also gets 2e-4 * p from the L2 term.
    expected = [2e-4 * p for p in params]
    expected[12] += 1 / 3 * 3.0  # second layer, unit 0, bias
    expected[17] += 1 / 3 * 0.5  # output weight of unit 0
    expected[19] += 1 / 3  # output bias
    assert floor.flat_parameters(grads) == pytest.approx(expected, abs=1e-15)
    assert_agree(layers, points, labels)


def test_floor_matches_engine_on_the_benchmark_step():
    points, labels = workloads.make_moons()
    assert_agree(workloads.initial_weights(), points, labels)


def test_floor_sgd_step_matches_the_engine_step():
    points, labels = workloads.make_moons(30, seed=5)
    init = workloads.initial_weights((2, 6, 6, 1), seed=5)
    model = workloads.Model(Value, init)
    layers = floor.copy_layers(init)
    for _ in range(3):  # three steps: the second and third run on updated parameters
        engine_loss = workloads.training_step(Value, model, points, labels, learning_rate=0.3)
        floor_loss = floor.training_step(layers, points, labels, learning_rate=0.3)
        assert math.isclose(floor_loss, engine_loss, rel_tol=1e-12)
    after = [p.data for p in model.parameters()]
    assert after != floor.flat_parameters(init)  # the parameters did move
    for a, b in zip(floor.flat_parameters(layers), after, strict=True):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def test_floor_refuses_a_network_it_was_not_written_for():
    layers = workloads.initial_weights((3, 4, 4, 1))
    with pytest.raises(ValueError, match="2 inputs and 1 output"):
        floor.loss_and_grads(layers, [(0.0, 0.0, 0.0)], [1.0])


def test_micrograd_builds_the_same_graph_and_loss():
    micrograd_engine = pytest.importorskip("micrograd.engine")
    points, labels = workloads.make_moons(10, seed=7)
    init = workloads.initial_weights((2, 4, 4, 1), seed=7)
    theirs = workloads.Model(micrograd_engine.Value, init)
    their_loss = workloads.loss(micrograd_engine.Value, theirs, points, labels)
    their_loss.backward()
    ours_loss, ours_grads, _ = engine_loss_and_grads(init, points, labels)
    assert math.isclose(their_loss.data, ours_loss, rel_tol=1e-12)
    for a, b in zip((p.grad for p in theirs.parameters()), ours_grads, strict=True):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    ours_root = workloads.loss(Value, workloads.Model(Value, init), points, labels)
    assert workloads.graph_nodes(their_loss, lambda v: v._prev) == workloads.graph_nodes(ours_root, lambda v: v.parents)
