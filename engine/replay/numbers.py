"""Numbers passed as arguments, while fn is recorded: still numbers, and followed.

fn gets each number argument as a `Number`: a float (or int) of the same value, of a subclass
that knows the leaf standing for it in the graph (`node`). It is what the user passed for
everything Python does with it (`isinstance(x, float)`, `x * 2.0`, `round(x, 3)`, printing),
and the recording follows it:

- `Value(x)`, and `x` as an operand of a Value (`x * w`), make the stand-in leaf itself
  (`Tape.constant` sees the Number; the recording swaps the new leaf for the stand-in);
- `x + y`, `x - y`, `x * y`, `x / y`, `-x`, `abs(x)` with numbers give a Number again, whose
  node is the same operation on the stand-in, in the graph: the replay computes it from the new
  numbers (the gradient reaching it goes to the stand-in, which no one reads, so `Value(x * 2.0)`
  gives every other leaf the gradient it gives uncompiled, where it is a leaf);
- anything else Python reads of it (a comparison, `bool`, `int`, `float`, `round`, `format`,
  `==`, `hash`, `x ** 2`, `x // 2`) is a read of the stand-in on the tape, guarded as every read
  is: a call where it would read otherwise runs uncompiled.

Only `followed` makes a Number: `type(x)(...)` (statistics.mean converts its result so) gives a
plain number, `copy.copy(x)` and `copy.deepcopy(x)` give x itself, and a pickled Number is read and
loads as the plain number.

What Python's C code reads of a float without calling its methods (`math.exp(x)`,
`struct.pack`) is not seen: the verification calls are the net for it (docs/compile.md).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from ..core.value import Value
from .same import bits


class Followed:
    """What a Number does beside being a number: the reads and operations it tells the tape of."""

    node: Value

    def _read(self) -> None:
        self.node.data  # a read of the number itself, on the tape  # noqa: B018

    def _follow(self, other: Any, number: Callable[[Any, Any], Any], op: Callable[[Any, Any], Any]) -> Any:
        """number(self, other) as the plain operation gives it, followed (a Number) when the graph can."""
        if type(other) is Value:
            return NotImplemented  # Value's own operator makes the stand-in an operand
        result = number(self, other)
        if result is NotImplemented or type(result) is not float:
            self._read()
            if isinstance(other, Followed):
                other._read()
            return result
        try:  # a node of the graph, as a Value argument's would be: its gradient goes to the stand-in, unread
            node = op(self.node, other.node if isinstance(other, Followed) else other)
        except (ArithmeticError, ValueError, TypeError):
            node = None
        if node is None or type(node) is not Value or bits(node._data) != bits(result):
            self._read()  # the graph cannot compute it: the number itself is guarded instead
            if isinstance(other, Followed):
                other._read()
            return result
        return followed(result, node)

    def __add__(self, other: Any) -> Any:
        return self._follow(other, float.__add__, operator.add)

    def __radd__(self, other: Any) -> Any:
        return self._follow(other, float.__radd__, lambda a, b: b + a)

    def __sub__(self, other: Any) -> Any:
        return self._follow(other, float.__sub__, operator.sub)

    def __rsub__(self, other: Any) -> Any:
        return self._follow(other, float.__rsub__, lambda a, b: b - a)

    def __mul__(self, other: Any) -> Any:
        return self._follow(other, float.__mul__, operator.mul)

    def __rmul__(self, other: Any) -> Any:
        return self._follow(other, float.__rmul__, lambda a, b: b * a)

    def __truediv__(self, other: Any) -> Any:
        return self._follow(other, float.__truediv__, operator.truediv)

    def __rtruediv__(self, other: Any) -> Any:
        return self._follow(other, float.__rtruediv__, lambda a, b: b / a)

    def __neg__(self) -> Any:
        return self._follow(None, lambda a, _: float.__neg__(a), lambda a, _: -a)

    def __abs__(self) -> Any:
        return self._follow(None, lambda a, _: float.__abs__(a), lambda a, _: abs(a))

    def __pos__(self) -> Any:
        return self

    # copies: the same number, as copy.copy(1.5) is 1.5; pickled, the plain number, read

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: Any) -> Any:
        return self

    def __reduce_ex__(self, protocol: Any) -> Any:
        self._read()
        plain = self._plain()
        return type(plain), (plain,)

    # reads: what Python learns of the number, guarded on the tape

    def __lt__(self, other: Any) -> Any:
        return NotImplemented if type(other) is Value else self.node < other

    def __le__(self, other: Any) -> Any:
        return NotImplemented if type(other) is Value else self.node <= other

    def __gt__(self, other: Any) -> Any:
        return NotImplemented if type(other) is Value else self.node > other

    def __ge__(self, other: Any) -> Any:
        return NotImplemented if type(other) is Value else self.node >= other

    def __bool__(self) -> bool:
        return bool(self.node)

    def __int__(self) -> int:
        return int(self.node)

    def __float__(self) -> float:
        return float(self.node)

    def __round__(self, ndigits: Any = None) -> Any:
        return round(self.node, ndigits)

    def __format__(self, spec: str) -> str:
        if spec:
            return format(self.node, spec)
        self._read()
        return format(self._plain(), spec)

    def __repr__(self) -> str:
        self._read()
        return repr(self._plain())

    __str__ = __repr__

    def _plain(self) -> Any:
        raise NotImplementedError


def _read_then(name: str) -> Callable[..., Any]:
    """The plain number's method `name`, after a read of the number (and of a Number operand)."""

    def method(self: Any, *args: Any) -> Any:
        self._read()
        for a in args:
            if isinstance(a, Followed):
                a._read()
        return getattr(self._plain(), name)(*[a._plain() if isinstance(a, Followed) else a for a in args])

    method.__name__ = name
    return method


