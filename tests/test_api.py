"""The Python API (`import aisbom`): typed results, typed errors, nothing printed, and the same
verdicts as the command line, on the real fixtures."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import aisbom

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
MALICIOUS = FIXTURES / "malicious" / "pickle" / "dotted_logging_os_system.pkl"
BENIGN = FIXTURES / "benign" / "safetensors" / "model.safetensors"


def test_import_aisbom_loads_no_scanner_until_a_name_is_used():
    code = (
        "import sys, aisbom\n"
        "before = sorted(m for m in sys.modules if m.startswith(('aisbom.pipeline', 'aisbom.scanners')))\n"
        "aisbom.scan\n"
        "after = 'aisbom.pipeline' in sys.modules\n"
        "print(before, after)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] True"


def test_every_exported_name_resolves():
    from aisbom import _EXPORTS

    assert sorted(aisbom.__all__) == sorted(["__version__", *_EXPORTS])
    for name in aisbom.__all__:
        assert getattr(aisbom, name) is not None, name
    with pytest.raises(AttributeError):
        aisbom.no_such_name  # noqa: B018


def test_load_tensors_resolves():
    assert callable(aisbom.load_tensors)


def test_scan_of_a_malicious_pickle_is_unsafe_and_prints_nothing(capfd: pytest.CaptureFixture[str]):
    report = aisbom.scan(MALICIOUS)
    assert isinstance(report, aisbom.ScanReport)
    assert report.unsafe and report.verdict == "unsafe" and report.exit_code == aisbom.ExitCode.UNSAFE
    assert [f.path for f in report.files] == [MALICIOUS.name]
    rules = {f.rule for f in report.findings}
    assert "pickle-dangerous-global" in rules
    assert all(isinstance(f, aisbom.Finding) for f in report.findings)
    assert capfd.readouterr() == ("", "")


def test_scan_of_a_clean_file_is_clean():
    report = aisbom.scan(BENIGN)
    assert not report.unsafe and report.verdict == "clean" and report.exit_code == 0
    assert report.files[0].format == "safetensors"
    assert len(report.files[0].sha256 or "") == 64


def test_the_report_renders_to_every_format():
    report = aisbom.scan(FIXTURES / "demo")
    as_json = json.loads(report.to_json())
    assert as_json["summary"]["verdict"] == "unsafe"
    sarif = json.loads(report.to_sarif())
    assert sarif["version"] == "2.1.0"
    assert any(r["ruleId"] == "pickle-dangerous-global" for r in sarif["runs"][0]["results"])
    bom = json.loads(report.to_cyclonedx())
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    assert "UNSAFE" in report.to_text()


def test_the_policy_options_change_the_verdict(tmp_path: Path):
    # dotted_logging_os_system is critical: only an allow file with allow_dangerous silences it.
    assert aisbom.scan(MALICIOUS, fail_on="critical").unsafe
    unknown = FIXTURES / "malicious" / "pickle" / "functools_partial.pkl"
    assert aisbom.scan(unknown).unsafe


def test_require_clean_returns_the_report_of_a_clean_model():
    report = aisbom.require_clean(BENIGN)
    assert report.verdict == "clean"


def test_require_clean_raises_with_the_findings():
    with pytest.raises(aisbom.UnsafeModelError) as caught:
        aisbom.require_clean(MALICIOUS)
    error = caught.value
    assert isinstance(error, aisbom.AisbomError)
    assert error.verdict == "unsafe"
    assert any(f.rule == "pickle-dangerous-global" for f in error.findings)
    assert "pickle-dangerous-global" in str(error) and MALICIOUS.name in str(error)


def test_require_clean_refuses_an_empty_directory(tmp_path: Path):
    with pytest.raises(aisbom.UnsafeModelError, match="nothing was scanned"):
        aisbom.require_clean(tmp_path)


def test_errors_are_typed():
    with pytest.raises(aisbom.TargetError, match="no such file"):
        aisbom.scan("/no/such/model.pt")
    with pytest.raises(aisbom.UsageError, match="unknown severity"):
        aisbom.scan(BENIGN, fail_on="catastrophic")
    with pytest.raises(aisbom.UsageError, match="allow files"):
        aisbom.scan(BENIGN, allow_dangerous=True)
    with pytest.raises(aisbom.UsageError, match="ftp"):
        aisbom.scan("ftp://example.invalid/model.pt")


def test_a_bad_allow_file_is_a_usage_error(tmp_path: Path):
    bad = tmp_path / "allow.txt"
    bad.write_text("not a global at all!\n")
    with pytest.raises(aisbom.UsageError, match="line 1"):
        aisbom.scan(BENIGN, allow=[bad])


def test_limits_are_honoured(tmp_path: Path):
    import pickle  # only to write a long, harmless pickle

    data = tmp_path / "long.pkl"
    data.write_bytes(pickle.dumps(list(range(100_000)), protocol=2))
    assert aisbom.scan(data).verdict == "clean"
    report = aisbom.scan(data, limits=aisbom.Limits(max_pickle_opcodes=1000))
    assert "scan-limit" in {f.rule for f in report.findings} and report.unsafe


def test_include_and_exclude_leave_files_out_and_name_them(tmp_path: Path):
    shutil.copy(MALICIOUS, tmp_path / "evil.pkl")
    shutil.copy(BENIGN, tmp_path / "model.safetensors")
    kept = aisbom.scan(tmp_path, include=["*.safetensors"])
    assert [f.path for f in kept.files] == ["model.safetensors"]
    assert kept.excluded == ("evil.pkl",) and kept.verdict == "clean"
    dropped = aisbom.scan(tmp_path, exclude=["*.safetensors"])
    assert [f.path for f in dropped.files] == ["evil.pkl"] and dropped.unsafe


def _key_pair(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = tmp_path / f"{name}.pem"
    public = tmp_path / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"s3cret"),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def test_sign_then_verify_then_tamper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AISBOM_KEY_PASSWORD", raising=False)
    model = tmp_path / "model"
    model.mkdir()
    shutil.copy(BENIGN, model / "model.safetensors")
    (model / "config.json").write_text("{}\n")
    private, public = _key_pair(tmp_path, "release")

    signed = aisbom.sign(model, key=private, password="s3cret")
    assert isinstance(signed, aisbom.SignResult)
    assert signed.signature == model / "model.sig" and signed.signature.is_file()

    result = aisbom.verify(model, key=public)
    assert isinstance(result, aisbom.VerifyResult) and result.ok

    (model / "config.json").write_text('{"changed": true}\n')
    tampered = aisbom.verify(model, key=public)
    assert not tampered.ok
    assert [m.name for m in tampered.diff.modified] == ["config.json"]

    _other_private, other_public = _key_pair(tmp_path, "other")
    with pytest.raises(aisbom.VerificationFailure):
        aisbom.verify(model, key=other_public)


def test_sign_needs_exactly_one_method_and_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AISBOM_KEY_PASSWORD", raising=False)
    private, _public = _key_pair(tmp_path, "k")
    with pytest.raises(aisbom.UsageError, match="one signing method"):
        aisbom.sign(BENIGN)
    with pytest.raises(aisbom.SigningError, match="password"):
        aisbom.sign(BENIGN, key=private, signature=tmp_path / "x.sig")
    with pytest.raises(aisbom.UsageError, match="one verification method"):
        aisbom.verify(BENIGN)


def test_bom_returns_the_document_and_writes_it(tmp_path: Path):
    out = tmp_path / "model.cdx.json"
    doc = aisbom.bom(FIXTURES / "demo", output=out, reproducible=True)
    assert doc["bomFormat"] == "CycloneDX"
    assert json.loads(out.read_text()) == doc
    assert "serialNumber" not in doc
    assert doc["vulnerabilities"], "the demo's os.system pickle is recorded"
