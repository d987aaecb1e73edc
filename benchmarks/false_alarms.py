"""False alarms on data that is no model: random bytes and real non-model files.

    python benchmarks/false_alarms.py [--random 100000] [--seed 12] [--real 150] [--libs DIR]

Datasets hold millions of binary files; one high finding among them fails a scan. This scans:

  random   --random files of 1-64 KiB of seeded random bytes (named NNNNNN.bin), in memory,
           through the same sniff-and-dispatch path as every file;
  real     --real files of each kind of everyday data, generated in a temp dir with the
           libraries that write them (Pillow: PNG, JPEG, GIF, BMP, TIFF, WebP; wave: WAV;
           soundfile: FLAC, OGG; pyarrow: Parquet, Arrow IPC; h5py: HDF5 datasets; numpy:
           .npy; the standard library: CSV, JSON, JSON lines, Markdown, gzip, zip, tar) and
           scanned as a directory. A kind whose library is missing is skipped and said so;
           --libs DIR puts a directory of extra packages (pip install --target DIR soundfile
           pyarrow) at the end of sys.path.

It prints the count of files at each worst severity, per part, and every file at high or above
with its findings; it exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import random
import sys
import tarfile
import tempfile
import time
import wave
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from aisbom.limits import Limits
from aisbom.pipeline import scan_target
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file, scan_blob
from aisbom.severity import Severity

LEVELS = ["none", *(s.label for s in Severity)]
WORDS = [
    "model",
    "data",
    "train",
    "test",
    "image",
    "audio",
    "the",
    "of",
    "and",
    "a",
    "to",
    "in",
    "is",
    "for",
    "with",
    "on",
    "as",
    "by",
    "at",
    "from",
    "label",
    "value",
    "row",
    "column",
    "text",
    "sample",
    "batch",
    "epoch",
    "loss",
    "accuracy",
    "weight",
    "bias",
    "layer",
    "token",
    "vocab",
]


def scan_random(count: int, seed: int) -> tuple[Counter[str], list[str]]:
    rng = random.Random(seed)
    limits, policy = Limits(), Policy()
    worst_counts: Counter[str] = Counter()
    alarms: list[str] = []
    for index in range(count):
        data = rng.randbytes(rng.randint(1024, 65536))
        ctx = context_for_file(f"random/{index:06d}.bin", limits, policy)
        fmt = scan_blob(data, ctx)
        worst = max((f.severity for f in ctx.sink), default=None)
        worst_counts[worst.label if worst is not None else "none"] += 1
        if worst is not None and worst >= Severity.HIGH:
            alarms.append(_describe(ctx.path, fmt, ctx.sink))
    return worst_counts, alarms


def _describe(path: str, fmt: str, findings) -> str:  # type: ignore[no-untyped-def]
    lines = [f"{path} ({fmt})"]
    lines += [
        f"    {f.severity.label} {f.rule}: {f.message[:160]}" for f in findings if f.severity >= Severity.HIGH
    ]
    return "\n".join(lines)


# --- real data ---------------------------------------------------------------------------------


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _image(fmt: str, **options: object) -> Callable[[random.Random], bytes]:
    def make(rng: random.Random) -> bytes:
        from PIL import Image

        width, height = rng.randint(8, 160), rng.randint(8, 160)
        mode = "RGB" if fmt not in ("GIF",) else "P"
        image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3)).convert(mode)
        out = io.BytesIO()
        image.save(out, format=fmt, **options)
        return out.getvalue()

    return make


def _wav(rng: random.Random) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(rng.choice((1, 2)))
        w.setsampwidth(2)
        w.setframerate(rng.choice((8000, 16000, 44100)))
        w.writeframes(rng.randbytes(2 * w.getnchannels() * rng.randint(100, 20000)))
    return out.getvalue()


def _sound(fmt: str) -> Callable[[random.Random], bytes]:
    def make(rng: random.Random) -> bytes:
        import numpy as np
        import soundfile

        samples = np.frombuffer(rng.randbytes(8 * rng.randint(800, 20000)), dtype=np.int16).astype(np.float32)
        out = io.BytesIO()
        soundfile.write(out, samples / 32768, 16000, format=fmt)
        return out.getvalue()

    return make


def _table(rng: random.Random) -> dict[str, list[object]]:
    rows = rng.randint(5, 2000)
    return {
        "id": list(range(rows)),
        "value": [rng.random() for _ in range(rows)],
        "label": [rng.choice(WORDS) for _ in range(rows)],
        "text": [_text(rng, rng.randint(1, 20)) for _ in range(rows)],
    }


def _parquet(rng: random.Random) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(pa.table(_table(rng)), out, compression=rng.choice(("snappy", "gzip", "zstd", "none")))
    return out.getvalue()


def _arrow(rng: random.Random) -> bytes:
    import pyarrow as pa
    import pyarrow.feather as feather

    out = io.BytesIO()
    feather.write_feather(pa.table(_table(rng)), out, compression=rng.choice(("lz4", "zstd", "uncompressed")))
    return out.getvalue()


def _csv(rng: random.Random) -> bytes:
    table = _table(rng)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table)
    writer.writerows(zip(*table.values(), strict=True))
    return out.getvalue().encode()


def _json(rng: random.Random) -> bytes:
    table = _table(rng)
    records = [dict(zip(table, row, strict=True)) for row in zip(*table.values(), strict=True)]
    return json.dumps(records if rng.random() < 0.5 else {"data": records, "version": 1}, indent=2).encode()


def _jsonl(rng: random.Random) -> bytes:
    table = _table(rng)
    return "".join(
        json.dumps(dict(zip(table, row, strict=True))) + "\n" for row in zip(*table.values(), strict=True)
    ).encode()


def _markdown(rng: random.Random) -> bytes:
    paragraphs = [_text(rng, rng.randint(10, 120)) for _ in range(rng.randint(1, 20))]
    return ("# " + _text(rng, 4) + "\n\n" + "\n\n".join(paragraphs) + "\n").encode()


def _npy(rng: random.Random) -> bytes:
    import numpy as np

    dtype = rng.choice((np.float32, np.float64, np.int64, np.uint8, np.bool_))
    array = np.frombuffer(rng.randbytes(8 * rng.randint(1, 4000)), dtype=np.uint8).astype(dtype)
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def _hdf5(rng: random.Random) -> bytes:
    import h5py
    import numpy as np

    out = io.BytesIO()
    with h5py.File(out, "w") as f:
        f.create_dataset("x", data=np.frombuffer(rng.randbytes(4 * rng.randint(1, 5000)), dtype=np.float32))
        f.attrs["source"] = _text(rng, 5)
    return out.getvalue()


def _gzip(rng: random.Random) -> bytes:
    return gzip.compress(_csv(rng), mtime=0)


def _zip(rng: random.Random) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))) as z:
        for index in range(rng.randint(1, 5)):
            z.writestr(f"images/{index}.png", _image("PNG")(rng))
            z.writestr(f"labels/{index}.txt", _text(rng, 3))
    return out.getvalue()


def _tar(rng: random.Random) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for index in range(rng.randint(1, 5)):
            body = _markdown(rng)
            info = tarfile.TarInfo(f"docs/{index}.md")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


# (suffix, maker, the module it needs)
REAL_KINDS: dict[str, tuple[str, Callable[[random.Random], bytes], str]] = {
    "png": (".png", _image("PNG"), "PIL"),
    "jpeg": (".jpg", _image("JPEG", quality=85), "PIL"),
    "gif": (".gif", _image("GIF"), "PIL"),
    "bmp": (".bmp", _image("BMP"), "PIL"),
    "tiff": (".tif", _image("TIFF"), "PIL"),
    "webp": (".webp", _image("WEBP"), "PIL"),
    "wav": (".wav", _wav, "wave"),
    "flac": (".flac", _sound("FLAC"), "soundfile"),
    "ogg": (".ogg", _sound("OGG"), "soundfile"),
    "parquet": (".parquet", _parquet, "pyarrow"),
    "arrow": (".arrow", _arrow, "pyarrow"),
    "hdf5": (".h5", _hdf5, "h5py"),
    "npy": (".npy", _npy, "numpy"),
    "csv": (".csv", _csv, "csv"),
    "json": (".json", _json, "json"),
    "jsonl": (".jsonl", _jsonl, "json"),
    "markdown": (".md", _markdown, "json"),
    "csv.gz": (".csv.gz", _gzip, "gzip"),
    "zip": (".zip", _zip, "PIL"),
    "tar": (".tar", _tar, "tarfile"),
}


def write_real(root: Path, per_kind: int, seed: int) -> tuple[dict[str, int], list[str]]:
    import importlib

    made: dict[str, int] = {}
    skipped: list[str] = []
    for kind, (suffix, make, module) in REAL_KINDS.items():
        try:
            importlib.import_module(module)
        except ImportError:
            skipped.append(f"{kind} ({module} not installed)")
            continue
        rng = random.Random(f"{seed}-{kind}")
        folder = root / kind
        folder.mkdir(parents=True)
        for index in range(per_kind):
            (folder / f"{index:04d}{suffix}").write_bytes(make(rng))
        made[kind] = per_kind
    return made, skipped


def scan_real(root: Path) -> tuple[Counter[str], list[str]]:
    report = scan_target(root)
    worst_counts: Counter[str] = Counter()
    alarms: list[str] = []
    for file in report.files:
        worst = max((f.severity for f in file.findings), default=None)
        worst_counts[worst.label if worst is not None else "none"] += 1
        if worst is not None and worst >= Severity.HIGH:
            alarms.append(_describe(file.path, file.format, file.findings))
    return worst_counts, alarms


def _line(name: str, counts: Counter[str], seconds: float) -> str:
    total = sum(counts.values())
    cells = "  ".join(f"{level} {counts.get(level, 0)}" for level in LEVELS)
    return f"{name:7} {total:7} files  {cells}  ({seconds:.0f} s)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=100_000, help="random files (default %(default)s)")
    parser.add_argument("--seed", type=int, default=12, help="seed of every generator (default %(default)s)")
    parser.add_argument("--real", type=int, default=150, help="real files per kind (default %(default)s)")
    parser.add_argument("--libs", type=Path, help="a directory of extra packages (pip install --target)")
    args = parser.parse_args(argv)
    if args.libs:
        sys.path.append(str(args.libs))

    alarms: list[str] = []
    start = time.perf_counter()
    counts, found = scan_random(args.random, args.seed)
    print(_line("random", counts, time.perf_counter() - start), flush=True)
    alarms += found
    with tempfile.TemporaryDirectory(prefix="aisbom-false-alarms-") as tmp:
        made, skipped = write_real(Path(tmp), args.real, args.seed)
        start = time.perf_counter()
        counts, found = scan_real(Path(tmp))
        print(_line("real", counts, time.perf_counter() - start))
        print(f"        kinds: {', '.join(made)}")
        if skipped:
            print(f"        skipped: {', '.join(skipped)}")
    alarms += found
    for alarm in alarms:
        print(alarm)
    return 1 if alarms else 0


if __name__ == "__main__":
    sys.exit(main())
