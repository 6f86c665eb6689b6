"""Neuron, Layer, MLP and Module: sizes, names, outputs, initialisation, gradients and errors."""

import math
import random

import pytest

import nn
from engine import Value, topological_order

ACTIVATION_FLOATS = {
    "linear": lambda z: z,
    "relu": lambda z: max(z, 0.0),
    "tanh": math.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z)),
}


def float_forward(model: nn.MLP, x: list[float]) -> list[float]:
    """The model's output recomputed on plain floats from its weights, layer by layer."""
    for layer in model.layers:
        f = ACTIVATION_FLOATS[layer.activation]
        x = [f(n.b.data + sum(w.data * xi for w, xi in zip(n.w, x, strict=True))) for n in layer.neurons]
    return x


# ---------------------------------------------------------------- sizes and shapes


@pytest.mark.parametrize(
    "nin, nouts",
    [(2, [16, 16, 1]), (3, [4, 4, 1]), (1, [1]), (5, [7, 3]), (2, [16, 1, 1])],
)
def test_parameter_count_is_sum_of_weights_and_biases(nin, nouts):
    model = nn.MLP(nin, nouts)
    sizes = [nin, *nouts]
    expected = sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))
    assert model.num_parameters() == expected == len(model.parameters())


def test_micrograd_demo_network_has_337_parameters():
    # (2 + 1) * 16 + (16 + 1) * 16 + (16 + 1) * 1
    assert nn.MLP(2, [16, 16, 1]).num_parameters() == 48 + 272 + 17 == 337


def test_layer_of_one_neuron_returns_a_list():
    out = nn.Layer(3, 1)([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], Value)


def test_mlp_through_a_one_neuron_hidden_layer():
    model = nn.MLP(2, [16, 1, 1])
    out = model([0.5, -0.25])
    assert isinstance(out, Value)
    assert out.data == pytest.approx(float_forward(model, [0.5, -0.25])[0], rel=1e-12, abs=1e-15)


def test_mlp_returns_a_value_for_one_output_and_a_list_for_several():
    assert isinstance(nn.MLP(2, [4, 1])([1.0, 2.0]), Value)
    many = nn.MLP(2, [4, 3])([1.0, 2.0])
    assert isinstance(many, list) and len(many) == 3


# ---------------------------------------------------------------- names and order


def test_names_and_order_of_a_small_mlp():
    model = nn.MLP(2, [2, 1])
    names = [name for name, _ in model.named_parameters()]
    assert names == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.b",
        "layers.0.neurons.1.w.0",
        "layers.0.neurons.1.w.1",
        "layers.0.neurons.1.b",
        "layers.1.neurons.0.w.0",
        "layers.1.neurons.0.w.1",
        "layers.1.neurons.0.b",
    ]


def test_parameters_follow_named_parameters_and_are_the_modules_own_values():
    model = nn.MLP(2, [3, 1])
    named = model.named_parameters()
    assert [p for _, p in named] == model.parameters()
    assert model.parameters()[0] is model.layers[0].neurons[0].w[0]
    assert model.parameters()[-1] is model.layers[-1].neurons[-1].b
    assert model.parameters() == model.parameters()  # stable from call to call


def test_parameters_are_labelled_with_their_names():
    model = nn.MLP(2, [16, 16, 1])
    for name, p in model.named_parameters():
        assert p.label == name
    assert model.layers[0].neurons[3].w[1].label == "layers.0.neurons.3.w.1"
    neuron = nn.Neuron(2)
    assert [p.label for p in neuron.parameters()] == ["w.0", "w.1", "b"]


def test_a_custom_module_finds_values_modules_and_lists():
    class Pair(nn.Module):
        def __init__(self):
            self.scale = Value(2.0)
            self.encoder = nn.Layer(2, 2, seed=1)
            self.heads = [nn.Neuron(2, "linear", seed=2), nn.Neuron(2, "linear", seed=3)]
            self.note = "not a parameter"

    names = [n for n, _ in Pair().named_parameters()]
    assert names[0] == "scale"
    assert names[1] == "encoder.neurons.0.w.0"
    assert names[-1] == "heads.1.b"
    assert len(names) == 1 + 6 + 3 + 3


# ---------------------------------------------------------------- outputs


@pytest.mark.parametrize("activation", sorted(ACTIVATION_FLOATS))
def test_mlp_output_matches_a_float_recomputation(activation):
    model = nn.MLP(3, [5, 4, 2], activation=activation, seed=7)
    rng = random.Random(0)
    for _ in range(5):
        x = [rng.uniform(-2, 2) for _ in range(3)]
        out = model(x)
        assert [v.data for v in out] == pytest.approx(float_forward(model, x), rel=1e-12, abs=1e-14)


def test_last_layer_is_linear_unless_asked():
    model = nn.MLP(2, [8, 1], seed=3)
    assert [layer.activation for layer in model.layers] == ["relu", "linear"]
    model.layers[-1].neurons[0].b.data = -100.0  # a linear output can go negative
    assert model([1.0, -1.0]).data < 0
    squashed = nn.MLP(2, [8, 1], output_activation="sigmoid", seed=3)
    assert squashed.layers[-1].activation == "sigmoid"
    assert 0.0 < squashed([1.0, -1.0]).data < 1.0


