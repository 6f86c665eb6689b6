"""Loss functions on lists of `Value`s (numbers are accepted too); each returns one `Value`.

A loss over several examples is the mean of the per-example losses. Sums start from their
first term, so no constant 0 node is added to the graph. Targets are operands of the graph,
as the predictions are (a number becomes a leaf): no loss reads a target's number in Python,
so `engine.compile(lambda xb, yb: loss(...))` replays each call with that call's targets.
Each builds its graph inside `engine.pause_gc()` (the nodes make no reference cycle for the
collector to find).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from numbers import Real
from typing import Any, Union

from engine import Operation, Value, operation, pause_gc

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
        as_float = int.__float__(t) if isinstance(t, int) else t if isinstance(t, float) else float(t)
    except OverflowError:
        raise OverflowError(f"{who}: {what} is a {type(t).__name__} too large for a float") from None
    # the number itself, for Value() to take: engine.compile follows a number passed as an argument
    return t if isinstance(t, (int, float)) else as_float


@pause_gc()
def mse_loss(predictions: Sequence[Scalar] | Scalar, targets: Sequence[Scalar] | Scalar) -> Value:
    """Mean squared error: mean_i (p_i - t_i)**2."""
    predictions, targets = _pairs(predictions, targets, "mse_loss")
    terms = []
    for i, (p, t) in enumerate(zip(predictions, targets, strict=True)):
        diff = _as_value(p, "mse_loss", f"prediction {i}") - _as_value(t, "mse_loss", f"target {i}")
        terms.append(diff * diff)
    return _mean(terms)


# ---------------------------------------------------------------- targets as operands of the graph
# A target is a node of the graph (a leaf made from a number, or the Value passed in), never a
# number read in Python: a compiled replay then feeds each call's targets through the same graph.
# Checking a target is an operation too, so a replay checks it on every call: its forward
# raises for a bad target (the replay then runs the call uncompiled, which raises the same
# error) and passes a good one through.


def _shown(x: float) -> str:
    """A target as the user wrote it: 3 for the class index 3.0, 0.5 for 0.5."""
    return str(int(x)) if x.is_integer() else repr(x)


def _checker(who: str, requirement: str, good: Callable[[float], bool], slope: float) -> Operation:
    """The operation that passes a good target through and refuses a bad one, naming the loss."""

    def forward(x: float) -> float:
        if not good(x):
            raise ValueError(f"{who}: a target is {x!r}; {requirement}")
        return x

    def rule(g, out, a):
        return (g * slope,)

    rule.__doc__ = f"y, checked: {requirement}.   d/dy = {slope:g}."
    return operation(who, forward, zero_safe=True)(rule)


_HINGE_LABEL = _checker("hinge_loss", "labels must be -1 or +1", lambda y: y in (-1.0, 1.0), 1.0)
_BCE_TARGET = _checker("bce_with_logits", "targets must be in [0, 1]", lambda y: 0.0 <= y <= 1.0, 1.0)


@cache  # one operation per number of classes, for good: a replay compares them
def _class_index(n: int) -> Operation:
    """The operation that passes a class index k in 0..n-1 through (no gradient reaches k)."""
    requirement = f"it must be a class index in 0..{n - 1}"
    return _checker("cross_entropy", requirement, lambda k: k.is_integer() and 0.0 <= k < n, 0.0)


@cache  # one operation per class, for good
def _pick(j: int) -> Operation:
    """The operation x if k == j else 0: z_k is the sum over j of pick_j(k, z_j)."""

    def rule(g, out, k, x):
        chosen = k >= j and k <= j  # by order: on Values (create_graph) == is identity
        zero = 0.0 if type(g) is not Value else g * 0.0
        return zero, g if chosen else zero

    rule.__doc__ = f"x if k == {j} else 0.   d/dk = 0, d/dx = 1 if k == {j} else 0."
    return operation(
        f"pick{j}",
        lambda k, x: x if k == j else 0.0,
        forward_code=f"({{b}} if {{a}} == {float(j)!r} else 0.0)",
        formula=["0", f"({{a}}.data == {j})"],
        code=["0.0", f"({{g}} if {{a}} == {float(j)!r} else 0.0)"],
        zero_safe=True,
        params={"j": float(j)},
    )(rule)


def _target(y: Any, check: Operation, who: str, what: str, show: Callable[[float], str] = repr) -> Value:
    """The target as a checked node; a bad one raises naming it (`what`) and its number."""
    y = _as_value(y, who, what)
    try:
        return check(y)
    except ValueError as error:
        problem = str(error).split("; ", 1)[1]
        raise ValueError(f"{who}: {what} is {show(y.data)}; {problem}") from None


@pause_gc()
def hinge_loss(scores: Sequence[Scalar] | Scalar, labels: Sequence[Scalar] | Scalar) -> Value:
    """SVM max-margin loss, labels in {-1, +1}: mean_i max(0, 1 - y_i * s_i)."""
    scores, labels = _pairs(scores, labels, "hinge_loss")
    terms = []
    for i, (s, y) in enumerate(zip(scores, labels, strict=True)):
        y = _target(y, _HINGE_LABEL, "hinge_loss", f"label {i}")
        terms.append((1.0 - _as_value(s, "hinge_loss", f"score {i}") * y).relu())
    return _mean(terms)


@pause_gc()
def bce_with_logits(logits: Sequence[Scalar] | Scalar, targets: Sequence[Scalar] | Scalar) -> Value:
    """Binary cross-entropy on logits z, targets y in [0, 1]: mean_i softplus(z_i) - y_i * z_i.

    softplus(z) = log(1 + e**z) is written as z/2 + |z|/2 + log(1 + e**-|z|): e**-|z| <= 1 never
    overflows (z = +-1000 is fine), and the two |z| terms' slopes cancel at z = 0, so the gradient
    there is the true one, 1/2 - y.
    """
    logits, targets = _pairs(logits, targets, "bce_with_logits")
    terms = []
    for i, (z, y) in enumerate(zip(logits, targets, strict=True)):
        z = _as_value(z, "bce_with_logits", f"logit {i}")
        y = _target(y, _BCE_TARGET, "bce_with_logits", f"target {i}")
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


def _cross_entropy_one(z: list[Value], k: Value) -> Value:
    """log(sum_j e**z_j) - z_k = log(sum_j (e**h_j)**2) - 2 h_k, with h_j = z_j/2 - m/2, m = max_j z_j.

    As PyTorch does, the logits are shifted by their maximum, so no exponential overflows and a
    loss near 0 keeps its precision however large the logits. The halves cannot overflow, even at
    +-1e308. m is built by `_max`, not by Python's max on the data, and h_k by `_pick` from the
    class index k, a node of the graph: the graph is the same whatever the logits and the class,
    so a recorded graph (engine.compile) replays it exactly with new ones. m's slopes cancel
    (d/dm = sum_j softmax_j - 1 = 0), and a logit below the maximum gets none of that rounding
    (its slope in m is exactly 0), so tiny probabilities stay exact.
    """
    m = z[0]
    for zj in z[1:]:
        m = _max(m, zj)
    half_m = m * 0.5
    h = [zj * 0.5 - half_m for zj in z]
    total = _total(e * e for e in (hj.exp() for hj in h))
    h_k = _total(_pick(j)(k, hj) for j, hj in enumerate(h))  # h_k plus zeros: h_k to the last bit
    return total.log() - (h_k + h_k)


def _one_example(targets: Any) -> bool:
    """True if `targets` is one class index (an int, or a Value as engine.compile passes one)."""
    return isinstance(targets, (Value, Real))


def _class_target(k: Any, n: int, i: int) -> Value:
    """Example i's class index as a checked node of the graph (an int k becomes a leaf)."""
    requirement = f"it must be a class index in 0..{n - 1}"
    if type(k) is not Value:
        if isinstance(k, bool) or not isinstance(k, Real):
            raise ValueError(f"cross_entropy: target {i} is {k!r}; {requirement}")
        try:
            k = Value(k)
        except OverflowError:
            raise ValueError(f"cross_entropy: target {i} is {k!r}; {requirement}") from None
    return _target(k, _class_index(n), "cross_entropy", f"target {i}", _shown)


