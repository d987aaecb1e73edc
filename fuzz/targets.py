"""Fuzz targets: one function per reader, taking bytes. A scanner must turn any input into
findings (never an exception); the BOM and signature readers may refuse input with their own
error (BomError, BundleError) and nothing else.

Each target runs the checks of its formats on the data directly (no sniffing in between, so
a mutation that breaks the magic number still reaches the parser), with a short deadline.
Seeds: the fixtures whose content is sniffed as one of the target's formats (see `seeds`)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "fixtures"))

from aisbom.bom.diff import parse_bom  # noqa: E402
from aisbom.errors import AisbomError  # noqa: E402
from aisbom.limits import Limits  # noqa: E402
from aisbom.policy import Policy  # noqa: E402
from aisbom.scanners.frame.context import ScanContext  # noqa: E402
from aisbom.scanners.frame.dispatch import context_for_file, scan_blob  # noqa: E402
from aisbom.scanners.frame.registry import checks_for  # noqa: E402
from aisbom.scanners.frame.sniff import sniff  # noqa: E402
from aisbom.scanners.pickles.engine import Reading, run_pickle  # noqa: E402
from aisbom.signing.bundle import parse_bundle  # noqa: E402

# Short per-input deadline and small caps: a fuzzer tries thousands of inputs a second.
LIMITS = replace(Limits(), max_seconds_per_file=5.0, max_member_size=64 * 1024 * 1024, max_hdf5_seconds=5.0)

# target -> the sniffed formats whose checks it runs (and whose fixtures seed it)
FORMAT_TARGETS: dict[str, tuple[str, ...]] = {
    "pickle": ("pickle", "joblib"),
    "pytorch": ("pytorch-zip", "torchscript", "pytorch-legacy"),
    "zip": ("zip", "numpy-npz", "keras"),
    "tar": ("tar",),
    "7z": ("7z",),
    "compressed": ("gzip", "bzip2", "xz", "lzma", "zlib", "zstd", "lz4"),
    "safetensors": ("safetensors",),
    "gguf": ("gguf",),
    "numpy": ("numpy",),
    "onnx": ("onnx",),
    "tensorflow": ("tf-saved-model", "tf-graph-def", "tf-meta-graph", "keras-metadata"),
    "tflite": ("tflite",),
    "json": ("json",),  # Keras configs, tokenizer_config.json chat templates
    "text": ("text",),  # chat template files, protocol-0 pickles read as text
}


def _checks(formats: tuple[str, ...]) -> Callable[[bytes], None]:
    checks = [check for fmt in formats for check in checks_for(fmt)]
    unique = list(dict.fromkeys(checks))

    def target(data: bytes) -> None:
        ctx = context_for_file("fuzzed", LIMITS, Policy())
        for check in unique:
            check(data, ctx)
        _as_json(ctx)

    return target


def _any(data: bytes) -> None:
    ctx = context_for_file("fuzzed", LIMITS, Policy())
    scan_blob(data, ctx)
    _as_json(ctx)


def _as_json(ctx: ScanContext) -> None:
    """What the JSON report writes of each finding must serialise (bytes in evidence did not)."""
    json.dumps([[f.rule, f.message, dict(f.evidence), list(f.members)] for f in ctx.sink])


def _engine(data: bytes) -> None:
    for reading in Reading:
        run_pickle(data, max_opcodes=200_000, max_memory=256 * 2**20, max_marks=100_000, reading=reading)


def _bom(data: bytes) -> None:
    with contextlib.suppress(AisbomError):
        parse_bom(data, source="fuzzed")


def _bundle(data: bytes) -> None:
    with contextlib.suppress(AisbomError):
        parse_bundle(data)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "engine": _engine,
    **{name: _checks(formats) for name, formats in FORMAT_TARGETS.items()},
    "any": _any,
    "cyclonedx": _bom,
    "bundle": _bundle,
}


def seeds(target: str) -> Iterator[bytes]:
    """Fixture bytes that seed `target`."""
    from catalog import FIXTURES

    formats = FORMAT_TARGETS.get(target)
    if target in ("engine",):
        formats = FORMAT_TARGETS["pickle"]
    for fixture in FIXTURES:
        path = fixture.abspath
        if not path.is_file() or path.stat().st_size > 4 * 1024 * 1024:
            continue
        data = path.read_bytes()
        if formats is None and target in ("any",) or formats is not None and sniff(data) in formats:
            yield data
    if target == "cyclonedx":
        yield from _boms()
    if target == "text":
        yield from (p.read_bytes() for p in sorted((REPO / "fixtures").glob("*/templates/*")) if p.is_file())
    extra = {
        "cyclonedx": ["tests/**/*.cdx.json", "fixtures/**/*.cdx.json", "docs/**/*.cdx.json"],
        "bundle": ["tests/signing/vectors/**/*.sig"],
    }.get(target, [])
    for pattern in extra:
        for path in REPO.glob(pattern):
            yield path.read_bytes()


def _boms() -> Iterator[bytes]:
    """BOMs of a few benign fixtures, made by `aisbom bom`."""
    import tempfile

    from aisbom.cli import cli

    with tempfile.TemporaryDirectory() as tmp:
        for name in ("benign/onnx/tiny.onnx", "benign/safetensors", "benign/gguf/llama-2.gguf"):
            out = Path(tmp) / "bom.cdx.json"
            with contextlib.suppress(SystemExit):
                cli(["bom", str(REPO / "fixtures" / name), "-o", str(out)], prog_name="aisbom")
            if out.is_file():
                yield out.read_bytes()
