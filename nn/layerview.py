"""Backpropagation as textbooks write it, layer by layer, checked against the scalar graph.

For layer l = 1..L of an MLP, with a(0) = x and * element-wise:

    z(l) = W(l) a(l-1) + b(l)        a(l) = f(z(l))
    delta(L) = dL/da(L) * f'(z(L))
    delta(l) = (W(l+1)^T delta(l+1)) * f'(z(l))
    dL/dW(l) = delta(l) a(l-1)^T     dL/db(l) = delta(l)     (summed over the examples of a batch)

Every z and a is a node of chainrule's graph, so delta(l) = dL/dz(l) is the `.grad` of the node
before the activation after `loss.backward()`. `backprop_report` reads those gradients and the
parameters' `.grad`, computes the same quantities by the recursion above from W, f' in closed form
and dL/da(L) (read from the graph), and checks every equation: the largest difference, relative
to the sum of the magnitudes of the terms that made it, should be rounding (about 1e-16); any
above the tolerance is flagged.

>>> import nn
>>> model = nn.MLP(2, [3, 1], "tanh", seed=1)
>>> report = nn.backprop_report(model, [0.5, -1.0], nn.mse_loss, 0.25)
>>> report.agree
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

import engine
from engine import Value

from .layers import MLP
from .losses import l2_penalty

DEFAULT_TOLERANCE = 1e-12


def _sigmoid(z: float) -> float:
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# f(z) and f'(z) in closed form, as a textbook writes them (f' may use a = f(z)); relu'(0) = 0 as in the engine.
FUNCTIONS: dict[str, Callable[[float], float]] = {
    "linear": lambda z: z,
    "relu": lambda z: z if z > 0.0 else 0.0,
    "tanh": math.tanh,
    "sigmoid": _sigmoid,
}
DERIVATIVES: dict[str, Callable[[float, float], float]] = {
    "linear": lambda z, a: 1.0,
    "relu": lambda z, a: 1.0 if z > 0.0 else 0.0,
    "tanh": lambda z, a: 1.0 - a * a,
    "sigmoid": lambda z, a: a * (1.0 - a),
}
FORMULAS = {
    "linear": "f'(z) = 1",
    "relu": "f'(z) = 1 if z > 0 else 0",
    "tanh": "f'(z) = 1 - a**2",
    "sigmoid": "f'(z) = a * (1 - a)",
}


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
        """Run loss.backward() and compare the graph's gradients with the textbook equations.

        `loss` must reach the parameters only through `outputs`; for an L2 penalty pass `l2=alpha`
        instead of adding it (it is added here, and the textbook dL/dW gets its 2 * alpha * W).
        The parameters' `.grad` are left as they were.
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


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class Check:
    """One equation of one layer: the largest difference between the graph and the textbook."""

    equation: str
    layer: int
    max_abs_diff: float
    max_rel_diff: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_rel_diff <= self.tolerance

    def to_dict(self) -> dict[str, Any]:
        return {
            "equation": self.equation,
            "layer": self.layer,
            "max_abs_diff": self.max_abs_diff,
            "max_rel_diff": self.max_rel_diff,
            "ok": self.ok,
        }


@dataclass
class LayerData:
    """Everything about layer l (1-based): lists indexed [example][neuron], or [neuron][input] for W."""

    index: int
    activation: str
    W: list[list[float]]
    b: list[float]
    z: list[list[float]]
    a: list[list[float]]
    fprime: list[list[float]]
    dL_da: list[list[float]]
    delta_graph: list[list[float]]
    delta_textbook: list[list[float]]
    dW_graph: list[list[float]]
    dW_textbook: list[list[float]]
    db_graph: list[float]
    db_textbook: list[float]

    def to_dict(self) -> dict[str, Any]:
        return {name: _plain(getattr(self, name)) for name in self.__dataclass_fields__}


def _plain(x: Any) -> Any:
    return [_plain(item) for item in x] if isinstance(x, list) else x


