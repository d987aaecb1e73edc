"""Walk a scan target: every regular file, in a stable order, never leaving the target.

Symlinks are resolved, not followed blindly: a link to a file inside the target is scanned as
that file; a link to a directory inside the target is skipped (its files are reached directly);
a link that leaves the target, is broken or loops is reported and not read, except the links
of a Hugging Face cache snapshot into its repository's blobs (aisbom.hf_snapshot), which are
its files. Nothing else (FIFOs, sockets, devices) is opened, since reading them can block
forever.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from aisbom.errors import TargetError
from aisbom.hf_snapshot import is_snapshot_link, snapshot_blobs


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the target, '/'-separated; the file name for a single-file target
    absolute: str
    problem: str | None = None  # why it will not be read (symlink out of target, special file ...)
    problem_rule: str | None = None
    size: int = 0  # as seen by the walk; the scan re-reads it from the open file


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
        return target.parent, [Entry(path=target.name, absolute=str(target.resolve()), size=info.st_size)]
    if not stat.S_ISDIR(info.st_mode):
        raise TargetError("not a regular file or directory", path=str(target))
    root = target.resolve()
    blobs = snapshot_blobs(root)
    entries: list[Entry] = []
    pending = [(str(root), "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            with os.scandir(directory) as it:
                children = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            entries.append(
                Entry(
                    prefix.rstrip("/") or ".",
                    directory,
                    f"cannot list directory: {exc.strerror}",
                    "file-unreadable",
                )
            )
            continue
        subdirs = []
        for child in children:
            rel = prefix + child.name
            entry = _classify(child, rel, root, blobs)
            if entry is None:
                subdirs.append((child.path, rel + "/"))
            elif entry.path:
                entries.append(entry)
        pending.extend(reversed(subdirs))
    entries.sort(key=lambda e: e.path)
    return root, entries


def _classify(child: os.DirEntry[str], rel: str, root: Path, blobs: Path | None) -> Entry | None:
    """An Entry for a file (or a problem), None for a real directory to descend into,
    or an Entry with an empty path for things to skip silently."""
    try:
        if child.is_symlink():
            return _classify_symlink(child, rel, root, blobs)
        info = child.stat(follow_symlinks=False)
    except OSError as exc:
        return Entry(rel, child.path, f"cannot stat: {exc.strerror}", "file-unreadable")
    if stat.S_ISDIR(info.st_mode):
        return None
    if stat.S_ISREG(info.st_mode):
        return Entry(rel, child.path, size=info.st_size)
    return Entry(rel, child.path, "not a regular file (device, FIFO or socket); not read", "file-unreadable")


def _classify_symlink(child: os.DirEntry[str], rel: str, root: Path, blobs: Path | None) -> Entry:
    link = os.readlink(child.path)
    try:
        resolved = Path(child.path).resolve(strict=True)
    except (OSError, RuntimeError):  # broken link or a loop
        return Entry(rel, child.path, f"symlink to {link!r} is broken or loops", "symlink-outside-target")
    if not resolved.is_relative_to(root) and not is_snapshot_link(resolved, blobs):
        return Entry(rel, child.path, f"symlink to {link!r} leaves the target", "symlink-outside-target")
    if resolved.is_dir():
        return Entry("", child.path)  # files inside are reached through their real path
    if not resolved.is_file():
        return Entry(rel, child.path, f"symlink to {link!r} is not a regular file", "file-unreadable")
    return Entry(rel, str(resolved), size=resolved.stat().st_size)
