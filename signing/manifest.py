"""Model → manifest: walk the target, hash every file, record how it was done.

A manifest is the `files` serialization of OMS v1.0: one `(name, digest)` per regular file,
named by its `/`-separated path relative to the target. Names are compared as strings, so two
manifests are equal exactly when every file has the same content.
"""

from __future__ import annotations

import mmap
import os
import posixpath
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aisbom.forked as forked
import aisbom.hashing as hashing
from aisbom.hf_snapshot import is_snapshot_link, snapshot_blobs
from aisbom.signing.errors import TargetReadError, UnsafePathError
from aisbom.signing.hashers import new_hasher, open_file

# Excluded at the top level of every directory target (same set as model_signing).
DEFAULT_IGNORES: tuple[str, ...] = (".git", ".gitattributes", ".github", ".gitignore")


@dataclass(frozen=True)
class Manifest:
    """What was (or is to be) signed: resources by name, and the serialization parameters."""

    model_name: str
    resources: Mapping[str, str]  # name → lowercase hex digest
    hash_type: str = "sha256"
    allow_symlinks: bool = False
    ignore_paths: tuple[str, ...] = ()
    single_file: bool = False
    # Shard serialization: resources are byte ranges named PATH:START:END (see shards.py).
    shard_size: int | None = None

    def sorted_resources(self) -> list[tuple[str, str]]:
        """Resources in Unicode code-point order of their names, as OMS requires."""
        return sorted(self.resources.items())

    def file_names(self) -> set[str]:
        """The files the manifest covers (for shards: the paths their names begin with)."""
        if self.shard_size is None:
            return set(self.resources)
        return {name.rsplit(":", 2)[0] for name in self.resources}


@dataclass(frozen=True)
class FileSet:
    """The files of a target, found by `walk`: resource name → path to read."""

    root: Path
    files: dict[str, Path] = field(default_factory=dict)
    single_file: bool = False


def normalize_ignore(path: str, *, target: Path) -> str:
    """Turn a user-given ignore path into a name relative to `target` (`/`-separated).

    Relative paths are relative to the target; absolute ones must lie inside it.
    """
    raw = os.fspath(path)
    if os.path.isabs(raw):
        root = os.path.realpath(target)
        full = os.path.realpath(raw)
        if os.path.commonpath([root, full]) != root:
            raise TargetReadError(f"ignore path {raw!r} is outside the target {str(target)!r}")
        raw = os.path.relpath(full, root)
    name = posixpath.normpath(raw.replace(os.sep, "/"))
    if name in ("", ".") or name == ".." or name.startswith("../"):
        raise TargetReadError(f"ignore path {path!r} must name something inside the target")
    return name


def is_ignored(name: str, ignores: Iterable[str]) -> bool:
    """True if `name` is an ignored path or lies under one."""
    return any(name == p or name.startswith(p + "/") for p in ignores)


def walk(target: Path, *, ignores: Iterable[str] = (), allow_symlinks: bool = False) -> FileSet:
    """List the regular files of `target` (a file or a directory), skipping ignored paths.

    Symlinks that leave the target are always refused; other symlinks are refused unless
    `allow_symlinks`, in which case they are followed (each real directory visited once).
    In a Hugging Face cache snapshot, the links into its repository's blobs are its files
    (aisbom.hf_snapshot): followed whatever `allow_symlinks` says, named by their snapshot path.
    Sockets, pipes and devices are refused: reading them could block or never end.
    """
    try:
        st = os.stat(target)
    except OSError as exc:
        raise TargetReadError(f"cannot read target: {exc.strerror or exc}", path=str(target)) from None
    if stat.S_ISREG(st.st_mode):
        # The user named this file: follow it even if it is a symlink (e.g. a hub cache).
        real = Path(os.path.realpath(target))
        return FileSet(root=target, files={model_name(target): real}, single_file=True)
    if not stat.S_ISDIR(st.st_mode):
        raise TargetReadError("target is neither a regular file nor a directory", path=str(target))

    root_real = os.path.realpath(target)
    blobs = snapshot_blobs(Path(root_real))
    ignore_set = tuple(ignores)
    files: dict[str, Path] = {}
    visited: set[str] = {root_real}
    # Stack of (directory path on disk, its name prefix inside the model).
    stack: list[tuple[str, str]] = [(os.fspath(target), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            raise TargetReadError(f"cannot list directory: {exc.strerror or exc}", path=directory) from None
        for entry in entries:
            name = prefix + entry.name
            if is_ignored(name, ignore_set):
                continue
            try:
                if entry.is_symlink():
                    blob = _snapshot_blob(entry.path, blobs)
                    if blob is not None:  # read the blob itself: a plain file, opened without following
                        files[name] = blob
                        continue
                    kind = _follow_symlink(entry.path, name, root_real, allow_symlinks, visited)
                    if kind == "dir":
                        stack.append((entry.path, name + "/"))
                    elif kind == "file":
                        files[name] = Path(entry.path)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, name + "/"))
                elif entry.is_file(follow_symlinks=False):
                    files[name] = Path(entry.path)
                else:
                    raise TargetReadError("not a regular file or directory", path=entry.path)
            except OSError as exc:
                raise TargetReadError(f"cannot read: {exc.strerror or exc}", path=entry.path) from None
    return FileSet(root=target, files=files)


