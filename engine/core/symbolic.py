"""Run an operation's rule on names instead of numbers, to read off its formula and its code.

A rule such as `lambda g, out, a: (g * (1.0 - out * out),)` is plain arithmetic. Called with
`Symbol`s, every operator builds an expression instead of a number, so one call gives

- the formula the stepper and `explain` show:  (1 - {out}.data**2)   (the rule with g = 1)
- the code a compiled kernel runs:              {g} * (1.0 - {o} * {o})

Each Symbol is a node of the expression tree, and carries two texts written from its
children's: the code, with Python's precedence in full (a bracket wherever one is needed, so
`g / (d * d)` stays a quotient by a product and `g * (x * x)` keeps its order of rounding), and
the text a person reads (`x**2`, `1` for `1.0`), with its own precedence, never used as code.
The code is the rule's own arithmetic, operation for operation and in the same order (floats
are written exactly, with repr), so a kernel gives the object engine's numbers to the last bit.
The functions it calls are placeholders `{f<n>}`, bound by whoever runs the code to names of
its own (see `code_text`), so that no operation's name can clash with anything.

A rule that branches on its operands (`if a > 0.0`) cannot be read this way: comparing a Symbol
raises `Untraceable`, and the operation then gives its formula and code by hand, or the kernel
calls the rule itself. Neither can a rule or forward that reads anything besides its operands
(a global number, a closure, an attribute, a default argument: see `outside_read`): its code
would freeze what it read, so a kernel calls it and it reads the current value each time.
"""

from __future__ import annotations

import builtins
import dis
import math
import types
from collections.abc import Callable, Sequence
from typing import Any

from .origin import ours

# How tightly each kind of expression binds, as in Python: parentheses go where a looser one
# stands inside a tighter one.
_ATOM, _POWER, _UNARY, _PRODUCT, _SUM = 5, 4, 3, 2, 1
_BINDS = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "**": _POWER}


class Untraceable(Exception):
    """The rule did something a Symbol cannot follow (a comparison, a branch, a library call)."""


