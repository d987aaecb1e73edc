"""What reading a file from the page cache costs on top of SHA-256, by way of reading it.

    python benchmarks/read_strategies.py DIR [--repeat 3]

Each strategy hashes every file of DIR with hashlib (8 MiB updates from a mapping, or each
buffer a read fills) in this one process, after a warm-up pass; it prints the median wall, user
and system time. User time is SHA-256's speed; system time is what the kernel spends handing
over the pages (mapping and unmapping them, or copying them into the buffer). aisbom's workers
hash from a plain read-only mapping (`mmap`), which sees the same bytes its scanners read.
Benchmark code only: aisbom never runs it.
"""

from __future__ import annotations

import argparse
import hashlib
import mmap
import os
import statistics
from collections.abc import Callable

UPDATE = 8 << 20


def mapped(path: str, flags: int = 0, advice: int | None = None) -> None:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if not size:
            return
        share = mmap.MAP_SHARED | flags
        with mmap.mmap(file.fileno(), 0, flags=share, prot=mmap.PROT_READ) as mapping:
            if advice is not None:
                mapping.madvise(advice)
            with memoryview(mapping) as view:
                for at in range(0, size, UPDATE):
                    digest.update(view[at : at + UPDATE])


def read_into(path: str, buffer_size: int) -> None:
    digest = hashlib.sha256()
    buffer = bytearray(buffer_size)
    with open(path, "rb", buffering=0) as file, memoryview(buffer) as view:
        while count := file.readinto(buffer):
            digest.update(view[:count])


STRATEGIES: dict[str, Callable[[str], None]] = {
    "mmap": mapped,
    "mmap MAP_POPULATE": lambda path: mapped(path, flags=mmap.MAP_POPULATE),
    "mmap MADV_WILLNEED": lambda path: mapped(path, advice=mmap.MADV_WILLNEED),
    "mmap MADV_SEQUENTIAL": lambda path: mapped(path, advice=mmap.MADV_SEQUENTIAL),
    "mmap MADV_HUGEPAGE": lambda path: mapped(path, advice=mmap.MADV_HUGEPAGE),
    "readinto 64 KiB": lambda path: read_into(path, 64 << 10),
    "readinto 256 KiB": lambda path: read_into(path, 256 << 10),
    "readinto 1 MiB": lambda path: read_into(path, 1 << 20),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    paths = sorted(os.path.join(root, name) for root, _, names in os.walk(args.directory) for name in names)
    size = sum(os.path.getsize(path) for path in paths)
    print(f"{len(paths)} files, {size / 2**20:.0f} MiB; medians of {args.repeat}\n")
    print("| strategy | wall s | user s | system s | GB/s |")
    print("|---|---|---|---|---|")
    for name, strategy in STRATEGIES.items():
        for path in paths:  # warm-up: the page cache
            strategy(path)
        walls, users, systems = [], [], []
        for _ in range(args.repeat):
            before = os.times()
            for path in paths:
                strategy(path)
            after = os.times()
            walls.append(after.elapsed - before.elapsed)
            users.append(after.user - before.user)
            systems.append(after.system - before.system)
        wall = statistics.median(walls)
        print(
            f"| {name} | {wall:.3f} | {statistics.median(users):.3f} | {statistics.median(systems):.3f} "
            f"| {size / wall / 1e9:.2f} |"
        )


if __name__ == "__main__":
    main()
