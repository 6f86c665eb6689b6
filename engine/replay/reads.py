"""What a compiled function reads from outside its arguments: a snapshot, taken as fn is recorded.

`Reads(fn)` looks at fn before it runs: its closure cells, the globals its code names, its
default arguments, the object of a bound method, the attributes its code names of the modules
it reaches (`batchdata.X`), and the same again for the Python functions (and the methods of
the objects and classes, through their bases, properties, static and class methods) it finds
there, outside the engine. While fn runs, `observing` adds every frame fn enters (`observe`):
the globals its code names, and the contents of its closure cells unless the function was
defined while fn ran. Of all these it keeps the containers it can walk -- any mapping, sequence
or set, tuples, the attributes of objects (`__dict__` or `__slots__`) and of classes
(`Config.X`) -- with the items they held; of an object of nn's classes, only the attributes
that the user's or nn's code run while recording names (`finish`). The guard `outside_changed`
(guards.py) then says, cheaply, whether any of them now holds something else.

What it cannot see: state inside iterators, generators, random generators and C objects
(arrays), frames of the engine's and `nn`'s own code (they read what the user's code hands
them), and containers beyond `LIMIT` items. The verification calls of `compile` are the net
for those.
"""

from __future__ import annotations

import sys
import types
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from ..core.origin import chainrule, ours, standard_file
from ..core.value import Value

LIMIT = 200_000  # items walked at most; beyond this a function's reads are not all guarded

_ATOMS = (int, float, complex, str, bytes, bool, type(None), Value)
_OPAQUE = (
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
)
_MISSING = object()
# names by which code reads an object's attributes without naming them (Module.parameters() walks vars())
_REFLECTIVE = frozenset({"vars", "__dict__", "getattr", "hasattr", "dir", "attrgetter", "getmembers"})


def _nn(module: str | None) -> bool:
    return (module or "").split(".")[0] == "nn"


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


