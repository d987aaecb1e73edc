"""NumPy .npy scanning: headers parsed by hand, object arrays handed to the pickle engine.

numpy (a test dependency) writes the real files and is the reference for dtype sizes and
object-ness; the scanner itself never imports it.
"""

from __future__ import annotations

import io
import mmap
import struct
import subprocess
import sys
import time
import zipfile

import pytest

from aisbom.findings import Finding
from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file, scan_blob
from aisbom.scanners.pickles import numpy_arrays
from aisbom.severity import Severity

np = pytest.importorskip("numpy")
np_format = pytest.importorskip("numpy.lib.format")

from payloads import EVIL, scan  # noqa: E402


def rules(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


def save(array: object, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def npy(header: str | bytes, payload: bytes = b"", version: tuple[int, int] = (1, 0)) -> bytes:
    """A hand-made .npy: magic, version, header length, header, payload."""
    raw = header.encode("latin1") if isinstance(header, str) else header
    length = struct.pack("<H" if version == (1, 0) else "<I", len(raw))
    return b"\x93NUMPY" + bytes(version) + length + raw + payload


DTYPES = [
    "<f4", ">f8", "<f2", "|b1", "|i1", "<u2", ">i4", "<i8", "<c8", "<c16", "<U7", "|S5", "|V12",
    "<M8[ns]", "<m8[s]", "<M8[D]", [("a", "<i4"), ("b", "<f8", (2, 3))],
    [("x", [("y", "<f4", (2,)), ("z", "|b1")]), ("w", "<u8")],
    {"names": ["a", "b"], "formats": ["<i2", "<f8"], "offsets": [0, 8], "itemsize": 24},
    (("<f4", (2, 2))),
]  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("fortran", [False, True])
def test_plain_arrays_are_clean(dtype: object, fortran: bool) -> None:
    array = np.zeros((3, 4), dtype=np.dtype(dtype), order="F" if fortran else "C")
    fmt, findings = scan(save(array))
    assert fmt == "numpy"
    assert findings == []


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_header_versions(version: tuple[int, int]) -> None:
    buffer = io.BytesIO()
    names = np.dtype([("é", "<f4")]) if version == (3, 0) else np.dtype("<f4")
    np_format.write_array(buffer, np.zeros(5, dtype=names), version=version)
    _, findings = scan(buffer.getvalue())
    assert findings == []


def test_empty_and_scalar_arrays() -> None:
    assert scan(save(np.zeros((0, 7), dtype="<f8")))[1] == []
    assert scan(save(np.float32(3.5)))[1] == []


@pytest.mark.filterwarnings("ignore:Custom dtypes are saved:UserWarning")
@pytest.mark.parametrize(
    "array",
    [
        np.array([{"a": 1}, None, "x"], dtype=object),
        np.zeros(3, dtype=[("a", "<i4"), ("b", "O")]),
        np.array(["variable", "width"], dtype=np.dtypes.StringDType()),
    ],
    ids=["object", "structured-object", "stringdtype"],
)
def test_object_arrays_are_reported_and_their_pickle_scanned(array: object) -> None:
    _, findings = scan(save(array, allow_pickle=True))
    found = [f for f in findings if f.rule == "numpy-object-array"]
    assert len(found) == 1 and found[0].severity == Severity.LOW
    assert "pickle-malformed" not in rules(findings)  # the engine parsed the whole payload


def test_malicious_object_payload() -> None:
    data = npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n", EVIL)
    _, findings = scan(data)
    assert rules(findings)[0] == "numpy-object-array"
    dangerous = [f for f in findings if f.rule == "pickle-dangerous-global"]
    assert len(dangerous) == 1 and dangerous[0].severity == Severity.CRITICAL
    assert dangerous[0].offset is not None and dangerous[0].offset >= 10


def test_malicious_payload_in_npz_member() -> None:
    evil = npy("{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,)}", EVIL)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("weights.npy", save(np.arange(3)))
        z.writestr("evil.npy", evil)
    fmt, findings = scan(buffer.getvalue())
    assert fmt == "numpy-npz"
    assert [f.members for f in findings if f.rule == "pickle-dangerous-global"] == [("evil.npy",)]


@pytest.mark.parametrize(
    "descr", ["'O'", "'object'", "'>O'", "'i4,O'", "('|O', (2,))", "'(2,)O'", "'T'", "'|T'"]
)
def test_object_spellings(descr: str) -> None:
    data = npy(f"{{'descr': {descr}, 'fortran_order': False, 'shape': (1,)}}", EVIL)
    _, findings = scan(data)
    assert "numpy-object-array" in rules(findings)
    assert "pickle-dangerous-global" in rules(findings)


def test_unknown_descr_followed_by_a_pickle_is_treated_as_objects() -> None:
    # A descriptor we cannot model: when a pickle follows, it is scanned as numpy may load it.
    data = npy("{'descr': 'i4,f8', 'fortran_order': False, 'shape': (1,)}", EVIL)
    _, findings = scan(data)
    assert rules(findings)[:2] == ["numpy-object-array", "pickle-dangerous-global"]


def test_unknown_descr_without_a_pickle() -> None:
    data = npy("{'descr': 'i4,f8', 'fortran_order': False, 'shape': (1,)}", bytes(12))
    _, findings = scan(data)
    assert rules(findings) == ["scan-error"]
    assert findings[0].severity == Severity.HIGH


def test_trailing_bytes_after_the_pickled_array() -> None:
    data = npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,)}", EVIL + b"JUNK")
    _, findings = scan(data)
    assert "pickle-trailing-data" in rules(findings)


