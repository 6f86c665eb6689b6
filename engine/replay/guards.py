"""The guards of a replay: what must still hold for a replay to compute what fn would compute now.

- `Recompute`: the stop-gradient leaves (detach(), no_grad()), every Value whose number Python
  read while recording, and every Value fn made that the loss does not use, computed again
  before each replay from the current leaves (forward only, each operation's own float
  function), as fn would compute them: an error or a NaN there runs the call uncompiled;
- `ReadGuards`: each number Python read (`.data`, float(), a comparison, bool(), round() ...)
  must give what it gave when recorded, else this call runs uncompiled;
- `structure`/`summary`: the arguments' nesting and lengths, and a short text of them;
- `outside_changed`: the data fn reaches from outside its arguments (snapshotted by reads.Reads
  before recording) must hold what it held: the same objects, numbers equal to the bit.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat
from numbers import Real
from operator import is_
from typing import Any

from ..core.graph import graph_order
from ..core.value import Value
from .errors import Uncompiled
from .reads import Reads
from .same import same
from .tape import Tape


class Recompute:
    """Values computed from the graph's leaves again before each replay: stop-gradients and reads.

    Terminals are leaves (arguments, parameters, constants) and nodes made before the recording;
    everything else is computed from its sources on the tape (`Tape.sources`).
    """

    def __init__(self, targets: list[Value], tape: Tape) -> None:
        sources = tape.sources
        order = graph_order(targets, sources)  # the engine's one walk, over the tape's sources instead of parents
        self.terminals = [n for n in order if not sources(n) and n not in tape.stops]
        slot = {n: i for i, n in enumerate(self.terminals)}
        program = []
        for n in order:
            if n in slot:
                continue
            slot[n] = len(slot)
            op = tape.stops[n][0] if n in tape.stops else n.operation
            program.append((op.forward if op is not None else None, [slot[p] for p in sources(n)]))
        self.program = program
        self.size = len(slot)
        self.slot = slot
        self.signature = hash(tuple((f, tuple(ps)) for f, ps in program))

    def run(self) -> list[float]:
        values = [n._data for n in self.terminals]
        values.extend(repeat(0.0, self.size - len(values)))
        i = len(self.terminals)
        try:
            for f, ps in self.program:
                r = values[ps[0]] if f is None else f(*[values[p] for p in ps])
                if r - r:  # NaN or infinite: let the object engine say whether it raises
                    raise Uncompiled("a detached, no_grad() or read value is NaN or infinite")
                values[i] = r
                i += 1
        except (ArithmeticError, ValueError) as e:
            raise Uncompiled(f"{e} (while computing a detached, no_grad() or read value)") from e
        return values


class Guards:
    """Before each replay: the stop-gradient leaves recomputed, every read checked, and the values
    fn makes but the graph does not use (`unused`) computed, to raise what computing them raises."""

    def __init__(self, tape: Tape, stop_leaves: list[Value], unused: list[Value] | None = None) -> None:
        reads = tape.reads
        targets = [*stop_leaves, *(unused or ())]
        for read in reads:
            targets.append(read.node)
            if type(read.other) is Value:
                targets.append(read.other)
        self.recompute = Recompute(targets, tape) if targets else None
        slot = self.recompute.slot if self.recompute is not None else {}
        self.stops = [(leaf, slot[leaf]) for leaf in stop_leaves]
        self.reads = [
            (read, slot[read.node], slot[read.other] if type(read.other) is Value else None) for read in reads
        ]
        self.signature = self.recompute.signature if self.recompute is not None else 0

    def run(self) -> None:
        """Raise Uncompiled (with the read) if a read would now differ; else write the stop-gradient leaves."""
        if self.recompute is None:
            return
        values = self.recompute.run()
        for read, i, j in self.reads:
            other = read.other if j is None else values[j]
            try:
                now = _again(read.how, values[i], other)
            except (ArithmeticError, ValueError, TypeError):
                raise Uncompiled(read.how, read=read) from None
            if not same(now, read.result):
                raise Uncompiled(read.how, read=read)
        for leaf, i in self.stops:
            leaf._data = values[i]


def _again(how: str, x: float, other: Any) -> Any:
    """The read `how` of the number x, done again."""
    if how == ".data" or how == "float":
        return x
    if how == "<":
        return x < other
    if how == "<=":
        return x <= other
    if how == ">":
        return x > other
    if how == ">=":
        return x >= other
    if how == "bool":
        return x != 0.0
    if how == "int":
        return int(x)
    if how == "round":
        return round(x, other)
    if how == "format":
        return format(x, other)
    raise ValueError(how)


# ---------------------------------------------------------------- outside data


def outside_changed(reads: Reads) -> str | None:
    """The name of the first thing fn reads from outside its arguments that now holds something else, or None.

    Items are compared by identity; when that fails, numbers are compared to the bit (so 0.0 -> -0.0
    is a change).
    """
    for name, fetch, obj in reads.tops:
        now = fetch()
        if now is not obj and not same(now, obj):
            return name
    for name, container, keys, items in reads.containers:
        if len(container) != len(items):
            return name
        if keys is None:
            if not all(map(is_, container, items)) and not all(map(same, container, items)):
                return name
        elif not (all(map(is_, container, keys)) and all(map(is_, container.values(), items))):
            if list(container) != keys or not all(map(same, container.values(), items)):
                return name
    return None


# ---------------------------------------------------------------- the arguments


_PLAIN_NUMBERS = {float, int}  # int, not bool: type() tells them apart


def structure(obj: Any, classes: dict[int, int], given: list[Any], aliases: list[int]) -> Any:
    """The argument structure (nesting, lengths, types), hashable; fills in the distinct arguments.

    A Value and a number are both an input `x`. `given` gets each distinct Value once and every
    number; `aliases` gets, for each input, the number of its Value in `given`, or -1 for a number
    (so `(a, a)`, `(a, b)` and `(a, 1.0)` differ).
    """
    t = type(obj)
    if t is list or t is tuple:
        if set(map(type, obj)) <= _PLAIN_NUMBERS:  # a row of numbers (a mini-batch's): no call per item
            given.extend(obj)
            aliases.extend(repeat(-1, len(obj)))
            return (t is list, *repeat("x", len(obj)))
        return (t is list, *[structure(item, classes, given, aliases) for item in obj])
    if t is Value:
        i = classes.get(id(obj))
        if i is None:
            i = classes[id(obj)] = len(given)
            given.append(obj)
        aliases.append(i)
        return "x"
    if isinstance(obj, (list, tuple)):
        return (type(obj), *[structure(item, classes, given, aliases) for item in obj])
    if isinstance(obj, Real) and not isinstance(obj, bool):
        given.append(obj)
        aliases.append(-1)
        return "x"
    raise TypeError(f"compile: arguments must be Values, numbers or lists of them, got {type(obj).__name__}")


def summary(shape: Any, limit: int = 80) -> str:
    """A structure in a few words: 'a number', '2 numbers', '1000 examples of 2 numbers'."""
    if not isinstance(shape, tuple):
        return "a number"
    items = shape[1:]
    kind = "list" if shape[0] is True else "tuple" if shape[0] is False else shape[0].__name__
    if not items:
        return f"an empty {kind}"
    if all(i == "x" for i in items):
        text = f"{len(items)} number" + "s" * (len(items) != 1)
    elif all(i == items[0] for i in items):
        inner = summary(items[0], limit)
        text = f"{len(items)} example{'s' * (len(items) != 1)} of {inner.removeprefix('a ')}"
    else:
        text = f"a {kind} of {len(items)} items"
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


def fetcher(values: list[Value]) -> Callable[[], list[float]]:
    """A function giving the current numbers of `values`."""
    return lambda: [v._data for v in values]
