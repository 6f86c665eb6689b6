"""`Module`: the base of every network piece -- its parameters, their names, and saving them.

A module's parameters are the `Value`s stored in its attributes, found in the order the
attributes were set: a `Value`, a list of `Value`s, another `Module` or a list of `Module`s.
Each gets a dotted name from the attribute path, such as `layers.0.neurons.3.w.1`.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import secrets
import stat
import struct
from collections import Counter
from collections.abc import Iterator, Mapping
from itertools import islice
from numbers import Real
from typing import Any

from engine import Value

FILE_FORMAT = "chainrule.nn.state"
FILE_VERSION = 1
MAX_FILE_BYTES = 16 * 1024 * 1024  # load() reads no more than this unless told (`max_bytes`)
MAX_CONTAINERS = 64  # load() refuses JSON with more arrays and objects (a saved model has 2)


class LoadError(ValueError):
    """A state dict or a saved file does not fit the model; the model was left unchanged."""


class MissingFileError(LoadError, FileNotFoundError):
    """load() was given a path where there is no file (also a FileNotFoundError, as open() would raise)."""

    def __str__(self) -> str:
        return str(self.args[0])


class SaveError(ValueError):
    """save() refused: a parameter is not a number, or the path is not a regular file; nothing was written."""


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
        if not isinstance(state, Mapping):
            raise LoadError(f"load_state_dict: expected a dict of name -> number, got {type(state).__name__}")
        fitted = self._fit(list(state.items()), "load_state_dict: the state")
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
        problems, values = [], {}
        for key, p in self.named_parameters():
            try:
                values[key] = _encode(_as_float(p.data))
            except _Bad as e:
                problems.append(f"parameter {key!r} {e}")
        if problems:
            raise SaveError(f"save: {_listed(problems, 'bad parameters')}; nothing was written to {name!r}")
        document = {"format": FILE_FORMAT, "version": FILE_VERSION, "model": repr(self), "parameters": values}
        data = json.dumps(document, indent=1, allow_nan=False).encode("ascii")
        _write_atomically(name, data)

    def load(self, path: str | os.PathLike[str], *, max_bytes: int = MAX_FILE_BYTES) -> None:
        """Read parameters written by `save()`; on any problem raise `LoadError` and change nothing.

        The file must be a regular file of at most `max_bytes` bytes (default `MAX_FILE_BYTES`,
        16 MiB; reading takes up to about 30 times that in memory), UTF-8, strict JSON (no NaN or
        Infinity tokens, no key twice in one object, at most `MAX_CONTAINERS` arrays and objects, so
        no deep nesting) and fit the model as for `load_state_dict`. A missing file raises
        a `LoadError` that is also a `FileNotFoundError`.
        """
        name = os.fsdecode(path)
        try:
            document = _parse(_read(name, max_bytes))
        except _Bad as e:
            raise LoadError(f"load: {name!r} {e}; nothing was loaded") from None
        if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
            raise LoadError(f"load: {name!r} is not a saved chainrule model; nothing was loaded")
        version = document.get("version")
        if type(version) is not int or version != FILE_VERSION:
            raise LoadError(
                f"load: {name!r} has format version {version!r}, "
                f"this chainrule reads version {FILE_VERSION}; nothing was loaded"
            )
        parameters = document.get("parameters")
        if not isinstance(parameters, dict):
            raise LoadError(f"load: {name!r} has no 'parameters' table; nothing was loaded")
        items = [(key, _decode(x)) for key, x in parameters.items()]
        fitted = self._fit(items, f"load: {name!r}")
        for p, x in fitted:
            p.data = x

    def _fit(self, items: list[tuple[Any, Any]], source: str) -> list[tuple[Value, float]]:
        """Pair each parameter with its new float, or raise `LoadError` listing every problem."""
        named = self.named_parameters()
        problems = []
        odd = [key for key, _ in items if not isinstance(key, str)]
        if odd:
            shown = [f"{_short(key)} ({type(key).__name__})" for key in odd]
            problems.append(f"names must be strings; not a string: {_some(shown, quote=False)}")
        names = [key for key, _ in items if isinstance(key, str)]
        counts = Counter(names)
        repeated = [f"{_short(key, 200)} appears {n} times" for key, n in counts.items() if n > 1]
        if repeated:
            problems.append(_listed(repeated, "repeated names"))
        problems.extend(_mismatch([key for key, _ in named], list(counts)))
        given = {key: x for key, x in items if isinstance(key, str)}
        fitted, bad = [], []
        for key, p in named:
            if key in given:
                try:
                    fitted.append((p, _as_float(given[key])))
                except _Bad as e:
                    bad.append(f"entry {key!r} {e}")
        if bad:
            problems.append(_listed(bad, "entries that are not numbers"))
        if problems:
            raise LoadError(
                f"{source} does not fit this {type(self).__name__} ({len(named)} parameters); "
                "nothing was loaded:\n  " + "\n  ".join(problems)
            )
        return fitted

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


def _some(names: list[str], limit: int = 5, quote: bool = True) -> str:
    shown = ", ".join(_short(n, 200) if quote else n for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _listed(problems: list[str], what: str, limit: int = 10) -> str:
    """The first `limit` problems, then how many more: a message stays short whatever the input."""
    more = f"\n  and {len(problems) - limit} more {what}" if len(problems) > limit else ""
    return "\n  ".join(problems[:limit]) + more


# ---------------------------------------------------------------- numbers in and out of the file


class _Bad(Exception):
    """A value or a file that cannot be used; the text says why and becomes part of the error."""


class _Refused:
    """A JSON literal the file may not hold (a number too large for a float), kept to be named later."""

    def __init__(self, text: str, problem: str) -> None:
        self.text, self.problem = text, problem

    def __repr__(self) -> str:
        return self.text


def _short(x: Any, limit: int = 40) -> str:
    """repr(x), cut down to its ends if long; never fails (a huge int cannot be turned into digits)."""
    try:
        text = repr(x)
    except Exception:  # an int beyond the interpreter's digit limit for str(), or a broken __repr__
        if isinstance(x, int):
            return f"of about {int(abs(x).bit_length() * math.log10(2)) + 1} digits"
        return f"<{type(x).__name__} object>"
    return text if len(text) <= limit else f"{text[: limit - 25]}...{text[-10:]} ({len(text)} characters)"


def _as_float(x: Any) -> float:
    """x as a float, or `_Bad` saying why not: a bool, a `Value`, a non-number, or a number beyond a float."""
    if isinstance(x, _Refused):
        raise _Bad(x.problem)
    if isinstance(x, Value):
        raise _Bad(f"is a Value, not a number (pass its .data: {_short(x.data)})")
    if isinstance(x, bool) or not isinstance(x, Real):
        raise _Bad(f"is {type(x).__name__} {_short(x)}, not a number")
    try:
        return float(x)
    except OverflowError:
        raise _Bad(f"is the {type(x).__name__} {_short(x)}, too large for a float") from None
    except Exception as e:  # a Real whose __float__ is broken
        raise _Bad(f"is the {type(x).__name__} {_short(x)}, which float() refuses ({e})") from None


_INF, _NEG_INF, _NAN, _NEG_NAN = 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000
_NON_FINITE = {_INF: "inf", _NEG_INF: "-inf", _NAN: "nan", _NEG_NAN: "-nan"}
_NON_FINITE_BITS = {text: pattern for pattern, text in _NON_FINITE.items()}
_OTHER_NAN = re.compile(r"nan:0x([0-9a-f]{16})")


def _bits(x: float) -> int:
    return int.from_bytes(struct.pack("<d", x), "little")


def _float(pattern: int) -> float:
    return struct.unpack("<d", pattern.to_bytes(8, "little"))[0]


def _encode(x: float) -> float | str:
    """A float as the file holds it: itself if finite, else a string naming its exact bits."""
    if math.isfinite(x):
        return x
    pattern = _bits(x)
    return _NON_FINITE.get(pattern) or f"nan:0x{pattern:016x}"


def _decode(x: Any) -> Any:
    """What the file holds back to a float: the strings of `_encode`; anything else is left for `_as_float`."""
    if not isinstance(x, str):
        return x
    if x in _NON_FINITE_BITS:
        return _float(_NON_FINITE_BITS[x])
    other = _OTHER_NAN.fullmatch(x)
    if other and math.isnan(_float(int(other.group(1), 16))):
        return _float(int(other.group(1), 16))
    return _Refused(
        _short(x),
        f"is the string {_short(x)}, not a number (the only strings are 'nan', '-nan', 'inf', '-inf' and "
        "'nan:0x' with the 16 hex digits of a NaN)",
    )


# ---------------------------------------------------------------- reading a file


_KINDS = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
]


def _kind(mode: int) -> str:
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def _read(name: str, max_bytes: int) -> bytes:
    """The bytes of the regular file `name`, at most `max_bytes` of them, or `_Bad` / `LoadError`."""
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise TypeError(f"load: max_bytes must be an int >= 0, got {max_bytes!r}")
    # O_NONBLOCK: opening a pipe must not wait for a writer (a regular file ignores the flag)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags)
    except FileNotFoundError:
        error = MissingFileError(f"load: {name!r}: no such file; nothing was loaded")
        error.errno, error.filename = errno.ENOENT, name
        raise error from None
    except OSError as e:
        raise LoadError(f"load: cannot open {name!r}: {e.strerror}; nothing was loaded") from e
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Bad(f"is {_kind(info.st_mode)}, not a regular file")
        too_big = _Bad(f"is larger than {max_bytes} bytes (load's max_bytes; the default is {MAX_FILE_BYTES})")
        if info.st_size > max_bytes:
            raise too_big
        chunks, size = [], 0
        while size <= max_bytes:  # the file may grow after fstat: never read more than max_bytes + 1
            chunk = os.read(fd, min(max_bytes + 1 - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise too_big
        return b"".join(chunks)
    except OSError as e:
        raise LoadError(f"load: cannot read {name!r}: {e.strerror}; nothing was loaded") from e
    finally:
        os.close(fd)


_STRING_OR_OPENING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]', re.DOTALL)


def _parse(data: bytes) -> Any:
    """Strict JSON from UTF-8 bytes, refusing what a strict reader refuses or what could exhaust us."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _Bad(f"is not UTF-8 text (byte {e.start} is {data[e.start : e.start + 1]!r})") from None
    # counted before parsing, so the parser never recurses deeply nor builds millions of lists
    if text.count("[") + text.count("{") > MAX_CONTAINERS:  # some may be inside strings: count exactly
        openings = (m for m in _STRING_OR_OPENING.finditer(text) if m.group() in ("[", "{"))
        if next(islice(openings, MAX_CONTAINERS, None), None) is not None:
            raise _Bad(f"holds more than {MAX_CONTAINERS} arrays and objects (a saved model has 2)")
    try:
        return json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_int=_integer,
            parse_float=_number,
        )
    except json.JSONDecodeError as e:
        raise _Bad(f"is not valid JSON ({e})") from None
    except RecursionError:
        raise _Bad("is nested too deeply to read") from None


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Bad(f"is not a saved model: the key {_short(key)} appears twice in one object")
        found[key] = value
    return found


