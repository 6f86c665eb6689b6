"""The same network in PyTorch: same loss and gradients on moons, an exact round trip, clear refusals.

The tests that need torch are skipped without it; the missing-torch message is tested either way.
"""

import math
import random
import re
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import examples

import nn
from nn.torch_bridge import INSTALL_HINT

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - CI installs torch
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason=f"PyTorch is not installed ({INSTALL_HINT})")
ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear"]
LOSSES = ["mse", "hinge", "bce_with_logits", "cross_entropy"]
CLOSE = dict(rel=1e-12, abs=1e-12)


def bits(x: float) -> str:
    return float(x).hex()


def moons_task(loss: str):
    """(X, targets, number of outputs, our loss function, torch's loss on the module's output tensor)."""
    X, y = nn.make_moons(30, noise=0.1, seed=4)
    classes = [(t + 1) // 2 for t in y]
    if loss == "mse":
        targets = [0.5 * t for t in y]
        return X, targets, 1, nn.mse_loss, lambda out: ((out[:, 0] - torch.tensor(targets)) ** 2).mean()
    if loss == "hinge":
        return X, y, 1, nn.hinge_loss, lambda out: torch.clamp(1 - torch.tensor(y) * out[:, 0], min=0).mean()
    if loss == "bce_with_logits":
        targets = [float(c) for c in classes]
        return (
            X,
            targets,
            1,
            nn.bce_with_logits,
            lambda out: F.binary_cross_entropy_with_logits(out[:, 0], torch.tensor(targets, dtype=torch.float64)),
        )
    return X, classes, 2, nn.cross_entropy, lambda out: F.cross_entropy(out, torch.tensor(classes))


@needs_torch
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", LOSSES)
def test_same_loss_and_every_gradient_as_pytorch(activation, loss):
    X, targets, nout, ours, theirs = moons_task(loss)
    model = nn.MLP(2, [8, 8, nout], activation, seed=11)
    module = model.to_torch()
    outputs = [model(x) for x in X]
    value = ours(outputs, targets)
    value.backward()
    expected = theirs(module(torch.tensor(X, dtype=torch.float64)))
    expected.backward()
    assert value.data == pytest.approx(expected.item(), **CLOSE)
    linears = [m for m in module if isinstance(m, torch.nn.Linear)]
    compared = 0
    for layer, linear in zip(model.layers, linears, strict=True):
        for k, neuron in enumerate(layer.neurons):
            for j, w in enumerate(neuron.w):
                assert w.grad == pytest.approx(linear.weight.grad[k, j].item(), **CLOSE), (k, j)
                compared += 1
            assert neuron.b.grad == pytest.approx(linear.bias.grad[k].item(), **CLOSE)
            compared += 1
    assert compared == model.num_parameters()


@needs_torch
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_module_matches_the_model_layer_by_layer(activation):
    model = nn.MLP(3, [5, 4, 2], activation, output_activation="sigmoid", seed=3)
    module = model.to_torch()
    assert all(p.dtype == torch.float64 for p in module.parameters())
    kinds = [type(m).__name__ for m in module]
    hidden = {"relu": ["ReLU"], "tanh": ["Tanh"], "sigmoid": ["Sigmoid"], "linear": []}[activation]
    assert kinds == ["Linear", *hidden, "Linear", *hidden, "Linear", "Sigmoid"]
    x = [0.3, -1.7, 2.2]
    ours = [v.data for v in model(x)]
    theirs = module(torch.tensor([x], dtype=torch.float64))[0].tolist()
    assert ours == pytest.approx(theirs, **CLOSE)


@needs_torch
def test_the_layer_report_deltas_are_pytorchs_pre_activation_gradients():
    X, y = nn.make_moons(5, seed=2)
    model = nn.MLP(2, [4, 3, 1], "tanh", seed=5)
    report = nn.backprop_report(model, X, nn.hinge_loss, y)
    a = torch.tensor(X, dtype=torch.float64)
    zs = []
    for m in model.to_torch():
        a = m(a)
        if isinstance(m, torch.nn.Linear):
            a.retain_grad()
            zs.append(a)
    torch.clamp(1 - torch.tensor(y) * a[:, 0], min=0).mean().backward()
    for layer, z in zip(report.layers, zs, strict=True):
        for ours, theirs in zip(layer.delta_graph, z.grad.tolist(), strict=True):
            assert ours == pytest.approx(theirs, **CLOSE)


SPECIAL = [-0.0, 1 / 3, 5e-324, -1.7976931348623157e308, 0.1, 2.0**-1074 * 3, math.pi]


@needs_torch
@pytest.mark.parametrize("sizes", [[1], [3, 1], [4, 4, 2], [2, 5, 3, 1]])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_to_torch_and_back_keeps_every_bit(sizes, activation):
    model = nn.MLP(2, sizes, activation, output_activation="tanh", seed=9)
    for i, p in enumerate(model.parameters()[: len(SPECIAL)]):
        p.data = SPECIAL[i]
    back = nn.MLP.from_torch(model.to_torch())
    assert repr(back) == repr(model) or len(sizes) == 1  # a one-layer MLP has no hidden activation to keep
    assert [layer.activation for layer in back.layers] == [layer.activation for layer in model.layers]
    assert list(back.state_dict()) == list(model.state_dict())
    assert [bits(x) for x in back.state_dict().values()] == [bits(x) for x in model.state_dict().values()]


@needs_torch
@examples(30)
@given(weights=st.lists(st.floats(allow_nan=False), min_size=30, max_size=30))
def test_any_float64_weights_survive_the_round_trip(weights):
    model = nn.MLP(2, [3, 4, 1], "sigmoid", seed=0)
    model.load_state_dict(dict(zip(model.state_dict(), weights, strict=True)))
    back = nn.MLP.from_torch(model.to_torch())
    assert [bits(x) for x in back.state_dict().values()] == [bits(x) for x in weights]


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_torch_to_mlp_and_back_keeps_every_bit(dtype):
    dtype = getattr(torch, dtype)
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(2, 6), torch.nn.Tanh(), torch.nn.Linear(6, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)
    ).to(dtype)
    model = nn.MLP.from_torch(module)
    assert [layer.activation for layer in model.layers] == ["tanh", "tanh", "linear"]
    again = model.to_torch()
    for p, q in zip(module.parameters(), again.parameters(), strict=True):
        assert q.dtype == torch.float64
        assert torch.equal(p.detach().to(torch.float64), q.detach())
        assert torch.equal(q.detach().to(dtype), p.detach())


