"""Shard serialization (OMS v1.0 §6.3.2, model_signing's `shards` method).

Each file is cut into consecutive byte ranges of `shard_size` bytes (the last one shorter), and
each range is one resource named `PATH:START:END` (END exclusive). Empty files have no shards.
A signed shard list must cover every listed file exactly, from byte 0, with no overlap or gap
and every shard but the last of a file exactly `shard_size` long: then the file's length is the
last END, and re-cutting the file on disk gives the same names. Verification checks that length
first, then every shard's digest, and reports differences per file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aisbom.hashing as hashing
from aisbom.signing.errors import StatementError, TargetReadError
from aisbom.signing.hashers import new_hasher, open_file
from aisbom.signing.verify import ManifestDiff, Modified

# The byte range is the last two colon-separated decimal fields: a path may contain colons.
_SHARD_NAME = re.compile(r"(?P<path>.+):(?P<start>0|[1-9][0-9]*):(?P<end>0|[1-9][0-9]*)", re.DOTALL)
DEFAULT_SHARD_SIZE = 1_000_000_000  # what OMS and model_signing default to


def shard_algorithm(hash_type: str, shard_size: int) -> str:
    """The `algorithm` of a shard resource as model_signing 1.x and model-signing (Go) write it,
    "sha256-sharded-1048576", and compare it when they verify. OMS v1.0 §6.3.2 says the bare
    hash_type; aisbom writes the implementations' name, so that both verify its shard
    signatures, and accepts either name when it verifies."""
    return f"{hash_type}-sharded-{shard_size}"


def shard_size_from_json(value: object) -> int | None:
    """A positive integer shard size, or None. model_signing 1.x writes its statement through a
    protobuf Struct, so a shard size of 1048576 arrives as 1048576.0: an integral float counts."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


@dataclass(frozen=True, order=True)
class Shard:
    path: str
    start: int
    end: int

    @property
    def name(self) -> str:
        return f"{self.path}:{self.start}:{self.end}"


def parse_shard_name(name: object) -> Shard:
    match = _SHARD_NAME.fullmatch(name) if isinstance(name, str) else None
    if match is None:
        raise StatementError(f"shard resource name {name!r} is not PATH:START:END")
    shard = Shard(match["path"], int(match["start"]), int(match["end"]))
    if shard.end <= shard.start:
        raise StatementError(f"shard {name!r} ends before it starts")
    return shard


def ranges(size: int, shard_size: int) -> list[tuple[int, int]]:
    """The byte ranges a file of `size` bytes is cut into (none for an empty file)."""
    return [(start, min(start + shard_size, size)) for start in range(0, size, shard_size)]


@dataclass(frozen=True)
class SignedFile:
    """A file of a shard signature: its length and each shard's (start, end, digest)."""

    length: int
    shards: tuple[tuple[int, int, str], ...]


def file_layout(resources: Mapping[str, str], shard_size: int) -> dict[str, SignedFile]:
    """Group signed shards by file, refusing a list that does not cut each file exactly."""
    by_file: dict[str, list[tuple[int, int, str]]] = {}
    for name, digest in resources.items():
        shard = parse_shard_name(name)
        by_file.setdefault(shard.path, []).append((shard.start, shard.end, digest))
    layout: dict[str, SignedFile] = {}
    for path, shards in by_file.items():
        shards.sort()
        position = 0
        for i, (start, end, _) in enumerate(shards):
            if start < position:
                raise StatementError(f"shards of {path!r} overlap at byte {start} (…:{position} before it)")
            if start > position:
                raise StatementError(f"shards of {path!r} leave bytes {position}-{start} uncovered")
            last = i == len(shards) - 1
            if end - start > shard_size or (not last and end - start != shard_size):
                raise StatementError(
                    f"shard {path}:{start}:{end} is {end - start} bytes long; the shard size is {shard_size}"
                )
            position = end
        layout[path] = SignedFile(position, tuple(shards))
    return layout


