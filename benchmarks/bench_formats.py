"""ONNX and safetensors: scan time and peak memory on large files, against the formats' own readers.

    python benchmarks/bench_formats.py [--size-mb 1024] [--tensors 16]

Workloads (generated in a temp dir by streaming, removed afterwards):
  onnx         one ModelProto whose --tensors FLOAT initializers hold --size-mb MiB in raw_data
  safetensors  --tensors F32 tensors of --size-mb MiB in total

Each command runs in its own process; peak RSS comes from getrusage(RUSAGE_CHILDREN) via
wait4. The page cache is warmed first. Reference points: `sha256sum` (the hashing floor aisbom
cannot beat), `onnx.load` without external data (ParseFromString of the whole buffer: what the
skeleton avoids), and safetensors' `safe_open` (header only).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHUNK = bytes(1 << 20)


def timed(cmd: list[str], repeat: int = 3) -> tuple[float, float]:
    """Best wall time of `repeat` runs and the peak RSS in MiB."""
    best, rss = float("inf"), 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        best = min(best, time.perf_counter() - start)
        rss = max(rss, usage.ru_maxrss / 1024)
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            raise SystemExit(f"{cmd} failed")
    return best, rss


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _field(number: int, body: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(body)) + body


def _zeros(f, size: int) -> None:
    for _ in range(size // len(CHUNK)):
        f.write(CHUNK)
    f.write(bytes(size % len(CHUNK)))


def write_onnx(path: Path, size: int, tensors: int) -> None:
    """Initializers W0..Wn (FLOAT, raw_data) and an Identity per tensor, written by hand."""
    each = size // tensors // 4 * 4
    heads = [b"\x08" + _varint(each // 4) + b"\x10\x01" + _field(8, f"W{i}".encode()) for i in range(tensors)]
    tensor_lens = [len(h) + 1 + len(_varint(each)) + each for h in heads]
    nodes = b"".join(
        _field(1, _field(1, f"W{i}".encode()) + _field(2, f"Y{i}".encode()) + _field(4, b"Identity"))
        for i in range(tensors)
    )
    outputs = b"".join(_field(12, _field(1, f"Y{i}".encode())) for i in range(tensors))
    graph_len = sum(1 + len(_varint(n)) + n for n in tensor_lens) + len(nodes) + len(outputs)
    with path.open("wb") as f:
        f.write(b"\x08\x08" + _field(8, b"\x10\x11") + b"\x3a" + _varint(graph_len) + nodes)
        for head, n in zip(heads, tensor_lens, strict=True):
            f.write(b"\x2a" + _varint(n) + head + b"\x4a" + _varint(each))
            _zeros(f, each)
        f.write(outputs)


def write_safetensors(path: Path, size: int, tensors: int) -> None:
    each = size // tensors // 4 * 4
    header = {f"w{i}": {"dtype": "F32", "shape": [each // 4], "data_offsets": [i * each, (i + 1) * each]}
              for i in range(tensors)}  # fmt: skip
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        _zeros(f, each * tensors)


ONNX_LOAD = "import onnx, sys\nonnx.load(sys.argv[1], load_external_data=False)"
SAFE_OPEN = """
import sys
from safetensors import safe_open
with safe_open(sys.argv[1], "np") as f:
    list(f.keys())
"""
SCANNER_ONLY = """
import mmap, sys, time
from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.frame.context import ScanContext
from aisbom.scanners.frame.dispatch import context_for_file
from aisbom.scanners.frame.dispatch import scan_blob
with open(sys.argv[1], "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
    scan_blob(data, context_for_file("x", Limits(), Policy()))  # warm imports
    start = time.perf_counter()
    ctx = context_for_file("x", Limits(), Policy())
    fmt = scan_blob(data, ctx)
    print(fmt, len(ctx.sink), time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--tensors", type=int, default=16)
    args = parser.parse_args()
    size = args.size_mb << 20
    workdir = Path(tempfile.mkdtemp(prefix="aisbom-bench-formats-"))
    try:
        files = {"onnx": workdir / "model.onnx", "safetensors": workdir / "model.safetensors"}
        write_onnx(files["onnx"], size, args.tensors)
        write_safetensors(files["safetensors"], size, args.tensors)
        print(f"{args.size_mb} MiB each, {args.tensors} tensors; best of 3, peak RSS of the process\n")
        print(f"{'format':<12} {'command':<28} {'seconds':>8} {'GB/s':>6} {'peak RSS MiB':>13}")
        for fmt, path in files.items():
            subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # warm the cache
            commands = {
                "sha256sum": ["sha256sum", str(path)],
                "aisbom scan": [sys.executable, "-m", "aisbom", "scan", str(path)],
            }
            if fmt == "onnx":
                commands["onnx.load (reference)"] = [sys.executable, "-c", ONNX_LOAD, str(path)]
            else:
                commands["safe_open (reference)"] = [sys.executable, "-c", SAFE_OPEN, str(path)]
            for name, cmd in commands.items():
                seconds, rss = timed(cmd)
                print(f"{fmt:<12} {name:<28} {seconds:>8.2f} {size / seconds / 1e9:>6.2f} {rss:>13.0f}")
            probe = [sys.executable, "-c", SCANNER_ONLY, str(path)]
            out = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.split()
            print(f"{fmt:<12} {'scanner alone (no hashing)':<28} {float(out[2]):>8.3f}"
                  f"      -  (format {out[0]}, {out[1]} findings)")  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
