"""SHA-256 of files at the speed of the hardware.

hashlib releases the GIL for large updates, so hashing several files on a thread pool uses
every core; a 1 MiB reusable buffer keeps the per-call overhead negligible.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO

CHUNK = 1024 * 1024


def sha256_stream(stream: BinaryIO) -> tuple[str, int]:
    """Hex SHA-256 and byte count of everything left in `stream`."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    total = 0
    while True:
        n = stream.readinto(view)  # type: ignore[attr-defined]
        if not n:
            break
        digest.update(view[:n])
        total += n
    return digest.hexdigest(), total


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