@pytest.mark.parametrize("cut", [1, 100])
def test_truncated_data(cut: int) -> None:
    data = save(np.zeros(100, dtype="<f4"))
    _, findings = scan(data[:-cut])
    assert rules(findings) == ["scan-error"]
    assert "truncated" in findings[0].message


def test_oversized_data() -> None:
    _, findings = scan(save(np.zeros(10, dtype="<i2")) + b"hidden")
    assert rules(findings) == ["scan-error"]
    assert "oversized" in findings[0].message


@pytest.mark.parametrize(
    "header",
    [
        "[1, 2, 3]",
        "{'descr': '<f4', 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': [1]}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
        "{'descr': 4, 'fortran_order': False, 'shape': (1,)}",
        "{'descr': [('a',)], 'fortran_order': False, 'shape': (1,)}",
        "{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (" + "(" * 5000 + ")" * 5000 + ",)}",
    ],
)
def test_malformed_headers(header: str) -> None:
    _, findings = scan(npy(header, bytes(4)))
    assert rules(findings) == ["scan-error"]
    assert findings[0].message.startswith("malformed .npy header")


def test_huge_dimensions_are_cheap() -> None:
    dims = ", ".join(["9" * 4000] * 50)
    header = f"{{'descr': ('<f8', ({dims},)), 'fortran_order': False, 'shape': ({dims},)}}"
    data = npy(header, bytes(8), version=(2, 0))
    started = time.monotonic()
    _, findings = scan(data)
    assert time.monotonic() - started < 1
    assert rules(findings) == ["scan-error"] and "truncated" in findings[0].message


def test_bad_version_and_truncated_header() -> None:
    good = save(np.zeros(2, dtype="<f4"))
    assert rules(scan(good[:6] + b"\x09\x00" + good[8:])[1]) == ["scan-error"]
    assert rules(scan(good[:30])[1]) == ["scan-error"]
    assert rules(scan(good[:9])[1]) == ["scan-error"]


@pytest.mark.filterwarnings("ignore:Reading `.npy` or `.npz` file required:UserWarning")
def test_python2_long_suffix_in_header() -> None:
    data = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }\n", bytes(24))
    _, findings = scan(data)
    assert findings == []
    assert np.load(io.BytesIO(data)).shape == (2, 3)  # numpy reads it the same way


def test_header_size_limit() -> None:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}" + " " * 5000 + "\n"
    data = npy(header, bytes(4))
    assert scan(data)[1] == []
    _, findings = scan(data, Limits(max_npy_header=1000))
    assert rules(findings) == ["scan-limit"]
    assert dict(findings[0].evidence)["limit"] == "max_npy_header"


def test_mmap_input(tmp_path: object) -> None:
    path = tmp_path / "a.npy"  # type: ignore[operator]
    path.write_bytes(npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,)}", EVIL))
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        ctx = context_for_file("x", Limits(), Policy())
        scan_blob(view, ctx)
    assert rules(ctx.sink) == ["numpy-object-array", "pickle-dangerous-global"]
    path.write_bytes(save(np.zeros((64, 64), dtype="<f4")))
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        ctx = context_for_file("x", Limits(), Policy())
        scan_blob(view, ctx)
    assert ctx.sink == []


# numpy is the reference: every descr our parser claims to understand must match it.
REFERENCE_DESCRS = sorted(
    {str(k) for k in np.sctypeDict if isinstance(k, str)}
    | set(np.typecodes["All"])
    | {"<f4", ">i8", "|b1", "<U10", "|S3", "<M8[ns]", "m8[s]", "|V4", "O", "|O", "=O", "c8", "a4", "T", "<T"}
)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dtype_parser_agrees_with_numpy() -> None:
    checked = 0
    for descr in REFERENCE_DESCRS:
        try:
            reference = np.dtype(descr)
        except TypeError:
            continue
        ours = numpy_arrays._dtype(descr, depth=0)
        if ours.objects is not None:
            assert ours.objects == reference.hasobject, descr
        if ours.itemsize is not None and not reference.hasobject:
            assert ours.itemsize == reference.itemsize, descr
            checked += 1
        if reference.hasobject:
            assert ours.objects is not False, descr  # never miss an object dtype
    assert checked > 50


def test_numpy_is_not_imported() -> None:
    code = (
        "import sys\n"
        "from aisbom.scanners.pickles import numpy_arrays\n"
        "from aisbom.scanners.frame.dispatch import context_for_file, scan_blob\n"
        "from aisbom.limits import Limits\nfrom aisbom.policy import Policy\n"
        "data = b'\\x93NUMPY\\x01\\x00' + bytes([60, 0])"
        " + b\"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\".ljust(60) + bytes(4)\n"
        "scan_blob(data, context_for_file('x', Limits(), Policy()))\n"
        "assert 'numpy' not in sys.modules, 'numpy was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=_repo())


def _repo() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parents[3])
