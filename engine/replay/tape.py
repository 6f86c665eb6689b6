"""The tape: one printable account of what a recording of `fn` made and read.

While `engine.compile` records, this thread's `Tape` is told (by `engine.core.value`, through a
thread-local recorder) of:

- every node an operation made, in order;
- every constant `Value(number)` made, with the user's line that made it;
- every stop-gradient leaf: a `detach()` or a result made inside `no_grad()`, with its sources;
- every number Python read: `.data`, `float()`, `int()`, `bool()`, `round()`, `format`, a
  comparison, wherever the read happens (fn's code, a library's, the engine's);
- every read and write of a `.grad` and write of a `.data` (`touched`, told by leaves.py: the
  one class attribute a recording replaces, Value's `grad`, for as long as it records);
- every `Value(x)` of a number argument x (`aliases`, numbers.py).

Guards (`guards.py`), the plan (`plan.py`), the pieces (`pieces.py`) and the kernels (`kernels.py`)
are passes over it;
`print(step.tape)` shows it.
"""

from __future__ import annotations

import linecache
import os
import sys
from itertools import compress, repeat
from operator import is_
from typing import Any

from ..core.operation import Operation
from ..core.origin import ENGINE_FILES, user_frame
from ..core.value import Value, watch
from .leaves import watching
from .numbers import Followed


def user_line() -> tuple[str, int] | None:
    """(file, line) of the innermost frame outside the engine and nn: the user's line."""
    f = user_frame(sys._getframe(2))
    return None if f is None else (f.f_code.co_filename, f.f_lineno)


def shown_line(where: tuple[str, int] | None) -> str:
    """'file.py, line 12: `the source`' for a (file, line), or '' when unknown."""
    if where is None:
        return ""
    file, line = where
    text = linecache.getline(file, line).strip()
    return f"{os.path.basename(file)}, line {line}" + (f": `{text}`" if text else "")


class Read:
    """Python read the number of `node`: `how` (".data", "float", "<", ...), which gave `result`."""

    __slots__ = ("node", "how", "result", "other", "where")

    def __init__(self, node: Value, how: str, result: Any, other: Any, where: tuple[str, int] | None) -> None:
        self.node, self.how, self.result, self.other, self.where = node, how, result, other, where

    def shown(self, name: Any) -> str:
        """The read as code, with `name(v)` naming Values: 'float(%3)', '%3 > 0.0'."""
        other = name(self.other) if type(self.other) is Value else repr(self.other)
        node = name(self.node)
        if self.how in ("<", "<=", ">", ">="):
            return f"{node} {self.how} {other}"
        if self.how == ".data":
            return f"{node}.data"
        if self.how in ("round", "format") and self.other is not None:
            return f"{self.how}({node}, {other})"
        return f"{self.how}({node})"