class Reads:
    """A snapshot of the data `fn` can reach outside its arguments."""

    def __init__(self, fn: Callable) -> None:
        self.tops: list[tuple[str, Callable[[], Any], Any]] = []  # (name, how to fetch it, what it was)
        self.containers: list[tuple[str, Any, Any, Any]] = []  # (name, container, keys or None, items)
        self.complete = True  # False when LIMIT stopped the walk
        self._budget = LIMIT
        seen_code: set[int] = set()
        self._seen: set[int] = set()
        self._seen_code = seen_code
        self._observed: set[tuple[int, int]] = set()  # (code, globals) of the frames observed
        self._named: set[tuple[int, str]] = set()  # (globals, name) taken
        self._inner: set[int] = set()  # the code of functions defined by code that ran during fn
        # the objects of nn's classes met, with their attributes as first seen: only those that code
        # run while recording names are kept (`finish`), so the state an optimizer's step() keeps is
        # not data fn reads when fn calls only its zero_grad()
        self._ours_found: list[tuple[str, Any, dict[str, Any]]] = []
        self.names_run: set[str] = set()  # the names that the user's and nn's code run while recording names
        self._functions(fn, "", seen_code)

    # ---------------------------------------------------------------- taking the snapshot

    def _functions(self, fn: Any, name: str, seen_code: set[int]) -> None:
        """Add what function `fn` (or a bound method, or a partial) can read."""
        if isinstance(fn, types.MethodType):
            self._top(f"{name}.__self__" if name else "self", partial(getattr, fn, "__self__"), fn.__self__, seen_code)
            fn = fn.__func__
        if isinstance(fn, partial):  # not hasattr(fn, "func"): that would run a __getattr__
            self._top(name or "partial", partial(_partial_arguments, fn), (fn.args, fn.keywords), seen_code)
            self._functions(fn.func, name, seen_code)
            return
        if not isinstance(fn, types.FunctionType) or ours(fn.__module__):
            if not isinstance(fn, (types.FunctionType, types.BuiltinFunctionType)) and callable(fn):
                self._top(name or type(fn).__name__, partial(_same_object, fn), fn, seen_code)  # a callable object
            return
        code = fn.__code__
        if id(code) in seen_code:
            return
        seen_code.add(id(code))
        names = _code_names(code)
        for var, cell in zip(code.co_freevars, fn.__closure__ or (), strict=True):
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            self._top(var, partial(getattr, cell, "cell_contents"), content, seen_code, names)
        g = fn.__globals__
        for var in sorted(names):
            if var in g:
                self._top(var, partial(g.get, var, _MISSING), g[var], seen_code, names)
        if fn.__defaults__:
            self._top(f"{fn.__name__} defaults", partial(getattr, fn, "__defaults__"), fn.__defaults__, seen_code)
        if fn.__kwdefaults__:
            self._top(f"{fn.__name__} defaults", partial(getattr, fn, "__kwdefaults__"), fn.__kwdefaults__, seen_code)

    def _top(
        self, name: str, fetch: Callable[[], Any], obj: Any, seen_code: set[int], names: Any = frozenset()
    ) -> None:
        if isinstance(obj, types.ModuleType):
            # a module: the attributes the code names (`batchdata.X`), as tops of their own
            if chainrule(obj.__name__) or id(obj) in self._seen:
                return
            self._seen.add(id(obj))
            for attr in sorted(names):
                if attr in vars(obj):
                    self._top(f"{name}.{attr}", partial(_attribute, obj, attr), vars(obj)[attr], seen_code, names)
            return
        if isinstance(obj, type) and ours(obj.__module__):
            return
        self.tops.append((name, fetch, obj))
        if isinstance(obj, (types.FunctionType, types.MethodType, partial)):
            self._functions(obj, name, seen_code)
        else:
            self._walk(obj, name, seen_code)

    def _walk(self, obj: Any, name: str, seen_code: set[int]) -> None:
        """Keep every container below obj, with its items."""
        stack = [obj]
        seen = self._seen
        while stack:
            obj = stack.pop()
            t = type(obj)
            if t in _ATOMS or id(obj) in seen:
                continue
            seen.add(id(obj))
            if t is tuple or t is frozenset:
                items = obj
            elif t is list or t is set:
                items = self._keep(name, obj, None, list(obj))
            elif t is dict:
                items = self._keep(name, obj, list(obj), list(obj.values()))
            else:
                items = self._inside(obj, name, seen_code, stack)
                if items is None:
                    continue
            self._budget -= len(items)
            if self._budget < 0:
                self.complete = False
                return
            stack.extend(items)

    def _keep(self, name: str, container: Any, keys: list | None, items: list) -> list:
        """Keep a container with its keys (None for a sequence or a set) and items; the items."""
        self.containers.append((name, container, keys, items))
        return items

    def _inside(self, obj: Any, name: str, seen_code: set[int], stack: list) -> Any:
        """What the walk goes on to below an object other than a plain container: its items, or
        None (nothing, or nothing now); the functions met are read (`_functions`)."""
        t = type(obj)
        if isinstance(obj, (types.FunctionType, types.MethodType)):
            self._functions(obj, name, seen_code)
        elif isinstance(obj, type):  # a class: its attributes (`Config.X`), its methods, its bases
            if ours(obj.__module__):
                return None
            self.tops.append((f"{name}.__bases__", partial(getattr, obj, "__bases__"), obj.__bases__))
            stack.extend(obj.__bases__)
            return self._keep(name, vars(obj), list(vars(obj)), list(vars(obj).values()))
        elif isinstance(obj, (staticmethod, classmethod)):  # the function inside
            self._functions(obj.__func__, name, seen_code)
        elif isinstance(obj, property):  # the functions that compute it
            for f in (obj.fget, obj.fset):
                if f is not None:
                    self._functions(f, name, seen_code)
        elif isinstance(obj, _OPAQUE) or (t.__module__ or "").startswith("engine."):
            return None  # seen by identity in its container only (a compiled step, an operation)
        elif isinstance(obj, Mapping):  # defaultdict, OrderedDict, any mapping
            return self._keep(name, obj, list(obj), list(obj.values())) if self._afford(len(obj)) else None
        elif isinstance(obj, Sequence) and not isinstance(obj, (str, bytes, bytearray, range, memoryview)):
            return self._keep(name, obj, None, list(obj)) if self._afford(len(obj)) else None
        elif not hasattr(obj, "__dict__"):
            slots = [a for k in t.__mro__ for a in _slot_names(k)]
            if not slots or ours(t.__module__):
                return None  # seen by identity in its container only (iterators, generators, arrays)
            items = []
            for attr in slots:  # an object with __slots__: each slot, as a top of its own
                value = getattr(obj, attr, _MISSING)
                self.tops.append((f"{name}.{attr}", partial(getattr, obj, attr, _MISSING), value))
                items.append(value)
            stack.append(t)
            return items
        elif _nn(t.__module__):  # an object of nn's: its attributes are kept when the recording ends
            self._ours_found.append((name, obj, dict(vars(obj))))
        else:
            stack.append(t)  # the class of a user's object: its attributes and methods
            return self._keep(name, vars(obj), list(vars(obj)), list(vars(obj).values()))
        return None

    def observe(self, frame: Any) -> bool:
        """Add what a frame fn ran reads from outside: the globals its code names, and the contents of
        its closure cells, unless the function is fn's own: one defined by code that ran during fn.
        True for a frame of the engine's, nn's or the standard library's code, which is not observed
        (see docs/compile.md)."""
        code = frame.f_code
        g = frame.f_globals
        module = g.get("__name__")
        if ours(module) or standard_file(code.co_filename):
            if _nn(module):  # nn's methods read the attributes of nn's objects
                self.names_run.update(code.co_names)
            return True
        key = (id(code), id(g))
        if key not in self._observed:
            self._observed.add(key)
            self.names_run.update(code.co_names)
            self._inner.update(id(c) for c in code.co_consts if isinstance(c, types.CodeType))
            for var in sorted(_code_names(code)):
                if var in g and (id(g), var) not in self._named:
                    self._named.add((id(g), var))
                    self._top(var, partial(g.get, var, _MISSING), g[var], self._seen_code, _code_names(code))
        if code.co_freevars and id(code) not in self._inner:
            found = frame.f_locals
            for var in code.co_freevars:
                obj = found.get(var, _MISSING)
                if obj is not _MISSING and id(obj) not in self._seen:
                    self._top(var, partial(_same_object, obj), obj, self._seen_code)
        return False

    def finish(self) -> None:
        """Keep, of each object of nn's met, the attributes (as first seen) that the code run while
        recording names, or all of them where that code reads attributes by reflection (`vars`,
        `getattr` ...), as Module.parameters() does."""
        reflective = not self.names_run.isdisjoint(_REFLECTIVE)
        while self._ours_found:
            name, obj, attrs = self._ours_found.pop()
            kept = attrs if reflective else {a: v for a, v in attrs.items() if a in self.names_run}
            if reflective:
                self.containers.append((name, vars(obj), list(attrs), list(attrs.values())))
            for attr, value in kept.items():
                if not reflective:
                    self.tops.append((f"{name}.{attr}", partial(_attribute, obj, attr), value))
                self._walk(value, f"{name}.{attr}", self._seen_code)

    def _afford(self, n: int) -> bool:
        """False (and the walk incomplete) when n more items exceed the budget."""
        if n > self._budget:
            self.complete = False
            return False
        return True

    def held(self) -> Counter:
        """How many references to each Value this snapshot holds."""
        counts: Counter = Counter(obj for _, _, obj in self.tops if type(obj) is Value)
        for _, _, _, items in self.containers:
            counts.update(x for x in items if type(x) is Value)
        return counts


@contextmanager
def observing(reads: Reads) -> Iterator[None]:
    """While this block runs fn, every Python frame this thread enters is observed (`Reads.observe`).

    By sys.settrace, which tells of each frame entered and, as no frame is traced line by line,
    of nothing else; a debugger's or coverage tool's trace function is suspended meanwhile."""
    ours: set[Any] = set()  # the code of the engine and nn, told once and then passed over

    def trace(frame: Any, event: str, arg: Any) -> None:
        code = frame.f_code
        if code not in ours and reads.observe(frame):
            ours.add(code)

    old = sys.gettrace()
    sys.settrace(trace)
    try:
        yield
    finally:
        sys.settrace(old)
        reads.finish()


def _attribute(obj: Any, name: str) -> Any:
    return vars(obj).get(name, _MISSING)


def _slot_names(cls: type) -> list[str]:
    slots = vars(cls).get("__slots__", ())
    names = [slots] if isinstance(slots, str) else list(slots)
    return [n for n in names if n not in ("__dict__", "__weakref__")]


def _partial_arguments(p: Any) -> tuple:
    return (p.args, p.keywords)


def _same_object(obj: Any) -> Any:
    return obj
