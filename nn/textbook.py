"""The textbook's side of the layer report: backpropagation as textbooks write it, layer by layer.

For layer l = 1..L of an MLP, with a(0) = x and * element-wise:

    z(l) = W(l) a(l-1) + b(l)        a(l) = f(z(l))
    delta(L) = dL/da(L) * f'(z(L))
    delta(l) = (W(l+1)^T delta(l+1)) * f'(z(l))
    dL/dW(l) = delta(l) a(l-1)^T     dL/db(l) = delta(l)     (summed over the examples of a batch)

`textbook` runs this recursion on floats, from W, f' in closed form and dL/da(L) read from the
graph, and compares every equation with the graph's own numbers (`Check`). The activations and
their derivatives are written here a second time, independently of the engine's operations, on
purpose: the report checks the graph against them, so they must not be derived from it. They agree
with the engine at the edges (relu'(0) = 0; relu passes NaN on).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine import Value

from .layers import MLP


def _sigmoid(z: float) -> float:
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# f(z) and f'(z) in closed form, as a textbook writes them (f' may use a = f(z)). Written again here on purpose,
# not taken from the engine's operations: they are the second, independent formula the graph is checked
# against. At the edges they agree with the engine: relu'(0) = 0, and relu passes NaN on (f(NaN) = NaN,
# f'(NaN) = 1, as the engine's relu and PyTorch's do).
FUNCTIONS: dict[str, Callable[[float], float]] = {
    "linear": lambda z: z,
    "relu": lambda z: 0.0 if z <= 0.0 else z,
    "tanh": math.tanh,
    "sigmoid": _sigmoid,
}
DERIVATIVES: dict[str, Callable[[float, float], float]] = {
    "linear": lambda z, a: 1.0,
    "relu": lambda z, a: 0.0 if z <= 0.0 else 1.0,
    "tanh": lambda z, a: 1.0 - a * a,
    "sigmoid": lambda z, a: a * (1.0 - a),
}
FORMULAS = {
    "linear": "f'(z) = 1",
    "relu": "f'(z) = 1 if z > 0 else 0",
    "tanh": "f'(z) = 1 - a**2",
    "sigmoid": "f'(z) = a * (1 - a)",
}


# ---------------------------------------------------------------- one equation, one layer


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


# ---------------------------------------------------------------- the recursion


def textbook(
    model: MLP,
    inputs: list[list[float]],
    zs: list[list[list[Value]]],
    activations: list[list[list[Value]]],
    dW_graph: list,
    db_graph: list,
    l2: float,
    tolerance: float,
    grad: Callable[[Value], float] = lambda v: v.grad,
) -> tuple[list[LayerData], list[Check]]:
    """Run the textbook recursion on the graph's forward values and compare each equation with the graph.

    `zs` and `activations` are the traced nodes, [example][layer][neuron]; `grad(node)` is a node's
    gradient from the backward pass (by default its `.grad`).
    """
    L = len(model.layers)
    Ws = [[[w.data for w in n.w] for n in layer.neurons] for layer in model.layers]
    bs = [[n.b.data for n in layer.neurons] for layer in model.layers]
    acts = [layer.activation for layer in model.layers]
    n_examples = len(inputs)

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
    a_prev = [[x] for x in inputs]  # [example][layer] the input of layer l, a(l-1), as floats
    for i in range(n_examples):
        for li in range(L):
            nodes, outs = zs[i][li], activations[i][li]
            z[li][i] = [v.data for v in nodes]
            a[li][i] = [v.data for v in outs]
            dL_da[li][i] = [grad(v) for v in outs]
            dg[li][i] = [grad(v) for v in nodes]
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
