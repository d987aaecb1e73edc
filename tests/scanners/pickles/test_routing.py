"""A file is scanned as every format a supported loader would take it for, decided the way that
loader decides: pickle.load, numpy.load, joblib.load and legacy torch.load read anything that
is not one of the few formats they recognise by its first bytes as a pickle."""

from __future__ import annotations

import io
import marshal
import pickle
import tarfile
import zipfile

from aisbom.severity import Severity

PAYLOAD = b"cos\nsystem\n(S'touch x'\ntR."


def dangerous(findings) -> list[object]:
    return [f for f in findings if f.rule == "pickle-dangerous-global"]


def test_a_tar_whose_first_name_field_is_a_pickle_is_a_tar_and_a_pickle(scan_bytes) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(PAYLOAD.decode())
        info.size = 4
        tar.addfile(info, io.BytesIO(b"data"))
    fmt, findings = scan_bytes(buffer.getvalue())
    assert fmt == "tar"
    assert dangerous(findings) and dangerous(findings)[0].members == ()


def test_a_protocol_0_pickle_before_a_zip_is_a_pickle(scan_bytes) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({}, protocol=2))
    fmt, findings = scan_bytes(PAYLOAD + buffer.getvalue())
    assert fmt == "pickle" and dangerous(findings)
    # The zip magic at offset 0 decides for torch.load and numpy.load: then it is a zip.
    fmt, _ = scan_bytes(buffer.getvalue() + PAYLOAD)
    assert fmt == "pytorch-zip"


def test_stacked_pickles_are_read_while_they_do_something(scan_bytes) -> None:
    fmt, findings = scan_bytes(b"N." * 5000 + PAYLOAD)
    assert fmt == "pickle"
    [finding] = dangerous(findings)
    assert "pickle #5001" in finding.message
    # Bytes after the last pickle that do nothing are trailing data, not a broken pickle.
    _, findings = scan_bytes(pickle.dumps([1], protocol=2) + b"N.just text after it")
    assert "pickle-malformed" not in {f.rule for f in findings}


def test_a_legacy_torch_file_with_a_protocol_0_magic_reads_five_short_pickles(scan_bytes) -> None:
    magic = b"L" + str(0x1950A86A20F9469CFC6C).encode() + b"L\n."
    fmt, findings = scan_bytes(magic + b"I1001\n." + PAYLOAD + b"}.].")
    assert fmt == "pytorch-legacy"
    assert "pickle #3" in dangerous(findings)[0].message


def test_text_that_imports_a_dangerous_module_and_breaks_is_critical(scan_bytes) -> None:
    fmt, findings = scan_bytes(b"cpty\nspawn\nand then some prose\n")
    assert fmt == "pickle"
    assert max(f.severity for f in findings) is Severity.CRITICAL


def test_joblib_marker_past_the_first_512_bytes_is_still_joblib(scan_bytes) -> None:
    import joblib
    import numpy as np

    buffer = io.BytesIO()
    joblib.dump({"meta": "x" * 4000, "weights": np.arange(4.0)}, buffer)
    data = buffer.getvalue()
    assert data.find(b"NumpyArrayWrapper") > 512
    fmt, findings = scan_bytes(data)
    assert fmt == "joblib" and max(f.severity for f in findings) <= Severity.LOW


def test_a_compressed_pickle_says_it_is_a_pickle(scan_bytes) -> None:
    import gzip

    _, findings = scan_bytes(gzip.compress(pickle.dumps({"a": 1})))
    [note] = [f for f in findings if f.rule == "pickle-format"]
    assert note.members == ("gzip-content",) and "compressed pickle (gzip)" in note.message


def test_marshalled_code_and_pyc_files_are_identified(scan_bytes) -> None:
    import importlib.util

    code = marshal.dumps(compile("import os\nos.system('x')", "x", "exec"))
    for data, kind in ((code, "marshalled"), (importlib.util.MAGIC_NUMBER + b"\0" * 12 + code, ".pyc")):
        fmt, findings = scan_bytes(data)
        assert fmt == "marshal"
        [finding] = findings
        assert finding.rule == "marshal-code" and kind in finding.message
        assert "system" in dict(finding.evidence)["names"]
