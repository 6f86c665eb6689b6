"""Neurons, layers and multi-layer perceptrons, every weight a `Value`.

    neuron(x) = activation(b + w[0]*x[0] + w[1]*x[1] + ... + w[nin-1]*x[nin-1])

Weights start uniform in [-bound, bound] with bound = gain * sqrt(3 / nin), so each weighted
sum has variance gain**2 * mean(x**2) whatever the fan-in (gain sqrt(2) before relu, else 1);
biases start at 0. With `init="micrograd"` the bound is 1, as micrograd 0.1.0 draws them: one
`random.uniform(-1, 1)` per weight, in the same order, so that `random.seed(1337)` before
building gives micrograd's very weights. Without `seed`, the numbers come from Python's `random`
module, so `random.seed(1337)` before building a model makes a run reproducible (as in micrograd). With
`seed` (an int, or a `random.Random` to draw from) the model has its own stream and leaves
`random` alone. A layer hands its generator to its neurons in turn.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from numbers import Real
from typing import Any, Union

from engine import Value, pause_gc

from .activations import ACTIVATIONS, check_activation
from .module import Module
from .torch_bridge import from_torch, to_torch

Seed = Union[int, random.Random, None]  # noqa: UP007 (a runtime alias that must work on 3.10)
Input = Union[Value, float, int]  # noqa: UP007

GAINS = {"relu": math.sqrt(2.0)}


def _generator(seed: Seed, who: str) -> random.Random | None:
    """The generator to draw from; None stands for the `random` module's own."""
    if seed is None or isinstance(seed, random.Random):
        return seed
    if isinstance(seed, int) and not isinstance(seed, bool):
        return random.Random(seed)
    got = f"{type(seed).__name__} {seed!r}"
    raise TypeError(f"{who}: seed must be an int or a random.Random (or None: Python's random module), got {got}")


INITS = ("scaled", "micrograd")  # bound = gain * sqrt(3 / nin), or micrograd's bound of 1


def _bound(init: str, activation: str, nin: int, who: str) -> float:
    """The weights' bound: gain * sqrt(3 / nin) for init="scaled", 1 for init="micrograd"."""
    if init not in INITS:
        raise ValueError(
            f"{who}: init must be 'scaled' (the default) or 'micrograd' (uniform in [-1, 1]), got {init!r}"
        )
    return 1.0 if init == "micrograd" else GAINS.get(activation, 1.0) * math.sqrt(3.0 / nin)