class Symbol:
    """A node of an expression tree standing for a number while a rule runs.

    `code` is Python source computing the expression, of the placeholders `{g}`, `{o}`, the
    operands' `{a}`, `{b}` (`{x0}`, `{x1}`, ... for three or more) and `{f<n>}` for the
    functions in `env`; `binds` is how tightly it binds. `shown` is how a person reads it
    (operands as `{a}.data`, `1.0` as `1`, `x * x` as `x**2`), with its own `shown_binds`.
    `one` marks the gradient seed 1 (or -1 once negated), which disappears from a product in
    the shown text as it does on paper.
    """

    __slots__ = ("code", "binds", "shown", "shown_binds", "one", "env", "parts")

    def __init__(
        self,
        code: str,
        shown: str,
        binds: int = _ATOM,
        shown_binds: int | None = None,
        one: int = 0,
        env: dict[str, tuple[str, Callable]] | None = None,
        parts: tuple[Symbol, ...] = (),
    ) -> None:
        self.code, self.binds, self.shown, self.one, self.parts = code, binds, shown, one, parts
        self.shown_binds = binds if shown_binds is None else shown_binds
        self.env: dict[str, tuple[str, Callable]] = env or {}  # placeholder -> (its name, the function called)

    # -------------------------------------------------------- building expressions

    def _binary(self, other: Any, op: str, flip: bool = False) -> Symbol:
        a, b = (as_symbol(other), self) if flip else (self, as_symbol(other))
        binds = _BINDS[op]
        power = op == "**"
        # The code: the left operand is bracketed if it binds more loosely (or, for the
        # right-associative **, as loosely); the right one also if it binds as loosely, since
        # floating-point sums and products are not associative: a - (b - c), a * (b * c).
        left = _wrap(a.code, a.binds < binds or (power and a.binds <= binds))
        right = _wrap(b.code, b.binds <= binds if not power else b.binds < _POWER)
        code = f"{left} {op} {right}"
        env = {**a.env, **b.env}
        # What a person reads: a seed 1 disappears, and brackets that change nothing on paper go.
        if op == "*" and (a.one or b.one):
            seed, kept = (a, b) if a.one else (b, a)
            loose = kept.shown_binds < _PRODUCT  # 1 * (x + y) reads (x + y): the brackets the product gave it
            shown, shown_binds = _wrap(kept.shown, loose), _ATOM if loose else kept.shown_binds
            if seed.one < 0:
                shown, shown_binds = f"-{_wrap(shown, shown_binds < _UNARY)}", _UNARY
            return _made(Symbol(code, shown, binds, shown_binds, env=env, parts=(a, b)), op)
        s_left = _wrap(a.shown, a.shown_binds < binds or (power and a.shown_binds <= binds))
        s_right = _wrap(b.shown, b.shown_binds < binds or (b.shown_binds == binds and op not in ("+", "*")))
        if op == "*" and a.shown == b.shown:  # x * x reads as x**2
            shown, shown_binds = f"{_wrap(a.shown, a.shown_binds <= _POWER)}**2", _POWER
        elif power:
            shown, shown_binds = f"{s_left}**{_wrap(b.shown, b.shown_binds < _POWER)}", _POWER
        else:
            shown, shown_binds = f"{s_left} {op} {s_right}", binds
        return _made(Symbol(code, shown, binds, shown_binds, env=env, parts=(a, b)), op)

    def __add__(self, other: Any) -> Symbol:
        return self._binary(other, "+")

    def __radd__(self, other: Any) -> Symbol:
        return self._binary(other, "+", flip=True)

    def __sub__(self, other: Any) -> Symbol:
        return self._binary(other, "-")

    def __rsub__(self, other: Any) -> Symbol:
        return self._binary(other, "-", flip=True)

    def __mul__(self, other: Any) -> Symbol:
        return self._binary(other, "*")

    def __rmul__(self, other: Any) -> Symbol:
        return self._binary(other, "*", flip=True)

    def __truediv__(self, other: Any) -> Symbol:
        return self._binary(other, "/")

    def __rtruediv__(self, other: Any) -> Symbol:
        return self._binary(other, "/", flip=True)

    def __pow__(self, other: Any) -> Symbol:
        return self._binary(other, "**")

    def __rpow__(self, other: Any) -> Symbol:
        return self._binary(other, "**", flip=True)

    def __neg__(self) -> Symbol:
        code = f"-{_wrap(self.code, self.binds < _UNARY)}"
        if self.one:
            shown, binds = ("1", _ATOM) if self.one < 0 else ("-1", _UNARY)
            return Symbol(code, shown, _UNARY, binds, one=-self.one, env=self.env, parts=(self,))
        return Symbol(code, f"-{_wrap(self.shown, self.shown_binds < _UNARY)}", _UNARY, env=self.env, parts=(self,))

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


# While a rule is read, the operations that can raise (a quotient, a power, a call) are noted
# here: code that leaves one out, because the rule's result does not use it, would not raise
# where the rule does, so such a rule is called instead of read.
_raising: list[list[Symbol]] = []


def _made(s: Symbol, op: str) -> Symbol:
    if _raising and op in ("/", "**", "call"):
        _raising[-1].append(s)
    return s


def _forget(made: list[Symbol]) -> None:
    """Stop noting into `made` (found by identity: == on Symbols builds an expression)."""
    for i in range(len(_raising) - 1, -1, -1):
        if _raising[i] is made:
            del _raising[i]
            return


def _all_used(results: Sequence[Symbol], made: list[Symbol]) -> bool:
    """True if every operation in `made` is part of the results' trees."""
    seen: set[int] = set()
    todo = list(results)
    while todo:
        s = todo.pop()
        if id(s) not in seen:
            seen.add(id(s))
            todo.extend(s.parts)
    return all(id(s) in seen for s in made)


