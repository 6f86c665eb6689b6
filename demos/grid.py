"""A model's outputs over a grid of points, all at once, to the bit what `model(point)` gives.

A picture of a decision boundary needs the model at thousands of points. Calling the model at
each one builds a graph of Values per point (about 10^6 nodes for a 60 x 60 picture). Instead,
`outputs_on` records the model once, at the first point, on the engine's tape, and then runs
that graph once with arrays in place of the point's numbers:

- an operation whose forward on floats is one IEEE-754 operation (`+`, `-`, `*`, negation,
  relu's `0.0 if x < 0.0 else x`) runs as the numpy function doing the same operation on each
  float64 element, which rounds each element exactly as Python does;
- every other operation (tanh, exp, your own) runs its own forward at each point, on floats.

So every point's numbers are those of `model(point)`, operation by operation, in the same
order. The boundary of this: a model whose graph depends on the point's numbers (Python read a
number while it ran: an `if` on a Value, a `float(x)`) could take another path at another
point, and a result that is not finite may be an error the engine raises at that point. In the
first case every point is evaluated by the model itself; in the second those points are.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy

from engine import Value, enable_grad
from engine.core import ops
from engine.core.graph import graph_order
from engine.replay import Tape
from nn.metrics import outputs

Array = numpy.ndarray


def _relu(a: Array) -> Array:
    return numpy.where(a < 0.0, 0.0, a)  # relu's forward, `0.0 if x < 0.0 else x`, on each element


# Forwards on floats that are one IEEE-754 operation, and the numpy function doing it per element.
IEEE: dict[Callable[..., Any], Callable[..., Array]] = {
    operator.add: numpy.add,
    operator.sub: numpy.subtract,
    operator.mul: numpy.multiply,
    operator.neg: numpy.negative,
    ops.relu.forward: _relu,
}


def outputs_on(model: Callable, columns: Sequence[Sequence[float]]) -> list[Array]:
    """The model's outputs at the points (columns[0][i], columns[1][i], ...), one float64 array per output.

    A model with one output gives a list of one array; with several scores, one array per score.
    """
    return _outputs(model, columns)[0]


def outputs_at(model: Callable, X: Sequence[Sequence[float]]) -> list[Any]:
    """`nn.outputs(model, X)`, computed as `outputs_on` computes: a float per example, or a list of its scores."""
    arrays, single = _outputs(model, list(zip(*X, strict=True)))
    if single:
        return arrays[0].tolist() if arrays else []
    return [list(scores) for scores in zip(*(a.tolist() for a in arrays), strict=True)]


def _outputs(model: Callable, columns: Sequence[Sequence[float]]) -> tuple[list[Array], bool]:
    """`outputs_on`'s arrays, and whether the model returns one Value (not a list of scores)."""
    arrays_in = [numpy.asarray(c, dtype=numpy.float64) for c in columns]
    n = len(arrays_in[0]) if arrays_in else 0
    if n == 0:
        return [], True
    points = numpy.stack(arrays_in, axis=1)
    inputs = [Value(float(c[0])) for c in arrays_in]
    tape = Tape("grid")
    with enable_grad():  # a graph to read, even when called inside no_grad()
        result = tape.record(model, inputs)
    single = not isinstance(result, (list, tuple))
    results = [result] if single else list(result)
    if tape.reads or tape.stops or not all(type(r) is Value for r in results):
        return _pointwise(model, points, single), single  # the graph may differ from point to point
    values: dict[Value, Any] = dict(zip(inputs, arrays_in, strict=True))
    with numpy.errstate(all="ignore"):
        for node in graph_order(results):
            if node in values:
                continue
            operation = node.operation
            if operation is None:  # a parameter or a constant: the same at every point
                values[node] = node._data
                continue
            operands = [values[p] for p in node.parents]
            values[node] = _apply(operation.forward, operands, n)
    arrays = [numpy.broadcast_to(numpy.asarray(values[r], dtype=numpy.float64), (n,)).copy() for r in results]
    bad = ~numpy.isfinite(numpy.stack(arrays)).all(axis=0) & numpy.isfinite(points).all(axis=1)
    for i in numpy.flatnonzero(bad):  # let the model itself say what happened there (or give the same number)
        again = _pointwise(model, points[i : i + 1], single)
        for array, value in zip(arrays, again, strict=True):
            array[i] = value[0]
    return arrays, single


def _apply(forward: Callable[..., float], operands: list[Any], n: int) -> Any:
    """One operation over every point: numpy's for an IEEE operation, else its own forward at each point."""
    if not any(type(a) is Array for a in operands):
        return forward(*operands)  # made of parameters and constants only: one number
    vectorised = IEEE.get(forward)
    if vectorised is not None:
        return vectorised(*operands)
    columns = [a.tolist() if type(a) is Array else [a] * n for a in operands]
    return numpy.fromiter(map(forward, *columns), dtype=numpy.float64, count=n)


def _pointwise(model: Callable, points: Array, single: bool) -> list[Array]:
    """The model called at each point, without a graph: the slow way, exact by definition."""
    outs = outputs(model, points.tolist())
    if single:
        return [numpy.array(outs, dtype=numpy.float64)]
    return [numpy.array(column, dtype=numpy.float64) for column in zip(*outs, strict=True)]


def margins(arrays: Sequence[Array], k: int) -> Array:
    """How far class k's score is above the best other class's, per point (`nn.metrics.class_margin` on arrays)."""
    if len(arrays) == 1:
        return arrays[0] if k == 1 else -arrays[0]
    others = [a for j, a in enumerate(arrays) if j != k]
    return arrays[k] - numpy.maximum.reduce(others)
