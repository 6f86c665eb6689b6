"""The `Value` node: one float, its gradient, its parents and its derivative rule.

Every operation is written once, as a forward method on `Value` followed by its
backward rule. A rule is a plain function of the operation, stored on each node
by reference (no closure per node, so no reference cycle and no allocation):

    rule(g, out, *inputs) -> one share of the gradient per input

`g` is the gradient flowing into the result, `out` the result and `inputs` the
operands. The backward pass calls a rule with floats (`node.data`), or, for
higher-order derivatives (`create_graph=True`), with the `Value`s themselves,
so every rule is written with operators that work on both.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from functools import lru_cache
from numbers import Real
from typing import Any, Union

Number = Union[int, float]  # noqa: UP007 (a runtime alias that must work on 3.10)
Operand = Union["Value", int, float]  # noqa: UP007

_new = object.__new__
_INF = math.inf

# The process-wide fast flag, switched by engine.mode: 1 while no thread is inside no_grad()
# and anomaly mode is off (then _make records without asking anything else), 2 under
# detect_anomaly() (process-wide), 3 while some thread is inside no_grad(). When it is not 1,
# _make asks _thread_mode() what this thread does: 0 record nothing, 1 record, 2 record with
# the line that made the node. Kept in a one-element list so the other modules can switch it.
_mode = [1]


def _thread_mode() -> int:
    """Replaced by engine.mode.thread_mode when engine.mode is imported (as `import engine` does)."""
    return _mode[0]


def _number(x: Any, where: str) -> float:
    """Check that `x` is a real number and return it as a float."""
    if isinstance(x, Real):
        try:
            return float(x)
        except OverflowError:
            raise OverflowError(f"{where}: the {type(x).__name__} {_short(x)} is too large for a float") from None
    raise TypeError(f"{where}: expected a real number (int or float), got {type(x).__name__} {x!r}")


def _short(x: Any) -> str:
    """repr(x), cut down to its ends if long (a huge int has hundreds of digits)."""
    try:
        text = repr(x)
    except ValueError:  # an int beyond the interpreter's digit limit for str()
        return f"of {x.bit_length()} bits"
    return text if len(text) <= 40 else f"{text[:15]}...{text[-10:]} ({len(text)} characters)"


def _refuse_sequence(op: str, other: Any) -> Any:
    """NotImplemented, except for a sequence: Python would try to repeat it and blame the Value."""
    if isinstance(other, Sequence):
        raise TypeError(f"{op}: expected a real number or a Value, got {type(other).__name__} {other!r}")
    return NotImplemented


def _make(data: float, parents: tuple, op: str, rule: Callable) -> Value:
    """Create the result of an operation; inside no_grad() it is a leaf."""
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    v.label = ""
    v._hooks = None
    if _mode[0] == 1:
        v.parents = parents
        v.op = op
        v._rule = rule
        v._origin = None
        return v
    mode = _thread_mode()
    if mode == 0:
        v.parents = ()
        v.op = ""
        v._rule = None
        v._origin = None
    else:
        v.parents = parents
        v.op = op
        v._rule = rule
        if mode == 2:
            from .debug import where_created

            v._origin = where_created()
        else:
            v._origin = None
    return v


def _overflow(op: str, *inputs: float) -> None:
    """Raise OverflowError if finite inputs gave an infinite or NaN result."""
    if all(math.isfinite(x) for x in inputs):
        shown = ", ".join(repr(x) for x in inputs)
        raise OverflowError(f"{op}: the result of {op}({shown}) is too large for a float")


class Value:
    """A scalar in a computation graph: `data`, `grad`, `parents`, `op`, `label`."""

    __slots__ = ("data", "grad", "parents", "op", "label", "_rule", "_hooks", "_origin")

    def __init__(self, data: Number, label: str = "") -> None:
        self.data = _number(data, "Value")
        self.grad: Any = 0.0
        self.parents: tuple[Value, ...] = ()
        self.op = ""
        self.label = label
        self._rule: Callable | None = None
        self._hooks: list | None = None
        self._origin: str | None = None

    def __repr__(self) -> str:
        grad = self.grad
        shown = f"Value(data={grad.data!r})" if type(grad) is Value else repr(grad)
        text = f"Value(data={self.data!r}, grad={shown}"
        if self.op:
            text += f", op={self.op!r}"
        if self.label:
            text += f", label={self.label!r}"
        return text + ")"

    # ---------------------------------------------------------------- arithmetic

    def __add__(self, other: Operand) -> Value:
        """a + b.   d/da = 1, d/db = 1."""
        if type(other) is not Value:
            if not isinstance(other, Real):
                return NotImplemented
            other = Value(other)
        r = self.data + other.data
        if r - r:
            _overflow("+", self.data, other.data)
        return _make(r, (self, other), "+", _add_rule)

    def __radd__(self, other: Number) -> Value:
        if not isinstance(other, Real):
            return NotImplemented
        return Value(other).__add__(self)

    def __sub__(self, other: Operand) -> Value:
        """a - b.   d/da = 1, d/db = -1."""
        if type(other) is not Value:
            if not isinstance(other, Real):
                return NotImplemented
            other = Value(other)
        r = self.data - other.data
        if r - r:
            _overflow("-", self.data, other.data)
        return _make(r, (self, other), "-", _sub_rule)

    def __rsub__(self, other: Number) -> Value:
        if not isinstance(other, Real):
            return NotImplemented
        return Value(other).__sub__(self)

    def __mul__(self, other: Operand) -> Value:
        """a * b.   d/da = b, d/db = a."""
        if type(other) is not Value:
            if not isinstance(other, Real):
                return _refuse_sequence("*", other)
            other = Value(other)
        r = self.data * other.data
        if r - r:
            _overflow("*", self.data, other.data)
        return _make(r, (self, other), "*", _mul_rule)

    def __rmul__(self, other: Number) -> Value:
        if not isinstance(other, Real):
            return _refuse_sequence("*", other)
        return Value(other).__mul__(self)

    def __truediv__(self, other: Operand) -> Value:
        """a / b.   d/da = 1/b, d/db = -a/b**2 = -out/b."""
        if type(other) is not Value:
            if not isinstance(other, Real):
                return NotImplemented
            other = Value(other)
        if other.data == 0.0:
            raise ZeroDivisionError(f"/: division by zero in {self.data!r} / {other.data!r}")
        r = self.data / other.data
        if r - r:
            _overflow("/", self.data, other.data)
        return _make(r, (self, other), "/", _div_rule)

    def __rtruediv__(self, other: Number) -> Value:
        if not isinstance(other, Real):
            return NotImplemented
        return Value(other).__truediv__(self)

    def __neg__(self) -> Value:
        """-a.   d/da = -1."""
        return _make(-self.data, (self,), "neg", _neg_rule)

    def __pos__(self) -> Value:
        return self

    def __pow__(self, other: Operand) -> Value:
        """a ** n (n a number): d/da = n * a**(n-1).  a ** b (b a Value): also d/db = out * log(a)."""
        if type(other) is Value:
            r = _power(self.data, other.data, "**")
            return _make(r, (self, other), "**", _pow_rule)
        if not isinstance(other, Real):
            return NotImplemented
        n = _number(other, "**")
        r = _power(self.data, n, f"**{n:g}")
        return _make(r, (self,), f"**{n:g}", _power_rule(n))

    def __rpow__(self, other: Number) -> Value:
        if not isinstance(other, Real):
            return NotImplemented
        return Value(other).__pow__(self)

    def __abs__(self) -> Value:
        """|a|.   d/da = sign(a), 0 at a = 0."""
        return _make(abs(self.data), (self,), "abs", _abs_rule)

    # ---------------------------------------------------------------- functions

    def relu(self) -> Value:
        """max(a, 0).   d/da = 1 if a > 0 else 0."""
        x = self.data
        return _make(x if x > 0.0 else 0.0, (self,), "relu", _relu_rule)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """a if a > 0 else slope * a.   d/da = 1 if a > 0 else slope."""
        slope = _number(slope, "leaky_relu slope")
        return _make(_leaky(self.data, slope), (self,), "leaky_relu", _leaky_rule(slope))

    def tanh(self) -> Value:
        """tanh(a).   d/da = 1 - tanh(a)**2."""
        return _make(math.tanh(self.data), (self,), "tanh", _tanh_rule)

    def sigmoid(self) -> Value:
        """1 / (1 + exp(-a)), computed without overflow.   d/da = out * (1 - out)."""
        return _make(_sigmoid(self.data), (self,), "sigmoid", _sigmoid_rule)

    def exp(self) -> Value:
        """e**a.   d/da = e**a = out."""
        return _make(_exp(self.data), (self,), "exp", _exp_rule)

    def log(self) -> Value:
        """Natural log, a > 0.   d/da = 1/a."""
        return _make(_log(self.data), (self,), "log", _log_rule)

    def sqrt(self) -> Value:
        """Square root, a >= 0.   d/da = 1 / (2 * sqrt(a))."""
        return _make(_sqrt(self.data), (self,), "sqrt", _sqrt_rule)

    def sin(self) -> Value:
        """sin(a).   d/da = cos(a)."""
        return _make(_sin(self.data), (self,), "sin", _sin_rule)

    def cos(self) -> Value:
        """cos(a).   d/da = -sin(a)."""
        return _make(_cos(self.data), (self,), "cos", _cos_rule)

    # ---------------------------------------------------------------- comparisons
    # Ordering compares data (handy in user code); == stays identity, so nodes hash.

    def __lt__(self, other: Operand) -> bool:
        return self.data < (other.data if type(other) is Value else other)

    def __le__(self, other: Operand) -> bool:
        return self.data <= (other.data if type(other) is Value else other)

    def __gt__(self, other: Operand) -> bool:
        return self.data > (other.data if type(other) is Value else other)

    def __ge__(self, other: Operand) -> bool:
        return self.data >= (other.data if type(other) is Value else other)

    __hash__ = object.__hash__

    # ---------------------------------------------------------------- graph

    def is_leaf(self) -> bool:
        """True for a node no operation made (an input, a parameter or a constant)."""
        return self._rule is None

    def detach(self) -> Value:
        """A new leaf with the same data and label, cut off from this graph."""
        return Value(self.data, self.label)

    def backward(self, grad: Any = 1.0, *, create_graph: bool = False) -> None:
        """Fill `.grad` of every node of this graph with d self / d node, times `grad`."""
        from .backward import run_backward

        run_backward(self, grad, create_graph)

    def backward_steps(self, grad: float = 1.0) -> Any:
        """backward() one node at a time: an iterator of chain-rule steps, each applied as taken."""
        from .steps import backward_steps

        return backward_steps(self, grad)

    def register_hook(self, fn: Callable[[Any], Any]) -> Any:
        """Call fn(grad) with the gradient flowing into this node; a non-None return replaces it."""
        from .hooks import add_hook

        return add_hook(self, fn)

    def apply_chain_rule(self) -> None:
        """This node's one backward step: input.grad += d self/d input * self.grad (a leaf has none)."""
        from .chainstep import apply_chain_rule

        apply_chain_rule(self)

    # ---------------------------------------------------------------- micrograd's names
    # For code written against micrograd: read-only views, no storage (no extra slot per node).

    @property
    def _prev(self) -> set[Value]:
        """micrograd's name: the inputs as a set (`parents` is the tuple, in argument order)."""
        return set(self.parents)

    @property
    def _op(self) -> str:
        """micrograd's name for `op`: the operation's name, '' for a leaf."""
        return self.op

    def _backward(self) -> None:
        """micrograd's name for `apply_chain_rule()`: this node's one chain-rule step."""
        self.apply_chain_rule()


