"""`Module`: the base of every network piece -- its parameters, their names, and saving them.

A module's parameters are the `Value`s stored in its attributes, found in the order the
attributes were set, depth first: a `Value`, another `Module`, or any nesting of lists, tuples
and dicts of them (lists by index, dicts by key in insertion order). Each gets a dotted name
from the attribute path, such as `layers.0.neurons.3.w.1` or `b.out`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from engine import Value

from . import state_file
from .state_file import (  # noqa: F401  (the file format's names, as they were known before it had its own file)
    FILE_FORMAT,
    FILE_VERSION,
    MAX_CONTAINERS,
    MAX_FILE_BYTES,
    LoadError,
    MissingFileError,
    SaveError,
)


def _walk(owner: Module, name: str, item: Any) -> Iterator[tuple[str, Value | Module]]:
    """(dotted key, Value or Module) for everything in `item`, through lists, tuples and dicts, in order.

    Without recursion (any depth); an unordered set holding a Value, a key that cannot be part
    of a dotted name (checked only on the way to a Value or Module: a dict of other things may
    have any keys) and a container that holds itself raise, naming `owner`'s attribute.
    """
    where = f"{type(owner).__name__}.{name}"
    stack: list[tuple[tuple[Any, ...], Any, tuple[int, ...]]] = [((), item, ())]
    while stack:
        keys, element, inside = stack.pop()
        if isinstance(element, (Value, Module)):
            yield ".".join([name, *(str(k) if type(k) is int else _key(k, where) for k in keys)]), element
            continue
        if isinstance(element, (list, tuple)):
            children = [((*keys, i), child) for i, child in enumerate(element)]
        elif isinstance(element, dict):
            children = [((*keys, _Key(k)), child) for k, child in element.items()]
        else:
            if isinstance(element, (set, frozenset)) and any(isinstance(e, (Value, Module)) for e in element):
                raise TypeError(
                    f"{where}: a {type(element).__name__} of parameters has no order, so they could not be "
                    "named, saved and loaded the same way twice; keep them in a list (or a dict)"
                )
            continue
        if id(element) in inside:
            kind = type(element).__name__
            at = ".".join([name, *(str(getattr(k, "key", k)) for k in keys)])
            raise ValueError(f"{where}: the {kind} at {at!r} holds itself; parameters cannot be found in it")
        stack.extend((k, child, (*inside, id(element))) for k, child in reversed(children))


class _Key:
    """A dict's key on the way to a parameter, checked (`_key`) only if a parameter is found under it."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key


def _key(found: _Key, where: str) -> str:
    """A dict key as a part of a dotted name: a str without a dot, or an int."""
    k = found.key
    if isinstance(k, bool) or not isinstance(k, (str, int)):
        raise TypeError(f"{where}: a parameter is kept under the key {k!r}; a key must be a str or an int, to name it")
    text = str(k)
    if "." in text or not text:
        raise ValueError(f"{where}: a parameter is kept under the key {text!r}; a key must be non-empty, without '.'")
    return text


def _check_unique(owner: Module, found: list[tuple[str, Value]]) -> None:
    """Refuse two parameters under one name (a dict's key 1 and '1'): saving would keep only one."""
    seen: set[str] = set()
    for name, _ in found:
        if name in seen:
            raise ValueError(f"{type(owner).__name__}: two parameters are named {name!r}; give them different keys")
        seen.add(name)