@needs_torch
def test_from_torch_leaves_pythons_random_module_alone():
    module = nn.MLP(2, [3, 1], seed=1).to_torch()
    random.seed(5)
    expected = random.random()
    random.seed(5)
    nn.MLP.from_torch(module)
    assert random.random() == expected


@needs_torch
def test_a_lone_linear_and_identity_are_accepted():
    lone = nn.MLP.from_torch(torch.nn.Linear(3, 2, dtype=torch.float64))
    assert [(layer.nin, layer.nout, layer.activation) for layer in lone.layers] == [(3, 2, "linear")]
    seq = nn.MLP.from_torch(
        torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Identity(), torch.nn.Linear(3, 1), torch.nn.Sigmoid())
    )
    assert [layer.activation for layer in seq.layers] == ["linear", "sigmoid"]


T = torch.nn if torch is not None else None
REFUSED = [
    (lambda: T.Sequential(T.Linear(2, 3), T.Dropout(), T.Linear(3, 1)), TypeError, "module 1 is a Dropout, which an"),
    (lambda: T.Sequential(T.Linear(2, 3), T.LeakyReLU()), TypeError, "module 1 is a LeakyReLU"),
    (lambda: T.Sequential(T.Linear(2, 3, bias=False)), ValueError, "Linear layer 0 has no bias"),
    (lambda: T.Sequential(T.Tanh(), T.Linear(2, 3)), ValueError, "before any Linear"),
    (lambda: T.Sequential(T.Linear(2, 3), T.Tanh(), T.ReLU()), ValueError, "second activation"),
    (lambda: T.Sequential(T.Linear(2, 3), T.Linear(4, 1)), ValueError, "layer 1 takes 4 inputs but layer 0 gives 3"),
    (
        lambda: T.Sequential(T.Linear(2, 3), T.Tanh(), T.Linear(3, 3), T.ReLU(), T.Linear(3, 1)),
        ValueError,
        r"different activations \(tanh, relu\)",
    ),
    (lambda: T.Sequential(T.Sequential(T.Linear(2, 3))), TypeError, "module 0 is a Sequential"),
    (lambda: T.Conv1d(1, 1, 1), TypeError, "expected a torch.nn.Sequential.*got Conv1d"),
    (lambda: T.Sequential(), ValueError, "no Linear layer"),
    (lambda: T.Linear(2, 2, dtype=torch.complex128), TypeError, "complex128 weights; expected floats"),
]


@needs_torch
@pytest.mark.parametrize("build, error, message", REFUSED, ids=[m for _, _, m in REFUSED])
def test_unsupported_modules_are_refused_by_name(build, error, message):
    with pytest.raises(error, match=message):
        nn.MLP.from_torch(build())


def test_without_torch_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    model = nn.MLP(2, [3, 1], seed=0)
    cpu_build = re.escape("pip install torch --index-url https://download.pytorch.org/whl/cpu")
    with pytest.raises(ImportError, match=r"MLP\.to_torch needs PyTorch, which is not installed: " + cpu_build):
        model.to_torch()
    with pytest.raises(ImportError, match=r"MLP\.from_torch needs PyTorch.*" + cpu_build):
        nn.MLP.from_torch(object())
    assert "chainrule[torch]" not in INSTALL_HINT  # works only from a clone, and pulls CUDA's wheels