# ---------------------------------------------------------------- float forms
# Forward maths on floats, with errors that name the operation and the value.


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


def _leaky(x: float, slope: float) -> float:
    r = x if x > 0.0 else slope * x
    if r - r:
        _overflow("leaky_relu", x, slope)
    return r


def _sin(x: float) -> float:
    if math.isinf(x):
        raise ValueError(f"sin: sin({x!r}) is undefined; sin needs a finite value")
    return math.sin(x)


def _cos(x: float) -> float:
    if math.isinf(x):
        raise ValueError(f"cos: cos({x!r}) is undefined; cos needs a finite value")
    return math.cos(x)


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp: exp({x!r}) is too large for a float") from None


def _log(x: float) -> float:
    if x <= 0.0:
        raise ValueError(f"log: log({x!r}) is undefined; log needs a value > 0")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0.0:
        raise ValueError(f"sqrt: sqrt({x!r}) is undefined; sqrt needs a value >= 0")
    return math.sqrt(x)


# ---------------------------------------------------------------- backward rules
# Each takes (g, out, *inputs) as floats or as Values and returns one share per input.
# `@forward(f)` records the operation's forward maths on floats beside its rule, for
# code that replays a recorded graph on plain floats (engine.compile).


def forward(f: Callable) -> Callable[[Callable], Callable]:
    """Attach the float forward function `f` to the rule it decorates."""

    def attach(rule: Callable) -> Callable:
        rule.forward = f
        return rule

    return attach


