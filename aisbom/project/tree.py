"""The files of a local asset as they are now: path, SHA-256 and size, without scanning.

`aisbom status` compares these with the lock. The walk is the scan's own (aisbom.inventory),
so paths, symlink rules and the files that are left out agree with what was locked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from aisbom import hashing
from aisbom.inventory import walk

# The project's own files: never part of an asset, even when an asset's directory holds them.
PROJECT_FILES = ("aisbom.toml", "aisbom.lock", "aisbom-audit.jsonl", ".aisbom")


@dataclass(frozen=True)
class TreeFile:
    sha256: str | None  # None when it cannot be read (see problem)
    size: int | None
    problem: str | None = None


def project_files(root: Path) -> frozenset[str]:
    base = root.resolve()
    return frozenset(str(base / name) for name in PROJECT_FILES)


def hash_tree(target: Path, exclude: frozenset[str] = frozenset()) -> dict[str, TreeFile]:
    """Every file of `target` (a file or directory) by relative path. Raises TargetError if the
    target itself is missing or unusable."""
    _root, entries = walk(target)
    out: dict[str, TreeFile] = {}
    for entry in entries:
        if entry.absolute in exclude or any(entry.absolute.startswith(e + os.sep) for e in exclude):
            continue
        if entry.problem:
            out[entry.path] = TreeFile(None, None, entry.problem)
            continue
        out[entry.path] = _hash_file(entry.absolute)
    return out


def without_project_files(paths: dict[str, object], target: Path, exclude: frozenset[str]) -> set[str]:
    """The relative paths of `paths` (files of `target`) that are project files."""
    base = target.resolve()

    def excluded(path: Path) -> bool:
        text = str(path)
        return text in exclude or any(text.startswith(e + os.sep) for e in exclude)

    if not base.is_dir():
        return {p for p in paths if excluded(base)}
    return {p for p in paths if excluded(base / p)}


def _hash_file(path: str) -> TreeFile:
    try:
        with hashing.open_regular(path) as handle:
            digest = hashing.hash_handle(handle)
    except hashing.NotRegularFile:
        return TreeFile(None, None, "no longer a regular file")
    except OSError as exc:
        return TreeFile(None, None, f"cannot read file: {exc.strerror or exc}")
    return TreeFile(digest.hexdigest, digest.size)