@pause_gc()
def cross_entropy(logits: Sequence[Scalar] | Sequence[Sequence[Scalar]], targets: Scalar | Sequence[Scalar]) -> Value:
    """Softmax cross-entropy: mean_i logsumexp(z_i) - z_i[target_i], targets class indices.

    Takes one example (a list of logits and an int) or a batch (a list of such lists and a list of
    ints). A class index is an int (or a Value or float holding one, as engine.compile passes it).
    Finite and PyTorch's for logits up to +-1e300; `_cross_entropy_one` says how.
    """
    batch: tuple[Any, Any] = ([logits], [targets]) if _one_example(targets) else (logits, targets)
    logits, targets = _pairs(*batch, "cross_entropy")
    terms = []
    for i, (z, k) in enumerate(zip(logits, targets, strict=True)):
        if isinstance(z, (Value, Real)) or not z:
            raise ValueError(f"cross_entropy: example {i} must be a non-empty list of logits, got {z!r}")
        z = [_as_value(zj, "cross_entropy", f"logit {j} of example {i}") for j, zj in enumerate(z)]
        terms.append(_cross_entropy_one(z, _class_target(k, len(z), i)))
    return _mean(terms)


@pause_gc()
def l2_penalty(parameters: Iterable[Value], alpha: float = 1.0) -> Value:
    """Weight decay term: alpha * sum_p p**2 (add it to a loss)."""
    parameters = list(parameters)
    if not parameters:
        raise ValueError("l2_penalty: got no parameters")
    values = [_as_value(p, "l2_penalty", f"parameter {i}") for i, p in enumerate(parameters)]
    squares = _total(p * p for p in values)
    return squares * _as_value(alpha, "l2_penalty", "alpha")  # alpha a node too: it may be an argument
