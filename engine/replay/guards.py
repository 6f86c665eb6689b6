"""The guards of a replay: what must still hold for a replay to compute what fn would compute now.

- `Recompute`: the stop-gradient leaves (detach(), no_grad()), every Value whose number Python
  read while recording, and every Value fn made that the loss does not use, computed again
  before each replay from the current leaves (forward only, each operation's own float
  function), as fn would compute them: an error or a NaN there runs the call uncompiled;
- `Guards`: those recomputed, and each number Python read (`.data`, float(), a comparison, bool(), round() ...)
  must give what it gave when recorded, else this call runs uncompiled;
- `outside_changed`: the data fn reaches from outside its arguments (snapshotted by reads.Reads
  before recording) must hold what it held: the same objects, numbers equal to the bit.
"""

from __future__ import annotations

from itertools import repeat
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

    def __init__(self, targets: list[Value], tape: Tape, inputs: dict[Value, int]) -> None:
        """inputs: the stand-in leaf of each argument -> its number in the call's `given`."""
        sources = tape.sources
        order = graph_order(targets, sources)  # the engine's one walk, over the tape's sources instead of parents
        self.terminals = [n for n in order if not sources(n) and n not in tape.stops]
        self.inputs = [(k, inputs[n]) for k, n in enumerate(self.terminals) if n in inputs]  # (slot, argument)
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

    def run(self, numbers: list[float]) -> list[float]:
        """Every value computed again, the arguments' stand-ins taking the call's `numbers`."""
        values = [n._data for n in self.terminals]
        for k, i in self.inputs:
            values[k] = numbers[i]
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

    def __init__(self, tape: Tape, stop_leaves: list[Value], unused: list[Value], inputs: dict[Value, int]) -> None:
        """inputs: the stand-in leaf of each argument -> its number in the call's `given`."""
        reads = tape.reads
        targets = [*stop_leaves, *unused]
        for read in reads:
            targets.append(read.node)
            if type(read.other) is Value:
                targets.append(read.other)
        self.recompute = Recompute(targets, tape, inputs) if targets else None
        slot = self.recompute.slot if self.recompute is not None else {}
        self.stops = [(leaf, slot[leaf]) for leaf in stop_leaves]
        self.reads = [
            (read, slot[read.node], slot[read.other] if type(read.other) is Value else None) for read in reads
        ]

    def run(self, numbers: list[float]) -> None:
        """Raise Uncompiled (with the read) if a read would now differ; else write the stop-gradient leaves."""
        if self.recompute is None:
            return
        values = self.recompute.run(numbers)
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
