"""A format is claimed only on strong evidence: random bytes that merely start like a compressed
stream or a protobuf stay data, while the real streams and models are still recognised."""

from __future__ import annotations

import bz2
import gzip
import random
import zlib

import pytest

from aisbom.severity import Severity

_RNG = random.Random(12)
_NOISE = _RNG.randbytes(4096)


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (b"\x1f\x8b\x00", "gzip magic without the deflate method byte"),
        (b"BZh9\x00\x00\x00\x00\x00\x00", "bzip2 magic without a block magic"),
        (b"\x78\x9c", "a zlib header whose stream does not inflate"),
        (b"\x5d\x00\x00\x80\x00" + b"\xff" * 8, "an lzma header whose stream does not decode"),
        (b"\x08\x07\x12", "ONNX's first bytes, with fields that do not span the file"),
    ],
)
def test_a_weak_guess_alone_stays_data(scan_bytes, head, why):
    data = head + bytes(b ^ 0xA5 for b in _NOISE)  # (0xA5: no 0x78 or 0x80 at the start)
    fmt, findings = scan_bytes(data)
    assert fmt == "data", why
    assert findings == [], why


def test_the_real_streams_are_still_recognised(scan_bytes):
    text = b"a line of a csv file, repeated\n" * 200
    assert scan_bytes(gzip.compress(text, mtime=0))[0] == "gzip"
    assert scan_bytes(bz2.compress(text))[0] == "bzip2"
    assert scan_bytes(zlib.compress(text))[0] == "zlib"


def test_random_files_raise_no_alarm(scan_bytes):
    # benchmarks/false_alarms.py runs this at scale (100,000 files); a few hundred here, seeded.
    rng = random.Random(2026)
    alarms = []
    for index in range(300):
        data = rng.randbytes(rng.randint(1024, 16384))
        fmt, findings = scan_bytes(data)
        high = [f.rule for f in findings if f.severity >= Severity.HIGH]
        if high:
            alarms.append((index, fmt, high))
    assert alarms == []
