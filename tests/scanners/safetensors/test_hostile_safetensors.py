"""safetensors headers written to make the reader do worse than linear work."""

from __future__ import annotations

import json
import struct
import time

from payloads import rules, scan


def test_a_shape_of_many_huge_dimensions_is_sized_in_linear_time():
    # Before: math.prod over 80,000 dimensions of 2**60 multiplied ever longer integers
    # (30 s; a 100 MB header holds millions of dimensions).
    header = {"t": {"dtype": "F32", "shape": [2**60] * 80_000, "data_offsets": [0, 4]}}
    raw = json.dumps(header).encode()
    data = struct.pack("<Q", len(raw)) + raw + b"\0" * 4
    started = time.process_time()
    _, findings = scan(data)
    assert time.process_time() - started < 5
    assert any("overflows a 64-bit size" in f.message for f in findings), rules(findings)
