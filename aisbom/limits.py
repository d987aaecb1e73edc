"""Resource limits: one dataclass, so every bound is visible and tunable in one place.

Hitting a limit is never a crash: the scanner that hits it reports a HIGH
`scan-limit` finding ("not fully analysed") and moves on, so an incomplete
scan can never exit 0.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    # Decompressed bytes one archive member or compressed stream may produce.
    max_member_size: int = 2 * GiB
    # Decompressed bytes all containers of one top-level file may produce together.
    max_total_unpacked: int = 8 * GiB
    # Decompressed size over compressed size, per member (zip bombs compress ~1000:1).
    max_ratio: int = 200
    # Containers inside containers (zip in tar in gzip ...).
    max_depth: int = 8
    # Members of one archive that we look at.
    max_members: int = 100_000
    # Opcodes interpreted in one pickle stream.
    max_pickle_opcodes: int = 50_000_000
    # Pickles stacked one after another in one stream.
    max_stacked_pickles: int = 1_000
    # Wall-clock seconds spent scanning one top-level file.
    max_seconds_per_file: float = 300.0
    # Bytes of a member read into memory at once to scan it (larger ones are streamed or skipped).
    max_in_memory: int = 2 * GiB
    # numpy .npy header bytes (numpy itself refuses more than 10,000 by default).
    max_npy_header: int = 1 * MiB
