"""The arguments of a compiled call and what fn returns, walked by one walker of nested lists and tuples.

A call's arguments are Values and numbers in lists and tuples. `read` walks them once and returns
what every later stage needs, as a value: their structure (nesting, lengths, types), each distinct
Value once and every number (`given`), and which input is which Value (`key`). `rebuild` gives the
same nesting with each item replaced (the stand-ins of a recording, the floats of a replay's extra
outputs), `items` the items in order; `as_given` and `outputs` check what fn gets and returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import repeat
from numbers import Real
from typing import Any, NamedTuple

from ..core.value import Value

_PLAIN_NUMBERS = {float, int}  # int, not bool: type() tells them apart
_PLAIN_EXTRAS = (int, float, bool, str, type(None))


class Arguments(NamedTuple):
    """A call's arguments, read once (`read`)."""

    shape: Any  # hashable: the nesting, lengths and types; fixed by the first call
    given: list[Any]  # each distinct Value once, and every number, in the order met
    key: tuple[int, ...]  # for each input, the number of its Value in `given`, or -1 for a number


def read(args: tuple) -> Arguments:
    """The arguments' structure, distinct Values and numbers, and aliasing (`(a, a)`, `(a, b)` and `(a, 1.0)` differ).

    Raises TypeError for an item that is not a Value or a real number (a bool is not one).
    """
    classes: dict[int, int] = {}
    given: list[Any] = []
    key: list[int] = []

    def walk(obj: Any) -> Any:
        t = type(obj)
        if t is list or t is tuple:
            if set(map(type, obj)) <= _PLAIN_NUMBERS:  # a row of numbers (a mini-batch's): no call per item
                given.extend(obj)
                key.extend(repeat(-1, len(obj)))
                return (t is list, *repeat("x", len(obj)))
            return (t is list, *map(walk, obj))
        if t is Value:
            i = classes.get(id(obj))
            if i is None:
                i = classes[id(obj)] = len(given)
                given.append(obj)
            key.append(i)
            return "x"
        if isinstance(obj, (list, tuple)):
            return (type(obj), *map(walk, obj))
        given.append(_argument(obj))
        key.append(-1)
        return "x"

    shape = walk(list(args))
    return Arguments(shape, given, tuple(key))


def _argument(x: Any) -> Any:
    """x, if fn may get it as an argument: a Value or a real number."""
    if isinstance(x, Value) or (isinstance(x, Real) and not isinstance(x, bool)):
        return x
    raise TypeError(f"compile: arguments must be Values, numbers or lists of them, got {type(x).__name__}")


def items(obj: Any) -> Iterator[Any]:
    """The items of a nested list/tuple structure (or obj itself), depth first."""
    stack = [obj]
    while stack:
        obj = stack.pop()
        if isinstance(obj, (list, tuple)):
            stack.extend(reversed(obj))
        else:
            yield obj


def rebuild(obj: Any, item: Callable[[Any], Any]) -> Any:
    """The nesting of `obj` (lists and tuples, of their own types) with each item x replaced by item(x)."""
    if isinstance(obj, (list, tuple)):
        return type(obj)([rebuild(x, item) for x in obj])
    return item(obj)


def as_given(args: tuple) -> list[Any]:
    """The arguments as fn gets them uncompiled: the same Values and numbers, in lists and tuples as given."""
    return rebuild(list(args), _argument)


# ---------------------------------------------------------------- what fn returns


def outputs(result: Any) -> tuple[Value, Any, list[Value]]:
    """fn's return value as (loss, extras as returned, the Values among the extras in order), checked."""
    loss, extras = result if isinstance(result, tuple) else (result, None)
    if not isinstance(loss, Value):
        raise TypeError(f"compile: the function must return a Value (the loss), got {type(loss).__name__}")
    if extras is None:
        return loss, None, []
    found = list(items(extras))
    if not all(isinstance(x, Value) or type(x) in _PLAIN_EXTRAS for x in found):
        raise TypeError(
            "compile: the extra outputs must be Values, numbers (int, float, bool), str or None, in lists or tuples"
        )
    return loss, extras, [x for x in found if isinstance(x, Value)]


def returned(loss: float, outs: list[float], extras: Any) -> Any:
    """What a call returns: the loss, or (loss, extras) with the extras' Values as floats, in their nesting."""
    if extras is None:
        return loss
    floats = iter(outs)
    return loss, rebuild(extras, lambda x: next(floats) if isinstance(x, Value) else x)


# ---------------------------------------------------------------- structures in words


def summary(shape: Any, limit: int = 80) -> str:
    """A structure in a few words: 'a number', '2 numbers', '1000 examples of 2 numbers'."""
    if not isinstance(shape, tuple):
        return "a number"
    inner = shape[1:]
    kind = "list" if shape[0] is True else "tuple" if shape[0] is False else shape[0].__name__
    if not inner:
        return f"an empty {kind}"
    if all(i == "x" for i in inner):
        text = f"{len(inner)} number" + "s" * (len(inner) != 1)
    elif all(i == inner[0] for i in inner):
        each = summary(inner[0], limit)
        text = f"{len(inner)} example{'s' * (len(inner) != 1)} of {each.removeprefix('a ')}"
    else:
        text = f"a {kind} of {len(inner)} items"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def difference(old: Any, new: Any) -> str:
    """Where two argument structures first differ, in a bounded number of words."""
    old_args, new_args = old[1:], new[1:]
    if len(old_args) != len(new_args):
        return f"recorded with {len(old_args)} argument(s), called with {len(new_args)}"
    for i, (a, b) in enumerate(zip(old_args, new_args, strict=True)):
        if a != b:
            was, now = summary(a), summary(b)
            same_kind = was.split(" ", 1)[1:] == now.split(" ", 1)[1:] and was != now
            if same_kind and isinstance(b, tuple):
                now = now.split(" ", 1)[0]  # 'called with 999' after '... 1000 examples of 2 numbers'
            elif was == now:
                was, now = "another nesting", "this one"
            where = f"argument {i}" if len(old_args) > 1 else "the argument"
            return f"{where}: recorded with {was}, called with {now}"
    return "the arguments differ"
