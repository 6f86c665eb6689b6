"""Backpropagation as textbooks write it, layer by layer, checked against the scalar graph.

For layer l = 1..L of an MLP, with a(0) = x and * element-wise:

    z(l) = W(l) a(l-1) + b(l)        a(l) = f(z(l))
    delta(L) = dL/da(L) * f'(z(L))
    delta(l) = (W(l+1)^T delta(l+1)) * f'(z(l))
    dL/dW(l) = delta(l) a(l-1)^T     dL/db(l) = delta(l)     (summed over the examples of a batch)

Every z and a is a node of chainrule's graph, so delta(l) = dL/dz(l) is the gradient of the node
before the activation that `loss.backward()` gives. This module traces the forward pass (`LayerTrace`)
and computes the backward pass aside, as every viewing tool does (`engine.see.viewed`: no `.grad`
changes); `backprop_report` reads those gradients, of the z and a nodes and of the parameters,
computes the same quantities by the recursion above (`nn.textbook`) from W, f' in closed form
and dL/da(L) (read from the graph), and checks every equation into a `LayerReport`: the largest difference, relative
to the sum of the magnitudes of the terms that made it, should be rounding (about 1e-16); any
above the tolerance is flagged.

>>> import nn
>>> model = nn.MLP(2, [3, 1], "tanh", seed=1)
>>> report = nn.backprop_report(model, [0.5, -1.0], nn.mse_loss, 0.25)
>>> report.agree
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

import engine
from engine import Value
from engine.see.viewed import viewed_pass

from .layerreport import LayerReport
from .layers import MLP
from .losses import l2_penalty
from .textbook import (  # noqa: F401  (the textbook's tables, known here before it had its own file)
    DERIVATIVES,
    FORMULAS,
    FUNCTIONS,
    Check,
    LayerData,
    _difference,
    textbook,
)

DEFAULT_TOLERANCE = 1e-12

# ---------------------------------------------------------------- the forward pass, keeping every z


class LayerTrace:
    """An MLP's forward pass on one example or a batch, keeping each layer's z and a nodes.

    `outputs` is what the model returns (a Value, or a list for several outputs), or a list of
    those for a batch; build a loss from it and pass the loss to `report()`.
    """

    def __init__(self, model: MLP, inputs: Sequence[Any]) -> None:
        if not isinstance(model, MLP):
            raise TypeError(f"backprop_report: expected an nn.MLP, got {type(model).__name__}")
        self.model = model
        self.batch, examples = _examples(inputs, model.nin)
        self.inputs: list[list[float]] = examples
        self.zs: list[list[list[Value]]] = []  # [example][layer][neuron]
        self.activations: list[list[list[Value]]] = []
        for i, x in enumerate(examples):
            a = [Value(xj, f"x{j}") if not self.batch else Value(xj, f"x{i}.{j}") for j, xj in enumerate(x)]
            zs, acts = [], []
            for layer in model.layers:
                z, a = layer.forward_with_preactivations(a)
                zs.append(z)
                acts.append(a)
            self.zs.append(zs)
            self.activations.append(acts)
        outs = [a[-1][0] if len(a[-1]) == 1 else list(a[-1]) for a in self.activations]
        self.outputs: Value | list[Value] | list[Value | list[Value]] = outs if self.batch else outs[0]

    def report(self, loss: Value, *, l2: float = 0.0, tolerance: float = DEFAULT_TOLERANCE) -> LayerReport:
        """Compute loss's backward pass (aside) and compare the graph's gradients with the textbook equations.

        `loss` must reach the parameters only through `outputs`; for an L2 penalty pass `l2=alpha`
        instead of adding it (it is added here, and the textbook dL/dW gets its 2 * alpha * W).
        No `.grad` changes, of the parameters or of any other node.
        """
        return _report(self, loss, l2, tolerance)


def _examples(inputs: Any, nin: int) -> tuple[bool, list[list[float]]]:
    """(is a batch, the examples as lists of floats): a list of lists is a batch, anything else one example."""
    if isinstance(inputs, (Value, Real)) and not isinstance(inputs, bool):
        inputs = [inputs]
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence) or len(inputs) == 0:
        raise TypeError(f"backprop_report: inputs must be one example (a list of {nin} numbers) or a list of examples")
    batch = isinstance(inputs[0], Sequence) and not isinstance(inputs[0], (str, bytes))
    examples = []
    for i, x in enumerate(inputs if batch else [inputs]):
        where = f"example {i}" if batch else "the example"
        if isinstance(x, (str, bytes)) or not isinstance(x, Sequence) or len(x) != nin:
            raise ValueError(f"backprop_report: {where} must be a list of {nin} numbers, got {x!r}")
        row = []
        for j, xj in enumerate(x):
            xj = xj.data if isinstance(xj, Value) else xj
            if isinstance(xj, bool) or not isinstance(xj, Real):
                raise TypeError(f"backprop_report: input {j} of {where} must be a number, got {xj!r}")
            row.append(float(xj))
        examples.append(row)
    return batch, examples


def trace_layers(model: MLP, inputs: Sequence[Any]) -> LayerTrace:
    """The model's forward pass on `inputs` (one example, or a list of examples) with every z kept."""
    return LayerTrace(model, inputs)


