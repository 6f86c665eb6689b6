"""The `Value` node, and `Operation`: how a function of floats becomes a node of the graph.

A `Value` holds a float, its gradient, the Values it was made from (`parents`) and the
`Operation` that made it. An operation is defined once, by two functions side by side:

    forward(*inputs) -> the result, on floats
    rule(g, out, *inputs) -> one share of the gradient per input: g * d out / d input

`g` is the gradient flowing into the result, `out` the result and `inputs` the operands. The
backward pass calls a rule with floats (`node.data`) or, for derivatives of derivatives
(`create_graph=True`), with the Values themselves, so rules are written with operators that
work on both. A node stores its operation by reference: no closure per node, so no reference
cycle and no allocation. Every built-in operation is defined this way in `engine.ops`, with the
`operation` decorator below, which is also how you add your own.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from functools import partial
from numbers import Real
from typing import Any, ClassVar, Union

from .symbolic import Symbol, call

Number = Union[int, float]  # noqa: UP007 (a runtime alias that must work on 3.10)
Operand = Union["Value", int, float]  # noqa: UP007
Rule = Callable[..., tuple[Any, ...]]

_new = object.__new__

# The process-wide fast flag, switched by engine.mode: 1 while no thread is inside no_grad()
# and anomaly mode is off (then _make records without asking anything else), 2 under
# detect_anomaly() (process-wide), 3 while some thread is inside no_grad(). When it is not 1,
# _make asks _thread_mode() what this thread does: 0 record nothing, 1 record, 2 record with
# the line that made the node. Kept in a one-element list so the other modules can switch it.
_mode = [1]


NO_GRAD = "made inside no_grad()"  # the _origin of a result no_grad() left a leaf
CONSTANT = "a number operand"  # the _origin of the leaf a Python number becomes in `2 * x`


def _thread_mode() -> int:
    """Replaced by engine.mode.thread_mode when engine.mode is imported (as `import engine` does)."""
    return _mode[0]


# engine.compile's recorder. `_watching` counts the recordings open in any thread: while it is 0,
# reading `v.data` costs one check of it more than a plain attribute, and the engine's own
# arithmetic reads the slot `_data` directly. While a recording is open, every read of a
# number by Python (`.data`, float(), int(), bool(), round(), format, comparisons) and every
# node, constant and stop-gradient made goes to the recorder of this thread, if it has one.
_watching = 0


class _Recorders(threading.local):
    tape: Any = None  # this thread's engine.replay.tape.Tape while it records


recorders = _Recorders()


def _read(v: Value, how: str, result: Any, other: Any = None) -> None:
    """Tell this thread's recorder (if any) that Python read v's number: `how`, giving `result`."""
    tape = recorders.tape
    if tape is not None:
        tape.read(v, how, result, other)


class Value:
    """A scalar in a computation graph: `data`, `grad`, `parents`, `op`, `label`."""

    __slots__ = ("_data", "grad", "parents", "operation", "_label", "_rule", "_hooks", "_origin")

    def __init__(self, data: Number | Real, label: str = "", *micrograd: str) -> None:
        if micrograd or type(label) is not str:  # micrograd's Value(data, _children, _op, label)?
            label = _micrograd_leaf(label, micrograd)
        self._data = _number(data, "Value")
        self.grad: Any = 0.0
        self.parents: tuple[Value, ...] = ()
        self.operation: Operation | None = None  # what made this node; None for a leaf
        self.label = label
        self._rule: Rule | None = None  # operation.rule, kept here for the backward loop's speed
        self._hooks: dict | None = None
        self._origin: str | None = None
        if _watching:
            tape = recorders.tape
            if tape is not None:
                tape.constant(self, data)

    @property
    def data(self) -> float:
        """The number this node holds (a float)."""
        if _watching:
            _read(self, ".data", self._data)
        return self._data

    @data.setter
    def data(self, x: Number | Real) -> None:
        self._data = x if type(x) is float else _number(x, "Value.data")

    @property
    def label(self) -> str:
        """The node's name in pictures and tables ('' for none); only a str is accepted."""
        return self._label

    @label.setter
    def label(self, label: str) -> None:
        if type(label) is not str:
            raise TypeError(f"Value: label must be a str, got {type(label).__name__} {label!r}")
        self._label = label

    @property
    def op(self) -> str:
        """The name of the operation that made this node ('*', 'tanh', '**2'), '' for a leaf."""
        operation = self.operation
        return "" if operation is None else operation.name

    def __repr__(self) -> str:
        grad = self.grad
        shown = f"Value(data={grad._data!r})" if type(grad) is Value else repr(grad)
        text = f"Value(data={self._data!r}, grad={shown}"
        if self.operation is not None:
            text += f", op={self.op!r}"
        if self.label:
            text += f", label={self.label!r}"
        return text + ")"

    # ---------------------------------------------------------------- operations
    # Each is defined with its forward and derivative in `engine.ops`, which sets these.

    __add__: ClassVar[Callable[[Value, Operand], Value]]
    __radd__: ClassVar[Callable[[Value, Number], Value]]
    __sub__: ClassVar[Callable[[Value, Operand], Value]]
    __rsub__: ClassVar[Callable[[Value, Number], Value]]
    __mul__: ClassVar[Callable[[Value, Operand], Value]]
    __rmul__: ClassVar[Callable[[Value, Number], Value]]
    __truediv__: ClassVar[Callable[[Value, Operand], Value]]
    __rtruediv__: ClassVar[Callable[[Value, Number], Value]]
    __pow__: ClassVar[Callable[[Value, Operand], Value]]
    __rpow__: ClassVar[Callable[[Value, Number], Value]]
    __neg__: ClassVar[Callable[[Value], Value]]
    __abs__: ClassVar[Callable[[Value], Value]]
    relu: ClassVar[Callable[[Value], Value]]
    leaky_relu: ClassVar[Callable[..., Value]]
    tanh: ClassVar[Callable[[Value], Value]]
    sigmoid: ClassVar[Callable[[Value], Value]]
    exp: ClassVar[Callable[[Value], Value]]
    log: ClassVar[Callable[[Value], Value]]
    sqrt: ClassVar[Callable[[Value], Value]]
    sin: ClassVar[Callable[[Value], Value]]
    cos: ClassVar[Callable[[Value], Value]]

    def __pos__(self) -> Value:
        return self

    # ---------------------------------------------------------------- comparisons
    # Ordering compares data (handy in user code); == stays identity, so nodes hash.

    def __lt__(self, other: Operand) -> bool:
        r = self._data < (other._data if type(other) is Value else _compared(other, "<"))
        if _watching:
            _read(self, "<", r, other)
        return r

    def __le__(self, other: Operand) -> bool:
        r = self._data <= (other._data if type(other) is Value else _compared(other, "<="))
        if _watching:
            _read(self, "<=", r, other)
        return r

    def __gt__(self, other: Operand) -> bool:
        r = self._data > (other._data if type(other) is Value else _compared(other, ">"))
        if _watching:
            _read(self, ">", r, other)
        return r

    def __ge__(self, other: Operand) -> bool:
        r = self._data >= (other._data if type(other) is Value else _compared(other, ">="))
        if _watching:
            _read(self, ">=", r, other)
        return r

    __hash__ = object.__hash__

    # ---------------------------------------------------------------- conversions, as for a PyTorch scalar

    def __float__(self) -> float:
        """The data, as `float(t)` gives a 0-d tensor's."""
        if _watching:
            _read(self, "float", self._data)
        return self._data

    def __int__(self) -> int:
        """int(data), rounded toward 0 as `int(t)` of a 0-d tensor."""
        r = int(self._data)
        if _watching:
            _read(self, "int", r)
        return r

    def __bool__(self) -> bool:
        """False for 0.0 and -0.0, True otherwise (NaN included), as `bool(t)` of a 0-d tensor."""
        r = self._data != 0.0
        if _watching:
            _read(self, "bool", r)
        return r

    def __round__(self, ndigits: int | None = None) -> Any:
        """round(data) (an int) or round(data, ndigits) (a float), as for the float."""
        r = round(self._data, ndigits)
        if _watching:
            _read(self, "round", r, ndigits)
        return r

    def __format__(self, spec: str) -> str:
        """format(v, ".3f") formats the data; an empty spec gives repr(v)."""
        if not spec:
            return repr(self)
        r = format(self._data, spec)
        if _watching:
            _read(self, "format", r, spec)
        return r

    # ---------------------------------------------------------------- graph

    def is_leaf(self) -> bool:
        """True for a node no operation made (an input, a parameter or a constant)."""
        return self._rule is None

    def detach(self) -> Value:
        """A new leaf with the same data and label, cut off from this graph."""
        v = Value(self._data, self.label)
        if _watching:
            tape = recorders.tape
            if tape is not None:
                tape.stop(v, None, (self,))
        return v

    def backward(self, grad: Any = 1.0, *, create_graph: bool = False) -> None:
        """Fill `.grad` of every node of this graph with d self / d node, times `grad`."""
        from .backward import run_backward

        run_backward(self, grad, create_graph)

    def backward_steps(self, grad: float = 1.0) -> Any:
        """backward() one node at a time: an iterator of chain-rule steps, each applied as taken."""
        from .backward_steps import backward_steps

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