def test_inputs_may_be_numbers_or_values_and_values_receive_gradients():
    model = nn.MLP(2, [4, 1], activation="tanh", seed=5)
    a, b = Value(0.3), Value(-0.7)
    with_values = model([a, b])
    with_numbers = model([0.3, -0.7])
    assert with_values.data == with_numbers.data
    with_values.backward()
    h = 1e-6
    up = float_forward(model, [0.3 + h, -0.7])[0]
    down = float_forward(model, [0.3 - h, -0.7])[0]
    assert a.grad == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9)
    assert b.grad != 0.0


def test_one_input_may_be_given_bare():
    model = nn.MLP(1, [4, 1], seed=2)
    assert model(0.5).data == model([0.5]).data == model(Value(0.5)).data


# ---------------------------------------------------------------- initialisation


def weights(model):
    return [p.data for p in model.parameters()]


def test_same_seed_same_weights_and_different_seed_different_weights():
    assert weights(nn.MLP(2, [16, 16, 1], seed=42)) == weights(nn.MLP(2, [16, 16, 1], seed=42))
    assert weights(nn.MLP(2, [16, 16, 1], seed=42)) != weights(nn.MLP(2, [16, 16, 1], seed=43))


def test_a_random_generator_may_be_passed_and_is_drawn_from():
    rng = random.Random(9)
    first = nn.Layer(2, 3, seed=rng)
    second = nn.Layer(2, 3, seed=rng)
    assert weights(first) != weights(second)
    assert weights(nn.Layer(2, 3, seed=random.Random(9))) == weights(first)


def test_without_seed_weights_come_from_pythons_random_module():
    # as in micrograd (and torch.manual_seed): random.seed(...) makes a run reproducible
    state = random.getstate()
    try:
        random.seed(1337)
        a = weights(nn.MLP(2, [8, 1]))
        random.seed(1337)
        b = weights(nn.MLP(2, [8, 1]))
        random.seed(456)
        c = weights(nn.MLP(2, [8, 1]))
        d = weights(nn.MLP(2, [8, 1]))  # the stream goes on: the next model differs
        assert a == b and a != c and c != d
        # the same draws, in the same order, as from a generator seeded alike
        assert a == weights(nn.MLP(2, [8, 1], seed=random.Random(1337)))
        random.seed(7)
        layer, neuron = weights(nn.Layer(3, 2)), weights(nn.Neuron(3, "tanh"))
        rng = random.Random(7)
        assert layer == weights(nn.Layer(3, 2, seed=rng)) and neuron == weights(nn.Neuron(3, "tanh", seed=rng))
    finally:
        random.setstate(state)


def test_seed_keeps_its_own_stream_and_leaves_the_global_one_alone():
    before = random.getstate()
    a = weights(nn.MLP(2, [8, 1], seed=5))
    assert random.getstate() == before
    random.seed(99)
    assert weights(nn.MLP(2, [8, 1], seed=5)) == a


def test_initial_weights_are_the_same_numbers_on_every_machine():
    # written down once: Mersenne Twister draws and sqrt are exact and portable, so any change
    # here (another formula, another draw order, a global generator) shows up as a failure
    assert [p.data for p in nn.Neuron(3, seed=0).parameters()] == [
        0.9741721072087512,
        0.7296052302240599,
        -0.22465749525374834,
        0.0,
    ]
    assert [p.data for p in nn.MLP(2, [2, 1], seed=1).parameters()] == [
        -1.2665994125223445,
        1.2035457692776133,
        0.0,
        0.9137420836292343,
        -0.848465783533333,
        0.0,
        -0.011181707344989134,
        -0.12372111871888603,
        0.0,
    ]
    rng = random.Random(0)  # the recipe: uniform(-bound, bound), bound = gain * sqrt(3 / nin)
    bound = math.sqrt(2.0) * math.sqrt(3.0 / 3)
    assert [rng.uniform(-bound, bound) for _ in range(3)] == [w.data for w in nn.Neuron(3, seed=0).w]


@pytest.mark.parametrize("activation, gain", [("relu", math.sqrt(2.0)), ("tanh", 1.0), ("linear", 1.0)])
def test_initial_weights_are_scaled_by_fan_in(activation, gain):
    nin = 400
    layer = nn.Layer(nin, 20, activation, seed=0)
    ws = [w.data for n in layer.neurons for w in n.w]
    bound = gain * math.sqrt(3.0 / nin)
    assert max(abs(w) for w in ws) <= bound
    assert max(abs(w) for w in ws) > 0.95 * bound  # the whole range is used
    variance = sum(w * w for w in ws) / len(ws)  # uniform on [-c, c] has variance c**2 / 3
    assert variance == pytest.approx(gain**2 / nin, rel=0.05)
    assert all(n.b.data == 0.0 for n in layer.neurons)


# ---------------------------------------------------------------- gradients against finite differences