def _snapshot_blob(path: str, blobs: Path | None) -> Path | None:
    """The blob a Hugging Face snapshot link stands for, if `path` is one; else None."""
    if blobs is None:
        return None
    real = os.path.realpath(path)
    if is_snapshot_link(real, blobs) and stat.S_ISREG(os.stat(real).st_mode):
        return Path(real)
    return None


def _follow_symlink(path: str, name: str, root_real: str, allow_symlinks: bool, visited: set[str]) -> str:
    real = os.path.realpath(path)
    if real != root_real and os.path.commonpath([root_real, real]) != root_real:
        raise UnsafePathError(f"symlink {name!r} points outside the target (to {real})", path=path)
    if not allow_symlinks:
        raise UnsafePathError(
            f"symlink {name!r} found but symlinks are not allowed (allow_symlinks=false)",
            path=path,
        )
    st = os.stat(real)
    if stat.S_ISDIR(st.st_mode):
        if real in visited:  # a loop, or a second way into a directory already listed
            raise UnsafePathError(f"symlink {name!r} leads into a loop or a repeated directory")
        visited.add(real)
        return "dir"
    if stat.S_ISREG(st.st_mode):
        return "file"
    raise TargetReadError("symlink to something that is not a regular file", path=path)


def hash_file(path: Path, hash_type: str = "sha256", *, follow_symlinks: bool = False) -> str:
    """Hex digest of one file (the walk saw a regular file there; refuse what it is now if not)."""
    hasher = new_hasher(hash_type)
    with open_file(path, follow_symlinks=follow_symlinks) as handle:
        try:
            hashing.update_from(hasher, handle)
        except OSError as exc:
            raise TargetReadError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    return str(hasher.hexdigest())


def hash_bytes(data: bytes, hash_type: str = "sha256") -> str:
    """Hex digest of bytes already in memory (a file read once, checked and then used)."""
    hasher = new_hasher(hash_type)
    hasher.update(data)
    return str(hasher.hexdigest())


def hash_files(
    files: Mapping[str, Path],
    hash_type: str = "sha256",
    *,
    follow_symlinks: bool = False,
    max_workers: int | None = None,
) -> dict[str, str]:
    """Hash many files, several at a time: large ones in child processes (`_hash_mapped`), the
    rest on threads here (hashlib releases the GIL on large updates)."""
    if max_workers is None:
        max_workers = min(8, os.cpu_count() or 1)
    items = list(files.items())
    # (blake3 hashes on threads of its own, which a forked child would not have)
    mapped = forked.can_fork() and hash_type != "blake3"
    large = [(n, p) for n, p in items if _size(p, follow_symlinks) > hashing.MAPPED_ABOVE] if mapped else []
    digests = _hash_mapped(large, hash_type, follow_symlinks, max_workers) if large else {}
    items = [(name, path) for name, path in items if name not in digests]
    if len(items) <= 1 or max_workers <= 1:
        digests.update((name, hash_file(p, hash_type, follow_symlinks=follow_symlinks)) for name, p in items)
    else:
        from concurrent.futures import ThreadPoolExecutor  # (and logging: not for `aisbom bom`)

        with ThreadPoolExecutor(max_workers=max_workers) as pool:
            hashed = pool.map(
                lambda item: hash_file(item[1], hash_type, follow_symlinks=follow_symlinks), items
            )
            digests.update((name, digest) for (name, _), digest in zip(items, hashed, strict=True))
    return {name: digests[name] for name in files}