def _micrograd_leaf(children: Any, rest: tuple) -> Any:
    """The label of micrograd's `Value(data, _children=(), _op='', label='')`, for a leaf (no children, no op)."""
    if not isinstance(children, (tuple, set, frozenset)) or any(type(c) is not Value for c in children):
        return children  # not micrograd's form: the label setter says what is wrong with it
    if len(rest) > 2:
        raise TypeError(
            f"Value: takes (data, label), or micrograd's (data, _children, _op, label); got {len(rest) + 2}"
        )
    op, label = (*rest, "", "")[:2]
    if children or op:
        raise TypeError(
            "Value: micrograd's Value(data, _children, _op) makes an operation's result by hand, with a _backward "
            "set afterwards; here an operation is defined once, forward and derivative side by side, with "
            "engine.operation (see 'Coming from micrograd' in the README). For a leaf: Value(data, label='x')"
        )
    return label


def _make(data: float, parents: tuple, operation: Operation) -> Value:
    """Create the result of an operation; inside no_grad() it is a leaf."""
    v = _new(Value)
    v._data = data
    v.grad = 0.0
    v._label = ""
    v._hooks = None
    if _mode[0] == 1:
        v.parents = parents
        v.operation = operation
        v._rule = operation.rule
        v._origin = None
        return v
    mode = _thread_mode()
    if mode == 0:
        v.parents = ()
        v.operation = None
        v._rule = None
        v._origin = NO_GRAD  # so that backward() of it can say why it has nothing to do
        if _watching:
            tape = recorders.tape
            if tape is not None:  # made under no_grad() while recording: a stop-gradient leaf
                tape.stop(v, operation, parents)
    else:
        v.parents = parents
        v.operation = operation
        v._rule = operation.rule
        if mode == 2:
            from .anomaly import where_created

            v._origin = where_created()
        else:
            v._origin = None
        if _watching:
            tape = recorders.tape
            if tape is not None:
                tape.made(v)
    return v


