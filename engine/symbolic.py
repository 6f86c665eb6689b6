"""Run an operation's rule on names instead of numbers, to read off its formula and its code.

A rule such as `lambda g, out, a: (g * (1.0 - out * out),)` is plain arithmetic. Called with
`Symbol`s, every operator builds an expression instead of a number, so one call gives

- the formula the stepper and `explain` show:  (1 - {out}.data**2)   (the rule with g = 1)
- the code a compiled kernel runs:              {g} * (1.0 - {o} * {o})

The code is the rule's own arithmetic, operation for operation and in the same order (floats
are written exactly, with repr), so a kernel gives the object engine's numbers to the last bit.
A rule that branches on its operands (`if a > 0.0`) cannot be read this way: comparing a Symbol
raises `Untraceable`, and the operation then gives its formula and code by hand, or the kernel
calls the rule itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

# How tightly each kind of expression binds, as in Python: parentheses go where a looser one
# stands inside a tighter one.
_ATOM, _POWER, _UNARY, _PRODUCT, _SUM = 5, 4, 3, 2, 1


class Untraceable(Exception):
    """The rule did something a Symbol cannot follow (a comparison, a branch, a library call)."""


class Symbol:
    """A name or an expression standing for a number while a rule runs.

    `code` is Python source computing the expression; `shown` is how a person reads it
    (operands as `{a}.data`, `1.0` as `1`, `x * x` as `x**2`). `one` marks the gradient
    seed 1 (or -1 once negated), which disappears from a product as it does on paper.
    """

    __slots__ = ("code", "shown", "binds", "one", "env")

    def __init__(
        self, code: str, shown: str, binds: int = _ATOM, one: int = 0, env: dict[str, Any] | None = None
    ) -> None:
        self.code, self.shown, self.binds, self.one = code, shown, binds, one
        self.env: dict[str, Any] = env or {}  # the functions the code calls, by name

    # -------------------------------------------------------- building expressions

    def _binary(self, other: Any, op: str, binds: int, flip: bool = False) -> Symbol:
        a, b = (as_symbol(other), self) if flip else (self, as_symbol(other))
        if op == "*" and (a.one or b.one):  # 1 * x is x, with the brackets the product gave it
            seed, kept = (a, b) if a.one else (b, a)
            loose = kept.binds < _PRODUCT
            result = Symbol(kept.code, _wrap(kept.shown, loose), _ATOM if loose else kept.binds, env=kept.env)
            return -result if seed.one < 0 else result
        power = op == "**"
        # The code keeps every bracket the evaluation order needs: floating-point sums and
        # products are not associative, so a + (b + c) stays as written.
        code = (
            f"{_wrap(a.code, a.binds < binds or (power and a.binds == binds))} {op} {_wrap(b.code, b.binds <= binds)}"
        )
        # What a person reads drops the brackets that change nothing on paper.
        left = _wrap(a.shown, a.binds < binds or (power and a.binds == binds))
        right = _wrap(b.shown, b.binds < binds or (b.binds == binds and op not in ("+", "*")))
        if op == "*" and a.shown == b.shown:  # x * x reads as x**2
            shown, binds = f"{_wrap(a.shown, a.binds <= _POWER)}**2", _POWER
        elif power:
            shown = f"{left}**{right}"
        else:
            shown = f"{left} {op} {right}"
        return Symbol(code, shown, binds, env={**a.env, **b.env})

    def __add__(self, other: Any) -> Symbol:
        return self._binary(other, "+", _SUM)

    def __radd__(self, other: Any) -> Symbol:
        return self._binary(other, "+", _SUM, flip=True)

    def __sub__(self, other: Any) -> Symbol:
        return self._binary(other, "-", _SUM)

    def __rsub__(self, other: Any) -> Symbol:
        return self._binary(other, "-", _SUM, flip=True)

    def __mul__(self, other: Any) -> Symbol:
        return self._binary(other, "*", _PRODUCT)

    def __rmul__(self, other: Any) -> Symbol:
        return self._binary(other, "*", _PRODUCT, flip=True)

    def __truediv__(self, other: Any) -> Symbol:
        return self._binary(other, "/", _PRODUCT)

    def __rtruediv__(self, other: Any) -> Symbol:
        return self._binary(other, "/", _PRODUCT, flip=True)

    def __pow__(self, other: Any) -> Symbol:
        return self._binary(other, "**", _POWER)

    def __rpow__(self, other: Any) -> Symbol:
        return self._binary(other, "**", _POWER, flip=True)

    def __neg__(self) -> Symbol:
        loose = self.binds < _UNARY
        if self.one:
            return Symbol(self.code, "1" if self.one < 0 else "-1", _ATOM if self.one < 0 else _UNARY, one=-self.one)
        return Symbol(f"-{_wrap(self.code, loose)}", f"-{_wrap(self.shown, loose)}", _UNARY, env=self.env)

    def __pos__(self) -> Symbol:
        return self

    def __abs__(self) -> Symbol:
        return call("abs", abs, self)

    # -------------------------------------------------------- what a Symbol cannot do

    def __bool__(self) -> bool:
        raise Untraceable("a branch on an operand")

    def __float__(self) -> float:
        raise Untraceable("a float() of an operand")

    def _compare(self, other: Any) -> bool:
        raise Untraceable("a comparison of an operand")

    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = _compare  # type: ignore[assignment]

    __hash__ = object.__hash__


def _wrap(text: str, loose: bool) -> str:
    return f"({text})" if loose else text


def as_symbol(x: Any) -> Symbol:
    """A Symbol for a Symbol or a plain number (a constant, written exactly in the code)."""
    if isinstance(x, Symbol):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
        x = float(x)
        return Symbol(repr(x), f"{x:g}", _UNARY if x < 0.0 or repr(x).startswith("-") else _ATOM)
    raise Untraceable(f"the constant {x!r}")


def call(name: str, function: Callable[..., float], *args: Any) -> Symbol:
    """`name(args)`: a function of floats applied to symbols (such as cos inside sin's rule)."""
    symbols = [as_symbol(a) for a in args]
    env = {name: function}
    for s in symbols:
        env.update(s.env)
    return Symbol(
        f"{name}({', '.join(s.code for s in symbols)})",
        f"{name}({', '.join(s.shown for s in symbols)})",
        env=env,
    )


def _names(arity: int) -> tuple[str, ...]:
    return ("a", "b")[:arity] if arity <= 2 else tuple(f"x{i}" for i in range(arity))


def trace_rule(rule: Callable[..., Any], arity: int) -> tuple[tuple[Symbol, ...], tuple[Symbol, ...]] | None:
    """Two calls of the rule on Symbols: (what a person reads, the code), one per input; or None.

    The first call has g = 1, so its results are the local derivatives d out / d input, written
    with `{out}.data` and `{a}.data`, `{b}.data` where the names go. The second gives each share
    as Python code of the local variables `{g}`, `{o}`, `{a}`, `{b}`. None if the rule cannot be
    traced (it branches on an operand, or calls something that needs a number).
    """
    inputs = _names(arity)
    try:
        one = Symbol("1.0", "1", one=1)
        shown = rule(one, Symbol("{o}", "{out}.data"), *[Symbol(f"{{{x}}}", f"{{{x}}}.data") for x in inputs])
        code = rule(Symbol("{g}", "g"), Symbol("{o}", "o"), *[Symbol(f"{{{x}}}", x) for x in inputs])
        shown, code = tuple(map(as_symbol, shown)), tuple(map(as_symbol, code))
    except Exception:  # whatever a rule does that a symbol cannot follow
        return None
    if len(shown) != arity or len(code) != arity:
        return None
    return shown, code


def trace_forward(forward: Callable[..., float], arity: int) -> Symbol | None:
    """The forward function as code of `{a}`, `{b}` (one call on Symbols), or None if it cannot be traced."""
    try:
        return as_symbol(forward(*[Symbol(f"{{{x}}}", x) for x in _names(arity)]))
    except Exception:  # whatever a rule does that a symbol cannot follow
        return None
