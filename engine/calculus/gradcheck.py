"""Check derivative rules: analytic gradients against central finite differences.

    numerical d f / d x_j  =  (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)

and an analytic entry passes when |analytic - numerical| <= atol + rtol * |numerical|.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

from ..core.mode import enable_grad
from ..core.value import Value, to_float
from .functional import grad


class GradcheckError(RuntimeError):
    """An analytic derivative disagrees with its finite-difference estimate."""


def gradcheck(
    f: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare d f(inputs) / d inputs[j] from backward with central finite differences.

    `f` takes one Value per input and returns a Value (or a list of them); `inputs` are
    numbers (or Values, whose data and label are used). Returns True when every entry
    agrees; otherwise raises `GradcheckError` naming each bad (output, input) pair and
    how far off it is, or returns False if `raise_exception=False`.
    """
    points, names = _points(inputs, "gradcheck")
    return _compare(f, points, names, eps, atol, rtol, raise_exception, "gradcheck", "d f{o} / d {x}")


def gradgradcheck(
    f: Callable[..., Any],
    inputs: Sequence[Any],
    grad_outputs: Sequence[float] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare second derivatives (create_graph=True, then backward again) with finite differences.

    Checks d/d inputs[j] of the gradient d(sum_k grad_outputs[k] * f_k)/d inputs[i] against central
    differences of that gradient; `grad_outputs` defaults to 1.0 per output of f.
    """
    points, names = _points(inputs, "gradgradcheck")

    def first_derivatives(*xs: Value) -> list[Value]:
        with enable_grad():
            outputs = _outputs(f(*xs))
            if not outputs:
                return [Value(0.0) for _ in xs]
            weights = [1.0] * len(outputs) if grad_outputs is None else list(grad_outputs)
            return list(grad(outputs, list(xs), weights, create_graph=True, allow_unused=True))

    first_derivatives.__name__ = f"gradient of {getattr(f, '__name__', 'f')}"
    return _compare(
        first_derivatives, points, names, eps, atol, rtol, raise_exception, "gradgradcheck", "d2 f / d {i} d {x}"
    )


def _points(inputs: Sequence[Any], where: str) -> tuple[list[float], list[str]]:
    if type(inputs) is Value or isinstance(inputs, Real):
        inputs = [inputs]
    points, names = [], []
    for j, x in enumerate(inputs):
        if type(x) is Value:
            points.append(x.data)
            names.append(f"input {j} {x.label!r}" if x.label else f"input {j}")
        elif isinstance(x, Real):
            points.append(to_float(x, f"{where}: input {j}"))
            names.append(f"input {j}")
        else:
            raise TypeError(f"{where}: input {j} must be a number or a Value, got {type(x).__name__} {x!r}")
    return points, names


def _outputs(y: Any) -> list[Value]:
    """f's result as a list of Values; numbers (constants) are dropped, as nothing flows through them."""
    ys = list(y) if isinstance(y, Sequence) else [y]
    return [v for v in ys if type(v) is Value]


def _evaluate(f: Callable, xs: list[float], where: str, name: str) -> list[float]:
    try:
        y = f(*[Value(x) for x in xs])
    except (ArithmeticError, ValueError) as e:
        shown = ", ".join(repr(x) for x in xs)
        raise GradcheckError(f"{where}: f cannot be evaluated at ({shown}) while moving {name}: {e}") from e
    ys = list(y) if isinstance(y, Sequence) else [y]
    return [float(v.data if type(v) is Value else v) for v in ys]


def _analytic(f: Callable, xs: list[float]) -> list[list[float]]:
    """rows[k][j] = d f_k / d x_j from the engine's backward rules."""
    with enable_grad():
        leaves = [Value(x) for x in xs]
        y = f(*leaves)
        ys = list(y) if isinstance(y, Sequence) else [y]
        return [list(grad(v, leaves, allow_unused=True)) if type(v) is Value else [0.0] * len(xs) for v in ys]


def _compare(
    f: Callable,
    xs: list[float],
    names: list[str],
    eps: float,
    atol: float,
    rtol: float,
    raise_exception: bool,
    where: str,
    entry: str,
) -> bool:
    analytic = _analytic(f, xs)
    failures = []
    for j, name in enumerate(names):
        plus, minus = list(xs), list(xs)
        plus[j] += eps
        minus[j] -= eps
        high, low = _evaluate(f, plus, where, name), _evaluate(f, minus, where, name)
        for k, row in enumerate(analytic):
            numerical = (high[k] - low[k]) / (2.0 * eps)
            allowed = atol + rtol * abs(numerical)
            error = abs(row[j] - numerical)
            if not error <= allowed:  # also catches NaN
                output = f"[{k}]" if len(analytic) > 1 else ""
                label = entry.format(o=output, i=names[k] if k < len(names) else output, x=name)
                failures.append(
                    f"  {label} at {xs[j]!r}: analytic {row[j]!r}, numerical {numerical!r}, "
                    f"off by {error:.3g} (allowed {allowed:.3g})"
                )
    if failures:
        if raise_exception:
            at = ", ".join(repr(x) for x in xs)
            raise GradcheckError(f"{where} failed at ({at}):\n" + "\n".join(failures))
        return False
    return True
