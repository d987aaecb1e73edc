"""Scan speed and memory, as ratios against peers measured in the same run.

    python benchmarks/bench_scan.py [--size-mb 1024] [--small-files 20000] [--peers]

Workloads (generated in a temp dir, removed afterwards):
  big     one PyTorch zip checkpoint of --size-mb MiB (float32 storages)
  legacy  the same tensors in the legacy (non-zip) format
  small   --small-files files of 1 KiB (a dataset of small records)

Baselines: `sha256sum` (coreutils, one core) and a pure hashlib read loop: aisbom should hash
at their speed and add almost nothing for scanning. With --peers, modelscan and fickling are
timed on the same files when installed. Each command runs in its own process; peak RSS comes
from getrusage(RUSAGE_CHILDREN). The page cache is warmed first, so the figures are CPU-bound.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HASHLIB_LOOP = """
import hashlib, os, sys
target = sys.argv[1]
paths = [target] if os.path.isfile(target) else [
    os.path.join(root, n) for root, _, names in os.walk(target) for n in names
]
for path in paths:
    digest, f = hashlib.sha256(), open(path, "rb")
    while chunk := f.read(1 << 20):
        digest.update(chunk)
"""


def timed(cmd: list[str], repeat: int = 3) -> tuple[float, float]:
    """Best wall time of `repeat` runs, and the command's peak RSS in MiB (file pages it
    memory-maps count too, so a mapped checkpoint shows up at its size)."""
    best, rss = float("inf"), 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(child.pid, 0)
        best = min(best, time.perf_counter() - start)
        rss = max(rss, usage.ru_maxrss / 1024)
    return best, rss


def make_big(directory: Path, size_mb: int) -> tuple[Path, Path]:
    """Written by a child process, so this one stays small: a forked child's peak RSS counts
    the parent's pages until it execs, which would inflate every measurement."""
    zip_path, legacy_path = directory / "model.pt", directory / "legacy.pt"
    script = f"""
import torch
n = {size_mb} * 1024 * 1024 // 4 // 16
state = {{f"layer{{i}}.weight": torch.randn(n) for i in range(16)}}
torch.save(state, {str(zip_path)!r})
torch.save(state, {str(legacy_path)!r}, _use_new_zipfile_serialization=False)
"""
    subprocess.run([sys.executable, "-c", script], check=True)
    return zip_path, legacy_path


def make_small(directory: Path, count: int) -> Path:
    root = directory / "dataset"
    root.mkdir()
    payload = os.urandom(1024)
    for i in range(count):
        (root / f"{i:06d}.bin").write_bytes(payload)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--small-files", type=int, default=20000)
    parser.add_argument("--peers", action="store_true", help="also time modelscan and fickling")
    args = parser.parse_args()
    aisbom = [sys.executable, "-m", "aisbom", "scan", "--no-progress"]
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        big, legacy = make_big(tmpdir, args.size_mb)
        small = make_small(tmpdir, args.small_files)
        rows = []
        for label, target in (("big zip", big), ("big legacy", legacy), ("small files", small)):
            # Into the page cache first (a directory's every file: `cat` with no file reads stdin).
            files = [target] if target.is_file() else sorted(target.iterdir())
            subprocess.run(["cat", *map(str, files)], stdout=subprocess.DEVNULL, check=True)
            base_cmd = (
                ["sha256sum", str(target)]
                if target.is_file()
                else ["sh", "-c", f"find {target} -type f -print0 | xargs -0 sha256sum"]
            )
            base, _ = timed(base_cmd)
            loop, _ = timed([sys.executable, "-c", HASHLIB_LOOP, str(target)])
            ours, rss = timed([*aisbom, str(target)])
            size = sum(p.stat().st_size for p in ([target] if target.is_file() else target.iterdir()))
            rows.append((label, size, base, loop, ours, rss))
            if args.peers:
                for peer, cmd in (
                    ("modelscan", ["modelscan", "-p", str(target)]),
                    ("fickling", ["fickling", "--check-safety", str(target)]),
                ):
                    if shutil.which(cmd[0]):
                        t, _ = timed(cmd, repeat=1)
                        rows.append((f"  {peer} on {label}", size, base, loop, t, float("nan")))
        print(
            f"{'workload':28} {'MiB':>8} {'sha256sum s':>12} {'hashlib s':>10} {'tool s':>8} "
            f"{'tool/sha256sum':>15} {'GB/s':>6} {'peak RSS MiB':>13}"
        )
        for label, size, base, loop, ours, rss in rows:
            print(
                f"{label:28} {size / 2**20:8.0f} {base:12.3f} {loop:10.3f} {ours:8.3f} "
                f"{ours / base:15.2f} {size / ours / 1e9:6.2f} {rss:13.0f}"
            )
        n = args.small_files
        small_row = next(r for r in rows if r[0] == "small files")
        print(
            f"\nper-file cost on small files: aisbom {small_row[4] / n * 1e6:.0f} µs, "
            f"sha256sum {small_row[2] / n * 1e6:.0f} µs"
        )


if __name__ == "__main__":
    main()
