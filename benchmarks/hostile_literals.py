"""Pickles whose one text literal (or LONG4) is --size-mb MiB long: `aisbom scan` CPU time and peak memory.

    python benchmarks/hostile_literals.py [--size-mb 64] [--repeat 3] [--aisbom PATH] [KIND ...]

Each kind of fixtures/builders/hostile_pickles.py's LITERALS (a FLOAT that overflows, a tiny
FLOAT, an INT/LONG of millions of decimal digits, a huge hexadecimal LONG, a long GLOBAL
module name ...) is written to a temp file and scanned `--repeat` times, each in its own
process. CPU is user+system of the scan and its children (getrusage via wait4), the median;
peak RSS is the largest seen. A file of the same size that is no pickle gives the floor
(hashing, reading, start-up). Prints one row per kind.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "fixtures"))

from builders.hostile_pickles import LITERALS, long_literal  # noqa: E402


def scan(aisbom: str, path: Path, repeat: int) -> tuple[float, float, int]:
    """Median CPU seconds, peak RSS in MiB, and the exit code of `aisbom scan`."""
    cpu, rss, code = [], 0.0, 0
    for _ in range(repeat):
        child = subprocess.Popen(
            [aisbom, "scan", "--format", "json", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(child.pid, 0)
        cpu.append(usage.ru_utime + usage.ru_stime)
        rss = max(rss, usage.ru_maxrss / 1024)
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            raise SystemExit(f"aisbom scan {path} exited {code}")
    return statistics.median(cpu), rss, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--aisbom", default=shutil.which("aisbom") or "aisbom")
    parser.add_argument("kinds", nargs="*", default=list(LITERALS))
    args = parser.parse_args()
    length = args.size_mb << 20
    print(f"{'kind':16} {'CPU s':>7} {'peak MiB':>9} exit")
    with tempfile.TemporaryDirectory() as tmp:
        floor = Path(tmp) / "zeros.bin"
        with floor.open("wb") as f:
            f.truncate(length)
        cpu, rss, code = scan(args.aisbom, floor, args.repeat)
        print(f"{'(zeros, floor)':16} {cpu:7.2f} {rss:9.0f} {code}", flush=True)
        floor.unlink()
        for kind in args.kinds:
            path = Path(tmp) / f"{kind}.pkl"
            path.write_bytes(long_literal(kind, length))
            cpu, rss, code = scan(args.aisbom, path, args.repeat)
            print(f"{kind:16} {cpu:7.2f} {rss:9.0f} {code}", flush=True)
            path.unlink()


if __name__ == "__main__":
    main()
