"""The benchmark workloads, written once for any micrograd-like `Value` class.

Every function takes the `Value` class as an argument and uses only what both chainrule's
`engine.Value` and `micrograd.engine.Value` offer (`+`, `*`, a number on either side, `relu()`,
`backward()`, `.data`, `.grad`), so the very same code builds the very same graph on both.

* `training_step`: micrograd's demo step -- an MLP 2-16-16-1 (relu, relu, linear) on 100
  two-moons points, hinge loss mean(relu(1 - y * score)) + 1e-4 * sum(p * p), forward,
  backward and an SGD update.
* `deep_chain`: n operations in a row, v = v * a + b, so the graph is n deep.
* `wide_sum`: n operations side by side, sum of w_i * x_i added up as a balanced tree, so the
  graph is n wide and only about log2(n) deep.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

# ---------------------------------------------------------------- data and initial weights

LAYER_SIZES = (2, 16, 16, 1)
L2_WEIGHT = 1e-4


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[list[tuple[float, float]], list[float]]:
    """Two interleaved half circles with Gaussian noise; labels are -1.0 and +1.0."""
    rng = random.Random(seed)
    n_top = n // 2
    n_bottom = n - n_top
    points = []
    for i in range(n_top):
        t = math.pi * i / max(n_top - 1, 1)
        points.append((math.cos(t), math.sin(t)))
    for i in range(n_bottom):
        t = math.pi * i / max(n_bottom - 1, 1)
        points.append((1.0 - math.cos(t), 0.5 - math.sin(t)))
    labels = [-1.0] * n_top + [1.0] * n_bottom
    noisy = [(x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)) for x, y in points]
    order = list(range(n))
    rng.shuffle(order)
    return [noisy[i] for i in order], [labels[i] for i in order]


def initial_weights(sizes: tuple[int, ...] = LAYER_SIZES, seed: int = 1) -> list[tuple[list[list[float]], list[float]]]:
    """Per layer (weights[out][in], biases[out]): weights uniform in [-1, 1], biases 0, as micrograd does."""
    rng = random.Random(seed)
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:], strict=False):
        weights = [[rng.uniform(-1.0, 1.0) for _ in range(n_in)] for _ in range(n_out)]
        layers.append((weights, [0.0] * n_out))
    return layers


# ---------------------------------------------------------------- (a) the training step


class Model:
    """An MLP made of `Value` leaves: relu on every layer but the last, as in micrograd's demo."""

    def __init__(self, Value: type, weights: list[tuple[list[list[float]], list[float]]]) -> None:
        self.layers = [([[Value(w) for w in row] for row in ws], [Value(b) for b in bs]) for ws, bs in weights]

    def parameters(self) -> list[Any]:
        params = []
        for ws, bs in self.layers:
            for row, b in zip(ws, bs, strict=True):
                params.extend(row)
                params.append(b)
        return params

    def __call__(self, x: list[Any]) -> Any:
        last = len(self.layers) - 1
        for i, (ws, bs) in enumerate(self.layers):
            # b + w0*x0 + w1*x1 + ... : the order micrograd's Neuron adds them in
            acts = [sum((w * xi for w, xi in zip(row, x, strict=True)), b) for row, b in zip(ws, bs, strict=True)]
            x = acts if i == last else [a.relu() for a in acts]
        return x[0]


def loss(Value: type, model: Model, points: list[tuple[float, float]], labels: list[float]) -> Any:
    """mean(relu(1 - y * score)) + 1e-4 * sum(p * p), written as micrograd's demo writes it."""
    inputs = [[Value(x0), Value(x1)] for x0, x1 in points]
    scores = [model(x) for x in inputs]
    losses = [(1 + -y * score).relu() for y, score in zip(labels, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = L2_WEIGHT * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def training_step(Value: type, model: Model, points, labels, learning_rate: float = 0.1) -> float:
    """One SGD step: build the loss graph, zero the gradients, backward, update. Returns the loss."""
    total = loss(Value, model, points, labels)
    params = model.parameters()
    for p in params:
        p.grad = 0.0
    total.backward()
    for p in params:
        p.data -= learning_rate * p.grad
    return total.data


# ---------------------------------------------------------------- (b) a deep chain, (c) a wide sum


def deep_chain(Value: type, n: int) -> tuple[Any, list[Any]]:
    """n operations in a row: v = v * a + b, alternating; returns (result, leaves)."""
    v, a, b = Value(0.5), Value(0.999), Value(0.001)
    for i in range(n):
        v = v * a if i % 2 == 0 else v + b
    return v, [a, b]


def wide_sum(Value: type, n: int) -> tuple[Any, list[Any]]:
    """About n operations side by side: n/2 products w_i * x_i added up as a balanced tree."""
    rng = random.Random(2)
    half = max(n // 2, 1)
    ws = [Value(rng.uniform(-1.0, 1.0)) for _ in range(half)]
    xs = [Value(rng.uniform(-1.0, 1.0)) for _ in range(half)]
    level = [w * x for w, x in zip(ws, xs, strict=True)]
    while len(level) > 1:
        paired = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0], ws + xs


def forward_backward(build: Callable[[type, int], tuple[Any, list[Any]]], Value: type, n: int) -> Any:
    """Build a graph with `build`, run backward, return its root (to keep the graph alive if wanted)."""
    root, _ = build(Value, n)
    root.backward()
    return root


def graph_nodes(root: Any, parents_of: Callable[[Any], Any]) -> int:
    """The number of distinct nodes of root's graph, counted without recursion."""
    seen = {id(root)}
    stack = [root]
    while stack:
        node = stack.pop()
        for p in parents_of(node):
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return len(seen)
