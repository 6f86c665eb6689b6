"""Every operation of the engine, each defined once: its forward on floats and its derivative.

Each block is one operation, made with `builtin`: the public `operation` decorator (the way you
add your own) for forwards that return a float and raise naming the operation themselves, so
that no check wraps them. The decorated function is the derivative rule

    rule(g, out, *inputs) -> one share of the gradient per input, g * d out / d input

and `forward` computes the result from floats, raising an error that names the operation and
the value where the result does not exist. The last line of a block makes it a method of
`Value`. The stepper's formulas and the compiled kernels' code are read off the rules (see
`engine.core.symbolic`); a rule that branches on its operands gives them in its block instead.
"""

from __future__ import annotations

import math
import operator
from functools import lru_cache
from numbers import Real
from typing import Any

from .operation import Operation, _refuse, builtin
from .spelling import number
from .symbolic import Symbol, call
from .value import Operand, Value, _make, _overflow, to_float

_INF = math.inf

# ---------------------------------------------------------------- a + b, a - b, a * b, a / b


@builtin("+", operator.add, zero_safe=True, spelling="{0} + {1}", propagates_non_finite=True)
def add(g, out, a, b):
    """a + b.   d/da = 1, d/db = 1."""
    return g, g


Value.__add__, Value.__radd__ = add.method(), add.reflected()


@builtin("-", operator.sub, zero_safe=True, spelling="{0} - {1}", propagates_non_finite=True)
def sub(g, out, a, b):
    """a - b.   d/da = 1, d/db = -1."""
    return g, -g


Value.__sub__, Value.__rsub__ = sub.method(), sub.reflected()


@builtin("*", operator.mul, zero_safe=True, spelling="{0} * {1}", propagates_non_finite=True)
def mul(g, out, a, b):
    """a * b.   d/da = b, d/db = a."""
    return g * b, g * a


Value.__mul__, Value.__rmul__ = mul.method(), mul.reflected()


def _divide(a: float, b: float) -> float:
    if b == 0.0:
        raise ZeroDivisionError(f"/: division by zero in {a!r} / {b!r}")
    return a / b


@builtin("/", _divide, forward_code="{a} / {b}", zero_safe=True, spelling="{0} / {1}")
def div(g, out, a, b):
    """a / b.   d/da = 1/b, d/db = -a/b**2 = -out/b."""
    gb = g / b
    return gb, -gb * out


Value.__truediv__, Value.__rtruediv__ = div.method(), div.reflected()

# ---------------------------------------------------------------- -a, |a|


@builtin("neg", operator.neg, zero_safe=True, spelling="-{0}", propagates_non_finite=True)
def neg(g, out, a):
    """-a.   d/da = -1."""
    return (-g,)


Value.__neg__ = neg.method()


@builtin(
    "abs",
    abs,
    formula=["sign({a}.data)"],
    code=["({g} if {a} > 0.0 else -{g} if {a} < 0.0 else 0.0)"],
    zero_safe=True,
    propagates_non_finite=True,
)
def absolute(g, out, a):
    """|a|.   d/da = sign(a), 0 at a = 0."""
    return (g if a > 0.0 else -g if a < 0.0 else 0.0 if type(g) is not Value else g * 0.0,)


Value.__abs__ = absolute.method()

# ---------------------------------------------------------------- a ** b (two Values), a ** n (a number n)


def _power(a: float, n: float, op: str) -> float:
    if a < 0.0 and not n.is_integer():  # also inf and nan, which int() cannot take
        raise ValueError(f"{op}: a negative base {a!r} to a non-integer power {n!r} has no real value")
    if a == 0.0 and n < 0.0:
        raise ZeroDivisionError(f"{op}: 0.0 cannot be raised to the negative power {n!r}")
    try:
        r = a**n
    except OverflowError:
        raise OverflowError(f"{op}: {a!r} ** {n!r} is too large for a float") from None
    if r - r:
        _overflow(op, a, n)
    return r


def _data(x: Any) -> float:
    """The float of a rule's operand, which is a float or (under create_graph) a Value.

    Rules never test `x == 0.0` on an operand: on a Value `==` is identity, not a comparison
    of data. They compare by order (`x >= 0.0 and x <= 0.0`) or through this function.
    """
    return x._data if type(x) is Value else x


