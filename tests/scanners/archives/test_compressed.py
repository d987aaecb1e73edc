"""Compressed streams: every supported format, bombs, truncation, concatenation, nesting."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import mmap
import os
import tarfile
import time
import tracemalloc
import zlib

import lz4.frame
import pytest
from payloads import BENIGN, EVIL, EVIL2, MiB, evidence, scan, where  # noqa: E402

from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file, scan_blob
from aisbom.severity import Severity


def zstd_compress(data: bytes) -> bytes:
    zstd = pytest.importorskip("backports.zstd")
    return zstd.compress(data)  # type: ignore[no-any-return]


def joblib_zfile(data: bytes) -> bytes:
    """joblib < 0.10's format: b'ZF', the hex length left-justified in 19 characters, zlib."""
    return b"ZF" + hex(len(data)).encode().ljust(19) + zlib.compress(data)


FORMATS = {
    "gzip": gzip.compress,
    "bzip2": lambda d: bz2.compress(d, 1),  # 100 kB blocks: a cut stream still has whole ones
    "xz": lzma.compress,
    "lzma": lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE),
    "lz4": lz4.frame.compress,
    "zlib": zlib.compress,
    "joblib-zfile": joblib_zfile,
    "zstd": zstd_compress,
}
LABELS = {"joblib-zfile": "zlib-content"}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_payload_found_in_every_format(name: str) -> None:
    fmt, findings = scan(FORMATS[name](EVIL))
    assert fmt == ("zlib" if name == "joblib-zfile" else name)
    label = LABELS.get(name, f"{fmt}-content")
    assert where(findings, "pickle-dangerous-global") == [(label,)]
    assert not [f for f in findings if f.rule.startswith(("scan", "archive"))], findings


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_benign_content_is_clean(name: str) -> None:
    _, findings = scan(FORMATS[name](BENIGN))
    assert not [f for f in findings if f.severity >= Severity.MEDIUM], findings


@pytest.mark.parametrize("name", ["gzip", "bzip2", "xz", "lz4", "zstd"])
def test_concatenated_streams_are_one_content(name: str) -> None:
    # The payload split over two streams only exists once they are joined, as readers do.
    compress = FORMATS[name]
    data = compress(EVIL[:15]) + compress(EVIL[15:])
    _, findings = scan(data)
    assert where(findings, "pickle-dangerous-global") == [(f"{name}-content",)]
    assert not [f for f in findings if f.rule.startswith(("scan", "archive"))], findings


@pytest.mark.parametrize("name", ["gzip", "bzip2", "xz", "lzma", "lz4", "zlib", "zstd"])
def test_truncated_stream_still_scanned(name: str) -> None:
    # Several blocks (lz4 and zstd only emit whole blocks), the last one cut short.
    data = FORMATS[name](EVIL2 + os.urandom(300_000))
    _, findings = scan(data[: len(data) - 1000])
    errors = [f for f in findings if f.rule == "scan-error"]
    assert [f.members for f in errors] == [()], findings
    assert "truncated" in errors[0].message or "corrupt" in errors[0].message
    assert where(findings, "pickle-dangerous-global") == [(f"{name}-content",)]


def test_corrupt_stream_reports_error_and_scans_the_good_part() -> None:
    data = bytearray(gzip.compress(EVIL2 + os.urandom(200_000)))
    data[len(data) // 2 :] = b"\xff" * (len(data) - len(data) // 2)
    _, findings = scan(bytes(data))
    errors = [f for f in findings if f.rule == "scan-error"]
    assert len(errors) == 1 and "corrupt" in errors[0].message
    assert where(findings, "pickle-dangerous-global") == [("gzip-content",)]


def test_trailing_garbage_is_noted_and_zero_padding_is_not() -> None:
    _, findings = scan(gzip.compress(EVIL) + b"\x00" * 1000)
    assert [f.rule for f in findings] == ["pickle-format", "pickle-dangerous-global"]
    _, findings = scan(gzip.compress(EVIL) + b"not gzip at all")
    notes = [f for f in findings if f.rule == "archive-tampered"]
    assert len(notes) == 1 and notes[0].severity == Severity.LOW
    assert evidence(notes[0])["trailing_bytes"] == "15"


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """200 MB of zeros gzipped a megabyte at a time (never whole in memory)."""
    buffer = io.BytesIO()
    chunk = bytes(MiB)
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1) as f:
        for _ in range(200):
            f.write(chunk)
    return buffer.getvalue()


def test_gzip_bomb_stops_at_the_ratio_limit(gzip_bomb: bytes) -> None:
    started = time.monotonic()
    _, findings = scan(gzip_bomb, Limits(max_ratio=20, ratio_floor=MiB))
    assert time.monotonic() - started < 3
    limit = [f for f in findings if f.rule == "scan-limit"]
    assert len(limit) == 1 and evidence(limit[0])["limit"] == "max_ratio"
    assert int(evidence(limit[0])["bytes_analysed"]) == 20 * len(gzip_bomb)