def _constant(token: str) -> Any:
    raise _Bad(
        f"holds the token {token}, which is not strict JSON "
        "(save() writes non-finite parameters as the strings 'nan', 'inf' and '-inf')"
    )


def _integer(text: str) -> int | _Refused:
    digits = len(text.lstrip("-"))
    if digits > 309:  # 10**309 is beyond the largest float: do not even build the int
        shown = text if len(text) <= 40 else f"{text[:15]}...{text[-10:]}"
        return _Refused(shown, f"is the integer {shown} ({digits} digits), too large for a float")
    return int(text)


def _number(text: str) -> float | _Refused:
    x = float(text)
    if math.isinf(x):  # float() quietly rounds 1e400 to inf
        shown = text if len(text) <= 40 else f"{text[:15]}...{text[-10:]}"
        return _Refused(shown, f"is the number {shown}, too large for a float")
    return x


# ---------------------------------------------------------------- writing a file


def _write_atomically(name: str, data: bytes) -> None:
    """Replace the file at `name` (through symlinks) by `data`, all or nothing, and sync it to disk."""
    target = os.path.realpath(name)  # every symlink followed; a dangling one names the file to create
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise SaveError(f"save: {name!r} is {_kind(info.st_mode)}, not a regular file; nothing was written")
    folder = os.path.dirname(target)
    if info is None and not os.path.isdir(folder):
        if os.path.exists(folder):
            raise NotADirectoryError(errno.ENOTDIR, "save: not a folder", folder)
        raise FileNotFoundError(errno.ENOENT, "save: no such folder", folder)
    if info is not None and not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, "save: the file is read-only", name)
    # a new file gets 0o666 less the umask, as open() gives; an existing file's mode is copied below
    fd, temporary = _create_beside(folder, 0o600 if info is not None else 0o666)
    try:
        if info is not None:
            _copy_owner_and_mode(fd, info)
        _write_all(fd, data)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(temporary, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.remove(temporary)
        except FileNotFoundError:
            pass
        raise
    _sync_folder(folder)


def _create_beside(folder: str, mode: int) -> tuple[int, str]:
    """A new, empty, hidden file in `folder`, opened for writing: (its descriptor, its path)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        temporary = os.path.join(folder, f".chainrule-{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temporary, flags, mode), temporary
        except FileExistsError:
            continue
        except OSError as e:  # name the folder, not a temporary name the caller never chose
            raise type(e)(e.errno, f"save: cannot create a file in the folder ({e.strerror})", folder) from None


def _copy_owner_and_mode(fd: int, info: os.stat_result) -> None:
    if hasattr(os, "fchown") and (info.st_uid, info.st_gid) != (os.fstat(fd).st_uid, os.fstat(fd).st_gid):
        try:
            os.fchown(fd, info.st_uid, info.st_gid)  # before fchmod: a change of owner clears set-id bits
        except PermissionError:
            pass  # only root may give a file away; the new file is then ours
    os.fchmod(fd, stat.S_IMODE(info.st_mode))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _sync_folder(folder: str) -> None:
    """fsync the folder, so the rename itself survives a crash (where folders can be opened)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