def _number(x: Any, where: str) -> float:
    """Check that `x` is a real number and return it as a float."""
    if isinstance(x, Real):
        try:
            return float(x)
        except OverflowError:
            raise OverflowError(f"{where}: the {type(x).__name__} {_short(x)} is too large for a float") from None
    raise TypeError(f"{where}: expected a real number (int or float), got {type(x).__name__} {x!r}")


def _compared(other: Any, op: str) -> Any:
    """The number a Value is ordered against (a Value's data); anything else is refused naming `op`."""
    if type(other) is Value:
        return other.data
    if isinstance(other, Real):
        return other
    shown = f"{type(other).__name__} {_short(other)}"
    raise TypeError(f"{op}: a Value can be compared with a real number or a Value, not {shown}")


def _short(x: Any) -> str:
    """repr(x), cut down to its ends if long (a huge int has hundreds of digits)."""
    try:
        text = repr(x)
    except ValueError:  # an int beyond the interpreter's digit limit for str()
        return f"of {x.bit_length()} bits"
    return text if len(text) <= 40 else f"{text[:15]}...{text[-10:]} ({len(text)} characters)"


def _constant(x: Any, op: str) -> Value:
    """A leaf for a number operand of `op`; a number too large for a float is refused naming `op`."""
    try:
        c = Value(x)
    except OverflowError:
        raise OverflowError(f"{op}: the {type(x).__name__} {_short(x)} is too large for a float") from None
    c._origin = CONSTANT  # so that tables and pictures tell it from a leaf the user made
    return c


