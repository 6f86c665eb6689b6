"""The activations a layer may use: engine operations of one input, each known by its own name.

    ACTIVATIONS = {"linear": None, "relu": Value.relu, "sigmoid": Value.sigmoid, "tanh": Value.tanh}

"linear" is no operation (a = z, no node is added). Every other entry is read off the engine's
`Operation`: the operation's name is the key and its method on `Value` what a neuron applies; the
same name finds PyTorch's module for it (`torch.nn.ReLU` for relu) in `nn.torch_bridge`. To offer
one more activation, add its operation to OPERATIONS. (The layer report's textbook formulas in
`nn.textbook` are written out again on purpose: they are the independent side of its check.)
"""

from __future__ import annotations

from collections.abc import Callable

import engine
from engine import Operation, Value

LINEAR = "linear"
OPERATIONS: tuple[Operation, ...] = (engine.relu, engine.sigmoid, engine.tanh)
ACTIVATIONS: dict[str, Callable[[Value], Value] | None] = {
    LINEAR: None,
    **{op.name: getattr(Value, op.name) for op in OPERATIONS},
}


def check_activation(name: str, who: str) -> str:
    """`name` if it is an activation, else a ValueError naming `who` and the known ones."""
    if name not in ACTIVATIONS:
        known = ", ".join(repr(k) for k in ACTIVATIONS)
        raise ValueError(f"{who}: unknown activation {name!r}; known activations: {known}")
    return name