def _wrap(text: str, loose: bool) -> str:
    return f"({text})" if loose else text


def as_symbol(x: Any) -> Symbol:
    """A Symbol for a Symbol or a plain number (a constant, written exactly in the code)."""
    if isinstance(x, Symbol):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        try:
            x = float(x)
        except OverflowError:
            raise Untraceable(f"the constant {x!r}") from None
        if math.isfinite(x):
            negative = repr(x).startswith("-")
            return Symbol(repr(x), f"{x:g}", _UNARY if negative else _ATOM)
        key = f"k{id(x)}"  # inf or nan has no literal: the code reads it from a name, as a function
        return Symbol(f"{{{key}}}", repr(x), env={key: (repr(x), x)})  # type: ignore[dict-item]
    raise Untraceable(f"the constant {x!r}")


def call(name: str, function: Callable[..., float], *args: Any) -> Symbol:
    """`name(args)`: a function of floats applied to symbols (such as cos inside sin's rule).

    The code calls it through a placeholder of its own, `{f<n>}`, never by `name`.
    """
    symbols = [as_symbol(a) for a in args]
    env: dict[str, tuple[str, Callable]] = {}
    for s in symbols:
        env.update(s.env)
    key = f"f{id(function)}"  # one placeholder per function object: env keeps it alive
    env[key] = (name, function)
    made = Symbol(
        f"{{{key}}}({', '.join(s.code for s in symbols)})",
        f"{name}({', '.join(s.shown for s in symbols)})",
        env=env,
        parts=tuple(symbols),
    )
    return _made(made, "call")


def input_names(arity: int) -> tuple[str, ...]:
    """The placeholders of the operands: `a`, `b` for up to two inputs, `x0`, `x1`, ... beyond."""
    return ("a", "b")[:arity] if arity <= 2 else tuple(f"x{i}" for i in range(arity))


def operand_fill(operands: Sequence[str]) -> dict[str, str]:
    """What each operand placeholder stands for: `a` the first, `b` the last, `x<i>` the i-th."""
    fill = {f"x{i}": x for i, x in enumerate(operands)}
    if operands:
        fill["a"], fill["b"] = operands[0], operands[-1]
    return fill


def shown_code(code: str, env: dict[str, tuple[str, Callable]], arity: int) -> str:
    """The code as a person reads it: the functions by their own names, the other placeholders kept."""
    keep = {x: f"{{{x}}}" for x in ("g", "o", *input_names(arity))}
    return code.format(**keep, **{key: name for key, (name, _) in env.items()})


# ---------------------------------------------------------------- what a function reads


# What counts as code, not data: calling it reads only its arguments. engine.core.operation adds
# Operation when it is imported (symbolic is below it and does not import it).
_CODE_LIKE: tuple[type, ...] = (
    types.ModuleType,
    type,
    types.BuiltinFunctionType,
    types.MethodDescriptorType,
    types.WrapperDescriptorType,
)


def counts_as_code(cls: type) -> None:
    """Let `outside_read` treat instances of `cls` as code: calling one reads only its arguments."""
    global _CODE_LIKE
    _CODE_LIKE = (*_CODE_LIKE, cls)


