"""`Operation`: how a function of floats becomes a node of the graph, and the `operation` decorator.

An operation is defined once, by two functions side by side:

    forward(*inputs) -> the result, on floats
    rule(g, out, *inputs) -> one share of the gradient per input: g * d out / d input

`g` is the gradient flowing into the result, `out` the result and `inputs` the operands. The
backward pass calls a rule with floats or, for derivatives of derivatives (`create_graph=True`),
with the Values themselves, so rules are written with operators that work on both. Every
built-in operation is defined this way in `engine.core.ops`, with the `operation` decorator
below, which is also how you add your own.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from functools import partial
from numbers import Real
from typing import Any

from . import symbolic
from .symbolic import Symbol, call, outside_read, shown_code, trace_forward, trace_rule
from .value import Number, Operand, Rule, Value, _constant, _make, _overflow, _short, to_float


class Operation:
    """An operation of the graph: its forward on floats and its derivative rule, side by side.

    Make one with the `operation` decorator. Calling it on Values records a node (on numbers it
    just computes). What the stepper, `explain` and `engine.compile` need is read off the rule
    by running it on symbols (see `engine.core.symbolic`), each time it is needed: nothing read is
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
        spelling: str | None = None,
        propagates_non_finite: bool = False,
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
        self.spelling = spelling  # how a node is written: "{0} * {1}"; None: name(a, b)
        self.propagates_non_finite = propagates_non_finite  # a NaN or inf operand always gives one
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
        return self.compute(*[to_float(x, self.name) for x in inputs])

    def compute(self, *inputs: float) -> float:
        """The forward on floats, with an error that names the operation and the inputs."""
        if len(inputs) != self.arity:
            raise TypeError(f"{self.name}: takes {self.arity} input(s), got {len(inputs)}")
        return self._checked(*inputs)

    def apply(self, *inputs: Operand) -> Value:
        """Record a node: the result of this operation on `inputs` (numbers become constants)."""
        parents = tuple(x if type(x) is Value else _constant(to_float(x, self.name), self.name) for x in inputs)
        return _make(self.compute(*[p._data for p in parents]), parents, self)

    # ---------------------------------------------------------------- read off the rule, each time

    def formula(self) -> tuple[str, ...] | None:
        """d out / d input for each input, as text with `{out}`, `{a}`, `{b}` (`{x0}`, `{x1}`... beyond two) or None."""
        given = self._given[0]
        if given is not None:
            return tuple(given)
        traced = trace_rule(self.rule, self.arity)
        return None if traced is None else tuple(s.shown for s in traced[0])

    def code(self) -> tuple[str, ...] | None:
        """Each share as code of `{g}`, `{o}` and the operands: the rule's arithmetic, step for step (or None)."""
        read = self.kernel_rule()
        if read is None or self._given[1] is not None:
            return None if read is None else read[0]
        return tuple(shown_code(c, read[1], self.arity) for c in read[0])

    def forward_code(self) -> str | None:
        """The forward as code of the operands (or None: a kernel then calls `forward`)."""
        read = self.kernel_forward()
        if read is None or self._given[2] is not None:
            return None if read is None else read[0]
        return shown_code(read[0], read[1], self.arity)

    def kernel_rule(self) -> tuple[tuple[str, ...], dict[str, tuple[str, Callable]]] | None:
        """The shares as code, functions as placeholders (see `engine.core.symbolic`); None: call the rule."""
        given = self._given[1]
        if given is not None:
            return tuple(given), {}
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
    return partial(_define, name, forward, formula, code, forward_code, zero_safe, params, False, {})


def builtin(
    name: str,
    forward: Callable[..., float],
    *,
    formula: Sequence[str] | None = None,
    code: Sequence[str] | None = None,
    forward_code: str | None = None,
    zero_safe: bool = False,
    params: dict[str, float] | None = None,
    spelling: str | None = None,
    propagates_non_finite: bool = False,
) -> Callable[[Rule], Operation]:
    """`operation` for the engine's own operations, whose forward returns a float and raises naming itself.

    Two more facts are given here: `spelling`, how a node of it is written (`"{0} * {1}"`, the
    inputs' names in place of the numbers), and `propagates_non_finite`, true when a NaN or
    infinite operand always gives a NaN or infinite result (relu(nan) = 0.0 does not).
    """
    facts = {"spelling": spelling, "propagates_non_finite": propagates_non_finite}
    return partial(_define, name, forward, formula, code, forward_code, zero_safe, params, True, facts)


def _define(
    name: str,
    forward: Callable[..., float],
    formula: Sequence[str] | None,
    code: Sequence[str] | None,
    forward_code: str | None,
    zero_safe: bool,
    params: dict[str, float] | None,
    trusted: bool,
    facts: dict[str, Any],
    rule: Rule,
) -> Operation:
    return Operation(
        name, forward, rule,
        formula=formula, code=code, forward_code=forward_code, zero_safe=zero_safe, params=params, trusted=trusted,
        **facts,
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
    return to_float(r, f"{name}'s forward")


def _not_finite(name: str, inputs: tuple, r: float) -> None:
    """Raise if finite inputs gave a NaN (no real value) or an infinite (too large) result."""
    if all(math.isfinite(x) for x in inputs):
        shown = ", ".join(map(repr, inputs))
        if r != r:
            raise ValueError(f"{name}: {name}({shown}) has no real value (the forward gave nan from finite inputs)")
        raise OverflowError(f"{name}: the result of {name}({shown}) is too large for a float")


def _arity(rule: Callable, name: str) -> int:
    """How many inputs a rule takes: its parameters after (g, out)."""
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


_REFLECTED = {"+": "__radd__", "-": "__rsub__", "*": "__rmul__", "/": "__rtruediv__", "**": "__rpow__"}


def _refuse(op: str, other: Any, value: Value | None = None) -> Any:
    """`value op other` by other's own reflected operator, if it has one that knows how; else a clear error.

    Python would give `other` that turn after a NotImplemented (a numpy array multiplies each
    element); taking it here lets every operand that nothing knows (None, a str, a dict, a
    complex) end in the one message below. A sequence is refused first (Python would repeat it),
    and so is every operand on the left (`value` None): its own operator has already refused.
    """
    mirror = getattr(type(other), _REFLECTED.get(op, ""), None)
    if value is not None and mirror is not None and not isinstance(other, Sequence):
        result = mirror(other, value)
        if result is not NotImplemented:
            return result
    raise TypeError(f"{op}: expected a real number or a Value, got {type(other).__name__} {_short(other)}")


def _binary_method(op: Operation) -> Callable[[Value, Operand], Value]:
    forward, name = op.forward, op.name

    def method(self: Value, other: Operand) -> Value:
        if type(other) is not Value:
            if not isinstance(other, Real):
                return _refuse(name, other, self)
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


symbolic.counts_as_code(Operation)  # a user function that calls an Operation reads no data through it