def _size(n: int, what: str, who: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{who}: {what} must be a positive int, got {n!r}")
    return n


def _as_inputs(x: Sequence[Input] | Input, nin: int, who: str) -> list[Value]:
    """Check that x holds nin numbers or Values and return them as Values.

    A number x[i] becomes a leaf labelled `x{i}`, so pictures and tables show it as an input
    (an unlabelled leaf would look like a constant); a Value is used as it is.
    """
    if nin == 1 and isinstance(x, (Value, Real)):
        x = [x]
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        raise TypeError(f"{who}: expected a list of {nin} inputs (numbers or Values), got {type(x).__name__}")
    if len(x) != nin:
        raise ValueError(f"{who}: expected {nin} input{'s' if nin != 1 else ''}, got {len(x)}")
    values = []
    for i, xi in enumerate(x):
        if type(xi) is not Value:
            if not isinstance(xi, Real):
                raise TypeError(f"{who}: input {i} must be a number or a Value, got {type(xi).__name__} {xi!r}")
            xi = Value(xi, f"x{i}")
        values.append(xi)
    return values


def _nonlin(activation: str, nonlin: bool | None, who: str) -> str:
    """micrograd's `nonlin=True` (relu) or `nonlin=False` (linear), else the activation as given."""
    if nonlin is None:
        return activation
    if not isinstance(nonlin, bool):
        raise TypeError(f"{who}: nonlin (micrograd's switch) must be True (relu) or False (linear), got {nonlin!r}")
    if activation != "relu":
        raise ValueError(f"{who}: give activation={activation!r} or micrograd's nonlin={nonlin!r}, not both")
    return "relu" if nonlin else "linear"


class Neuron(Module):
    """activation(b + sum_i w[i] * x[i]): `nin` weights `w` and a bias `b`.

    micrograd's `Neuron(nin, nonlin=False)` works too: `nonlin=True` is relu, `nonlin=False` linear.
    """

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        *,
        seed: Seed = None,
        nonlin: bool | None = None,
        init: str = "scaled",
    ) -> None:
        self.nin = _size(nin, "nin", "Neuron")
        activation = _nonlin(activation, nonlin, "Neuron")
        self.activation = check_activation(activation, "Neuron")
        rng = _generator(seed, "Neuron")
        uniform = random.uniform if rng is None else rng.uniform
        bound = _bound(init, activation, nin, "Neuron")
        self.w = [Value(uniform(-bound, bound)) for _ in range(nin)]
        self.b = Value(0.0)
        self._apply = ACTIVATIONS[activation]
        self.label_parameters()

    @pause_gc()  # the graph it builds has no cycles: see engine.collector
    def __call__(self, x: Sequence[Input] | Input) -> Value:
        return self.forward(_as_inputs(x, self.nin, "Neuron"))

    def forward(self, x: list[Value]) -> Value:
        """The output for inputs already checked and made Values (what a Layer passes on)."""
        total = self.b  # start from the bias: no extra constant node in the sum
        for wi, xi in zip(self.w, x, strict=True):
            total = total + wi * xi
        return total if self._apply is None else self._apply(total)

    def preactivation(self, x: list[Value]) -> Value:
        """z = b + w[0]*x[0] + ... + w[nin-1]*x[nin-1], the node before the activation (d z/d w[i] = x[i]).

        The same nodes as `forward` builds before its activation; forward repeats these lines
        instead of calling this, to keep a training step free of one call per neuron.
        """
        total = self.b
        for wi, xi in zip(self.w, x, strict=True):
            total = total + wi * xi
        return total

    def activate(self, z: Value) -> Value:
        """a = activation(z); for 'linear' z itself (no node is added)."""
        return z if self._apply is None else self._apply(z)

    def extra_repr(self) -> str:
        return f"nin={self.nin}, activation={self.activation!r}"

    # pickle and copy.deepcopy: the activation is kept by its name and found again on the way back
    def __getstate__(self) -> dict[str, Any]:
        return {name: item for name, item in vars(self).items() if name != "_apply"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._apply = ACTIVATIONS[check_activation(self.activation, "Neuron")]


class Layer(Module):
    """`nout` neurons reading the same `nin` inputs; calling it always returns a list of `nout` Values."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        *,
        seed: Seed = None,
        nonlin: bool | None = None,
        init: str = "scaled",
    ) -> None:
        self.nin = _size(nin, "nin", "Layer")
        self.nout = _size(nout, "nout", "Layer")
        activation = _nonlin(activation, nonlin, "Layer")
        self.activation = check_activation(activation, "Layer")
        rng = _generator(seed, "Layer")
        _bound(init, activation, nin, "Layer")
        self.neurons = [Neuron(nin, activation, seed=rng, init=init) for _ in range(nout)]
        self.label_parameters()

    @pause_gc()  # the graph it builds has no cycles: see engine.collector
    def __call__(self, x: Sequence[Input] | Input) -> list[Value]:
        return self.forward(_as_inputs(x, self.nin, "Layer"))

    def forward(self, x: list[Value]) -> list[Value]:
        """The outputs for inputs already checked and made Values."""
        return [n.forward(x) for n in self.neurons]

    def forward_with_preactivations(self, x: list[Value]) -> tuple[list[Value], list[Value]]:
        """(z, a): each neuron's node before its activation and its output, the same graph `forward` builds."""
        zs = [n.preactivation(x) for n in self.neurons]
        return zs, [n.activate(z) for n, z in zip(self.neurons, zs, strict=True)]

    def extra_repr(self) -> str:
        return f"nin={self.nin}, nout={self.nout}, activation={self.activation!r}"

    def __repr__(self) -> str:
        return f"Layer({self.extra_repr()})"  # one line: its neurons are all alike


class MLP(Module):
    """Layers in a row: sizes nin -> nouts[0] -> ... -> nouts[-1].

    Hidden layers use `activation`; the last layer uses `output_activation` (linear unless
    asked). Returns a single Value when the last layer has one neuron, else a list.
    `init="micrograd"`: the weights micrograd 0.1.0 would draw (uniform in [-1, 1]), else scaled.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        *,
        output_activation: str = "linear",
        seed: Seed = None,
        init: str = "scaled",
    ) -> None:
        self.nin = _size(nin, "nin", "MLP")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"MLP: nouts must be a non-empty list of layer sizes, got {nouts!r}")
        sizes = [nin] + [_size(n, f"layer size {i}", "MLP") for i, n in enumerate(nouts)]
        check_activation(activation, "MLP")
        check_activation(output_activation, "MLP")
        rng = _generator(seed, "MLP")
        _bound(init, activation, nin, "MLP")
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < last else output_activation, seed=rng, init=init)
            for i in range(len(nouts))
        ]
        self.label_parameters()

    @pause_gc()  # the graph it builds has no cycles: see engine.collector
    def __call__(self, x: Sequence[Input] | Input) -> Value | list[Value]:
        out = _as_inputs(x, self.nin, "MLP")
        for layer in self.layers:
            out = layer.forward(out)
        return out[0] if len(out) == 1 else out

    def to_torch(self) -> Any:
        """The same network as a float64 torch.nn.Sequential (needs PyTorch: nn.torch_bridge.INSTALL_HINT)."""
        return to_torch(self)

    @classmethod
    def from_torch(cls, module: Any) -> MLP:
        """An MLP with the weights of a torch.nn.Sequential of Linear layers and ReLU/Tanh/Sigmoid/Identity."""
        return from_torch(module, cls)
