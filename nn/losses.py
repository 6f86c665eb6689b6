"""Loss functions on lists of `Value`s (numbers are accepted too); each returns one `Value`.

A loss over several examples is the mean of the per-example losses. Sums start from their
first term, so no constant 0 node is added to the graph. Each builds its graph inside
`engine.pause_gc()` (the nodes make no reference cycle for the collector to find).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any, Union

from engine import Value, pause_gc

Scalar = Union[Value, float, int]  # noqa: UP007 (a runtime alias that must work on 3.10)


def _as_value(x: Scalar, who: str, what: str) -> Value:
    if type(x) is Value:
        return x
    if isinstance(x, Real) and not isinstance(x, bool):
        return Value(_number(x, who, what))
    raise TypeError(f"{who}: {what} must be a number or a Value, got {type(x).__name__} {x!r}")


def _as_list(x: Sequence[Scalar] | Scalar) -> list:
    return [x] if isinstance(x, (Value, int, float, Real)) else list(x)


def _pairs(predictions, targets, who: str) -> tuple[list, list]:
    """The two sequences as lists, checked to be non-empty and of the same length."""
    predictions, targets = _as_list(predictions), _as_list(targets)
    if len(predictions) != len(targets):
        raise ValueError(f"{who}: got {len(predictions)} predictions but {len(targets)} targets")
    if not predictions:
        raise ValueError(f"{who}: got no predictions (an empty list has no mean)")
    return predictions, targets


def _total(terms: Iterable[Value]) -> Value:
    """t0 + t1 + ... added left to right, starting from the first term."""
    it = iter(terms)
    total = next(it)
    for t in it:
        total = total + t
    return total


def _mean(terms: list[Value]) -> Value:
    return _total(terms) if len(terms) == 1 else _total(terms) * (1.0 / len(terms))


def _number(t, who: str, what: str) -> float:
    t = t.data if type(t) is Value else t
    if isinstance(t, bool) or not isinstance(t, Real):
        raise TypeError(f"{who}: {what} must be a number, got {type(t).__name__} {t!r}")
    try:
        return float(t)
    except OverflowError:
        raise OverflowError(f"{who}: {what} is a {type(t).__name__} too large for a float") from None


@pause_gc()
def mse_loss(predictions: Sequence[Scalar] | Scalar, targets: Sequence[Scalar] | Scalar) -> Value:
    """Mean squared error: mean_i (p_i - t_i)**2."""
    predictions, targets = _pairs(predictions, targets, "mse_loss")
    terms = []
    for i, (p, t) in enumerate(zip(predictions, targets, strict=True)):
        diff = _as_value(p, "mse_loss", f"prediction {i}") - _as_value(t, "mse_loss", f"target {i}")
        terms.append(diff * diff)
    return _mean(terms)


@pause_gc()
def hinge_loss(scores: Sequence[Scalar] | Scalar, labels: Sequence[int] | int) -> Value:
    """SVM max-margin loss, labels in {-1, +1}: mean_i max(0, 1 - y_i * s_i)."""
    scores, labels = _pairs(scores, labels, "hinge_loss")
    terms = []
    for i, (s, y) in enumerate(zip(scores, labels, strict=True)):
        y = _number(y, "hinge_loss", f"label {i}")
        if y not in (-1.0, 1.0):
            raise ValueError(f"hinge_loss: label {i} is {y!r}; labels must be -1 or +1")
        terms.append((1.0 - _as_value(s, "hinge_loss", f"score {i}") * y).relu())
    return _mean(terms)


@pause_gc()
def bce_with_logits(logits: Sequence[Scalar] | Scalar, targets: Sequence[float] | float) -> Value:
    """Binary cross-entropy on logits z, targets y in [0, 1]: mean_i softplus(z_i) - y_i * z_i.

    softplus(z) = log(1 + e**z) is written as z/2 + |z|/2 + log(1 + e**-|z|): e**-|z| <= 1 never
    overflows (z = +-1000 is fine), and the two |z| terms' slopes cancel at z = 0, so the gradient
    there is the true one, 1/2 - y.
    """
    logits, targets = _pairs(logits, targets, "bce_with_logits")
    terms = []
    for i, (z, y) in enumerate(zip(logits, targets, strict=True)):
        z = _as_value(z, "bce_with_logits", f"logit {i}")
        y = _number(y, "bce_with_logits", f"target {i}")
        if not 0.0 <= y <= 1.0:
            raise ValueError(f"bce_with_logits: target {i} is {y!r}; targets must be in [0, 1]")
        magnitude = abs(z)
        terms.append(z * (0.5 - y) + magnitude * 0.5 + (1.0 + (-magnitude).exp()).log())
    return _mean(terms)


_TINY = 5e-324  # the smallest float above 0


def _max(a: Value, b: Value) -> Value:
    """max(a, b) exactly, without a Python branch on the data and without overflow.

    d = b/2 - a/2 has the sign of b - a and cannot overflow (b - a can). i = relu(d) / (|d| + 5e-324)
    is then exactly 1 if b > a and 0 if b <= a (only a subnormal |d| gives a fraction, and then a and
    b are within 1e-307 of each other), so b*i + a*(1 - i) is one of them, bit for bit. An arithmetic
    max such as (a + b + |a - b|)/2 is off by a rounding, which at logits of 1e19 is already more than
    the 709 that e**x can take.
    """
    d = b * 0.5 - a * 0.5
    i = d.relu() / (abs(d) + _TINY)
    return b * i + a * (1.0 - i)


def _cross_entropy_one(z: list[Value], k: int) -> Value:
    """log(sum_j e**z_j) - z_k = log(sum_j (e**h_j)**2) - 2 h_k, with h_j = z_j/2 - m/2, m = max_j z_j.

    As PyTorch does, the logits are shifted by their maximum, so no exponential overflows and a
    loss near 0 keeps its precision however large the logits. The halves cannot overflow, even at
    +-1e308. m is built by `_max`, not by Python's max on the data: the graph is the same whatever
    the logits, so a recorded graph (engine.compile) replays it exactly. m's slopes cancel
    (d/dm = sum_j softmax_j - 1 = 0), and a logit below the maximum gets none of that rounding
    (its slope in m is exactly 0), so tiny probabilities stay exact.
    """
    m = z[0]
    for zj in z[1:]:
        m = _max(m, zj)
    half_m = m * 0.5
    h = [zj * 0.5 - half_m for zj in z]
    total = _total(e * e for e in (hj.exp() for hj in h))
    return total.log() - (h[k] + h[k])


@pause_gc()
def cross_entropy(logits: Sequence[Scalar] | Sequence[Sequence[Scalar]], targets: int | Sequence[int]) -> Value:
    """Softmax cross-entropy: mean_i logsumexp(z_i) - z_i[target_i], targets class indices.

    Takes one example (a list of logits and an int) or a batch (a list of such lists and a list of
    ints). Finite and PyTorch's for logits up to +-1e300; `_cross_entropy_one` says how.
    """
    batch: tuple[Any, Any] = ([logits], [targets]) if isinstance(targets, Integral) else (logits, targets)
    logits, targets = _pairs(*batch, "cross_entropy")
    terms = []
    for i, (z, k) in enumerate(zip(logits, targets, strict=True)):
        if isinstance(z, (Value, Real)) or not z:
            raise ValueError(f"cross_entropy: example {i} must be a non-empty list of logits, got {z!r}")
        z = [_as_value(zj, "cross_entropy", f"logit {j} of example {i}") for j, zj in enumerate(z)]
        if isinstance(k, bool) or not isinstance(k, Integral) or not 0 <= int(k) < len(z):
            raise ValueError(f"cross_entropy: target {i} is {k!r}; it must be a class index in 0..{len(z) - 1}")
        terms.append(_cross_entropy_one(z, int(k)))
    return _mean(terms)


@pause_gc()
def l2_penalty(parameters: Iterable[Value], alpha: float = 1.0) -> Value:
    """Weight decay term: alpha * sum_p p**2 (add it to a loss)."""
    parameters = list(parameters)
    if not parameters:
        raise ValueError("l2_penalty: got no parameters")
    values = [_as_value(p, "l2_penalty", f"parameter {i}") for i, p in enumerate(parameters)]
    squares = _total(p * p for p in values)
    return squares * _number(alpha, "l2_penalty", "alpha")