def _overflow(op: str, *inputs: float) -> None:
    """Raise OverflowError if finite inputs gave an infinite or NaN result."""
    if all(math.isfinite(x) for x in inputs):
        shown = ", ".join(repr(x) for x in inputs)
        raise OverflowError(f"{op}: the result of {op}({shown}) is too large for a float")


def _refuse(op: str, other: Any) -> Any:
    """NotImplemented for a non-number, but a clear error for a sequence (Python would repeat it)."""
    if isinstance(other, Sequence):
        raise TypeError(f"{op}: expected a real number or a Value, got {type(other).__name__} {other!r}")
    return NotImplemented


# ---------------------------------------------------------------- operations


class Operation:
    """An operation of the graph: its forward on floats and its derivative rule, side by side.

    Make one with the `operation` decorator. Calling it on Values records a node (on numbers it
    just computes). What the stepper, `explain` and `engine.compile` need is read off the rule
    by running it on symbols (see `engine.symbolic`), each time it is needed: nothing read is
    kept on the operation. A rule that branches on its operands cannot be read so, and then
    `formula` (what `explain` shows) and `code` (what a compiled kernel runs) may be given by
    hand. Without them the stepper shows `d out/d a` and the kernel calls the rule, with the
    same numbers; a kernel also calls a rule or forward that reads anything besides its
    operands (a global, a closure, an attribute), so that it reads the current value each time.

    `function` is the forward as given. `forward` is what every path calls on floats: for your
    own operations, `function` with the result checks of the engine's built-ins (a complex or
    NaN result is refused, an infinite one from finite inputs is an overflow; each error names
    the operation and its inputs). The engine's own operations (`trusted`) return floats and
    raise naming themselves, so their `forward` is `function` itself and each caller checks `r - r`.
    """

    def __init__(
        self,
        name: str,
        forward: Callable[..., float],
        rule: Rule,
        *,
        formula: Sequence[str] | None = None,
        code: Sequence[str] | None = None,
        forward_code: str | None = None,
        zero_safe: bool = False,
        params: dict[str, float] | None = None,
        trusted: bool = False,
    ) -> None:
        self.name = name
        self.function = forward
        self.trusted = trusted
        self._checked = _checked_forward(name, forward)
        self.forward = forward if trusted else self._checked
        self.rule = rule
        self.arity = _arity(rule, name)
        self.params = dict(params or {})  # the numbers that make it this operation (n of a ** n)
        self.zero_safe = zero_safe  # g = 0 gives all-zero shares for finite operands
        self.__doc__ = rule.__doc__ or f"The operation {name}."
        self._given = (formula, code, forward_code)

    def __repr__(self) -> str:
        params = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"Operation({self.name!r}{params})"

    def __call__(self, *inputs: Any) -> Any:
        """Apply the operation: to Values it records a node and returns a Value; to numbers, a float."""
        for x in inputs:
            if type(x) is Value:
                return self.apply(*inputs)
            if type(x) is Symbol:  # inside another operation's rule, which is being read as a formula
                return call(self.name, self.forward, *inputs)
        return self.compute(*[_number(x, self.name) for x in inputs])

    def compute(self, *inputs: float) -> float:
        """The forward on floats, with an error that names the operation and the inputs."""
        if len(inputs) != self.arity:
            raise TypeError(f"{self.name}: takes {self.arity} input(s), got {len(inputs)}")
        return self._checked(*inputs)

    def apply(self, *inputs: Operand) -> Value:
        """Record a node: the result of this operation on `inputs` (numbers become constants)."""
        parents = tuple(x if type(x) is Value else _constant(_number(x, self.name), self.name) for x in inputs)
        return _make(self.compute(*[p._data for p in parents]), parents, self)

    # ---------------------------------------------------------------- read off the rule, each time

    def formula(self) -> tuple[str, ...] | None:
        """d out / d input for each input, as text with `{out}`, `{a}`, `{b}` (`{x0}`, `{x1}`... beyond two) or None."""
        given = self._given[0]
        if given is not None:
            return tuple(given)
        from .symbolic import trace_rule

        traced = trace_rule(self.rule, self.arity)
        return None if traced is None else tuple(s.shown for s in traced[0])

    def code(self) -> tuple[str, ...] | None:
        """Each share as code of `{g}`, `{o}` and the operands: the rule's arithmetic, step for step (or None)."""
        read = self.kernel_rule()
        if read is None or self._given[1] is not None:
            return None if read is None else read[0]
        from .symbolic import shown_code

        return tuple(shown_code(c, read[1], self.arity) for c in read[0])

    def forward_code(self) -> str | None:
        """The forward as code of the operands (or None: a kernel then calls `forward`)."""
        read = self.kernel_forward()
        if read is None or self._given[2] is not None:
            return None if read is None else read[0]
        from .symbolic import shown_code

        return shown_code(read[0], read[1], self.arity)

    def kernel_rule(self) -> tuple[tuple[str, ...], dict[str, tuple[str, Callable]]] | None:
        """The shares as code, functions as placeholders (see `engine.symbolic`); None: call the rule."""
        given = self._given[1]
        if given is not None:
            return tuple(given), {}
        from .symbolic import outside_read, trace_rule

        if outside_read(self.rule) is not None:
            return None
        traced = trace_rule(self.rule, self.arity)
        if traced is None:
            return None
        env: dict[str, tuple[str, Callable]] = {}
        for s in traced[1]:
            env.update(s.env)
        return tuple(s.code for s in traced[1]), env

    def kernel_forward(self) -> tuple[str, dict[str, tuple[str, Callable]]] | None:
        """The forward as code with placeholders for the functions it calls; None: call `forward`."""
        given = self._given[2]
        if given is not None:
            return given, {}
        from .symbolic import outside_read, trace_forward

        if outside_read(self.function) is not None:
            return None
        traced = trace_forward(self.function, self.arity)
        return None if traced is None else (traced.code, traced.env)

    # ---------------------------------------------------------------- as methods of Value

    def method(self) -> Callable[..., Value]:
        """The operation as a method of Value: `a.tanh()`, or `a * b` for two inputs."""
        if self.arity == 1:
            return _unary_method(self)
        if self.arity == 2:
            return _binary_method(self)
        return self.apply

    def reflected(self) -> Callable[[Value, Number], Value]:
        """The operation as the method for `2 * v`, where the number comes first."""
        return _reflected_method(self)