def _size(path: Path, follow_symlinks: bool) -> int:
    """The size the file has now; 0 for one that cannot be seen (hashed here, which says why)."""
    try:
        return os.stat(path, follow_symlinks=follow_symlinks).st_size
    except OSError:
        return 0


def _hash_mapped(
    items: list[tuple[str, Path]], hash_type: str, follow_symlinks: bool, workers: int
) -> dict[str, str]:
    """Digests of large files, each hashed in a forked child through a memory mapping, as the
    scan hashes them (`aisbom.forked`): no byte is copied into a process, the files hash on
    every core at once, and a file truncated meanwhile ends its child (SIGBUS), not this
    process. A file another process changes is an error naming it, as when it is read."""
    new_hasher(hash_type)  # an algorithm this installation lacks: the error, before any child

    def work(item: tuple[str, Path]) -> dict[str, object]:
        try:
            return {"digest": _mapped_digest(item[1], hash_type, follow_symlinks)}
        except TargetReadError as exc:
            return {"error": exc.args[0], "path": exc.path}

    digests: dict[str, str] = {}
    for (name, path), answer in forked.run_all(items, work, workers=max(1, workers)):
        if isinstance(answer, forked.ChildDied):
            raise TargetReadError(
                f"cannot read: {answer} (did it change while it was hashed?)", path=str(path)
            )
        if "error" in answer:
            raise TargetReadError(str(answer["error"]), path=answer.get("path"))
        digests[name] = str(answer["digest"])
    return digests


def _mapped_digest(path: Path, hash_type: str, follow_symlinks: bool) -> str:
    with open_file(path, follow_symlinks=follow_symlinks) as handle:
        try:
            if os.fstat(handle.fileno()).st_size == 0:  # an empty file cannot be mapped
                return hash_bytes(b"", hash_type)
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                return hashing.hash_mapping(mapped, hash_type)
        except OSError as exc:
            raise TargetReadError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None


def model_name(target: Path) -> str:
    """The informative subject name: the target's last component (resolved for `.` or `..`)."""
    name = target.name
    if not name or name in (".", ".."):
        name = Path(os.path.realpath(target)).name
    return name or "model"


def build_manifest(
    target: Path,
    *,
    ignore_paths: Iterable[str] = (),
    allow_symlinks: bool = False,
    max_workers: int | None = None,
    single_file_name: str | None = None,
    ignore_git_paths: bool = True,
    shard_size: int | None = None,
    hash_type: str = "sha256",
    known: Mapping[str, str] | None = None,
) -> Manifest:
    """Hash a model for signing, each file with `hash_type` (sha256, blake2b or blake3).
    `ignore_paths` are names relative to the target.

    For a directory the default exclusions are added (unless not `ignore_git_paths`) and every
    exclusion is recorded; a single file has nothing to exclude, and is named by its basename
    (OMS v1.0) unless `single_file_name` says otherwise (model_signing 1.1.1 writes and expects
    "."). With `shard_size`, every file is hashed in byte ranges of that size (shards.py).
    `known`: digests of `hash_type` by name already taken of these files (by the scan that
    judged them, for `bom --sign-model`): those files are not read again.
    """
    target = Path(target)
    ignores = sorted((set(DEFAULT_IGNORES) if ignore_git_paths else set()) | set(ignore_paths))
    fileset = walk(target, ignores=ignores, allow_symlinks=allow_symlinks)
    files = fileset.files
    reused = {name: known[name] for name in files if known and shard_size is None and name in known}
    if fileset.single_file and single_file_name is not None:
        (path,) = files.values()
        files = {single_file_name: path}
        reused = dict.fromkeys([single_file_name], *reused.values()) if reused else {}
    if shard_size is None:
        pending = {name: path for name, path in files.items() if name not in reused}
        hashed = hash_files(pending, hash_type, follow_symlinks=allow_symlinks, max_workers=max_workers)
        digests = reused | hashed
    else:
        from aisbom.signing.shards import shard_resources

        digests = shard_resources(
            files, shard_size, hash_type, follow_symlinks=allow_symlinks, max_workers=max_workers
        )
    return Manifest(
        model_name=model_name(target),
        resources=digests,
        hash_type=hash_type,
        allow_symlinks=allow_symlinks,
        ignore_paths=() if fileset.single_file else tuple(ignores),
        single_file=fileset.single_file,
        shard_size=shard_size,
    )
