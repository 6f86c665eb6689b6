"""The patterns of micrograd's lecture and notebooks, written against chainrule's engine and nn.

The lecture's tanh network MLP(3, [4, 4, 1]) on its four examples, trained with
`p.data += -0.1 * p.grad`; `random.seed` making a run reproducible; micrograd's one-neuron
graph example. Where PyTorch or micrograd 0.1.0 is installed, the numbers are checked against them.
"""

import math
import random

import pytest

import nn
from engine import Value

XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]


@pytest.fixture
def global_random():
    """Let a test seed Python's random module; put its state back afterwards."""
    state = random.getstate()
    yield random
    random.setstate(state)


def lecture_mlp() -> nn.MLP:
    return nn.MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh")


def train(model: nn.MLP, steps: int = 20, lr: float = 0.1) -> list[float]:
    """The lecture's loop: sum of squared errors, gradients zeroed by hand, a plain descent step."""
    losses = []
    for _ in range(steps):
        ypred = [model(x) for x in XS]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(YS, ypred, strict=True))
        for p in model.parameters():
            p.grad = 0.0
        loss.backward()
        for p in model.parameters():
            p.data += -lr * p.grad
        losses.append(loss.data)
    return losses


def test_the_lectures_network_has_41_parameters_and_outputs_one_value_in_minus_1_1():
    model = lecture_mlp()
    assert len(model.parameters()) == 41
    out = model([2.0, 3.0, -1.0])
    assert isinstance(out, Value) and -1.0 < out.data < 1.0 and out.op == "tanh"


def test_the_lectures_training_loop_fits_the_four_examples(global_random):
    global_random.seed(1337)
    losses = train(lecture_mlp())
    assert losses[-1] < 0.05 * losses[0]
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))


def test_random_seed_makes_the_run_reproducible_and_another_seed_changes_it(global_random):
    global_random.seed(1337)
    first = train(lecture_mlp(), steps=5)
    global_random.seed(1337)
    again = train(lecture_mlp(), steps=5)
    global_random.seed(42)
    other = train(lecture_mlp(), steps=5)
    assert first == again and first != other


def test_the_lectures_training_matches_pytorch_in_float64(global_random):
    torch = pytest.importorskip("torch")
    global_random.seed(1337)
    model = lecture_mlp()
    layers = []
    for layer in model.layers:
        lin = torch.nn.Linear(layer.nin, layer.nout, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64))
            lin.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64))
        layers += [lin, torch.nn.Tanh()]
    net = torch.nn.Sequential(*layers)
    x, y = torch.tensor(XS, dtype=torch.float64), torch.tensor(YS, dtype=torch.float64)
    theirs = []
    for _ in range(20):
        loss = ((net(x).squeeze(1) - y) ** 2).sum()
        net.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in net.parameters():
                p += -0.1 * p.grad
        theirs.append(loss.item())
    assert train(model) == pytest.approx(theirs, rel=1e-10)


def test_micrograds_one_neuron_example_is_alive_after_random_seed(global_random):
    """random.seed(1337), then a relu Neuron(2) on [1.0, -2.0]: micrograd's draws, scaled by fan-in."""
    global_random.seed(1337)
    neuron = nn.Neuron(2)
    y = neuron([Value(1.0), Value(-2.0)])
    y.backward()
    assert y.data > 0.0 and any(w.grad != 0.0 for w in neuron.w)
    micrograd_nn = pytest.importorskip("micrograd.nn")
    global_random.seed(1337)
    theirs = micrograd_nn.Neuron(2)  # uniform(-1, 1) draws from the same stream; ours are sqrt(3) times them
    scale = math.sqrt(2.0) * math.sqrt(3.0 / 2)
    assert [w.data for w in neuron.w] == pytest.approx([scale * w.data for w in theirs.w], rel=1e-15)
    out = theirs([1.0, -2.0])
    assert y.data == pytest.approx(scale * out.data, rel=1e-14)


def test_micrograds_demo_model_built_after_random_seed_gets_micrograds_draw_order(global_random):
    """MLP(2, [16, 16, 1]) after random.seed: the same stream, drawn neuron by neuron as micrograd does."""
    micrograd_nn = pytest.importorskip("micrograd.nn")
    global_random.seed(1337)
    ours = nn.MLP(2, [16, 16, 1])
    global_random.seed(1337)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    for layer, their_layer in zip(ours.layers, theirs.layers, strict=True):
        scale = (math.sqrt(2.0) if layer.activation == "relu" else 1.0) * math.sqrt(3.0 / layer.nin)
        for n, m in zip(layer.neurons, their_layer.neurons, strict=True):
            assert [w.data for w in n.w] == pytest.approx([scale * w.data for w in m.w], rel=1e-14, abs=1e-15)
            assert n.b.data == m.b.data == 0.0


def test_micrograds_demo_loss_written_over_numpy_arrays_equals_nn_losses():
    """The demo's loss cell: Values made from numpy rows, numpy int labels, sum() and relu over Values."""
    np = pytest.importorskip("numpy")
    points, labels = nn.make_moons(20, noise=0.1, seed=3)
    X, y = np.array(points), np.array(labels, dtype=np.int64)
    model = nn.MLP(2, [16, 16, 1], seed=1)
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    total = data_loss + reg_loss
    assert type(total) is Value and type(total.data) is float
    reference = nn.hinge_loss([model(x) for x in points], labels) + nn.l2_penalty(model.parameters(), 1e-4)
    assert total.data == pytest.approx(reference.data, rel=1e-12)
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores, strict=True)]
    assert 0 <= sum(accuracy) <= len(accuracy)
    model.zero_grad()
    total.backward()
    ours = [p.grad for p in model.parameters()]
    model.zero_grad()
    reference.backward()
    assert ours == pytest.approx([p.grad for p in model.parameters()], rel=1e-9, abs=1e-15)