class LayerReport:
    """The layer view of a backward pass: per layer z, a, f'(z), delta (graph and textbook), dL/dW, dL/db.

    `str(report)` is a table; `report.data` (or `to_dict()`) the same numbers as plain lists;
    `report.checks` the equations with their largest differences; `report.agree` whether all are
    within the tolerance. `to_dot()`, `draw()` and `save(path)` make a picture of the network.
    """

    def __init__(
        self,
        sizes: list[int],
        inputs: list[list[float]],
        batch: bool,
        loss: float,
        l2: float,
        layers: list[LayerData],
        checks: list[Check],
        tolerance: float,
    ) -> None:
        self.sizes = sizes
        self.inputs = inputs
        self.batch = batch
        self.loss = loss
        self.l2 = l2
        self.layers = layers
        self.checks = checks
        self.tolerance = tolerance

    @property
    def examples(self) -> int:
        return len(self.inputs)

    @property
    def flagged(self) -> list[Check]:
        """The checks whose difference is above the tolerance."""
        return [c for c in self.checks if not c.ok]

    @property
    def agree(self) -> bool:
        """True when every equation holds on the graph's numbers to within the tolerance."""
        return not self.flagged

    @property
    def max_rel_diff(self) -> float:
        return max(c.max_rel_diff for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """The report's numbers as plain dicts, lists and floats (JSON-ready)."""
        return {
            "sizes": list(self.sizes),
            "activations": [layer.activation for layer in self.layers],
            "inputs": _plain(self.inputs),
            "examples": self.examples,
            "loss": self.loss,
            "l2": self.l2,
            "tolerance": self.tolerance,
            "layers": [layer.to_dict() for layer in self.layers],
            "checks": [c.to_dict() for c in self.checks],
            "max_rel_diff": self.max_rel_diff,
            "agree": self.agree,
        }

    @property
    def data(self) -> dict[str, Any]:
        """Same as to_dict()."""
        return self.to_dict()

    def summary(self) -> str:
        """One line: whether the textbook equations and the scalar graph agree, and by how much."""
        if self.agree:
            return (
                f"textbook and scalar graph agree: {len(self.checks)} checks, largest relative difference "
                f"{_diff(self.max_rel_diff)} (tolerance {self.tolerance:g})"
            )
        worst = max(self.flagged, key=lambda c: c.max_rel_diff)
        return (
            f"textbook and scalar graph DISAGREE: {len(self.flagged)} of {len(self.checks)} checks above "
            f"{self.tolerance:g}, the worst {_diff(worst.max_rel_diff)} in {worst.equation}"
        )

    def __str__(self) -> str:
        return _text(self)

    def __repr__(self) -> str:
        shape = "-".join(str(s) for s in self.sizes)
        activations = ", ".join(layer.activation for layer in self.layers)
        return (
            f"<LayerReport MLP {shape} ({activations}), {self.examples} example{'s' if self.examples > 1 else ''}, "
            f"loss {self.loss:.6g}, {'agree' if self.agree else 'DISAGREE'}>"
        )

    # pictures (nn/layerpicture.py)
    def to_dot(self, example: int = 0) -> str:
        """DOT text of the network as columns of neurons (z, a, delta of one example; edges by |dL/dw|)."""
        from .layerpicture import layers_to_dot

        return layers_to_dot(self, example)

    def draw(self, example: int = 0) -> Any:
        """The picture as a graphviz.Digraph (shown inline by Jupyter)."""
        from .layerpicture import draw_layers

        return draw_layers(self, example)

    def save(self, path: str | Path, example: int = 0) -> Path:
        """Write the picture as SVG, PNG or PDF (runs Graphviz's `dot`), or DOT text, by the suffix."""
        from .layerpicture import save_layers

        return save_layers(self, path, example)


# ---------------------------------------------------------------- comparing


def _difference(graph: list[float], textbook: list[float], scale: list[float]) -> tuple[float, float]:
    """(largest |graph - textbook|, largest |graph - textbook| / scale), scale bounding the terms' sizes."""
    worst_abs = worst_rel = 0.0
    for g, t, s in zip(graph, textbook, scale, strict=True):
        d = abs(g - t)
        if math.isnan(d):
            d = 0.0 if (math.isnan(g) and math.isnan(t)) else math.inf
        worst_abs = max(worst_abs, d)
        if d > 0.0:
            worst_rel = max(worst_rel, d / s if s > 0.0 else math.inf)
    return worst_abs, worst_rel


def _flat(rows: list[list[float]]) -> list[float]:
    return [x for row in rows for x in row]


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

    parameters = model.parameters()
    saved = [p.grad for p in parameters]
    try:
        for p in parameters:
            p.grad = 0.0
        total.backward()
        dW_graph = [[[w.grad for w in n.w] for n in layer.neurons] for layer in model.layers]
        db_graph = [[n.b.grad for n in layer.neurons] for layer in model.layers]
    finally:
        for p, g in zip(parameters, saved, strict=True):
            p.grad = g

    layers, checks = _textbook(trace, dW_graph, db_graph, float(l2), tolerance)
    sizes = [model.nin] + [layer.nout for layer in model.layers]
    return LayerReport(sizes, trace.inputs, trace.batch, total.data, float(l2), layers, checks, tolerance)


def _textbook(
    trace: LayerTrace, dW_graph: list, db_graph: list, l2: float, tolerance: float
) -> tuple[list[LayerData], list[Check]]:
    """Run the textbook recursion on the graph's forward values and compare each equation with the graph."""
    model = trace.model
    L = len(model.layers)
    Ws = [[[w.data for w in n.w] for n in layer.neurons] for layer in model.layers]
    bs = [[n.b.data for n in layer.neurons] for layer in model.layers]
    acts = [layer.activation for layer in model.layers]
    n_examples = len(trace.inputs)

    # [layer][example][neuron]: z, a, f', dL/da, delta from the graph, delta by the recursion and its scale
    def table() -> list[list[list[float]]]:
        return [[[] for _ in range(n_examples)] for _ in range(L)]

    z, a, fp, dL_da, dg, dt, ds = (table() for _ in range(7))
    # [layer]: flat lists over examples and neurons of the forward checks (graph, textbook, scale)
    zg: list[list[float]] = [[] for _ in range(L)]
    zt: list[list[float]] = [[] for _ in range(L)]
    zsc: list[list[float]] = [[] for _ in range(L)]
    ag: list[list[float]] = [[] for _ in range(L)]
    at: list[list[float]] = [[] for _ in range(L)]
    asc: list[list[float]] = [[] for _ in range(L)]
    a_prev = [[x] for x in trace.inputs]  # [example][layer] the input of layer l, a(l-1), as floats
    for i in range(n_examples):
        for li in range(L):
            zs, outs = trace.zs[i][li], trace.activations[i][li]
            z[li][i] = [v.data for v in zs]
            a[li][i] = [v.data for v in outs]
            dL_da[li][i] = [v.grad for v in outs]
            dg[li][i] = [v.grad for v in zs]
            f, fprime = FUNCTIONS[acts[li]], DERIVATIVES[acts[li]]
            fp[li][i] = [fprime(zk, ak) for zk, ak in zip(z[li][i], a[li][i], strict=True)]
            for k, (row, bk) in enumerate(zip(Ws[li], bs[li], strict=True)):
                total, scale = bk, abs(bk)
                for wj, xj in zip(row, a_prev[i][li], strict=True):
                    total = total + wj * xj
                    scale += abs(wj * xj)
                zg[li].append(z[li][i][k])
                zt[li].append(total)
                zsc[li].append(scale)
                ag[li].append(a[li][i][k])
                at[li].append(f(z[li][i][k]))
                asc[li].append(abs(a[li][i][k]))
            a_prev[i].append(a[li][i])
        # backward: the recursion, from dL/da(L) down
        for li in reversed(range(L)):
            if li == L - 1:
                dt[li][i] = [g * f for g, f in zip(dL_da[li][i], fp[li][i], strict=True)]
                ds[li][i] = [abs(d) for d in dt[li][i]]
                continue
            above, above_scale, W = dt[li + 1][i], ds[li + 1][i], Ws[li + 1]
            back, back_scale = [], []
            for j in range(len(z[li][i])):
                total = W[0][j] * above[0]
                scale = abs(W[0][j]) * above_scale[0]
                for k in range(1, len(above)):
                    total = total + W[k][j] * above[k]
                    scale += abs(W[k][j]) * above_scale[k]
                back.append(total)
                back_scale.append(scale)
            dt[li][i] = [s * f for s, f in zip(back, fp[li][i], strict=True)]
            ds[li][i] = [s * abs(f) for s, f in zip(back_scale, fp[li][i], strict=True)]

    layers, checks = [], []
    for li in range(L):
        number = li + 1

        def check(equation: str, graph: list, textbook: list, scale: list, layer: int = number) -> None:
            worst_abs, worst_rel = _difference(graph, textbook, scale)
            checks.append(Check(equation, layer, worst_abs, worst_rel, tolerance))

        check(f"z({number}) = W({number}) a({number - 1}) + b({number})", zg[li], zt[li], zsc[li])
        check(f"a({number}) = {acts[li]}(z({number}))", ag[li], at[li], asc[li])
        if li == L - 1:
            equation = f"delta({number}) = dL/da({number}) * f'(z({number}))"
        else:
            equation = f"delta({number}) = (W({number + 1})^T delta({number + 1})) * f'(z({number}))"
        check(equation, _flat(dg[li]), _flat(dt[li]), _flat(ds[li]))

        # gradients, summed over the examples
        nout, nin = len(Ws[li]), len(Ws[li][0])
        dW_t = [[0.0] * nin for _ in range(nout)]
        dW_s = [[0.0] * nin for _ in range(nout)]
        db_t, db_s = [0.0] * nout, [0.0] * nout
        for i in range(n_examples):
            prev = a_prev[i][li]
            for k in range(nout):
                for j in range(nin):
                    dW_t[k][j] += dt[li][i][k] * prev[j]
                    dW_s[k][j] += ds[li][i][k] * abs(prev[j])
                db_t[k] += dt[li][i][k]
                db_s[k] += ds[li][i][k]
        sum_word = "sum over examples of " if n_examples > 1 else ""
        decay = " + 2 l2 W" if l2 else ""
        if l2:
            for k in range(nout):
                for j in range(nin):
                    dW_t[k][j] += 2.0 * l2 * Ws[li][k][j]
                    dW_s[k][j] += abs(2.0 * l2 * Ws[li][k][j])
                db_t[k] += 2.0 * l2 * bs[li][k]
                db_s[k] += abs(2.0 * l2 * bs[li][k])
        check(
            f"dL/dW({number}) = {sum_word}delta({number}) a({number - 1})^T{decay}",
            _flat(dW_graph[li]),
            _flat(dW_t),
            _flat(dW_s),
        )
        check(
            f"dL/db({number}) = {sum_word}delta({number}){decay.replace('W', 'b')}",
            db_graph[li],
            db_t,
            db_s,
        )
        layers.append(
            LayerData(
                number,
                acts[li],
                Ws[li],
                bs[li],
                z[li],
                a[li],
                fp[li],
                dL_da[li],
                dg[li],
                dt[li],
                dW_graph[li],
                dW_t,
                db_graph[li],
                db_t,
            )
        )
    return layers, checks


# ---------------------------------------------------------------- text


def _num(x: float, width: int = 11) -> str:
    return f"{x + 0.0:.4g}".rjust(width)  # + 0.0: -0.0 prints as 0


def _diff(x: float) -> str:
    return "0" if x == 0.0 else f"{x:.2g}"


def _text(report: LayerReport) -> str:
    shape = "-".join(str(s) for s in report.sizes)
    acts = ", ".join(layer.activation for layer in report.layers)
    n = report.examples
    lines = [
        f"backward pass layer by layer: MLP {shape} ({acts}), {n} example{'s' if n > 1 else ''}, "
        f"loss {report.loss:.6g}",
        "delta = dL/dz read from the graph, beside the textbook recursion (tb)"
        + (f"; z, a, f'(z), delta of example 0 (all in .data), dL/db and dL/dW summed over the {n}" if n > 1 else ""),
    ]
    for layer in report.layers:
        lines.append("")
        head = f"layer {layer.index}: {layer.activation}, {FORMULAS[layer.activation]}"
        lines.append(head)
        lines.append(
            "  neuron"
            + "".join(h.rjust(11) for h in ("z", "a", "f'(z)", "delta", "delta(tb)", "dL/db", "dL/db(tb)"))
            + "   dL/dW row (graph)"
        )
        for k in range(len(layer.b)):
            row = layer.dW_graph[k]
            shown = ", ".join(f"{x:.4g}" for x in row[:4]) + (", ..." if len(row) > 4 else "")
            lines.append(
                f"  {k:>6}"
                + _num(layer.z[0][k])
                + _num(layer.a[0][k])
                + _num(layer.fprime[0][k])
                + _num(layer.delta_graph[0][k])
                + _num(layer.delta_textbook[0][k])
                + _num(layer.db_graph[k])
                + _num(layer.db_textbook[k])
                + f"   [{shown}]"
            )
    lines.append("")
    lines.append(f"checks: largest difference relative to the size of the terms (flagged above {report.tolerance:g})")
    width = max(len(c.equation) for c in report.checks)
    for c in report.checks:
        lines.append(f"  {c.equation.ljust(width)}  {_diff(c.max_rel_diff):>8}  {'ok' if c.ok else 'FLAGGED'}")
    lines.append(report.summary())
    return "\n".join(lines)