def backprop_report(
    model: MLP,
    inputs: Sequence[Any],
    loss: Callable[..., Value],
    targets: Any = None,
    *,
    l2: float = 0.0,
    tolerance: float = DEFAULT_TOLERANCE,
) -> LayerReport:
    """The layer view of one backward pass: loss(outputs, targets) (or loss(outputs) without targets).

    `inputs` is one example (a list of numbers) or a list of examples; `outputs` is what the model
    returns for it (a list of those for a batch), so nn's losses fit: `nn.mse_loss`, `nn.hinge_loss`,
    `nn.bce_with_logits`, `nn.cross_entropy`. `l2=alpha` adds `nn.l2_penalty(model.parameters(), alpha)`.
    """
    trace = LayerTrace(model, inputs)
    value = loss(trace.outputs) if targets is None else loss(trace.outputs, targets)
    if type(value) is not Value:
        raise TypeError(f"backprop_report: the loss function must return a Value, got {type(value).__name__}")
    return trace.report(value, l2=l2, tolerance=tolerance)


# ---------------------------------------------------------------- the graph's side


def _check_parameters_only_in_forward(trace: LayerTrace, loss: Value, penalty: Value | None) -> None:
    """Refuse a loss that uses a parameter or an inner layer node other than through the traced outputs."""
    outputs = {v for example in trace.activations for v in example[-1]}
    forward: set[Value] = set()
    for out in outputs:
        if out not in forward:
            forward.update(engine.topological_order(out))
    allowed = set(engine.topological_order(penalty)) if penalty is not None else set()
    parameters = {p: name for name, p in trace.model.named_parameters()}
    reached = loss in outputs
    for node in engine.topological_order(loss):
        if node in forward or node in allowed:
            continue
        for parent in node.parents:
            if parent in parameters:
                raise ValueError(
                    f"backprop_report: the loss uses parameter {parameters[parent]} outside the network "
                    f"(in a {node.op!r} node), so its gradient is not delta a^T; leave that term out "
                    f"(for an L2 penalty pass l2=alpha)"
                )
            if parent in forward and parent not in outputs:
                raise ValueError(
                    f"backprop_report: the loss uses an inner node of the network (in a {node.op!r} node); "
                    f"it must be a function of the outputs only"
                )
            reached = reached or parent in outputs
    if not reached:
        raise ValueError("backprop_report: the loss does not use this trace's outputs")


def _report(trace: LayerTrace, loss: Value, l2: float, tolerance: float) -> LayerReport:
    if type(loss) is not Value:
        raise TypeError(f"backprop_report: the loss must be a Value, got {type(loss).__name__}")
    if isinstance(l2, bool) or not isinstance(l2, Real) or not l2 >= 0.0:
        raise ValueError(f"backprop_report: l2 must be a number >= 0, got {l2!r}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, Real) or not tolerance >= 0.0:
        raise ValueError(f"backprop_report: tolerance must be a number >= 0, got {tolerance!r}")
    model = trace.model
    penalty = l2_penalty(model.parameters(), l2) if l2 else None
    total = loss + penalty if penalty is not None else loss
    _check_parameters_only_in_forward(trace, total, penalty)

    grads = viewed_pass(total, who="backprop_report").grads  # what backward() gives, from zero, into a dict

    def grad(v: Value) -> float:
        return grads.get(v, 0.0)

    dW_graph = [[[grad(w) for w in n.w] for n in layer.neurons] for layer in model.layers]
    db_graph = [[grad(n.b) for n in layer.neurons] for layer in model.layers]
    layers, checks = textbook(
        model, trace.inputs, trace.zs, trace.activations, dW_graph, db_graph, float(l2), tolerance, grad
    )
    sizes = [model.nin] + [layer.nout for layer in model.layers]
    return LayerReport(sizes, trace.inputs, trace.batch, total.data, float(l2), layers, checks, tolerance)