def _pow_or_inf(a: Any, m: Any) -> Any:
    """a ** m in a rule: where the float overflows (or a = +-0, m < 0), inf of the sign C's pow gives.

    Python's float ** raises OverflowError instead, which would stop a backward pass half-way;
    PyTorch gives the infinity. On Values (create_graph) it is the operation itself, which
    raises naming itself; on Symbols it is a call, so a compiled kernel does the same.
    """
    if type(a) is Value:
        return a**m
    if type(a) is Symbol or type(m) is Symbol:
        return call("_pow_or_inf", _pow_or_inf, a, m)
    if m == 0.5 and a == 0.0:
        return a  # (-0.0) ** 0.5 is -0.0, as in PyTorch, whose x ** 0.5 is its sqrt
    try:
        return a**m
    except (OverflowError, ZeroDivisionError):  # |a| ** m is beyond the floats, or 0.0 ** negative
        return -_INF if math.copysign(1.0, a) < 0.0 and (m % 2.0 == 1.0 or m == -0.5) else _INF


@builtin(
    "**",
    lambda a, b: _power(a, b, "**"),
    formula=["{b}.data * {a}.data**({b}.data - 1)", "{out}.data * log({a}.data)"],
    spelling="{0} ** {1}",
)
def pow_(g, out, a, b):
    """a ** b with both Values: d/da = b * a**(b-1), d/db = out * log(a)."""
    if a > 0.0:
        db = g * out * log(a)
    elif a >= 0.0 and b >= 0.0:  # a == 0 here
        db = g * 0.0  # the limit of a**b * log(a) as a -> 0+ (and 0 at 0 ** 0, as in PyTorch)
    else:
        db = g * math.nan  # no real derivative in b for a negative base
    if type(b) is float and b == 0.0:  # no slope in a, whatever a is (NaN, 0, tiny), as in PyTorch
        da = g * 0.0  # (on Values the full formula below keeps d/db of this share for higher orders)
    elif type(a) is Value and b < 1.0 and a >= 0.0 and a <= 0.0:  # 0 ** negative: the Value op would refuse
        da = g * (0.0 if _data(b) == 0.0 else _INF)
    else:
        da = g * b * _pow_or_inf(a, b - 1.0)
    return da, db


@lru_cache(maxsize=256)
def power(n: float) -> Operation:
    """The operation a ** n for one number n (its name is '**n'):  d/da = n * a**(n-1)."""
    name = f"**{n:g}"
    m = n - 1.0
    formula = None
    if n == 0.0:
        rule = lambda g, out, a: (g * 0.0,)  # noqa: E731
    elif n == 1.0:
        rule = lambda g, out, a: (g,)  # noqa: E731
    elif n == 2.0:
        rule = lambda g, out, a: (g * 2.0 * a,)  # noqa: E731
    else:
        formula = [f"{n:g} * {{a}}.data**{m:g}"]

        def rule(g, out, a):
            if m < 0.0 and a >= 0.0 and a <= 0.0:  # a == 0, by order as in pow_
                return (g * (math.copysign(_INF, _data(a)) if n == 0.5 else _INF),)  # sqrt'(-0.0) = -inf
            return (g * n * _pow_or_inf(a, m),)

    rule.__doc__ = f"a ** {n:g}.   d/da = {n:g} * a**{m:g}."
    forward = (lambda a: a if a == 0.0 else _power(a, n, name)) if n == 0.5 else lambda a: _power(a, n, name)
    return builtin(
        name, forward, formula=formula, zero_safe=n in (0.0, 1.0, 2.0), params={"n": n}, spelling="{0}" + name
    )(rule)


def _pow_method(self: Value, other: Operand) -> Value:
    """a ** n (n a number): d/da = n * a**(n-1).  a ** b (b a Value): also d/db = out * log(a)."""
    if type(other) is Value:
        return _make(_power(self._data, other._data, "**"), (self, other), pow_)
    if not isinstance(other, Real):
        return _refuse("**", other, self)
    n = to_float(other, "**")
    op = power(n)
    return _make(op.forward(self._data), (self,), op)


Value.__pow__, Value.__rpow__ = _pow_method, pow_.reflected()

# ---------------------------------------------------------------- activations


@builtin(
    "relu",
    lambda x: 0.0 if x < 0.0 else x,
    forward_code="(0.0 if {a} < 0.0 else {a})",
    formula=["({a}.data > 0)"],
    code=["(0.0 if {a} <= 0.0 else {g})"],
    zero_safe=True,
)
def relu(g, out, a):
    """max(a, 0), NaN stays NaN.   d/da = 0 if a <= 0 else 1 (so NaN's gradient goes through, as in PyTorch)."""
    if a <= 0.0:  # on Values a zero share still reads g: whether a gradient is used depends on the graph
        return (0.0 if type(g) is not Value else g * 0.0,)
    return (g,)


Value.relu = relu.method()