def outside_read(fn: Any) -> str | None:
    """The first thing `fn` reads besides its arguments that could change, or None if nothing.

    Allowed: the engine's operations and functions, classes, modules, functions of the standard
    library, and plain Python functions that themselves read nothing else; constants written
    in the code. Anything else it reaches through a global, a closure cell, a default argument
    or an attribute of one (a number, a list, an object) could hold something else next time.
    """
    todo, seen = [fn], set()
    while todo:
        f = todo.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        if isinstance(f, types.BuiltinFunctionType):
            continue  # C code of its arguments
        if not isinstance(f, types.FunctionType):
            return f"the callable {f!r}"  # a bound method, a partial, an object: state we cannot see
        if ours(f.__module__):
            continue
        if f.__defaults__ or f.__kwdefaults__:
            return f"the default arguments of {f.__qualname__}"
        cells = dict(zip(f.__code__.co_freevars, f.__closure__ or (), strict=True))
        codes = [f.__code__]
        while codes:
            code = codes.pop()
            codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
            chain: list[str] = []
            obj: Any = None
            for ins in [*dis.get_instructions(code), None]:
                if ins is not None and ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and chain:
                    try:
                        obj = getattr(obj, ins.argval)
                    except AttributeError:
                        return f"{'.'.join(chain)}.{ins.argval}"
                    chain.append(ins.argval)
                    continue
                if chain:  # the end of a chain of names: what did it reach?
                    if isinstance(obj, _CODE_LIKE):
                        pass  # code: calling it reads its arguments
                    elif isinstance(obj, types.FunctionType):
                        todo.append(obj)
                    elif not _is_math_constant(chain, f, cells):
                        return ".".join(chain)
                    chain = []
                if ins is None:
                    break
                if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                    name = ins.argval
                    if name in f.__globals__:
                        obj = f.__globals__[name]
                    elif hasattr(builtins, name):
                        obj = getattr(builtins, name)
                    else:
                        return name  # not defined yet: it could be anything
                    chain = [name]
                elif ins.opname in ("LOAD_DEREF", "LOAD_CLASSDEREF") and ins.argval in cells:
                    try:
                        obj = cells[ins.argval].cell_contents
                    except ValueError:
                        return ins.argval
                    chain = [ins.argval]
    return None


def _is_math_constant(chain: list[str], f: types.FunctionType, cells: dict[str, Any]) -> bool:
    """`math.pi`, `math.e`, ...: a constant of the standard library's math module."""
    if len(chain) != 2:
        return False
    root = f.__globals__.get(chain[0]) if chain[0] not in cells else cells[chain[0]].cell_contents
    return root is math


# ---------------------------------------------------------------- reading a rule and a forward


def trace_rule(rule: Callable[..., Any], arity: int) -> tuple[tuple[Symbol, ...], tuple[Symbol, ...]] | None:
    """Two calls of the rule on Symbols: (what a person reads, the code), one per input; or None.

    The first call has g = 1, so its results are the local derivatives d out / d input, written
    with `{out}.data` and `{a}.data`, `{b}.data` where the names go. The second gives each share
    as Python code of the local variables `{g}`, `{o}`, `{a}`, `{b}`. None if the rule cannot be
    traced (it branches on an operand, or calls something that needs a number).
    """
    inputs = input_names(arity)
    made: list[Symbol] = []
    _raising.append(made)
    try:
        one = Symbol("1.0", "1", one=1)
        shown = rule(one, Symbol("{o}", "{out}.data"), *[Symbol(f"{{{x}}}", f"{{{x}}}.data") for x in inputs])
        made.clear()
        code = rule(Symbol("{g}", "g"), Symbol("{o}", "o"), *[Symbol(f"{{{x}}}", x) for x in inputs])
        shown, code = tuple(map(as_symbol, shown)), tuple(map(as_symbol, code))
    except Exception:  # whatever a rule does that a symbol cannot follow
        return None
    finally:
        _forget(made)
    if len(shown) != arity or len(code) != arity or not _all_used(code, made):
        return None
    return shown, code


def trace_forward(forward: Callable[..., float], arity: int) -> Symbol | None:
    """The forward function as code of `{a}`, `{b}` (one call on Symbols), or None if it cannot be traced."""
    made: list[Symbol] = []
    _raising.append(made)
    try:
        result = as_symbol(forward(*[Symbol(f"{{{x}}}", x) for x in input_names(arity)]))
    except Exception:  # whatever a rule does that a symbol cannot follow
        return None
    finally:
        _forget(made)
    return result if _all_used([result], made) else None
