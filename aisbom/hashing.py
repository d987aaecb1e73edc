"""Digests of file content: the one place that reads a file into a hash.

The scan, the asset inventory, signing and the downloads of remote sources all hash here (the
downloads feed what arrives to a hasher from `new_hasher`), so a faster read loop, hashing on
several cores or another algorithm is one change. Files are read through a reused 1 MiB buffer:
the process does not grow with the file, and hashlib releases the GIL on updates that large, so
files hashed on several threads hash in parallel.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import stat
from collections.abc import Callable
from typing import Any, BinaryIO, NamedTuple

CHUNK_SIZE = 1 << 20  # 1 MiB reads: large enough to run SHA-256 at full speed
# Files up to this size are read whole; larger ones are hashed through a memory mapping in a
# forked child (aisbom.forked), by the scan and by signing alike.
MAPPED_ABOVE = 1 << 20

# Name -> constructor of the algorithms a signature may name (blake3 when its package is there).
_ALGORITHMS: dict[str, Callable[[], Any]] = {"sha256": hashlib.sha256, "blake2b": hashlib.blake2b}
_HEX_LENGTH = {"sha256": 64, "blake2b": 128, "blake3": 64}


class UnsupportedHash(ValueError):
    """An algorithm this installation cannot compute."""


class NotRegularFile(OSError):
    """What was a regular file when the target was walked is not one now (a FIFO, a device, a
    directory, or a symlink that is not to be followed)."""

    def __init__(self) -> None:
        super().__init__(0, "no longer a regular file")


class FileDigest(NamedTuple):
    hexdigest: str
    size: int  # bytes read


def algorithms() -> tuple[str, ...]:
    """The algorithms this installation can compute (blake3 only if its package is installed)."""
    try:
        import blake3  # noqa: F401
    except ImportError:
        return tuple(_ALGORITHMS)
    return (*_ALGORITHMS, "blake3")


def hex_length(algorithm: str) -> int | None:
    """Characters of a hex digest of `algorithm`, None for an algorithm we do not know."""
    return _HEX_LENGTH.get(algorithm)


def new_hasher(algorithm: str = "sha256") -> Any:
    """A hashlib-style object (update, hexdigest). Raises UnsupportedHash."""
    factory = _ALGORITHMS.get(algorithm)
    if factory is not None:
        return factory()
    if algorithm == "blake3":
        try:
            import blake3
        except ImportError:
            raise UnsupportedHash(
                "hash type blake3 needs the 'blake3' package (pip install blake3)"
            ) from None
        # Multi-threaded: a large update is hashed on every core.
        return blake3.blake3(max_threads=blake3.blake3.AUTO)
    raise UnsupportedHash(f"unsupported hash type {algorithm!r}")


def hash_bytes(data: bytes, algorithm: str = "sha256") -> str:
    """Hex digest of bytes already in memory (a small file read once, then scanned)."""
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return str(hasher.hexdigest())


def hash_mapping(
    mapped: mmap.mmap, algorithm: str = "sha256", reading: Callable[[int], None] | None = None
) -> str:
    """Hex digest of a memory-mapped file: the very bytes the scanners then read through the same
    mapping. Each hashed stretch is dropped from the process (madvise DONTNEED: the pages stay in
    the page cache, for the scanners to find again), so a multi-GB file does not grow the process.
    `reading`, when given, is told the bytes hashed so far after each 8 MiB (a progress display)."""
    hasher = new_hasher(algorithm)
    view = memoryview(mapped)
    step = 8 * CHUNK_SIZE  # a multiple of every page size
    if hasattr(mmap, "MADV_SEQUENTIAL"):
        mapped.madvise(mmap.MADV_SEQUENTIAL)  # read ahead generously
    try:
        for start in range(0, len(mapped), step):
            hasher.update(view[start : start + step])
            if hasattr(mapped, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
                mapped.madvise(mmap.MADV_DONTNEED, start, min(step, len(mapped) - start))
            if reading is not None:
                reading(min(start + step, len(mapped)))
    finally:
        view.release()
    return str(hasher.hexdigest())


def update_from(hasher: Any, handle: BinaryIO) -> int:
    """Feed `handle` to `hasher` from its position to its end; returns the bytes read."""
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    size = 0
    while n := handle.readinto(buffer):  # type: ignore[attr-defined]
        hasher.update(view[:n])  # releases the GIL: large files hash in parallel
        size += n
    return size


def update_from_range(hasher: Any, handle: BinaryIO, start: int, end: int) -> int:
    """Feed bytes [start, end) of an open file to `hasher`, by positional reads (the file's own
    position is left alone); returns the bytes read, fewer when the file ends first."""
    fd = handle.fileno()
    position = start
    while position < end:
        chunk = os.pread(fd, min(CHUNK_SIZE, end - position), position)
        if not chunk:
            break
        hasher.update(chunk)
        position += len(chunk)
    return position - start


def hash_handle(handle: BinaryIO, algorithm: str = "sha256") -> FileDigest:
    """Digest of an open file, from its position to its end."""
    hasher = new_hasher(algorithm)
    size = update_from(hasher, handle)
    return FileDigest(hasher.hexdigest(), size)


def open_regular(path: str | os.PathLike[str], *, follow_symlinks: bool = False) -> BinaryIO:
    """Open a file the walk saw as regular, for reading, refusing what it has become since: a
    symlink (unless `follow_symlinks`) or anything but a regular file (NotRegularFile); a FIFO
    swapped in does not block the open. Raises OSError."""
    fd, _info = open_regular_fd(path, follow_symlinks=follow_symlinks)
    return open(fd, "rb", buffering=0)  # noqa: SIM115 (returned open)


# O_NONBLOCK: should a FIFO have replaced the file since the walk, open must not hang.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def open_regular_fd(
    path: str | os.PathLike[str], *, follow_symlinks: bool = False
) -> tuple[int, os.stat_result]:
    """`open_regular` as a bare descriptor and its fstat (the caller closes it): a scan of many
    small files saves the file object, and the fstat and lseek its readall makes (~10 us a file)."""
    fd = os.open(path, _OPEN_FLAGS if follow_symlinks else _OPEN_FLAGS | _NOFOLLOW)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def read_to_end(fd: int, size: int) -> bytes:
    """Everything from the descriptor's position to the end of the file, as `read()` of a file
    object gives it (a file grown since its fstat is read to its new end): `size` is the size
    that fstat saw, so the first read is usually the only one with data.

    A first read that returns the `size` bytes fstat saw ends there, without the read that would
    only find the end (a system call, ~2 us a small file): a file that holds more by then has
    another size or modification time than the fstat said, which the caller checks after its
    scan (aisbom.pipeline) as it must for any write after the read."""
    data = os.read(fd, size + 1)
    if not data or len(data) == size:
        return data
    more = []
    while chunk := os.read(fd, 64 * 1024):  # at the end: small, as an empty read allocates it
        more.append(chunk)
    return data + b"".join(more) if more else data