def _leaky(x: float, slope: float) -> float:
    r = x if x > 0.0 else slope * x
    if r - r:
        _overflow("leaky_relu", x, slope)
    return r


def leaky(slope: float) -> Operation:
    """The operation leaky_relu for one slope:  d/da = 1 if a > 0 else slope."""
    return _leaky_signed(slope, math.copysign(1.0, slope))  # -0.0 == 0.0, but not as a slope


@lru_cache(maxsize=256)
def _leaky_signed(slope: float, sign: float) -> Operation:
    return builtin(
        "leaky_relu",
        lambda x: _leaky(x, slope),
        formula=[f"(1 if {{a}}.data > 0 else {number(slope)})"],
        code=[f"({{g}} if {{a}} > 0.0 else {{g}} * {slope!r})"],
        zero_safe=math.isfinite(slope),
        params={"slope": slope},
    )(lambda g, out, a: (g if a > 0.0 else g * slope,))


def leaky_relu(x: Operand, slope: float = 0.01) -> Any:
    """a if a > 0 else slope * a.   d/da = 1 if a > 0 else slope.  A Value gives a Value, a number a float."""
    slope = to_float(slope, "leaky_relu slope")
    if type(x) is Value:
        return _make(_leaky(x._data, slope), (x,), leaky(slope))
    return _leaky(to_float(x, "leaky_relu"), slope)


Value.leaky_relu = leaky_relu


@builtin("tanh", math.tanh, zero_safe=True)
def tanh(g, out, a):
    """tanh(a).   d/da = 1 - tanh(a)**2."""
    return (g * (1.0 - out * out),)


Value.tanh = tanh.method()


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@builtin("sigmoid", _sigmoid, zero_safe=True)
def sigmoid(g, out, a):
    """1 / (1 + exp(-a)), computed without overflow.   d/da = out * (1 - out)."""
    return (g * out * (1.0 - out),)


Value.sigmoid = sigmoid.method()

# ---------------------------------------------------------------- exp, log, sqrt, sin, cos


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp: exp({x!r}) is too large for a float") from None


@builtin("exp", _exp, zero_safe=True)
def exp(g, out, a):
    """e**a.   d/da = e**a = out."""
    return (g * out,)


Value.exp = exp.method()


def _log(x: float) -> float:
    if x <= 0.0:
        raise ValueError(f"log: log({x!r}) is undefined; log needs a value > 0")
    return math.log(x)


@builtin("log", _log, zero_safe=True, propagates_non_finite=True)
def log(g, out, a):
    """Natural log, a > 0.   d/da = 1/a."""
    return (g / a,)


Value.log = log.method()


def _sqrt(x: float) -> float:
    if x < 0.0:
        raise ValueError(f"sqrt: sqrt({x!r}) is undefined; sqrt needs a value >= 0")
    return math.sqrt(x)


@builtin("sqrt", _sqrt, formula=["0.5 / {out}.data"], propagates_non_finite=True)
def sqrt(g, out, a):
    """Square root, a >= 0.   d/da = 1 / (2 * sqrt(a)) = 0.5 / out."""
    if out <= 0.0:  # sqrt(+-0.0) = +-0.0: an infinite slope of that sign, as in PyTorch
        return (g * math.copysign(_INF, _data(out)),)
    return (g * 0.5 / out,)  # NaN stays NaN


Value.sqrt = sqrt.method()


def _sin(x: float) -> float:
    if math.isinf(x):
        raise ValueError(f"sin: sin({x!r}) is undefined; sin needs a finite value")
    return math.sin(x)


@builtin("sin", _sin, zero_safe=True, propagates_non_finite=True)
def sin(g, out, a):
    """sin(a).   d/da = cos(a)."""
    return (g * cos(a),)


Value.sin = sin.method()


def _cos(x: float) -> float:
    if math.isinf(x):
        raise ValueError(f"cos: cos({x!r}) is undefined; cos needs a finite value")
    return math.cos(x)


@builtin("cos", _cos, zero_safe=True, propagates_non_finite=True)
def cos(g, out, a):
    """cos(a).   d/da = -sin(a)."""
    return (-g * sin(a),)


Value.cos = cos.method()


# ---------------------------------------------------------------- the functions a person calls by name

# What the command line's expressions and its help offer: each operation under its own name, and
# leaky_relu, which is a function of a slope (one operation per slope), not one operation.
FUNCTIONS: dict[str, Any] = {op.name: op for op in (relu, tanh, exp, log, sqrt, sin, cos, sigmoid, absolute)}
FUNCTIONS["leaky_relu"] = leaky_relu