def hash_range(path: Path, start: int, end: int, hash_type: str, *, follow_symlinks: bool = False) -> str:
    """Hex digest of bytes [start, end) of a regular file (the one place shards are read)."""
    hasher = new_hasher(hash_type)
    with open_file(path, follow_symlinks=follow_symlinks) as handle:
        try:
            read = hashing.update_from_range(hasher, handle, start, end)
        except OSError as exc:
            raise TargetReadError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    if start + read < end:
        raise TargetReadError(f"file ended at byte {start + read}, before byte {end}", path=str(path))
    return str(hasher.hexdigest())


def file_size(path: Path, *, follow_symlinks: bool = False) -> int:
    try:
        return (os.stat(path) if follow_symlinks else os.lstat(path)).st_size
    except OSError as exc:
        raise TargetReadError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None


def _hash_all(
    jobs: Iterable[tuple[Path, int, int]], hash_type: str, follow_symlinks: bool, max_workers: int | None
) -> list[str]:
    """Hash many ranges, several at a time (hashlib releases the GIL on large updates)."""
    work = list(jobs)
    workers = min(8, os.cpu_count() or 1) if max_workers is None else max_workers
    if len(work) <= 1 or workers <= 1:
        return [hash_range(p, s, e, hash_type, follow_symlinks=follow_symlinks) for p, s, e in work]
    # Imported here: concurrent.futures brings logging (10 ms), and most signatures cover one
    # shard of each file, hashed without threads.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(
            pool.map(
                lambda job: hash_range(job[0], job[1], job[2], hash_type, follow_symlinks=follow_symlinks),
                work,
            )
        )


def shard_resources(
    files: Mapping[str, Path],
    shard_size: int,
    hash_type: str = "sha256",
    *,
    follow_symlinks: bool = False,
    max_workers: int | None = None,
) -> dict[str, str]:
    """Shard name → digest for every non-empty file of `files` (name → path), for signing."""
    shards = [
        (Shard(name, start, end), path)
        for name, path in files.items()
        for start, end in ranges(file_size(path, follow_symlinks=follow_symlinks), shard_size)
    ]
    digests = _hash_all(((p, s.start, s.end) for s, p in shards), hash_type, follow_symlinks, max_workers)
    return {shard.name: digest for (shard, _), digest in zip(shards, digests, strict=True)}


def compare_shards(
    layout: Mapping[str, SignedFile],
    present: Mapping[str, Path],
    hash_type: str,
    *,
    follow_symlinks: bool = False,
    ignore_unsigned: bool = False,
) -> ManifestDiff:
    """The files on disk (`present`, name → path) against a shard signature's `layout`."""
    modified: list[Modified] = []
    jobs: list[tuple[str, int, int, str, Path]] = []
    for name, signed in sorted(layout.items()):
        if name not in present:
            continue
        size = file_size(present[name], follow_symlinks=follow_symlinks)
        if size != signed.length:
            modified.append(Modified(name, str(signed.length), str(size), part="size"))
            continue
        jobs.extend((name, start, end, digest, present[name]) for start, end, digest in signed.shards)
    actual = _hash_all(((p, s, e) for _, s, e, _, p in jobs), hash_type, follow_symlinks, None)
    for (name, start, end, digest, _), got in zip(jobs, actual, strict=True):
        if got != digest:
            modified.append(Modified(name, digest, got, part=f"{start}-{end}"))
    changed = {m.name for m in modified}
    missing = tuple(sorted(name for name in layout if name not in present))
    # An empty file has no shards: its absence from the signature is what the signature says.
    unlisted = sorted(
        name
        for name, path in present.items()
        if name not in layout and file_size(path, follow_symlinks=follow_symlinks) > 0
    )
    matched = sum(1 for name in layout if name in present and name not in changed)
    return ManifestDiff(
        hash_type,
        tuple(sorted(modified, key=lambda m: m.name)),  # stable: a file's shards stay in order
        missing,
        () if ignore_unsigned else tuple(unlisted),
        matched,
        unsigned=tuple(unlisted) if ignore_unsigned else (),
    )
