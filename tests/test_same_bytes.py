"""The bytes judged are the bytes hashed, and a file changed during its scan never crashes it.

The races are driven deterministically through `pipeline.between_passes`, which runs once a
file's bytes are hashed and before they are judged: the file is rewritten or truncated there,
as another process could do at that moment. Large files are scanned in a child process
(aisbom.forked), so the hook runs there, as the race would.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from aisbom import pipeline
from aisbom.inventory import walk
from aisbom.limits import Limits
from aisbom.pipeline import scan_target
from aisbom.policy import Policy
from aisbom.severity import ExitCode

from .conftest import FIXTURES, pickle_in_zip

MALICIOUS = (FIXTURES / "malicious" / "pickle" / "dotted_logging_os_system.pkl").read_bytes()
BENIGN = b"(lp0\nI1\naI2\na."  # a list of two ints, protocol 0


@pytest.mark.parametrize("padding", [1000, 3 << 20], ids=["in-memory", "mapped-in-child"])
def test_a_file_rewritten_once_between_hash_and_scan_is_scanned_again(tmp_path, hook, padding):
    target = tmp_path / "model.pt"
    target.write_bytes(pickle_in_zip(BENIGN, padding))
    malicious = pickle_in_zip(MALICIOUS, padding)
    calls = []

    def rewrite_once(path: str) -> None:
        calls.append(path)
        if len(calls) == 1:
            target.write_bytes(malicious)

    hook(rewrite_once)
    [file] = scan_target(tmp_path).files
    # The hash and the verdict describe the same (rewritten) bytes: never "clean" with either hash.
    assert file.sha256 == hashlib.sha256(malicious).hexdigest()
    assert any(f.rule == "pickle-dangerous-global" for f in file.findings)


@pytest.mark.parametrize("padding", [1000, 3 << 20], ids=["in-memory", "mapped-in-child"])
def test_a_file_that_keeps_changing_is_judged_by_nobody(tmp_path, hook, padding):
    target = tmp_path / "model.pt"
    versions = [pickle_in_zip(BENIGN, padding), pickle_in_zip(MALICIOUS, padding)]
    target.write_bytes(versions[0])
    (tmp_path / "other.pkl").write_bytes(BENIGN)
    flips = []

    def rewrite_every_time(path: str) -> None:
        if path == "model.pt":
            flips.append(1)
            target.write_bytes(versions[len(flips) % 2])

    hook(rewrite_every_time)
    report = scan_target(tmp_path)
    changed, other = report.files
    assert [f.rule for f in changed.findings] == ["file-changed"]
    assert changed.sha256 is None and not changed.readable
    assert other.readable and other.sha256 == hashlib.sha256(BENIGN).hexdigest()
    assert report.exit_code is ExitCode.ERROR


def test_a_file_truncated_under_its_mapping_is_reported_not_a_crash(tmp_path, hook):
    big = tmp_path / "model.pt"
    big.write_bytes(pickle_in_zip(BENIGN, 3 << 20))
    (tmp_path / "z.pkl").write_bytes(MALICIOUS)
    # The zip's end record is at the end of the file: its scan touches a page past the new end.
    hook(lambda path: os.truncate(big, 8192) if path == "model.pt" else None)
    report = scan_target(tmp_path)
    truncated, other = report.files
    assert [f.rule for f in truncated.findings] == ["file-changed"]
    assert "SIGBUS" in truncated.findings[0].message
    assert truncated.sha256 is None
    # The rest of the report stands.
    assert any(f.rule == "pickle-dangerous-global" for f in other.findings)
    assert report.exit_code is ExitCode.ERROR


def test_the_cli_reports_a_truncation_with_exit_2_and_a_whole_report(tmp_path):
    big = tmp_path / "model.pt"
    big.write_bytes(pickle_in_zip(BENIGN, 3 << 20))
    (tmp_path / "a.pkl").write_bytes(BENIGN)
    script = (
        "import os, sys; from aisbom import pipeline; from aisbom.cli import cli\n"
        "pipeline.between_passes = lambda path: os.truncate(sys.argv[1], 100)\n"
        "cli(['scan', os.path.dirname(sys.argv[1]), '--format', 'json'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(big)], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr  # not 135 (SIGBUS) nor a traceback
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert [f["path"] for f in report["files"]] == ["a.pkl", "model.pt"]


def test_large_files_hash_as_sha256sum_in_parallel(tmp_path):
    contents = {f"shard-{i}.bin": os.urandom((2 << 20) + i) for i in range(5)}
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
    report = scan_target(tmp_path, workers=3)
    done = subprocess.run(["sha256sum", *sorted(contents)], cwd=tmp_path, capture_output=True, text=True)
    expected = {line.split()[1]: line.split()[0] for line in done.stdout.splitlines()}
    assert {f.path: f.sha256 for f in report.files} == expected
    assert [f.size for f in report.files] == [len(contents[name]) for name in sorted(contents)]


def test_a_file_unchanged_during_its_scan_is_scanned_once(tmp_path, hook):
    (tmp_path / "a.bin").write_bytes(os.urandom(3 << 20))
    (tmp_path / "b.pkl").write_bytes(BENIGN)
    seen: list[str] = []
    hook(seen.append)
    report = scan_target(tmp_path, workers=1)
    # The child's calls are not seen here; the small file's is, once.
    assert seen == ["b.pkl"]
    assert report.exit_code is ExitCode.CLEAN


@pytest.mark.parametrize("size", [4096, 3 << 20], ids=["in-memory", "mapped-in-child"])
def test_a_file_grown_during_its_scan_is_scanned_again(tmp_path, hook, size):
    """A small file's one read ends at the size its fstat gave (aisbom.hashing.read_to_end):
    bytes added later are caught by the check after its scan, as in a large file's."""
    target = tmp_path / "data.bin"
    target.write_bytes(bytes(size))
    grown = []

    def grow_once(path: str) -> None:
        if not grown:
            grown.append(1)
            with open(target, "ab") as handle:
                handle.write(b"more")

    hook(grow_once)
    [file] = scan_target(tmp_path).files
    assert file.size == size + 4
    assert file.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()


def test_scanned_results_survive_the_trip_from_the_child(tmp_path):
    """A large file's findings, members and evidence are the same as when scanned here."""
    big = tmp_path / "model.pt"
    big.write_bytes(pickle_in_zip(MALICIOUS, 3 << 20))
    [in_child] = scan_target(tmp_path).files
    [entry] = walk(tmp_path)[1]
    assert in_child == pipeline.scan_entry(entry, Policy(), Limits())
    assert in_child.size == big.stat().st_size and in_child.findings