def test_gzip_bomb_never_allocates_past_the_limit(gzip_bomb: bytes) -> None:
    limits = Limits(max_member_size=4 * MiB)
    tracemalloc.start()
    try:
        _, findings = scan(gzip_bomb, limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [evidence(f)["limit"] for f in findings if f.rule == "scan-limit"] == ["max_member_size"]
    assert peak < 3 * 4 * MiB, f"peak {peak} bytes"


def test_total_budget_limit(gzip_bomb: bytes) -> None:
    _, findings = scan(gzip_bomb, Limits(max_total_unpacked=2 * MiB))
    limit = [f for f in findings if f.rule == "scan-limit"]
    assert [evidence(f)["limit"] for f in limit] == ["max_total_unpacked"]


def test_nested_gzip_hits_the_depth_limit() -> None:
    data = EVIL
    for _ in range(12):
        data = gzip.compress(data)
    _, findings = scan(data)
    limit = [f for f in findings if f.rule == "scan-limit"]
    assert len(limit) == 1 and evidence(limit[0])["limit"] == "max_depth"
    assert limit[0].members == ("gzip-content",) * Limits().max_depth
    assert "pickle-dangerous-global" not in {f.rule for f in findings}


def test_a_few_levels_of_nesting_are_followed() -> None:
    data = lz4.frame.compress(bz2.compress(gzip.compress(EVIL)))
    _, findings = scan(data)
    assert where(findings, "pickle-dangerous-global") == [("lz4-content", "bzip2-content", "gzip-content")]


def test_tar_gz() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as t:
        info = tarfile.TarInfo("model/evil.pkl")
        info.size = len(EVIL)
        t.addfile(info, io.BytesIO(EVIL))
    _, findings = scan(buffer.getvalue())
    assert where(findings, "pickle-dangerous-global") == [("gzip-content", "model/evil.pkl")]


def test_malformed_joblib_header_is_not_a_joblib_file() -> None:
    # joblib parses the 19 characters after "ZF" with int(text, 16); these fail, so joblib
    # refuses the file and nothing unpickles it.
    fmt, findings = scan(b"ZF0xzz" + b" " * 20 + zlib.compress(EVIL))
    assert fmt != "zlib"
    assert not [f for f in findings if f.rule == "pickle-dangerous-global"]


def test_joblib_zfile_length_without_0x() -> None:
    data = b"ZF" + f"{len(EVIL):x}".encode().ljust(19) + zlib.compress(EVIL)
    fmt, findings = scan(data)
    assert fmt == "zlib"
    assert where(findings, "pickle-dangerous-global") == [("zlib-content",)]


def test_zlib_stream_starting_with_empty_stored_blocks() -> None:
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = deflate.compress(EVIL) + deflate.flush()
    data = b"\x78\x9c" + b"\x00\x00\x00\xff\xff" * 200 + raw + zlib.adler32(EVIL).to_bytes(4, "big")
    assert zlib.decompress(data) == EVIL
    fmt, findings = scan(data)
    assert fmt == "zlib"
    assert where(findings, "pickle-dangerous-global") == [("zlib-content",)]


def test_every_stream_of_a_concatenated_lzma_file_is_read() -> None:
    # lzma.LZMAFile (joblib, lzma.open) reads each stream as .xz or .lzma, whatever came first.
    half = len(EVIL) // 2
    for first, second in ((lzma.FORMAT_ALONE, lzma.FORMAT_XZ), (lzma.FORMAT_XZ, lzma.FORMAT_ALONE)):
        data = lzma.compress(EVIL[:half], format=first) + lzma.compress(EVIL[half:], format=second)
        with lzma.LZMAFile(io.BytesIO(data)) as reader:
            assert reader.read() == EVIL
        _, findings = scan(data)
        assert "pickle-dangerous-global" in {f.rule for f in findings}, (first, second)


def test_joblib_zfile_with_extra_space() -> None:
    # Some joblib versions wrote one more space after the padded length.
    data = b"ZF" + hex(len(EVIL)).encode().ljust(19) + b" " + zlib.compress(EVIL)
    _, findings = scan(data)
    assert where(findings, "pickle-dangerous-global") == [("zlib-content",)]


def test_empty_stream_is_clean() -> None:
    _, findings = scan(gzip.compress(b""))
    assert findings == []


def test_mmap_input(tmp_path: object) -> None:
    path = tmp_path / "model.pkl.gz"  # type: ignore[operator]
    path.write_bytes(gzip.compress(EVIL2 + os.urandom(300_000)) + b"trailing")
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        ctx = context_for_file("x", Limits(), Policy())
        scan_blob(view, ctx)
    assert [f.rule for f in ctx.sink] == [
        "archive-tampered",
        "pickle-format",
        "pickle-dangerous-global",
        "pickle-trailing-data",
    ]


def test_scanning_writes_nothing(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    for compress in FORMATS.values():
        scan(compress(EVIL))
    assert os.listdir(".") == []


def test_text_starting_with_80_is_not_zlib():
    fmt, findings = scan(b"800 lines of text\nand some more text after them\n")
    assert fmt == "text" and not findings
