"""Walk a scan target: every regular file, in a stable order, never leaving the target.

Symlinks are resolved, not followed blindly: a link to a file inside the target is scanned as
that file; a link to a directory inside the target is skipped (its files are reached directly);
a link that leaves the target, is broken or loops is reported and not read, except the links
of a Hugging Face cache snapshot into its repository's blobs (aisbom.hf_snapshot), which are
its files. Nothing else (FIFOs, sockets, devices) is opened, since reading them can block
forever.

The target may change while it is walked. Each directory is opened without following a link
and must be the one its parent listed (same device and inode) before it is listed, so a
directory swapped for a link out of the target is never entered; each file's identity is
recorded, and the scan refuses a file that is no longer that one when it opens it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from aisbom.errors import TargetError
from aisbom.hf_snapshot import is_snapshot_link, snapshot_blobs


@dataclass(frozen=True, slots=True)  # (no __dict__: a walk of a million files keeps a million)
class Entry:
    """One file the walk found, with the identity its scan must see again."""

    path: str  # relative to the target, '/'-separated; the file name for a single-file target
    absolute: str
    problem: str | None = None  # why it will not be read (symlink out of target, special file ...)
    problem_rule: str | None = None
    size: int = 0  # as seen by the walk; the scan re-reads it from the open file
    # (device, inode) the walk saw: the file the scan opens must be this one.
    identity: tuple[int, int] | None = None


def walk(target: Path) -> tuple[Path, list[Entry]]:
    """Return (root, entries). Raises TargetError if the target itself is unusable."""
    try:
        info = target.stat()
    except FileNotFoundError:
        raise TargetError("no such file or directory", path=str(target)) from None
    except OSError as exc:
        raise TargetError(f"cannot access: {exc.strerror or exc}", path=str(target)) from None
    if stat.S_ISREG(info.st_mode):
        # The user named this file: a link to it is followed once, here, on purpose.
        only = Entry(target.name, str(target.resolve()), size=info.st_size, identity=_identity(info))
        return target.parent, [only]
    if not stat.S_ISDIR(info.st_mode):
        raise TargetError("not a regular file or directory", path=str(target))
    root = target.resolve()
    blobs = snapshot_blobs(root)
    entries: list[Entry] = []
    pending = [(str(root), "", _identity(info))]
    while pending:
        directory, prefix, seen = pending.pop()
        try:
            children = _list(directory, seen)
        except OSError as exc:
            why = exc.strerror or str(exc)
            entries.append(
                Entry(prefix.rstrip("/") or ".", directory, f"cannot list directory: {why}", _UNREAD)
            )
            continue
        subdirs = []
        inside = os.path.join(directory, "")  # (+ name: os.path.join's path, for a listed name)
        for name, listed in children:
            rel = prefix + name
            absolute = inside + name
            entry = _classify(listed, absolute, rel, root, blobs)
            if isinstance(entry, tuple):
                subdirs.append((absolute, rel + "/", entry))
            elif entry.path:
                entries.append(entry)
        pending.extend(reversed(subdirs))
    entries.sort(key=lambda e: e.path)
    return root, entries


_UNREAD = "file-unreadable"
_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


def _identity(info: os.stat_result) -> tuple[int, int]:
    return (info.st_dev, info.st_ino)


Listed = tuple[str, "os.stat_result | OSError"]  # a name, and its lstat or why there is none


def _list(directory: str, seen: tuple[int, int]) -> list[Listed]:
    """The entries of `directory`, which must still be the directory its parent listed (not a
    link put in its place since, nor another directory), each with its lstat. Raises OSError."""
    if os.scandir not in os.supports_fd:  # no directory descriptors (Windows): by path
        with os.scandir(directory) as it:
            return sorted((e.name, _lstat(e.path, None)) for e in it)
    fd = os.open(directory, _DIRECTORY_FLAGS)
    try:
        if _identity(os.fstat(fd)) != seen:
            raise OSError(0, "replaced while the target was walked; not listed")
        return sorted((name, _lstat(name, fd)) for name in os.listdir(fd))
    finally:
        os.close(fd)


def _lstat(name: str, directory_fd: int | None) -> os.stat_result | OSError:
    try:
        return os.stat(name, dir_fd=directory_fd, follow_symlinks=False)
    except OSError as exc:
        return exc


def _classify(
    info: os.stat_result | OSError, absolute: str, rel: str, root: Path, blobs: Path | None
) -> Entry | tuple[int, int]:
    """An Entry for a file (or a problem), the identity of a real directory to descend into,
    or an Entry with an empty path for things to skip silently."""
    if isinstance(info, OSError):
        return Entry(rel, absolute, f"cannot stat: {info.strerror}", _UNREAD)
    if stat.S_ISREG(info.st_mode):  # first: most entries are files
        return Entry(rel, absolute, size=info.st_size, identity=(info.st_dev, info.st_ino))
    if stat.S_ISLNK(info.st_mode):
        try:
            return _classify_symlink(absolute, rel, root, blobs)
        except OSError as exc:
            return Entry(rel, absolute, f"cannot stat: {exc.strerror}", _UNREAD)
    if stat.S_ISDIR(info.st_mode):
        return _identity(info)
    return Entry(rel, absolute, "not a regular file (device, FIFO or socket); not read", _UNREAD)


def _classify_symlink(absolute: str, rel: str, root: Path, blobs: Path | None) -> Entry:
    link = os.readlink(absolute)
    try:
        resolved = Path(absolute).resolve(strict=True)
    except (OSError, RuntimeError):  # broken link or a loop
        return Entry(rel, absolute, f"symlink to {link!r} is broken or loops", "symlink-outside-target")
    if not resolved.is_relative_to(root) and not is_snapshot_link(resolved, blobs):
        return Entry(rel, absolute, f"symlink to {link!r} leaves the target", "symlink-outside-target")
    if resolved.is_dir():
        return Entry("", absolute)  # files inside are reached through their real path
    if not resolved.is_file():
        return Entry(rel, absolute, f"symlink to {link!r} is not a regular file", _UNREAD)
    info = resolved.stat()
    return Entry(rel, str(resolved), size=info.st_size, identity=_identity(info))