class Tape:
    """What one recording of fn made and read, in order (see the module's docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[Any] = []  # a Value for a node made by an operation, else (kind, ...)
        self.nodes: set[Value] = set()  # every Value the recording made (nodes, constants, stops): set by record()
        self.made = self.events.append  # told of each node an operation made: the one call per node, in C
        self.n_made = 0  # how many nodes operations made: set by record()
        self.constants: dict[Value, tuple[str, int] | None] = {}  # constant -> the user's line
        self.stops: dict[Value, tuple[Operation | None, tuple]] = {}  # stop-gradient leaf -> (operation, sources)
        self.reads: list[Read] = []
        self.aliases: dict[Value, Value] = {}  # Value(x) of an argument x -> the leaf standing for x
        self.leaf_events: list[tuple] = []  # (Value, "grad"/"_data"/"read", old, new, where): see leaves.py
        self.arguments: list[Value | None] = []  # the leaf standing for each argument (set by compile)
        self.results: list[Value] = []  # the loss, then the extra outputs (set by compile)

    # ---------------------------------------------------------------- told by engine.core.value

    def constant(self, v: Value, number: Any) -> None:
        if isinstance(number, Followed):  # Value(x) of a number passed as an argument: its stand-in
            self.aliases[v] = number.node
            return
        self.constants[v] = user_line()
        self.events.append(("constant", v))

    def stop(self, v: Value, operation: Operation | None, sources: tuple) -> None:
        self.constants.pop(v, None)
        self.stops[v] = (operation, sources)
        self.events.append(("stop", v))

    def read(self, v: Value, how: str, result: Any, other: Any) -> None:
        read = Read(v, how, result, other, user_line())
        self.reads.append(read)
        self.events.append(("read", read))

    def touched(self, v: Value, what: str, old: Any, value: Any, frame: Any) -> None:
        """fn's code read a `.grad`, or wrote a `.grad` or `.data` (leaves.py tells); `where` is the user's
        line, or None for the engine's own code."""
        where = None
        if not frame.f_code.co_filename.startswith(ENGINE_FILES):
            frame = user_frame(frame)
            where = shown_line(None if frame is None else (frame.f_code.co_filename, frame.f_lineno))
        self.leaf_events.append((v, what, old, value, where))

    # ---------------------------------------------------------------- recording

    def record(self, fn: Any, *args: Any) -> Any:
        """fn(*args), with this tape as the thread's recorder."""
        old = watch(self)
        try:
            with watching():
                return fn(*args)
        finally:
            watch(old)
            events = self.events
            made = list(compress(events, map(is_, map(type, events), repeat(Value))))
            self.n_made = len(made)
            self.nodes = {*made, *self.constants, *self.stops, *self.aliases}

    def swap(self, swap: dict[Any, Value]) -> None:
        """Replace stand-ins by the Values they stand for (an argument that fn also reads from outside)."""
        for read in self.reads:
            read.node = swap.get(read.node, read.node)
            if type(read.other) is Value:
                read.other = swap.get(read.other, read.other)
        for n, (op, sources) in list(self.stops.items()):
            self.stops[n] = (op, tuple(swap.get(p, p) for p in sources))

    def unused(self, order: list[Value], made: int, stops: int) -> list[Value]:
        """The nodes and stop-gradient leaves fn made that the graph `order` does not use, in the order made.

        made, stops: how many of order's inner nodes the recording made, and how many of its leaves
        are stops; when they are the tape's own counts, nothing is unused (and nothing is walked).
        """
        if made == self.n_made and stops == len(self.stops):
            return []
        in_graph = set(order)
        found = (e if type(e) is Value else e[1] for e in self.events if type(e) is Value or e[0] == "stop")
        return [v for v in found if v not in in_graph]

    def sources(self, n: Value) -> tuple:
        """What n is computed from at replay: a stop's sources, a recorded node's parents, else nothing."""
        stop = self.stops.get(n)
        if stop is not None:
            return stop[1]
        return n.parents if n in self.nodes else ()

    # ---------------------------------------------------------------- printing

    def __repr__(self) -> str:
        ops = sum(type(e) is Value for e in self.events)
        return (
            f"<tape of {self.name}: {len(self.arguments)} argument(s), {ops} operation(s), "
            f"{len(self.constants)} constant(s), {len(self.stops)} stop-gradient(s), {len(self.reads)} read(s)>"
        )

    def __str__(self) -> str:
        names: dict[Value, str] = {}
        lines = [repr(self)]

        def name(v: Value) -> str:
            found = names.get(v)
            if found is None:  # a leaf from outside: a parameter, or a Value fn reads
                found = names[v] = f"%{len(names)}"
                label = f" {v.label!r}" if v.label else ""
                lines.append(f"  {found} = outside Value{label} ({v._data!r})")
            return found

        for i, a in enumerate(self.arguments):
            if a is not None:
                names[a] = f"%{len(names)}"
                lines.append(f"  {names[a]} = argument {i} ({a._data!r})")
        for e in self.events:
            if type(e) is Value:
                operands = " ".join(name(p) for p in e.parents)
                names[e] = f"%{len(names)}"
                lines.append(f"  {names[e]} = {e.op} {operands}")
            elif e[0] == "constant":
                v = e[1]
                if v in self.constants:
                    names[v] = f"%{len(names)}"
                    where = shown_line(self.constants[v])
                    lines.append(f"  {names[v]} = constant {v._data!r}" + (f"    # {where}" if where else ""))
            elif e[0] == "stop":
                v = e[1]
                op, sources = self.stops[v]
                how = "detach" if op is None else f"{op.name} under no_grad()"
                operands = " ".join(name(p) for p in sources)
                names[v] = f"%{len(names)}"
                lines.append(f"  {names[v]} = stop-gradient {how} {operands}")
            else:
                read = e[1]
                where = shown_line(read.where)
                lines.append(f"  read {read.shown(name)} -> {read.result!r}" + (f"    # {where}" if where else ""))
        if self.results:
            lines.append(f"  loss = {name(self.results[0])}")
            if len(self.results) > 1:
                lines.append(f"  extra outputs = {', '.join(name(v) for v in self.results[1:])}")
        return "\n".join(lines)
