"""Hostile file systems: FIFOs, sockets and devices are never opened, links that loop are reported,
names that are not UTF-8 are reported as they are, a directory that cannot be listed is said,
and a target changed while it is walked is never left through a link put in its place."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from aisbom import inventory
from aisbom.inventory import walk
from aisbom.limits import Limits
from aisbom.pipeline import scan_entry, scan_target
from aisbom.policy import Policy

from .conftest import FIXTURES

MALICIOUS = (FIXTURES / "malicious" / "pickle" / "dotted_logging_os_system.pkl").read_bytes()
BENIGN = b"(lp0\nI1\na."


def scan_json(target: Path, *extra: str) -> tuple[int, dict]:
    """`aisbom scan TARGET --format json` in a process of its own, bounded in time: a FIFO
    opened for reading would block it forever."""
    done = subprocess.run(
        [sys.executable, "-m", "aisbom", "scan", str(target), "--format", "json", *extra],
        capture_output=True,
        timeout=120,
    )
    assert b"Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout) if done.stdout else {}


def by_path(report: dict) -> dict[str, dict]:
    return {f["path"]: f for f in report["files"]}


def test_fifos_sockets_and_devices_are_never_opened(tmp_path):
    (tmp_path / "good.pkl").write_bytes(BENIGN)
    os.mkfifo(tmp_path / "pipe")  # a writer-less FIFO: opening it for reading blocks
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock"))
    try:
        try:
            os.mknod(tmp_path / "zero", 0o600 | stat.S_IFCHR, os.makedev(1, 5))
            device = True
        except (PermissionError, OSError):
            device = False
        code, report = scan_json(tmp_path)
    finally:
        server.close()
    files = by_path(report)
    specials = ["pipe", "sock"] + (["zero"] if device else [])
    for name in specials:
        assert files[name]["format"] == "special"
        assert [f["rule"] for f in files[name]["findings"]] == ["file-unreadable"]
        assert files[name]["sha256"] is None
    assert files["good.pkl"]["sha256"] is not None
    assert code == 2  # files that were not read: an error, whatever the threshold


def test_a_fifo_as_the_target_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    command = [sys.executable, "-m", "aisbom", "scan", str(tmp_path / "pipe")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "not a regular file or directory" in done.stderr and "Traceback" not in done.stderr


def test_symlink_loops_are_reported_and_walks_end(tmp_path):
    (tmp_path / "good.pkl").write_bytes(BENIGN)
    os.symlink("self", tmp_path / "self")
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    (tmp_path / "sub").mkdir()
    os.symlink("..", tmp_path / "sub" / "up")  # a directory loop inside the target
    os.symlink(".", tmp_path / "here")
    code, report = scan_json(tmp_path)
    files = by_path(report)
    for name in ("self", "a", "b"):
        assert [f["rule"] for f in files[name]["findings"]] == ["symlink-outside-target"]
        assert "loops" in files[name]["findings"][0]["message"]
    assert "sub/up" not in files and "here" not in files  # their files are reached directly
    assert set(files) == {"good.pkl", "self", "a", "b"}
    assert code == 1  # links not followed: incomplete


def test_names_that_are_not_utf8_are_scanned_and_reported(tmp_path):
    name = os.fsdecode(b"evil-\xff\xfe.pkl")
    (tmp_path / name).write_bytes(MALICIOUS)
    code, report = scan_json(tmp_path)
    assert code == 1
    [file] = report["files"]
    assert file["path"] == name  # the JSON text keeps the undecodable bytes as escapes
    assert any(f["rule"] == "pickle-dangerous-global" for f in file["findings"])
    text = subprocess.run(
        [sys.executable, "-m", "aisbom", "scan", str(tmp_path)], capture_output=True, timeout=120
    )
    assert text.returncode == 1 and b"Traceback" not in text.stderr
    assert b"evil-" in text.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists any directory, whatever its mode")
def test_a_directory_that_cannot_be_listed_is_said(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (tmp_path / "good.pkl").write_bytes(BENIGN)
    locked.chmod(0)
    try:
        report = scan_target(tmp_path)
    finally:
        locked.chmod(0o700)
    files = {f.path: f for f in report.files}
    assert [f.rule for f in files["locked"].findings] == ["file-unreadable"]
    assert "cannot list directory" in files["locked"].findings[0].message
    assert files["good.pkl"].readable


def test_a_directory_swapped_for_a_link_is_never_entered(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.bin").write_bytes(b"not part of the target")
    root = tmp_path / "model"
    (root / "sub").mkdir(parents=True)
    seen = (os.stat(root / "sub").st_dev, os.stat(root / "sub").st_ino)
    # Between the listing of model/ and the listing of model/sub: sub becomes a link out.
    os.rename(root / "sub", tmp_path / "moved")
    os.symlink(outside, root / "sub")
    with pytest.raises(OSError):
        inventory._list(str(root / "sub"), seen)
    # Or another directory is renamed into its place.
    os.unlink(root / "sub")
    os.rename(outside, root / "sub")
    with pytest.raises(OSError, match="replaced"):
        inventory._list(str(root / "sub"), seen)


def test_a_file_replaced_after_the_walk_is_not_read(tmp_path):
    secret = tmp_path / "secret.pkl"
    secret.write_bytes(MALICIOUS)
    root = tmp_path / "model"
    root.mkdir()
    (root / "weights.pkl").write_bytes(BENIGN)
    (root / "other.pkl").write_bytes(BENIGN)
    _, entries = walk(root)
    # After the walk: one file renamed over by another, one hard link to a file outside.
    os.replace(root / "other.pkl", root / "weights.pkl")
    os.link(secret, root / "other.pkl")
    for entry in entries:
        result = scan_entry(entry, Policy(), Limits())
        assert [f.rule for f in result.findings] == ["file-changed"], entry.path
        assert "took its place" in result.findings[0].message
        assert result.sha256 is None