def operation(
    name: str,
    forward: Callable[..., float],
    *,
    formula: Sequence[str] | None = None,
    code: Sequence[str] | None = None,
    forward_code: str | None = None,
    zero_safe: bool = False,
    params: dict[str, float] | None = None,
) -> Callable[[Rule], Operation]:
    """Decorate a derivative rule `rule(g, out, *inputs)` to make it an `Operation` named `name`.

    `forward` computes the result from floats. The rule returns, for each input, its share of
    the gradient: `g` times d out / d input. Write it with operators (and the engine's functions,
    such as `engine.exp`) so that it also works on Values, and derivatives of derivatives follow.
    """
    return partial(_define, name, forward, formula, code, forward_code, zero_safe, params, False)


def builtin(
    name: str,
    forward: Callable[..., float],
    *,
    formula: Sequence[str] | None = None,
    code: Sequence[str] | None = None,
    forward_code: str | None = None,
    zero_safe: bool = False,
    params: dict[str, float] | None = None,
) -> Callable[[Rule], Operation]:
    """`operation` for the engine's own operations, whose forward returns a float and raises naming itself."""
    return partial(_define, name, forward, formula, code, forward_code, zero_safe, params, True)


def _define(
    name: str,
    forward: Callable[..., float],
    formula: Sequence[str] | None,
    code: Sequence[str] | None,
    forward_code: str | None,
    zero_safe: bool,
    params: dict[str, float] | None,
    trusted: bool,
    rule: Rule,
) -> Operation:
    return Operation(
        name, forward, rule,
        formula=formula, code=code, forward_code=forward_code, zero_safe=zero_safe, params=params, trusted=trusted,
    )  # fmt: skip


