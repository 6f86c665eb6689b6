"""`Module`: the base of every network piece -- its parameters, their names, and saving them.

A module's parameters are the `Value`s stored in its attributes, found in the order the
attributes were set: a `Value`, a list of `Value`s, another `Module` or a list of `Module`s.
Each gets a dotted name from the attribute path, such as `layers.0.neurons.3.w.1`.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from numbers import Real
from typing import Any

from engine import Value

FILE_FORMAT = "chainrule.nn.state"
FILE_VERSION = 1


class LoadError(ValueError):
    """A state dict or a saved file does not fit the model; the model was left unchanged."""


class Module:
    """A piece of a network: holds parameters (`Value` leaves) and maybe other modules."""

    # ---------------------------------------------------------------- walking the attributes

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for every module stored directly in this one, lists flattened as `name.i`."""
        for name, item in vars(self).items():
            if isinstance(item, Module):
                yield name, item
            elif isinstance(item, (list, tuple)):
                for i, element in enumerate(item):
                    if isinstance(element, Module):
                        yield f"{name}.{i}", element

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Value]]:
        """(dotted name, parameter) for every parameter, in a stable order (attribute order, depth first)."""
        found: list[tuple[str, Value]] = []
        for name, item in vars(self).items():
            if isinstance(item, (list, tuple)):
                entries = [(f"{name}.{i}", element) for i, element in enumerate(item)]
            else:
                entries = [(name, item)]
            for key, element in entries:
                if isinstance(element, Value):
                    found.append((prefix + key, element))
                elif isinstance(element, Module):
                    found.extend(element.named_parameters(prefix + key + "."))
        return found

    def parameters(self) -> list[Value]:
        """Every parameter, in the order of `named_parameters()`."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many scalar parameters the module has."""
        return len(self.named_parameters())

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (backward() adds into `.grad`, so do this each step)."""
        for p in self.parameters():
            p.grad = 0.0

    def label_parameters(self) -> None:
        """Label every parameter with its dotted name, so graph pictures and errors can name it."""
        for name, p in self.named_parameters():
            p.label = name

    # ---------------------------------------------------------------- state

    def state_dict(self) -> dict[str, float]:
        """{dotted name: value} for every parameter: a plain, JSON-ready copy of the numbers."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy values from `state` into the parameters; it must have exactly the model's names.

        Everything is checked before anything is assigned: on a `LoadError` the model is unchanged.
        """
        if not isinstance(state, Mapping):
            raise LoadError(f"load_state_dict: expected a dict of name -> number, got {type(state).__name__}")
        named = self.named_parameters()
        problems = _mismatch([n for n, _ in named], list(state))
        for name, _ in named:
            if name in state:
                x = state[name]
                if isinstance(x, bool) or not isinstance(x, Real):
                    problems.append(f"entry {name!r} is {type(x).__name__} {x!r}, not a number")
        if problems:
            raise LoadError(
                f"load_state_dict: the state does not fit this {type(self).__name__} "
                f"({len(named)} parameters); nothing was loaded:\n  " + "\n  ".join(problems)
            )
        for name, p in named:
            p.data = float(state[name])

    def save(self, path: str | os.PathLike) -> None:
        """Write the parameters to a JSON file; every float is written so it reads back bit for bit."""
        document = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "model": repr(self),
            "parameters": self.state_dict(),
        }
        text = json.dumps(document, indent=1)  # float repr is the shortest exact form
        folder = os.path.dirname(os.path.abspath(path))
        # write beside the target and swap it in, so a failed save never leaves half a file
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".chainrule-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.remove(temporary)
            raise

    def load(self, path: str | os.PathLike) -> None:
        """Read parameters written by `save()`; on any problem raise `LoadError` and change nothing."""
        try:
            with open(path, encoding="utf-8") as f:
                document = json.load(f)
        except json.JSONDecodeError as e:
            raise LoadError(f"load: {os.fspath(path)!r} is not valid JSON ({e}); nothing was loaded") from None
        except UnicodeDecodeError as e:
            raise LoadError(f"load: {os.fspath(path)!r} is not a text file ({e}); nothing was loaded") from None
        if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
            raise LoadError(f"load: {os.fspath(path)!r} is not a saved chainrule model; nothing was loaded")
        if document.get("version") != FILE_VERSION:
            raise LoadError(
                f"load: {os.fspath(path)!r} has format version {document.get('version')!r}, "
                f"this chainrule reads version {FILE_VERSION}; nothing was loaded"
            )
        parameters = document.get("parameters")
        if not isinstance(parameters, dict):
            raise LoadError(f"load: {os.fspath(path)!r} has no 'parameters' table; nothing was loaded")
        try:
            self.load_state_dict(parameters)
        except LoadError as e:
            raise LoadError(f"load: {os.fspath(path)!r}: {e}") from None

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


def _mismatch(wanted: list[str], given: list[str]) -> list[str]:
    """Describe how the names `given` differ from `wanted`: shapes first, then missing and extra names."""
    wanted_set, given_set = set(wanted), set(given)
    missing = [n for n in wanted if n not in given_set]
    extra = [n for n in given if n not in wanted_set]
    if not missing and not extra:
        return []
    problems = []
    # a group such as `layers.0.neurons.3.w` whose entry count differs is a shape problem
    wanted_sizes, given_sizes = _group_sizes(wanted), _group_sizes(given)
    reshaped = {g for g in wanted_sizes if g in given_sizes and wanted_sizes[g] != given_sizes[g]}
    for group in sorted(reshaped, key=list(wanted_sizes).index):
        problems.append(f"{group} has {given_sizes[group]} entries in the state, the model has {wanted_sizes[group]}")
    missing = [n for n in missing if _group(n) not in reshaped]
    extra = [n for n in extra if _group(n) not in reshaped]
    if missing:
        problems.append(f"missing {len(missing)} entr{'y' if len(missing) == 1 else 'ies'}: {_some(missing)}")
    if extra:
        problems.append(f"unexpected {len(extra)} entr{'y' if len(extra) == 1 else 'ies'}: {_some(extra)}")
    return problems


def _group(name: str) -> str:
    """`a.b.3` -> `a.b` (an indexed entry belongs to its list); other names are their own group."""
    head, _, tail = name.rpartition(".")
    return head if tail.isdigit() else name


def _group_sizes(names: list[str]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for n in names:
        g = _group(n)
        sizes[g] = sizes.get(g, 0) + 1
    return sizes


def _some(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
