"""`aisbom batch` throughput on this machine: many small models, and fewer large ones, with
`--engine local` and `--engine ray` (docs/scale.md quotes the results).

    python benchmarks/batch_scale.py small --models 1000
    python benchmarks/batch_scale.py large --models 40 --mb 500     # 20 GB in 40 models
    python benchmarks/batch_scale.py large --models 1 --mb 500 --files 8 --split-mb 500

Models are generated under --dir (default: a temporary directory): a small model is a config.json
and a 1 KiB safetensors file; a large one a config.json and one safetensors file of --mb MB of
random bytes (written once, so it is read back from the page cache: this measures aisbom, not
the disk). Each engine runs on a fresh --out; files/s and MB/s leave out the time Ray took to
start its local instance (ray_start_s, printed apart). The machine's 1-minute load average is
sampled every second during each run (load_min, load_max): other work on the machine shows there.
--files puts several safetensors files in each large model; --split-mb passes on to Ray.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAST_IMPORTS = HERE.parent / "tests" / "batch" / "_fast_imports"


def safetensors(payload_bytes: int) -> bytes:
    header = json.dumps({"w": {"dtype": "U8", "shape": [payload_bytes], "data_offsets": [0, payload_bytes]}})
    header_bytes = header.encode().ljust((len(header) + 7) // 8 * 8)
    return struct.pack("<Q", len(header_bytes)) + header_bytes


def make_models(root: Path, count: int, payload: int, files: int = 1) -> list[str]:
    targets = []
    for n in range(count):
        model = root / f"model{n:05d}"
        if not model.exists():
            model.mkdir(parents=True)
            (model / "config.json").write_text(json.dumps({"model_type": "bench", "n": n}))
            for shard in range(files):
                name = "model.safetensors" if files == 1 else f"model-{shard:05d}.safetensors"
                with (model / name).open("wb") as out:
                    out.write(safetensors(payload // files))
                    left = payload // files
                    while left:
                        chunk = os.urandom(min(left, 8 << 20))
                        out.write(chunk)
                        left -= len(chunk)
        targets.append(str(model))
    return targets


class LoadSampler(threading.Thread):
    """The 1-minute load average, once a second, while a run lasts."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(1.0):
            self.samples.append(os.getloadavg()[0])


def run(engine: str, listed: Path, out: Path, workers: int, extra: list[str]) -> dict[str, float]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FAST_IMPORTS), env.get("PYTHONPATH")]))
    sampler = LoadSampler()
    sampler.start()
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "aisbom",
            "batch",
            str(listed),
            "--out",
            str(out),
            "--engine",
            engine,
            "--workers",
            str(workers),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.monotonic() - started
    sampler.done.set()
    summary = result.stderr.strip().splitlines()[-1]
    match = re.search(
        r"(\d+) files?, ([\d.]+) MB; .*; ([\d.]+) s(?: \(of which ([\d.]+) s starting Ray\))?,", summary
    )
    assert match, result.stderr
    files, megabytes, seconds = int(match.group(1)), float(match.group(2)), float(match.group(3))
    startup = float(match.group(4) or 0)
    scanning = seconds - startup
    return {
        "wall_s": round(wall, 1),
        "run_s": seconds,
        "ray_start_s": startup,
        "files": files,
        "MB": megabytes,
        "files_per_s": round(files / scanning, 1),
        "MB_per_s": round(megabytes / scanning, 1),
        "load_min": min(sampler.samples, default=os.getloadavg()[0]),
        "load_max": max(sampler.samples, default=os.getloadavg()[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=["small", "large"])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--files", type=int, default=1, help="safetensors files per large model")
    parser.add_argument("--split-mb", help="--split-mb for the Ray engine")
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="aisbom-bench-"))
    payload = 1024 if args.case == "small" else args.mb << 20
    targets = make_models(root / args.case, args.models, payload, args.files)
    listed = root / f"{args.case}.txt"
    listed.write_text("\n".join(targets) + "\n")
    print(
        f"{args.case}: {args.models} models of {payload} payload bytes, {args.workers} workers, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    for engine in args.engines.split(","):
        out = Path(tempfile.mkdtemp(prefix=f"aisbom-bench-{engine}-", dir=root))
        extra = ["--split-mb", args.split_mb] if engine == "ray" and args.split_mb else []
        print(engine, json.dumps(run(engine, listed, out, args.workers, extra)), flush=True)


if __name__ == "__main__":
    main()