class Module:
    """A piece of a network: holds parameters (`Value` leaves) and maybe other modules."""

    # ---------------------------------------------------------------- walking the attributes

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for every module stored in this one, in lists, tuples and dicts as `name.key`."""
        for name, item in vars(self).items():
            for key, element in _walk(self, name, item):
                if isinstance(element, Module):
                    yield key, element

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Value]]:
        """(dotted name, parameter) for every parameter, in a stable order (attribute order, depth first).

        Values and modules are found in attributes and in any nesting of lists, tuples and dicts
        (by index, and by key in insertion order): `W.1.0` is `self.W[1][0]`, `b.out` is
        `self.b["out"]`. A set of Values (no order), a dict key that is not a str or an int, or
        has a dot, and a container that holds itself are refused, naming the attribute.
        """
        found: list[tuple[str, Value]] = []
        for name, item in vars(self).items():
            for key, element in _walk(self, name, item):
                if isinstance(element, Value):
                    found.append((prefix + key, element))
                else:
                    found.extend(element.named_parameters(prefix + key + "."))
        if not prefix:
            _check_unique(self, found)
        return found

    def parameters(self) -> list[Value]:
        """Every parameter, in the order of `named_parameters()`."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many scalar parameters the module has."""
        return len(self.named_parameters())

    def zero_grad(self, set_to_none: bool = False) -> None:
        """Set every parameter's gradient to 0 (backward() adds into `.grad`, so do this each step).

        With set_to_none=True, to None, PyTorch's default: "no gradient yet" (backward() starts it
        from its share; optimizers skip it). The default 0.0 keeps `.grad` a number to print.
        """
        for p in self.parameters():
            p.grad = None if set_to_none else 0.0

    def label_parameters(self) -> None:
        """Label every parameter with its dotted name, so graph pictures and errors can name it."""
        for name, p in self.named_parameters():
            p.label = name

    # ---------------------------------------------------------------- state

    def state_dict(self) -> dict[str, float]:
        """{dotted name: value} for every parameter: a plain copy of the numbers, nan and inf included."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy values from `state` into the parameters; it must have exactly the model's names.

        A value is a real number (an int or a float, not a bool, not a `Value`) that fits in a float;
        nan and +-inf are kept as they are. Everything is checked before anything is assigned: on a
        `LoadError` the model is unchanged.
        """
        fitted = self._fit(state_file.state_items(state), "load_state_dict: the state")
        for p, x in fitted:
            p.data = x

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the parameters to `path` as strict JSON that reads back bit for bit.

        Finite floats are written as JSON numbers (their shortest exact form). JSON has no nan or
        inf, so those are written as the strings "nan", "-nan", "inf" and "-inf", and any other NaN
        as "nan:0x" and its 16 hex digits. Every parameter is checked first: one that is not a real
        number that fits in a float raises `SaveError` naming it, and nothing is written.

        The file is written beside the target, flushed to disk (fsync), renamed over it and the
        folder synced, so a crash or a full disk leaves the old file whole. A symlink is written
        through to its target; an existing file keeps its permission bits (and its owner, when we
        may set it); a new file gets the mode `open()` would give. A path that exists and is not a
        regular file (a folder, a device such as os.devnull, a pipe) raises `SaveError`. The file is
        replaced, not rewritten in place: another hard link to it keeps the old parameters.
        """
        name = os.fsdecode(path)
        state_file.write(name, state_file.dump(self.named_parameters(), repr(self), name))

    def load(self, path: str | os.PathLike[str], *, max_bytes: int = MAX_FILE_BYTES) -> None:
        """Read parameters written by `save()`; on any problem raise `LoadError` and change nothing.

        The file must be a regular file of at most `max_bytes` bytes (default `MAX_FILE_BYTES`,
        16 MiB; reading takes up to about 30 times that in memory), UTF-8, strict JSON (no NaN or
        Infinity tokens, no key twice in one object, at most `MAX_CONTAINERS` arrays and objects, so
        no deep nesting) and fit the model as for `load_state_dict`. A missing file raises
        a `LoadError` that is also a `FileNotFoundError`.
        """
        name = os.fsdecode(path)
        items = state_file.read(name, max_bytes)
        fitted = self._fit(items, f"load: {name!r}")
        for p, x in fitted:
            p.data = x

    def _fit(self, items: list[tuple[Any, Any]], source: str) -> list[tuple[Value, float]]:
        """Pair each parameter with its new float, or raise `LoadError` listing every problem."""
        return state_file.fit(self.named_parameters(), items, source, type(self).__name__)

    # ---------------------------------------------------------------- printing

    def extra_repr(self) -> str:
        """The text inside this module's parentheses (its sizes and options)."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"
