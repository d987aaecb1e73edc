"""Static conversion of a multi-GB PyTorch checkpoint, against torch.load + safetensors' save_file
on the same file: time and peak memory, in one run.

    python benchmarks/bench_convert.py [--size-mb 2048] [--tensors 16] [--legacy]

The checkpoint (--tensors float32/bfloat16 tensors, --size-mb MiB in all, one of them stored
transposed) is written once with torch.save into a temp dir and removed afterwards. Each command
runs in its own process; peak RSS comes from getrusage via wait4. The page cache is warmed first.

- `aisbom convert` (static): scans the file (SHA-256 of every byte, the pickle), then copies each
  tensor from the mapped checkpoint into the output; no torch, no unpickling.
- torch.load(weights_only=True) + safetensors.torch.save_file (with .contiguous()): the usual way.
- aisbom.load_tensors (format="torch"): the scan, then tensors mapped in place (nothing copied
  until used; the command sums one row of each, so their first pages are read).
- `import torch` alone: the start-up that the torch-based rows include (times are whole processes).

RSS counts the file's pages a process maps and touches (page cache, reclaimable) as well as its
own allocations, so a mapped read shows up in it; it is still the number a container limit sees.
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

CONVERT = "from pathlib import Path; import sys; from aisbom.convert.converter import convert; convert(Path(sys.argv[1]), Path(sys.argv[2]))"  # noqa: E501
TORCH = (
    "import sys, torch; from safetensors.torch import save_file; "
    "sd = torch.load(sys.argv[1], weights_only=True, map_location='cpu'); "  # the baseline, on our own file
    "save_file({k: v.contiguous() for k, v in sd.items()}, sys.argv[2])"
)
LOAD = (
    "import sys, aisbom; arrays = aisbom.load_tensors(sys.argv[1], format='torch'); "
    "print(sum(float(t[0].sum()) for t in arrays.values()))"
)


def make_checkpoint(path: Path, size_mb: int, tensors: int, legacy: bool) -> None:
    """Run in a child process: a parent that grew to the checkpoint's size would hand its peak
    RSS to every process it forks afterwards (Linux copies the high-water mark on fork)."""
    import torch

    per = size_mb * (1 << 20) // tensors
    state = {}
    for i in range(tensors):
        dtype = torch.bfloat16 if i % 4 == 3 else torch.float32
        rows = max(1, per // dtype.itemsize // 1024)
        t = torch.arange(rows * 1024, dtype=torch.float32).remainder(997).to(dtype).reshape(rows, 1024)
        state[f"layer{i}.weight"] = t.t() if i == 0 else t  # one non-contiguous view to gather
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)


def timed(cmd: list[str], repeat: int) -> tuple[float, float]:
    best, rss = float("inf"), 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        best = min(best, time.perf_counter() - start)
        rss = max(rss, usage.ru_maxrss / 1024)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"failed: {' '.join(cmd[:4])}")
    return best, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--tensors", type=int, default=16)
    parser.add_argument("--legacy", action="store_true", help="the legacy (non-zip) torch.save format")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)  # the child that writes it
    args = parser.parse_args()
    if args.make:
        make_checkpoint(args.make, args.size_mb, args.tensors, args.legacy)
        return
    work = Path(tempfile.mkdtemp(prefix="aisbom-bench-convert-"))
    try:
        src = work / "checkpoint.pt"
        maker = [sys.executable, __file__, "--make", str(src), "--size-mb", str(args.size_mb)]
        maker += ["--tensors", str(args.tensors)] + (["--legacy"] if args.legacy else [])
        subprocess.run(maker, check=True)
        size = src.stat().st_size
        with open(src, "rb") as handle:  # warm the page cache
            while handle.read(1 << 24):
                pass
        rows = [
            (
                "aisbom convert (static)",
                [sys.executable, "-c", CONVERT, str(src), str(work / "a.safetensors")],
            ),
            ("torch.load + save_file", [sys.executable, "-c", TORCH, str(src), str(work / "t.safetensors")]),
            ("aisbom.load_tensors", [sys.executable, "-c", LOAD, str(src)]),
            ("(start-up: import torch)", [sys.executable, "-c", "import torch"]),
        ]
        kind = "legacy" if args.legacy else "zip"
        print(
            f"checkpoint: {size / (1 << 30):.2f} GiB ({kind}), {args.tensors} tensors; best of {args.repeat}"
        )
        print(f"| {'what':28} | {'time (s)':>8} | {'GB/s':>6} | {'peak RSS (MiB)':>14} |")
        print(f"|{'-' * 30}|{'-' * 10}:|{'-' * 8}:|{'-' * 16}:|")
        for name, cmd in rows:
            seconds, rss = timed(cmd, args.repeat)
            print(f"| {name:28} | {seconds:8.2f} | {size / seconds / 1e9:6.2f} | {rss:14.0f} |")
            for out in work.glob("*.safetensors"):
                out.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