@forward(operator.add)
def _add_rule(g, out, a, b):
    return g, g


@forward(operator.sub)
def _sub_rule(g, out, a, b):
    return g, -g


@forward(operator.mul)
def _mul_rule(g, out, a, b):
    return g * b, g * a


@forward(operator.truediv)
def _div_rule(g, out, a, b):
    gb = g / b
    return gb, -gb * out


@forward(operator.neg)
def _neg_rule(g, out, a):
    return (-g,)


@forward(abs)
def _abs_rule(g, out, a):
    return (g if a > 0.0 else -g if a < 0.0 else 0.0,)


@forward(lambda x: x if x > 0.0 else 0.0)
def _relu_rule(g, out, a):
    return (g if a > 0.0 else 0.0,)


@forward(math.tanh)
def _tanh_rule(g, out, a):
    return (g * (1.0 - out * out),)


@forward(_sigmoid)
def _sigmoid_rule(g, out, a):
    return (g * out * (1.0 - out),)


@forward(_exp)
def _exp_rule(g, out, a):
    return (g * out,)


@forward(_log)
def _log_rule(g, out, a):
    return (g / a,)


@forward(_sqrt)
def _sqrt_rule(g, out, a):
    return (g * 0.5 / out if out > 0.0 else g * _INF,)


