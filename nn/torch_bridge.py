"""The same network in PyTorch: an `MLP` to a `torch.nn.Sequential` and back, every weight to the last bit.

    to_torch(model)     torch.nn.Sequential(Linear, activation, Linear, ...) in float64
    from_torch(module, MLP)  an nn.MLP with the module's weights (a Sequential of Linear layers, each
                        followed by at most one of ReLU, Tanh, Sigmoid or Identity; or one Linear)

Layer l's Linear has weight[k][j] = layers[l].neurons[k].w[j] and bias[k] = layers[l].neurons[k].b,
so module(x) computes what model(x) does (as a tensor of shape (..., nout), also for one output).
Float64 holds every float exactly, so MLP -> torch -> MLP gives back the same bits; float32 or
float16 weights are widened exactly. PyTorch is optional: `INSTALL_HINT` says how to install it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .activations import ACTIVATIONS, LINEAR
from .module import Module

M = TypeVar("M", bound=Module)

# The one install hint: PyTorch's CPU build (the default Linux build pulls about 2.9 GB of CUDA wheels).
INSTALL_COMMAND = "pip install torch --index-url https://download.pytorch.org/whl/cpu"
INSTALL_HINT = f"{INSTALL_COMMAND} (PyTorch's CPU build)"


def import_torch(who: str) -> Any:
    """The torch module, or an ImportError that says how to install it."""
    try:
        import torch
    except ImportError:
        raise ImportError(f"{who} needs PyTorch, which is not installed: {INSTALL_HINT}") from None
    return torch


def _activation_modules(torch: Any) -> dict[str, Any]:
    """{activation: torch.nn's module for it}, found by the operation's name (relu -> torch.nn.ReLU)."""
    classes = {name.lower(): cls for name, cls in vars(torch.nn).items() if isinstance(cls, type)}
    return {name: classes[name] for name in ACTIVATIONS if name != LINEAR}


def to_torch(model: Any) -> Any:
    """A float64 torch.nn.Sequential computing what `model` (an nn.MLP) computes, with the same weights."""
    torch = import_torch("MLP.to_torch")
    if not isinstance(model, Module) or not hasattr(model, "layers"):
        raise TypeError(f"to_torch: expected an nn.MLP, got {type(model).__name__}")
    activations = _activation_modules(torch)
    modules = []
    for layer in model.layers:
        linear = torch.nn.Linear(layer.nin, layer.nout, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64))
            linear.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64))
        modules.append(linear)
        if layer.activation != "linear":
            modules.append(activations[layer.activation]())
    return torch.nn.Sequential(*modules)


def _layers_of(module: Any, torch: Any) -> list[tuple[Any, str]]:
    """[(Linear, activation name)] of a Sequential (or a lone Linear), or a ValueError/TypeError saying why not."""
    names = {cls: name for name, cls in _activation_modules(torch).items()}
    names[torch.nn.Identity] = LINEAR
    if isinstance(module, torch.nn.Linear):
        return [(module, "linear")]
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(
            f"from_torch: expected a torch.nn.Sequential of Linear layers and activations (or one Linear), "
            f"got {type(module).__name__}"
        )
    layers: list[tuple[Any, str]] = []
    activation_set = False
    for i, child in enumerate(module):
        kind = type(child)
        if kind is torch.nn.Linear:
            layers.append((child, "linear"))
            activation_set = False
        elif kind in names:
            if not layers:
                raise ValueError(f"from_torch: module {i} ({kind.__name__}) comes before any Linear layer")
            if activation_set:
                raise ValueError(
                    f"from_torch: module {i} ({kind.__name__}) is a second activation after one Linear layer; "
                    f"an MLP layer has one activation"
                )
            layers[-1] = (layers[-1][0], names[kind])
            activation_set = True
        else:
            raise TypeError(
                f"from_torch: module {i} is a {kind.__name__}, which an nn.MLP does not have "
                f"(it has {', '.join(['Linear', *(cls.__name__ for cls in names)])})"
            )
    if not layers:
        raise ValueError("from_torch: the Sequential has no Linear layer")
    return layers


def from_torch(module: Any, mlp: Callable[..., M]) -> M:
    """An `mlp` (nn.MLP) with the weights and activations of `module` (see the module docstring for what fits)."""
    torch = import_torch("MLP.from_torch")
    layers = _layers_of(module, torch)
    for i, (linear, _) in enumerate(layers):
        if linear.bias is None:
            raise ValueError(f"from_torch: Linear layer {i} has no bias (bias=False); every nn.Neuron has one")
        if not linear.weight.dtype.is_floating_point:  # torch's floats are at most 64 bits: widening is exact
            raise TypeError(f"from_torch: Linear layer {i} has {linear.weight.dtype} weights; expected floats")
        if i and linear.in_features != layers[i - 1][0].out_features:
            raise ValueError(
                f"from_torch: Linear layer {i} takes {linear.in_features} inputs but layer {i - 1} "
                f"gives {layers[i - 1][0].out_features}"
            )
    hidden = {activation for _, activation in layers[:-1]}
    if len(hidden) > 1:
        raise ValueError(
            f"from_torch: the hidden layers use different activations ({', '.join(a for _, a in layers[:-1])}); "
            f"an nn.MLP has one activation for all hidden layers"
        )
    model = mlp(
        layers[0][0].in_features,
        [linear.out_features for linear, _ in layers],
        hidden.pop() if hidden else "relu",
        output_activation=layers[-1][1],
        seed=0,  # any weights: they are all replaced below, and Python's random module is left alone
    )
    state = {}
    for i, (linear, _) in enumerate(layers):
        weight = linear.weight.detach().to(torch.float64).tolist()
        bias = linear.bias.detach().to(torch.float64).tolist()
        for k, (row, b) in enumerate(zip(weight, bias, strict=True)):
            for j, w in enumerate(row):
                state[f"layers.{i}.neurons.{k}.w.{j}"] = w
            state[f"layers.{i}.neurons.{k}.b"] = b
    model.load_state_dict(state)
    return model
