"""A digits-size classifier step: 64 inputs, 10 classes, mini-batches, cross-entropy and Adam.

The size the digits demo needs: an MLP 64-32-10 (relu, then linear logits) on mini-batches of
32 examples, softmax cross-entropy, Adam; about 154,000 nodes a step. The data are made here
(ten random 8x8 "prototype" images in [0, 1] and noisy copies of them), so nothing is
downloaded; a step's cost depends only on the sizes.

Two ways to write the step:

* `SharedStep`: written once for any micrograd-like `Value` class, as `workloads` is, with
  `exp` and `log` passed in (micrograd 0.1.0 has neither: `micrograd_exp`/`micrograd_log` add
  them the way micrograd writes an operation, a closure per node). Cross-entropy is
  log(sum_j e**z_j) - sum_j t_j z_j with one-hot targets t given as numbers, so the graph's
  shape does not depend on the labels (engine.compile can replay it with the batch as
  arguments). The logits stay small (|z| < 50), so e**z needs no shift.
* `NNStep`: what a chainrule user writes with `nn`: `MLP`, `cross_entropy` (class indices) and
  `Adam`.

Each keeps the previous step's loss alive while the next is built, as a training loop that
rebinds `loss = ...` does.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from benchmarks import workloads

SIZES = (64, 32, 10)
BATCH = 32
EXAMPLES = 320
LEARNING_RATE = 1e-3


def make_digits(
    n: int = EXAMPLES, inputs: int = 64, classes: int = 10, seed: int = 3
) -> tuple[list[list[float]], list[int]]:
    """n noisy copies of `classes` random prototype images in [0, 1]; labels 0..classes-1."""
    rng = random.Random(seed)
    prototypes = [[rng.random() for _ in range(inputs)] for _ in range(classes)]
    xs, ys = [], []
    for i in range(n):
        k = i % classes
        xs.append([min(1.0, max(0.0, p + rng.gauss(0.0, 0.2))) for p in prototypes[k]])
        ys.append(k)
    return xs, ys


def batches(xs: list[list[float]], ys: list[int], size: int) -> list[tuple[list[list[float]], list[int]]]:
    """The examples cut into consecutive mini-batches of `size` (the last partial one dropped)."""
    return [(xs[i : i + size], ys[i : i + size]) for i in range(0, len(xs) - size + 1, size)]


def initial_weights(sizes: tuple[int, ...] = SIZES) -> list[tuple[list[list[float]], list[float]]]:
    """Weights uniform in [-b, b], b = 1/sqrt(fan-in), biases 0 (keeps the logits small)."""
    layers = workloads.initial_weights(sizes, seed=4)
    return [([[w / math.sqrt(len(row)) for w in row] for row in ws], bs) for ws, bs in layers]


def flat(layers: list[tuple[list[list[float]], list[float]]]) -> list[float]:
    """Every weight and bias in the order the models list their parameters (per neuron: w..., b)."""
    return [w for ws, bs in layers for row, b in zip(ws, bs, strict=True) for w in [*row, b]]


def one_hot(k: int, classes: int) -> list[float]:
    return [1.0 if j == k else 0.0 for j in range(classes)]


class Adam:
    """Adam on `.data` from `.grad` (beta1 0.9, beta2 0.999, eps 1e-8), as nn.optim.Adam computes it."""

    def __init__(self, params: list[Any], lr: float = LEARNING_RATE) -> None:
        self.params, self.lr, self.t = params, lr, 0
        self.m = [0.0] * len(params)
        self.v = [0.0] * len(params)

    def step(self) -> None:
        self.t += 1
        b1, b2 = 0.9, 0.999
        step_size = self.lr / (1.0 - b1**self.t)
        root = math.sqrt(1.0 - b2**self.t)
        for i, p in enumerate(self.params):
            g = float(p.grad)
            self.m[i] = m = b1 * self.m[i] + (1.0 - b1) * g
            self.v[i] = v = b2 * self.v[i] + (1.0 - b2) * g * g
            p.data -= step_size * m / (math.sqrt(v) / root + 1e-8)


# ---------------------------------------------------------------- exp and log for each engine


def value_exp(x: Any) -> Any:
    """e**x for a chainrule Value (a plain function: engine.compile's closure check watches it)."""
    return x.exp()


def value_log(x: Any) -> Any:
    """log(x) for a chainrule Value."""
    return x.log()


def micrograd_exp(x: Any) -> Any:
    """e**x for a micrograd Value, written as micrograd writes its operations."""
    out = type(x)(math.exp(x.data), (x,), "exp")

    def _backward() -> None:
        x.grad += out.data * out.grad

    out._backward = _backward
    return out


def micrograd_log(x: Any) -> Any:
    """log(x) for a micrograd Value, written as micrograd writes its operations."""
    out = type(x)(math.log(x.data), (x,), "log")

    def _backward() -> None:
        x.grad += out.grad / x.data

    out._backward = _backward
    return out


# ---------------------------------------------------------------- the step written once for both engines


class Net:
    """An MLP of `Value` leaves: relu on every layer but the last; returns every output."""

    def __init__(self, Value: type, weights: list[tuple[list[list[float]], list[float]]]) -> None:
        self.model = workloads.Model(Value, weights)

    def parameters(self) -> list[Any]:
        return self.model.parameters()

    def __call__(self, x: list[Any]) -> list[Any]:
        layers = self.model.layers
        for i, (ws, bs) in enumerate(layers):
            acts = [sum((w * xi for w, xi in zip(row, x, strict=True)), b) for row, b in zip(ws, bs, strict=True)]
            x = acts if i == len(layers) - 1 else [a.relu() for a in acts]
        return x


def shared_loss(
    Value: type, exp: Callable, log: Callable, net: Net, xs: list[list[float]], targets: list[list[float]]
) -> Any:
    """mean_i log(sum_j e**z_ij) - sum_j t_ij z_ij, z_i = net(x_i), t_i one-hot."""
    losses = []
    for x, t in zip(xs, targets, strict=True):
        z = net([xi if isinstance(xi, Value) else Value(xi) for xi in x])  # compile passes Values
        total = sum((exp(zj) for zj in z[1:]), exp(z[0]))
        picked = sum((tj * zj for tj, zj in zip(t[1:], z[1:], strict=True)), t[0] * z[0])
        losses.append(log(total) - picked)
    return sum(losses[1:], losses[0]) * (1.0 / len(losses))


class SharedStep:
    """The classifier step on any micrograd-like engine; `compiled` replays it with engine.compile."""

    def __init__(
        self,
        Value: type,
        exp: Callable,
        log: Callable,
        batches: list,
        compiled: bool = False,
        sizes: tuple[int, ...] = SIZES,
    ) -> None:
        self.Value, self.exp, self.log = Value, exp, log
        self.batches = [(xs, [one_hot(k, sizes[-1]) for k in ys]) for xs, ys in batches]
        self.net = Net(Value, initial_weights(sizes))
        self.params = self.net.parameters()
        self.optimizer = Adam(self.params)
        self.k = 0
        self.loss: Any = None  # the previous step's graph, kept alive
        self.compiled: Any = None
        if compiled:
            from engine import compile

            net = self.net  # fn reads only what stays the same between calls

            def fn(xs: list, ts: list) -> Any:
                return shared_loss(Value, exp, log, net, xs, ts)

            self.compiled = compile(fn)

    def record(self) -> None:
        """Make engine.compile record the graph (on the first batch), leaving parameters and gradients as they were."""
        self.compiled(*self.batches[0])
        for p in self.params:
            p.grad = 0.0

    def step(self) -> float:
        xs, ts = self.batches[self.k % len(self.batches)]
        self.k += 1
        for p in self.params:
            p.grad = 0.0
        if self.compiled is not None:
            loss = self.compiled(xs, ts)
        else:
            self.loss = shared_loss(self.Value, self.exp, self.log, self.net, xs, ts)
            self.loss.backward()
            loss = self.loss.data
        self.optimizer.step()
        return float(loss)

    def close(self) -> None:
        self.loss = None


class NNStep:
    """The classifier step as a chainrule user writes it with nn: MLP, cross_entropy, Adam."""

    def __init__(self, batches: list, sizes: tuple[int, ...] = SIZES) -> None:
        from nn import MLP
        from nn.optim import Adam as NNAdam

        self.batches = batches
        self.model = MLP(sizes[0], list(sizes[1:]))
        for p, w in zip(self.model.parameters(), flat(initial_weights(sizes)), strict=True):
            p.data = w
        self.optimizer = NNAdam(self.model.parameters(), lr=LEARNING_RATE)
        self.k = 0
        self.loss: Any = None  # the previous step's graph, kept alive

    def step(self) -> float:
        from nn.losses import cross_entropy

        xs, ys = self.batches[self.k % len(self.batches)]
        self.k += 1
        self.loss = cross_entropy([self.model(x) for x in xs], ys)
        self.optimizer.zero_grad()
        self.loss.backward()
        self.optimizer.step()
        return float(self.loss.data)

    def close(self) -> None:
        self.loss = None