@pytest.mark.parametrize("activation", sorted(ACTIVATION_FLOATS))
@pytest.mark.parametrize("seed", [0, 1])
def test_every_parameter_gradient_matches_central_differences(activation, seed):
    model = nn.MLP(3, [4, 3, 2], activation=activation, seed=seed)
    rng = random.Random(seed + 10)
    xs = [[rng.uniform(-1.5, 1.5) for _ in range(3)] for _ in range(3)]
    # move the biases off zero so every layer's bias gradient is exercised too
    for p in model.parameters():
        if p.label.endswith(".b"):
            p.data = rng.uniform(-0.5, 0.5)

    def objective_floats() -> float:
        total = 0.0
        for x in xs:
            o = float_forward(model, x)
            total += o[0] ** 2 + 3.0 * o[1]
        return total

    model.zero_grad()
    loss = None
    for x in xs:
        o = model(x)
        term = o[0] * o[0] + 3.0 * o[1]
        loss = term if loss is None else loss + term
    loss.backward()
    assert loss.data == pytest.approx(objective_floats(), rel=1e-12)

    h = 1e-6
    for name, p in model.named_parameters():
        keep = p.data
        p.data = keep + h
        up = objective_floats()
        p.data = keep - h
        down = objective_floats()
        p.data = keep
        assert p.grad == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-7), name


def test_zero_grad_clears_every_gradient():
    model = nn.MLP(2, [4, 1], seed=1)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_against_pytorch_float64():
    torch = pytest.importorskip("torch")
    model = nn.MLP(3, [5, 4, 1], activation="tanh", seed=4)
    x = [0.2, -1.1, 0.7]
    out = model(x)
    out.backward()

    weights_t = []
    h = torch.tensor([x], dtype=torch.float64)
    for layer in model.layers:
        W = torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64, requires_grad=True)
        b = torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True)
        weights_t.append((W, b))
        h = h @ W.T + b
        if layer.activation == "tanh":
            h = torch.tanh(h)
    h.sum().backward()
    assert out.data == pytest.approx(h.item(), rel=1e-12)
    for layer, (W, b) in zip(model.layers, weights_t, strict=True):
        for i, n in enumerate(layer.neurons):
            assert [w.grad for w in n.w] == pytest.approx(W.grad[i].tolist(), rel=1e-10, abs=1e-14)
            assert n.b.grad == pytest.approx(b.grad[i].item(), rel=1e-10, abs=1e-14)


# ---------------------------------------------------------------- repr


def test_repr_shows_the_architecture():
    text = repr(nn.MLP(2, [16, 16, 1]))
    assert text == (
        "MLP(\n"
        "  (layers.0): Layer(nin=2, nout=16, activation='relu')\n"
        "  (layers.1): Layer(nin=16, nout=16, activation='relu')\n"
        "  (layers.2): Layer(nin=16, nout=1, activation='linear')\n"
        ")"
    )
    assert repr(nn.Neuron(3, "tanh")) == "Neuron(nin=3, activation='tanh')"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("make", [lambda: nn.Neuron(2), lambda: nn.Layer(2, 3), lambda: nn.MLP(2, [3, 1])])
def test_wrong_input_length_names_expected_and_given_sizes(make):
    module = make()
    with pytest.raises(ValueError, match=r"expected 2 inputs, got 3"):
        module([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"expected 2 inputs, got 1"):
        module([1.0])


def test_non_numeric_input_is_named():
    with pytest.raises(TypeError, match=r"MLP: input 1 must be a number or a Value, got str 'a'"):
        nn.MLP(2, [1])([1.0, "a"])
    with pytest.raises(TypeError, match=r"expected a list of 2 inputs"):
        nn.MLP(2, [1])(3.0)


@pytest.mark.parametrize("make", [lambda a: nn.Neuron(2, a), lambda a: nn.Layer(2, 2, a), lambda a: nn.MLP(2, [1], a)])
def test_unknown_activation_lists_the_known_ones(make):
    with pytest.raises(ValueError, match=r"unknown activation 'gelu'.*'linear', 'relu', 'sigmoid', 'tanh'"):
        make("gelu")


def test_bad_sizes_and_seeds_are_refused():
    with pytest.raises(ValueError, match="nin must be a positive int"):
        nn.Neuron(0)
    with pytest.raises(ValueError, match="nouts must be a non-empty list"):
        nn.MLP(2, [])
    with pytest.raises(ValueError, match="layer size 1"):
        nn.MLP(2, [3, 0])
    with pytest.raises(TypeError, match="seed must be an int or a random.Random"):
        nn.MLP(2, [1], seed=1.5)


def test_number_inputs_become_leaves_labelled_as_inputs():
    # a picture or table of the graph then shows x0, x1 as inputs, not as unlabelled constants
    model = nn.MLP(2, [3, 1], seed=0)
    out = model([0.5, -1.0])
    leaves = [v for v in topological_order(out) if v.is_leaf()]
    names = {v.label for v in leaves}
    assert {"x0", "x1"} <= names
    assert all(v.label for v in leaves)  # every leaf is a parameter or an input: no constant
    given = Value(0.5, label="mine")
    model([given, 2.0])
    assert given.label == "mine"  # a Value passed in is used as it is
