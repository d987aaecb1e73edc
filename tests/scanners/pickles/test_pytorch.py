"""PyTorch zip checkpoints are read within the same limits as any other zip."""

from __future__ import annotations

import io
import pickle
import zipfile

from aisbom.limits import Limits

MiB = 1024 * 1024


def _checkpoint(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_compressed_members_count_against_the_decompression_budget(scan_bytes):
    # Two deflated pickles of 600 KiB each: together over a 1 MiB budget for the whole file.
    big = pickle.dumps(b"\0" * 600_000, protocol=4)
    data = _checkpoint({"archive/data.pkl": big, "archive/extra.pkl": big})
    fmt, findings = scan_bytes(data, limits=Limits(max_total_unpacked=1 * MiB))
    assert fmt == "pytorch-zip"
    cut = [f for f in findings if f.rule == "scan-limit"]
    assert [(f.members, dict(f.evidence)["limit"]) for f in cut] == [
        (("archive/extra.pkl",), "max_total_unpacked")
    ]
    _, unlimited = scan_bytes(data)
    assert not [f for f in unlimited if f.rule == "scan-limit"]


def test_compression_ratio_limits_a_member(scan_bytes):
    bomb = pickle.dumps(b"\0" * (3 * MiB), protocol=4)  # ~1000:1, over the 1 MiB floor
    fmt, findings = scan_bytes(
        _checkpoint({"archive/data.pkl": bomb}), limits=Limits(max_ratio=10, ratio_floor=MiB)
    )
    assert fmt == "pytorch-zip"
    [cut] = [f for f in findings if f.rule == "scan-limit"]
    assert dict(cut.evidence)["limit"] == "max_ratio" and cut.members == ("archive/data.pkl",)


def test_mobile_bytecode_operators_are_checked_without_code(scan_bytes):
    """A lite-interpreter archive runs bytecode.pkl, never code/: with code/ left out it is still
    TorchScript, and the file operator its bytecode names is found (the fixture's loader proves
    `_load_for_lite_interpreter` runs it)."""
    from catalog import FIXTURES_DIR

    data = (FIXTURES_DIR / "malicious/pytorch/torchscript_mobile_no_code.ptl").read_bytes()
    assert not [n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if "/code/" in n]
    fmt, findings = scan_bytes(data)
    assert fmt == "torchscript"
    [op] = [f for f in findings if f.rule == "torchscript-unsafe-op"]
    assert dict(op.evidence) == {"operator": "aten::from_file", "setstate": "true"}
    assert op.members[-1].endswith("bytecode.pkl")


def test_an_operator_name_inside_a_longer_string_is_not_an_operator(scan_bytes):
    from aisbom.scanners.pickles.pytorch import _pickled_string_in

    exact = pickle.dumps(("aten::from_file", "", 3), protocol=2)
    longer = pickle.dumps(("aten::from_file_like", "", 3), protocol=2)
    assert _pickled_string_in(b"aten::from_file", exact)
    assert not _pickled_string_in(b"aten::from_file", longer)


def test_thousands_of_entries_pointing_at_one_pickle_scan_it_once(scan_bytes):
    # Before: every distinct central directory entry was read and its pickle scanned again,
    # even when all point at one local header (2,000 entries of one 1 MB pickle: minutes).
    import time

    from aliased_zip import aliased_zip

    payload = pickle.dumps(list(range(200_000)), protocol=2)
    data = aliased_zip(b"archive/data.pkl", payload, entries=2_000)
    started = time.process_time()
    fmt, findings = scan_bytes(data)
    assert time.process_time() - started < 15
    assert fmt == "pytorch-zip"
    assert "archive-tampered" in {f.rule for f in findings}
