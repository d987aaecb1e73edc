"""A model-format name on other content gets one finding; the name never decides the format."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from catalog import FIXTURES_DIR

from aisbom.pipeline import scan_target
from aisbom.severity import ExitCode, Severity

LFS = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 1234\n"


def mismatches(path: Path):
    report = scan_target(path)
    return report, [f for f in report.findings if f.rule == "format-name-mismatch"]


def test_a_tiny_safetensors_whose_header_length_is_2_to_the_40(tmp_path):
    """10 bytes: 'data' by content, which no safetensors reader loads: reported, not clean-and-silent."""
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    report, (finding,) = mismatches(path)
    assert report.files[0].format == "data" and finding.severity is Severity.MEDIUM
    assert "named like a safetensors file" in finding.message and report.exit_code is ExitCode.CLEAN
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    with pytest.raises(SafetensorError):  # the loader the name invites refuses it
        load_file(str(path))


def test_a_git_lfs_pointer_is_named_as_such(tmp_path):
    path = tmp_path / "pytorch_model.pt"
    path.write_bytes(LFS)
    _, (finding,) = mismatches(path)
    assert "Git LFS pointer" in finding.message and "git lfs pull" in finding.message


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("model.safetensors", "pytorch-zip"), ("model.onnx", "pickle"), ("pytorch_model.h5", "pickle")],
)
def test_a_checkpoint_named_like_another_format_is_a_mismatch_judged_by_its_content(name, fmt):
    report, (finding,) = mismatches(FIXTURES_DIR / "malicious" / "misleading" / name)
    assert report.files[0].format == fmt and f"{fmt} content" in finding.message
    assert report.exit_code is ExitCode.UNSAFE  # judged by its content


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("weights.bin", b"\x00\x01\x02\x03" * 64, None),  # raw tensor bytes: fine in a .bin
        ("weights.bin", b"hello\n", Severity.LOW),
        ("weights.bin", b"", Severity.LOW),
        ("model.onnx", b"\x00" * 100, Severity.MEDIUM),
        ("model.gguf", b"GGUF" + bytes(20), None),  # a GGUF (broken: reported by its own check)
        ("arr.npy", b"\x93NUMPY\x01\x00", None),
        ("model.keras", b"PK\x05\x06" + bytes(18), Severity.MEDIUM),  # an empty zip: no config.json
        ("model.joblib", b"hello", Severity.MEDIUM),
        ("README.md", b"\x00" * 10, None),  # not a model-format name
    ],
)
def test_names_and_contents(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    _, found = mismatches(path)
    assert [f.severity for f in found] == ([expected] if expected else [])


def test_every_benign_fixture_and_real_directory_has_no_mismatch():
    report = scan_target(FIXTURES_DIR / "benign")
    assert [f.path for f in report.findings if f.rule == "format-name-mismatch"] == []