def _checked_forward(name: str, forward: Callable[..., float]) -> Callable[..., float]:
    """forward with the built-ins' checks: errors name the operation, a result must be a real float."""

    def checked(*inputs: float) -> float:
        try:
            r = forward(*inputs)
        except (ArithmeticError, ValueError) as error:
            if str(error).startswith(f"{name}:"):
                raise
            shown = ", ".join(map(repr, inputs))
            raise type(error)(f"{name}: {error} at {name}({shown})") from None
        if type(r) is not float:
            r = _real(r, name, inputs)
        if r - r:
            _not_finite(name, inputs, r)
        return r

    checked.__name__ = checked.__qualname__ = f"{name} (checked)"
    checked.__doc__ = forward.__doc__
    checked.__wrapped__ = forward  # type: ignore[attr-defined]
    return checked


def _real(r: Any, name: str, inputs: tuple) -> float:
    """A forward's result as a float: a complex number has no real value there, a non-number is refused."""
    if isinstance(r, complex):
        shown = ", ".join(map(repr, inputs))
        raise ValueError(f"{name}: {name}({shown}) has no real value (the forward gave the complex {r!r})")
    return _number(r, f"{name}'s forward")


def _not_finite(name: str, inputs: tuple, r: float) -> None:
    """Raise if finite inputs gave a NaN (no real value) or an infinite (too large) result."""
    if all(math.isfinite(x) for x in inputs):
        shown = ", ".join(map(repr, inputs))
        if r != r:
            raise ValueError(f"{name}: {name}({shown}) has no real value (the forward gave nan from finite inputs)")
        raise OverflowError(f"{name}: the result of {name}({shown}) is too large for a float")


def _arity(rule: Callable, name: str) -> int:
    """How many inputs a rule takes: its parameters after (g, out)."""
    import inspect

    try:
        parameters = list(inspect.signature(rule).parameters.values())
    except (TypeError, ValueError):
        raise TypeError(f"{name}: the rule must be a function rule(g, out, *inputs)") from None
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters) or len(parameters) < 3:
        raise TypeError(f"{name}: the rule must take (g, out, input, ...), got {len(parameters)} parameter(s)")
    return len(parameters) - 2


def _unary_method(op: Operation) -> Callable[[Value], Value]:
    forward, name = op.forward, op.name

    def method(self: Value) -> Value:
        x = self._data
        r = forward(x)
        if r - r:
            _overflow(name, x)
        return _make(r, (self,), op)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = op.__doc__
    return method


def _binary_method(op: Operation) -> Callable[[Value, Operand], Value]:
    forward, name = op.forward, op.name

    def method(self: Value, other: Operand) -> Value:
        if type(other) is not Value:
            if not isinstance(other, Real):
                return _refuse(name, other)
            other = _constant(other, name)
        r = forward(self._data, other._data)
        if r - r:
            _overflow(name, self._data, other._data)
        return _make(r, (self, other), op)

    method.__doc__ = op.__doc__
    return method


def _reflected_method(op: Operation) -> Callable[[Value, Number], Value]:
    forward, name = op.forward, op.name

    def method(self: Value, other: Number) -> Value:
        if not isinstance(other, Real):
            return _refuse(name, other)
        first = _constant(other, name)
        r = forward(first._data, self._data)
        if r - r:
            _overflow(name, first._data, self._data)
        return _make(r, (first, self), op)

    method.__doc__ = op.__doc__
    return method


from . import ops  # noqa: E402,F401  (defines every operation and sets Value's methods)