@forward(_sin)
def _sin_rule(g, out, a):
    return (g * cos(a),)


@forward(_cos)
def _cos_rule(g, out, a):
    return (-g * sin(a),)


def _data(x):
    """The float of a rule's operand, which is a float or (under create_graph) a Value.

    Rules never test `x == 0.0` on an operand: on a Value `==` is identity, not a comparison
    of data. They compare by order (`x >= 0.0 and x <= 0.0`) or through this function.
    """
    return x.data if type(x) is Value else x


@forward(lambda a, b: _power(a, b, "**"))
def _pow_rule(g, out, a, b):
    """a ** b with both Values: d/da = b * a**(b-1), d/db = out * log(a)."""
    if a > 0.0:
        db = g * out * log(a)
    elif a >= 0.0 and b >= 0.0:  # a == 0 here
        db = g * 0.0  # the limit of a**b * log(a) as a -> 0+ (and 0 at 0 ** 0, as in PyTorch)
    else:
        db = g * math.nan  # no real derivative in b for a negative base
    if b < 1.0 and a >= 0.0 and a <= 0.0:  # a == 0, by order: cheap on floats, and right on Values
        da = g * (0.0 if _data(b) == 0.0 else _INF)
    else:
        da = g * b * a ** (b - 1.0)
    return da, db


@lru_cache(maxsize=256)
def _power_rule(n: float) -> Callable:
    """The rule of a ** n for one number n: d/da = n * a**(n-1)."""
    op = f"**{n:g}"
    if n == 0.0:
        rule = lambda g, out, a: (g * 0.0,)
    elif n == 1.0:
        rule = lambda g, out, a: (g,)
    elif n == 2.0:
        rule = lambda g, out, a: (g * 2.0 * a,)
    else:
        m = n - 1.0

        def rule(g, out, a):
            if m < 0.0 and a >= 0.0 and a <= 0.0:  # a == 0, by order as in _pow_rule
                return (g * _INF,)
            return (g * n * a**m,)

    return forward(lambda a: _power(a, n, op))(rule)


@lru_cache(maxsize=256)
def _leaky_rule(slope: float) -> Callable:
    """The rule of leaky_relu for one slope: d/da = 1 if a > 0 else slope."""
    rule = lambda g, out, a: (g if a > 0.0 else g * slope,)
    return forward(lambda x: _leaky(x, slope))(rule)


# ---------------------------------------------------------------- module functions
# Each accepts a Value (and returns a Value) or a number (and returns a float).


def _unary(name: str, on_float: Callable[[float], float]) -> Callable:
    method = getattr(Value, name)

    def apply(x):
        if type(x) is Value:
            return method(x)
        return on_float(_number(x, name))

    apply.__name__ = apply.__qualname__ = name
    apply.__doc__ = method.__doc__
    apply.__annotations__ = {"x": "Value | float", "return": "Value | float"}
    return apply


relu = _unary("relu", lambda x: x if x > 0.0 else 0.0)
tanh = _unary("tanh", math.tanh)
sigmoid = _unary("sigmoid", _sigmoid)
exp = _unary("exp", _exp)
log = _unary("log", _log)
sqrt = _unary("sqrt", _sqrt)
sin = _unary("sin", _sin)
cos = _unary("cos", _cos)


def leaky_relu(x: Operand, slope: float = 0.01) -> Operand:
    """a if a > 0 else slope * a, for a Value or a number."""
    if type(x) is Value:
        return x.leaky_relu(slope)
    return _leaky(_number(x, "leaky_relu"), _number(slope, "leaky_relu slope"))
