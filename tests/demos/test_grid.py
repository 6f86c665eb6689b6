"""demos.grid: a model over a whole grid at once gives, at every point, to the bit what model(point) gives."""

import math
import random

import pytest

numpy = pytest.importorskip("numpy")

import engine  # noqa: E402
import nn  # noqa: E402
from demos import grid, plots  # noqa: E402
from engine import Value  # noqa: E402


def same_bits(a: float, b: float) -> bool:
    return math.copysign(1.0, a) == math.copysign(1.0, b) and (a == b or (math.isnan(a) and math.isnan(b)))


def check_against_the_model(model, xs, ys, samples=200, seed=0):
    """Every sampled grid point's outputs equal model(point)'s, bit for bit."""
    scores = plots.grid_scores(model, xs, ys)
    rng = random.Random(seed)
    points = [(rng.randrange(len(ys)), rng.randrange(len(xs))) for _ in range(samples)]
    for row, column in points:
        (own,) = nn.outputs(model, [[float(xs[column]), float(ys[row])]])
        own = own if isinstance(own, list) else [own]
        got = [float(s[row * len(xs) + column]) for s in scores]
        assert len(got) == len(own)
        assert all(same_bits(g, o) for g, o in zip(got, own, strict=True)), (row, column, got, own)
    return scores


@pytest.mark.parametrize(
    ("sizes", "activation"),
    [([16, 16, 1], "relu"), ([16, 16, 3], "relu"), ([8, 8, 1], "tanh"), ([6, 2], "sigmoid"), ([5, 1], "linear")],
)
def test_the_grid_is_the_models_own_forward_to_the_bit(sizes, activation):
    model = nn.MLP(2, sizes, activation=activation, seed=7)
    xs, ys = plots.grid_axes([[-2.0, -1.5], [2.5, 1.0]], 60)
    check_against_the_model(model, xs, ys)


def test_trained_demo_weights_give_the_same_bits():
    """Large, trained-looking weights: relu's kinks and the sums' roundings must still match exactly."""
    model = nn.MLP(2, [16, 16, 1], seed=3)
    rng = random.Random(1)
    for p in model.parameters():
        p.data = rng.uniform(-5.0, 5.0) * 10.0 ** rng.randint(-3, 3)
    xs, ys = plots.grid_axes([[-1e-3, -1e3], [1e3, 1e-3]], 41)
    check_against_the_model(model, xs, ys, samples=400)


def test_a_model_that_reads_its_inputs_numbers_is_called_at_every_point():
    """Its graph may change from point to point (a Python `if`): the grid then asks the model itself."""

    def model(p):
        x, y = p
        return x * 2.0 if float(x) > 0.3 else y * 3.0 - x

    xs, ys = numpy.linspace(-1.0, 1.0, 21), numpy.linspace(-1.0, 1.0, 11)
    check_against_the_model(model, xs, ys, samples=100)


def test_an_operation_of_your_own_runs_its_forward_at_each_point():
    calls = []

    def cube_forward(a):
        calls.append(a)
        return a * a * a

    @engine.operation("cube", cube_forward)
    def cube(g, out, a):
        return (g * 3 * a * a,)

    def model(p):
        return cube(p[0]) + p[1]

    xs, ys = numpy.linspace(-1.0, 1.0, 7), numpy.linspace(0.0, 1.0, 5)
    check_against_the_model(model, xs, ys, samples=20)
    assert len(calls) >= 35  # once per grid point (and once more per point the check asked the model about)


def test_inside_no_grad_the_grid_is_still_the_models():
    model = nn.MLP(2, [4, 1], seed=0)
    xs, ys = numpy.linspace(-1.0, 1.0, 9), numpy.linspace(-1.0, 1.0, 9)
    with engine.no_grad():
        scores = plots.grid_scores(model, xs, ys)
    assert len({float(s) for s in scores[0]}) > 1  # not one number for the whole plane
    check_against_the_model(model, xs, ys, samples=30)


def test_a_point_where_the_engine_raises_raises_the_same_error():
    def model(p):
        return (Value(1e200) * p[0]) * p[1]  # Values whether the point is given as floats or as Values

    xs, ys = numpy.array([0.0, 1.0]), numpy.array([1.0, 1e200])
    with pytest.raises(OverflowError, match=r"\*: the result of"):
        plots.grid_scores(model, xs, ys)
    with pytest.raises(ValueError, match="log"):
        plots.grid_scores(lambda p: (Value(-0.5) + p[0]).log(), xs, ys)


def test_nan_and_inf_inputs_give_what_the_model_gives():
    model = nn.MLP(2, [3, 1], seed=2)
    xs = numpy.array([math.nan, 0.0, math.inf])
    ys = numpy.array([0.0, -math.inf])
    try:
        expected = nn.outputs(model, [[x, y] for y in ys.tolist() for x in xs.tolist()])
    except (ArithmeticError, ValueError) as error:
        with pytest.raises(type(error)):
            plots.grid_scores(model, xs, ys)
    else:
        (scores,) = plots.grid_scores(model, xs, ys)
        assert all(same_bits(float(g), e) for g, e in zip(scores, expected, strict=True))


def test_margins_are_class_margin_on_every_point():
    rng = random.Random(3)
    outs = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(50)]
    arrays = [numpy.array(column) for column in zip(*outs, strict=True)]
    for k in range(3):
        assert grid.margins(arrays, k).tolist() == [nn.metrics.class_margin(o, k) for o in outs]
    single = numpy.array([o[0] for o in outs])
    for k in (0, 1):
        assert grid.margins([single], k).tolist() == [nn.metrics.class_margin(o[0], k) for o in outs]


def test_an_empty_grid_and_a_model_of_constants():
    assert grid.outputs_on(nn.MLP(2, [1]), [[], []]) == []
    (flat,) = grid.outputs_on(lambda p: Value(2.0) * 3.0, [[0.0, 1.0], [0.0, 1.0]])
    assert flat.tolist() == [6.0, 6.0]


def test_outputs_at_examples_are_nn_outputs_to_the_bit():
    """digits evaluates its 360 test images this way: the same floats nn.outputs gives, in its form."""
    rng = random.Random(5)
    X = [[rng.uniform(0.0, 16.0) for _ in range(64)] for _ in range(25)]
    model = nn.MLP(64, [32, 10], seed=2)
    got = grid.outputs_at(model, X)
    own = nn.outputs(model, X)
    assert len(got) == len(own) == 25
    assert all(type(row) is list and len(row) == 10 for row in got)
    pairs = [(g, o) for g_row, o_row in zip(got, own, strict=True) for g, o in zip(g_row, o_row, strict=True)]
    assert len(pairs) == 250 and all(same_bits(g, o) for g, o in pairs)
    binary = nn.MLP(64, [8, 1], activation="tanh", seed=3)
    assert [type(o) for o in grid.outputs_at(binary, X)] == [float] * 25
    assert all(same_bits(g, o) for g, o in zip(grid.outputs_at(binary, X), nn.outputs(binary, X), strict=True))
    assert grid.outputs_at(model, []) == []