_READ = ("__eq__", "__ne__", "__hash__", "__pow__", "__rpow__", "__floordiv__", "__rfloordiv__", "__mod__",
         "__rmod__", "__divmod__", "__rdivmod__", "__trunc__", "__floor__", "__ceil__", "__index__",
         "is_integer", "hex", "as_integer_ratio", "conjugate", "bit_length", "to_bytes")  # fmt: skip


class FollowedFloat(Followed, float):
    """A float argument while fn is recorded (see the module's docstring)."""

    __slots__ = ("node",)

    def __new__(cls, *args: Any) -> Any:
        # type(x)(...) by code fn runs (statistics.mean, copy, pickle): a plain float, which the
        # graph sees as a constant; its value came through reads of x, which are on the tape
        return float(*args)

    def _plain(self) -> float:
        return float.__float__(self)


class FollowedInt(Followed, int):
    """An int argument while fn is recorded: its arithmetic is read, not followed (it stays an int)."""

    def __new__(cls, *args: Any) -> Any:
        return int(*args)  # as FollowedFloat's: only followed() makes a Number

    def _plain(self) -> int:
        return int.__int__(self)

    def _follow(self, other: Any, number: Callable[[Any, Any], Any], op: Callable[[Any, Any], Any]) -> Any:
        if type(other) is Value:
            return NotImplemented
        self._read()
        if isinstance(other, Followed):
            other._read()
            other = other._plain()
        return op(self._plain(), other)


for _name in _READ:
    for _kind in (FollowedFloat, FollowedInt):
        if hasattr(_kind.__mro__[2], _name):  # the plain number's own methods only
            setattr(_kind, _name, _read_then(_name))
FollowedFloat.real = property(lambda self: self)  # type: ignore[assignment,misc]
FollowedInt.real = property(lambda self: self)  # type: ignore[assignment,misc]


def followed(x: Any, node: Value) -> Any:
    """x as a Number that knows its stand-in `node`."""
    n: Any = int.__new__(FollowedInt, x) if isinstance(x, int) else float.__new__(FollowedFloat, x)
    n.node = node
    return n
