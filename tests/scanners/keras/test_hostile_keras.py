"""Keras configs written to make the config walk do worse than linear work."""

from __future__ import annotations

import time

from payloads import evidence

from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file
from aisbom.scanners.keras.config import check_keras_config


def _deep(levels: int, inner: object) -> dict:
    config: object = inner
    for level in range(levels):
        config = {"class_name": "Sequential", "config": {"name": f"s{level}", "layers": [config]}}
    return config  # type: ignore[return-value]


def test_one_object_named_in_many_places_under_a_deep_config_is_reported_in_linear_time():
    # Before: every place was the whole path joined (150 objects deep) and searched for among
    # the places already kept: 30,000 places took minutes.
    layers = {f"k{i}": {"class_name": "MyLayer", "config": {}} for i in range(30_000)}
    ctx = context_for_file("config.json", Limits(), Policy())
    started = time.process_time()
    check_keras_config(_deep(150, layers), ctx)
    assert time.process_time() - started < 10
    (hit,) = [f for f in ctx.sink if f.rule == "keras-custom-object"]
    assert evidence(hit)["occurrences"] == "30000"
    assert evidence(hit)["places"].endswith("and 29995 more")
    shown = evidence(hit)["places"].split(", ")[0]
    assert (
        shown == "Sequential 's149' > Sequential 's148' > ... 143 more ... > Sequential 's4' > "
        "Sequential 's3' > Sequential 's2' > Sequential 's1' > Sequential 's0' (k0)"
    )


def test_thousands_of_config_entries_pointing_at_one_config_json_read_it_once():
    # Before: every central directory entry called config.json read, checked and parsed the
    # same 1 MB member again (3,000 entries: about a minute).
    import json

    from aliased_zip import aliased_zip
    from payloads import scan

    layers = [{"class_name": "Dense", "config": {"name": f"d{i}", "units": 1}} for i in range(12_000)]
    config = json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": layers}}).encode()
    data = aliased_zip(b"config.json", config, entries=3_000)
    started = time.process_time()
    fmt, findings = scan(data)
    assert time.process_time() - started < 15
    assert fmt == "keras"
    assert "archive-tampered" in {f.rule for f in findings}  # the aliases are reported


def test_marshalled_code_whose_counts_exceed_its_bytes_is_not_unmarshalled():
    # Found by fuzzing (json target): marshal.loads allocates a tuple or list by the count it
    # reads, before reading its items: a 3 KB config took 1.7 GB and 14 s of CPU.
    import marshal
    import struct

    from aisbom.scanners.readers.marshal_code import summarize

    hostile = b"(" + struct.pack("<i", 200_000_000) + b"N" * 16
    started = time.process_time()
    summary = summarize(hostile)
    assert time.process_time() - started < 1
    assert not summary.decoded and "counts more than" in summary.problem
    nested = b"(" + struct.pack("<i", 3) + (b"(" + struct.pack("<i", 3)) * 2  # 3 + 3 + 3 items, 0 bytes
    assert not summarize(nested).decoded

    def function(x):
        import os

        return os.system(x)

    real = summarize(marshal.dumps(function.__code__))
    assert real.decoded and "system" in real.names
