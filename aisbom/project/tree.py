"""The files of a local asset as they are now: path, SHA-256 and size, without scanning.

`aisbom status` compares these with the lock. The walk is the scan's own (aisbom.inventory),
so paths, symlink rules and the files that are left out agree with what was locked.

Symlinks are part of an asset, so the inventory records them (`symlinks`):
- a link to a file inside the asset is that file (its content is hashed), its target noted;
- a link to a directory inside the asset (`prompts/current -> v2`) is recorded as git records a
  link: its content is its target, so its SHA-256 is that of the target text, and re-pointing
  it is a change like any other (the scan's walk skips such links: their files are reached
  through their real paths);
- a link that leaves the asset is refused by the scan; accepted with `--allow-unsafe`, it is
  locked with the SHA-256 of what it points to, and hashed again through the link every time.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import aisbom.hashing as hashing
from aisbom.hf_snapshot import is_snapshot_link, snapshot_blobs
from aisbom.inventory import walk

# The project's own files: never part of an asset, even when an asset's directory holds them.
PROJECT_FILES = ("aisbom.toml", "aisbom.lock", "aisbom-audit.jsonl", ".aisbom")


@dataclass(frozen=True)
class TreeFile:
    sha256: str | None  # None when it cannot be read (see problem)
    size: int | None
    problem: str | None = None
    link: str | None = None  # for a symlink: its target, as written
    leaves_asset: bool = False  # a symlink that resolves outside the asset


@dataclass(frozen=True)
class Symlink:
    target: str  # as written in the link
    inside: bool  # it resolves inside the asset
    is_dir: bool  # it resolves to a directory


def link_sha256(target: str) -> str:
    """A link to a directory, hashed as git hashes a link: its content is its target's text."""
    return hashlib.sha256(os.fsencode(target)).hexdigest()


def symlinks(target: Path, exclude: frozenset[str] = frozenset()) -> dict[str, Symlink]:
    """Every symlink inside the directory `target`, by relative path (none for a file, and none
    of a Hugging Face snapshot's links into its blobs, which are its files)."""
    try:
        root = target.resolve()
    except OSError:
        return {}
    if not root.is_dir():
        return {}
    blobs = snapshot_blobs(root)
    out: dict[str, Symlink] = {}
    for directory, dirs, files in os.walk(root):  # never follows a link to a directory
        for name in (*dirs, *files):
            path = os.path.join(directory, name)
            if not os.path.islink(path) or _excluded(path, exclude):
                continue
            try:
                written = os.readlink(path)
                real = Path(path).resolve(strict=True)
            except (OSError, RuntimeError):
                continue  # broken or looping: the walk reports it
            if is_snapshot_link(real, blobs):
                continue
            rel = Path(path).relative_to(root).as_posix()
            out[rel] = Symlink(written, real.is_relative_to(root), real.is_dir())
    return out


def project_files(root: Path) -> frozenset[str]:
    base = root.resolve()
    return frozenset(str(base / name) for name in PROJECT_FILES)


def hash_tree(
    target: Path,
    exclude: frozenset[str] = frozenset(),
    *,
    links: bool = False,
    outside_allowed: frozenset[str] = frozenset(),
) -> dict[str, TreeFile]:
    """Every file of `target` (a file or directory) by relative path. With `links`, symlinks
    too, as the module says; `outside_allowed` names the links leaving the asset that the lock
    accepted, hashed through the link. Raises TargetError if the target is missing or unusable."""
    root, entries = walk(target)
    out: dict[str, TreeFile] = {}
    for entry in entries:
        if _excluded(entry.absolute, exclude):
            continue
        if entry.problem:
            out[entry.path] = TreeFile(None, None, entry.problem)
            continue
        out[entry.path] = _hash_file(entry.absolute)
    if links:
        for path, link in symlinks(target, exclude).items():
            out[path] = _link_file(root / path, link, out.get(path), path in outside_allowed)
    return out


def _link_file(path: Path, link: Symlink, walked: TreeFile | None, allowed: bool) -> TreeFile:
    if link.inside and link.is_dir:
        return TreeFile(link_sha256(link.target), len(os.fsencode(link.target)), link=link.target)
    if link.inside:
        walked = walked or _hash_file(str(path), follow=True)
        return TreeFile(walked.sha256, walked.size, walked.problem, link=link.target)
    if allowed and not link.is_dir:
        hashed = _hash_file(str(path), follow=True)
        return TreeFile(hashed.sha256, hashed.size, hashed.problem, link.target, leaves_asset=True)
    problem = walked.problem if walked else f"symlink to {link.target!r} leaves the asset"
    return TreeFile(None, None, problem, link.target, leaves_asset=True)


def _excluded(absolute: str, exclude: frozenset[str]) -> bool:
    return absolute in exclude or any(absolute.startswith(e + os.sep) for e in exclude)


def without_project_files(paths: dict[str, object], target: Path, exclude: frozenset[str]) -> set[str]:
    """The relative paths of `paths` (files of `target`) that are project files."""
    base = target.resolve()

    def excluded(path: Path) -> bool:
        text = str(path)
        return text in exclude or any(text.startswith(e + os.sep) for e in exclude)

    if not base.is_dir():
        return {p for p in paths if excluded(base)}
    return {p for p in paths if excluded(base / p)}


def _hash_file(path: str, *, follow: bool = False) -> TreeFile:
    try:
        with hashing.open_regular(path, follow_symlinks=follow) as handle:
            digest = hashing.hash_handle(handle)
    except hashing.NotRegularFile:
        return TreeFile(None, None, "no longer a regular file")
    except OSError as exc:
        return TreeFile(None, None, f"cannot read file: {exc.strerror or exc}")
    return TreeFile(digest.hexdigest, digest.size)
