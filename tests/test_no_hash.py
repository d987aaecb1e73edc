"""`scan --no-hash`: a verdict without reading tensor data, never mistaken for a hashed scan."""

from __future__ import annotations

import json
import os
import resource

import pytest
from click.testing import CliRunner

from aisbom.bom.build import build_bom
from aisbom.cli import cli
from aisbom.errors import UsageError
from aisbom.pipeline import scan_target

from .conftest import FIXTURES, pickle_in_zip

MALICIOUS = (FIXTURES / "malicious" / "pickle" / "dotted_logging_os_system.pkl").read_bytes()


def checkpoint(pickle_bytes: bytes, tensor_bytes: int) -> bytes:
    return pickle_in_zip(pickle_bytes, tensor_bytes, folder="archive")


def _evicted(path) -> None:
    """Write the file's pages to disk and drop them from the page cache: reading it again costs
    block reads, which getrusage counts."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _blocks_read_by_children() -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_inblock  # 512-byte units


def test_no_hash_never_reads_the_tensor_data(tmp_path):
    """Large files are mapped in child processes: with the file out of the page cache, the
    children's block reads say how much of it they read."""
    torch = pytest.importorskip("torch")
    model = tmp_path / "model.pt"
    torch.save({"weight": torch.zeros(16 << 20)}, model)  # 64 MiB of float32 storage
    _evicted(model)
    before = _blocks_read_by_children()
    unhashed = scan_target(tmp_path, hashed=False)
    without = (_blocks_read_by_children() - before) * 512
    _evicted(model)
    before = _blocks_read_by_children()
    hashed = scan_target(tmp_path)
    with_hash = (_blocks_read_by_children() - before) * 512
    if with_hash == 0:
        pytest.skip("this file system keeps the file in memory (tmpfs): nothing to measure")
    assert with_hash >= 64 << 20
    assert without < 4 << 20  # the zip directory, the pickle and the read-ahead around them
    # The same verdict, with no hash.
    assert [f.findings for f in unhashed.files] == [f.findings for f in hashed.files]
    assert unhashed.files[0].sha256 is None and hashed.files[0].sha256 is not None
    assert unhashed.exit_code == hashed.exit_code


def test_the_report_says_no_hash_was_taken(tmp_path):
    (tmp_path / "model.pt").write_bytes(checkpoint(b"(lp0\nI1\na.", 2 << 20))
    (tmp_path / "small.pkl").write_bytes(b"(lp0\nI1\na.")
    result = CliRunner().invoke(cli, ["scan", str(tmp_path), "--no-hash", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["summary"]["hashed"] is False
    assert [f["sha256"] for f in report["files"]] == [None, None]
    text = CliRunner().invoke(cli, ["scan", str(tmp_path), "--no-hash"]).output
    assert "No file was hashed (--no-hash)" in text
    hashed = json.loads(CliRunner().invoke(cli, ["scan", str(tmp_path), "--format", "json"]).output)
    assert hashed["summary"]["hashed"] is True


@pytest.mark.parametrize("extra", [["--format", "cyclonedx"], ["--sha256", "0" * 64]])
def test_no_hash_refuses_what_needs_a_hash(tmp_path, extra):
    (tmp_path / "a.pkl").write_bytes(b"(lp0\nI1\na.")
    result = CliRunner().invoke(cli, ["scan", str(tmp_path), "--no-hash", *extra])
    assert result.exit_code == 2
    assert "--no-hash" in result.output


def test_a_bom_never_rests_on_an_unhashed_scan(tmp_path):
    (tmp_path / "a.pkl").write_bytes(b"(lp0\nI1\na.")
    with pytest.raises(UsageError, match="no hash"):
        build_bom(scan_target(tmp_path, hashed=False), tmp_path)
