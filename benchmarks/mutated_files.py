"""Thousands of mutated fixtures scanned as directories: no traceback, every file reported.

    python benchmarks/mutated_files.py [--files 5000] [--seed 20261207] [--keep DIR]

Writes --files mutations of the fixtures (byte flips, cut runs, truncations, inserted junk,
duplicated chunks, broken zip headers) into directories of 100 files each, runs
`aisbom scan --format json -o REPORT DIR` once over them, and checks: exit 0 or 1, no
"Traceback" on stderr, every file in the JSON report, peak memory (the scan's ru_maxrss,
children included) under 1 GiB. Prints the figures; exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "fixtures"))

from catalog import FIXTURES  # noqa: E402

GiB = 1024**3
PER_DIRECTORY = 100


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        if choice < 0.4 and out:
            out[rng.randrange(len(out))] = rng.randrange(256)  # flip a byte
        elif choice < 0.55 and out:
            start = rng.randrange(len(out))
            del out[start : start + rng.randint(1, 64)]  # cut a run
        elif choice < 0.7:
            out = out[: rng.randrange(len(out) + 1)]  # truncate
        elif choice < 0.8 and out:
            start = rng.randrange(len(out))
            chunk = out[start : start + rng.randint(1, 4096)]
            out[start:start] = chunk * rng.randint(1, 4)  # duplicate a chunk
        elif choice < 0.9 and out:
            for signature in (b"PK\x01\x02", b"PK\x05\x06", b"PK\x03\x04"):  # a zip header
                at = out.find(signature)
                if at >= 0:
                    out[at + 4 : at + 12] = rng.randbytes(8)
                    break
        else:
            pos = rng.randrange(len(out) + 1)
            out[pos:pos] = rng.randbytes(rng.randint(1, 16))  # insert junk
    return bytes(out)


def write_corpus(root: Path, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    corpus = [f for f in FIXTURES if f.abspath.is_file() and f.abspath.stat().st_size < 8 * 1024 * 1024]
    names = []
    for index in range(count):
        fixture = rng.choice(corpus)
        directory = f"d{index // PER_DIRECTORY:03d}"
        name = f"{directory}/{index:05d}-{fixture.abspath.name}"
        (root / directory).mkdir(exist_ok=True)
        (root / name).write_bytes(mutate(fixture.abspath.read_bytes(), rng))
        names.append(name)
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch) / "mutated"
        root.mkdir(parents=True, exist_ok=True)
        names = write_corpus(root, args.files, args.seed)
        report = Path(scratch) / "report.json"
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "aisbom", "scan", "--format", "json", "-o", str(report), str(root)],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.monotonic() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        files = json.loads(report.read_text())["files"] if report.is_file() else []
        reported = {entry["path"] for entry in files}
    missing = sorted(set(names) - reported)
    problems = []
    if done.returncode not in (0, 1):
        problems.append(f"exit {done.returncode}: {done.stderr.strip()[-500:]}")
    if "Traceback" in done.stderr:
        problems.append("a traceback on stderr:\n" + done.stderr[done.stderr.index("Traceback") :][-3000:])
    if missing:
        problems.append(f"{len(missing)} files missing from the report, e.g. {missing[:3]}")
    if peak >= GiB:
        problems.append(f"peak memory {peak / 2**20:.0f} MiB")
    print(
        f"{len(names)} files in {len(names) // PER_DIRECTORY + 1} directories: exit {done.returncode}, "
        f"{len(reported)} in the report, {seconds:.0f} s, peak memory {peak / 2**20:.0f} MiB"
    )
    for problem in problems:
        print("FAIL:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
