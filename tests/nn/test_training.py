"""End to end: micrograd's two-moons demo trained with nn reaches 100% training accuracy.

The recipe is the demo's: MLP(2, [16, 16, 1]) (relu, relu, linear) on 100 two-moons points
with noise 0.1, hinge loss + 1e-4 * L2, plain SGD with lr = 1.0 - 0.9 * k / 100 for 100 steps.
"""

import struct

import pytest

import nn
from engine import no_grad

DATA_SEED = 3  # the two classes' closest points are 0.31 apart (seeds 0 and 5 have pairs 0.18 and 0.12 apart)
MODEL_SEED = 0
STEPS = 100


# Each training step makes ~10^5 short-lived nodes, which trigger full collections: with the
# session's heap (torch alone is ~10^5 objects) out of the collector's view, they stay cheap.
pytestmark = pytest.mark.usefixtures("settled_heap")


def moons():
    return nn.make_moons(100, noise=0.1, seed=DATA_SEED)


def demo_loss(model, X, y):
    scores = [model(x) for x in X]
    return nn.hinge_loss(scores, y) + nn.l2_penalty(model.parameters(), 1e-4)


def training_step(model, optimizer, X, y) -> float:
    """One step; the graph is freed on return, before the next one is built (less work for the GC)."""
    loss = demo_loss(model, X, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.data


def train(model, X, y, steps):
    optimizer = nn.SGD(model.parameters(), lr=nn.linear_decay(1.0, 0.1, 100))
    return [training_step(model, optimizer, X, y) for _ in range(steps)]


def accuracy(model, X, y):
    with no_grad():
        return sum((model(x).data > 0) == (label > 0) for x, label in zip(X, y, strict=True)) / len(y)


@pytest.mark.slow
def test_two_moons_demo_reaches_full_training_accuracy():
    X, y = moons()
    model = nn.MLP(2, [16, 16, 1], seed=MODEL_SEED)
    assert model.num_parameters() == 337
    start = accuracy(model, X, y)
    losses = train(model, X, y, STEPS)
    assert start < 0.95  # there was something to learn
    assert accuracy(model, X, y) == 1.0
    assert losses[-1] < 0.1 * losses[0]


def test_training_is_deterministic_to_the_last_bit():
    X, y = moons()
    runs = []
    for _ in range(2):
        model = nn.MLP(2, [16, 16, 1], seed=MODEL_SEED)
        losses = train(model, X[:20], y[:20], 3)
        runs.append((losses, [struct.pack("<d", p.data) for p in model.parameters()]))
    assert runs[0] == runs[1]


@pytest.mark.slow
def test_same_steps_as_micrograds_own_classes():
    """The same weights trained by micrograd 0.1.0's Value and MLP follow the same losses."""
    pytest.importorskip("micrograd")
    from micrograd.nn import MLP as MicroMLP

    X, y = moons()
    ours = nn.MLP(2, [16, 16, 1], seed=MODEL_SEED)
    theirs = MicroMLP(2, [16, 16, 1])
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):  # both: w then b, neuron by neuron
        q.data = p.data
    optimizer = nn.SGD(ours.parameters(), lr=nn.linear_decay(1.0, 0.1, 100))
    for k in range(3):
        loss = training_step(ours, optimizer, X, y)

        scores = [theirs(list(x)) for x in X]
        hinge = [(1 + -label * s).relu() for label, s in zip(y, scores, strict=True)]
        total = sum(hinge) * (1.0 / len(hinge)) + 1e-4 * sum(p * p for p in theirs.parameters())
        theirs.zero_grad()
        total.backward()
        for p in theirs.parameters():
            p.data -= (1.0 - 0.9 * k / 100) * p.grad

        assert loss == pytest.approx(total.data, rel=1e-12)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert p.data == pytest.approx(q.data, rel=1e-9, abs=1e-12)
