"""Writing files all or nothing: each staged beside its target, synced to disk, renamed over it.

    write_atomically(path, data)        one file
    write_all_or_none({path: data})     several files: every target is replaced, or none is

A crash, a full disk or Ctrl-C part way leaves every target as it was and no temporary file
behind. A symlink is written through to its target (the link stays); an existing file keeps its
permission bits (and its owner, where we may set it) and a read-only one is refused; a new file
gets the mode `open()` would give (0o666 less the umask). After the renames the folder is
synced, so they survive a crash too. The file is replaced, not rewritten in place: another hard
link to it keeps the old bytes.

The one writer of the project: models (`nn.Module.save`), graph pictures, layer pictures, the
stepping page and the demos' pictures all go through it. It needs only the standard library and
imports nothing of the engine, so any layer may use it.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

_KINDS = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
]


def kind(mode: int) -> str:
    """What a file of this `st_mode` is, in words: 'a directory', 'a FIFO', ..."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


class NotARegularFile(OSError):
    """The target exists and is not a regular file (a device, a pipe): nothing was written."""

    def __init__(self, name: str, what: str, code: int = errno.EINVAL) -> None:
        super().__init__(code, f"{name!r} is {what}, not a regular file")
        self.filename, self.kind = name, what


class FolderNotFile(NotARegularFile, IsADirectoryError):
    """The target is a folder: give a file name in it instead. Nothing was written."""

    def __init__(self, name: str) -> None:
        super().__init__(name, "a directory", errno.EISDIR)

    def __str__(self) -> str:
        return f"{self.filename!r} is a folder, not a file: give a file name in it"


def write_atomically(path: str | os.PathLike[str], data: bytes, *, who: str = "write", special: str = "refuse") -> Path:
    """Replace the file at `path` by `data`, all or nothing, synced to disk; return `path` as a Path.

    `special` says what to do with a target that exists and is not a regular file (a device such
    as os.devnull, a pipe): "refuse" raises `NotARegularFile`; "in place" writes into it as
    `open()` would. A folder is always refused (`FolderNotFile`, also an IsADirectoryError).
    `who` starts the messages of the errors raised.
    """
    return write_all_or_none({path: data}, who=who, special=special)[0]


def write_all_or_none(
    files: Mapping[str | os.PathLike[str], bytes], *, who: str = "write", special: str = "refuse"
) -> list[Path]:
    """Write every file of {path: data}, or none; return the paths, in order (see write_atomically)."""
    if special not in ("refuse", "in place"):
        raise ValueError(f"write_all_or_none: special must be 'refuse' or 'in place', got {special!r}")
    targets: list[tuple[str, str, os.stat_result | None, bytes]] = []
    for path, data in files.items():
        name = os.fsdecode(path)
        target = os.path.realpath(name)  # every symlink followed; a dangling one names the file to create
        info = _stat(target)
        if info is not None and not stat.S_ISREG(info.st_mode):
            if stat.S_ISDIR(info.st_mode):
                raise FolderNotFile(name)
            if special == "refuse":
                raise NotARegularFile(name, kind(info.st_mode))
        folder = os.path.dirname(target)
        if info is None and not os.path.isdir(folder):
            if os.path.exists(folder):
                raise NotADirectoryError(errno.ENOTDIR, f"{who}: not a folder", folder)
            raise FileNotFoundError(errno.ENOENT, f"{who}: no such folder (it does not exist)", folder)
        if info is not None and stat.S_ISREG(info.st_mode) and not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, f"{who}: the file is read-only", name)
        targets.append((name, target, info, data))
    staged: list[tuple[str, str]] = []
    try:
        for _, target, info, data in targets:
            if info is not None and not stat.S_ISREG(info.st_mode):
                continue  # a device or a pipe, written in place below
            staged.append((_stage(target, info, data, who), target))
        for temporary, target in staged:
            os.replace(temporary, target)
    except BaseException:
        for temporary, _ in staged:
            try:
                os.remove(temporary)
            except FileNotFoundError:
                pass
        raise
    for _, target, info, data in targets:
        if info is not None and not stat.S_ISREG(info.st_mode):
            with open(target, "wb") as out:
                out.write(data)
    for folder in dict.fromkeys(os.path.dirname(target) for _, target in staged):
        _sync_folder(folder)
    return [Path(name) for name, _, _, _ in targets]


def _stat(target: str) -> os.stat_result | None:
    try:
        return os.stat(target)
    except FileNotFoundError:
        return None


def _stage(target: str, info: os.stat_result | None, data: bytes, who: str) -> str:
    """A new file beside `target` holding `data`, with target's mode and owner, synced: its path."""
    # a new file gets 0o666 less the umask, as open() gives; an existing file's mode is copied below
    fd, temporary = _create_beside(os.path.dirname(target), 0o600 if info is not None else 0o666, who)
    try:
        if info is not None:
            _copy_owner_and_mode(fd, info)
        _write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.remove(temporary)
        raise
    os.close(fd)
    return temporary


def _create_beside(folder: str, mode: int, who: str) -> tuple[int, str]:
    """A new, empty, hidden file in `folder`, opened for writing: (its descriptor, its path)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        temporary = os.path.join(folder, f".chainrule-{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temporary, flags, mode), temporary
        except FileExistsError:
            continue
        except OSError as e:  # name the folder, not a temporary name the caller never chose
            raise type(e)(e.errno, f"{who}: cannot create a file in the folder ({e.strerror})", folder) from None


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
    """fsync the folder, so the renames themselves survive a crash (where folders can be opened)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
