"""What aisbom writes (reports, BOMs, signatures, the lock) is written whole or not at all: an
interrupted run (SIGTERM, SIGINT, a full disk) leaves the old file, never half of one, and no
temporary file beside it."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

OLD = "the previous run's output\n"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    root.mkdir()
    (root / "weights.bin").write_bytes(bytes(range(256)) * 40)
    (root / "config.json").write_text('{"hidden": 8}\n')
    return root


@pytest.fixture
def private_key(tmp_path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "k.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def commands(model: Path, key: Path, out: Path) -> dict[str, list[str]]:
    return {
        "scan report": ["scan", str(model), "--format", "json", "-o", str(out)],
        "BOM": ["bom", str(model), "-o", str(out)],
        "signature": ["sign", str(model), "--key", str(key), "--signature", str(out)],
    }


def _small_disk() -> None:
    """In the child: files can grow to 200 bytes; a write past that fails (EFBIG) as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))


def leftovers(directory: Path, out: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(f".{out.name}."))


@pytest.mark.parametrize("what", ["scan report", "BOM", "signature"])
def test_a_full_disk_leaves_the_old_file(tmp_path, model, private_key, what):
    out = tmp_path / "out" / "result"
    out.parent.mkdir()
    out.write_text(OLD)
    args = commands(model, private_key, out)[what]
    done = subprocess.run(
        [sys.executable, "-m", "aisbom", *args], capture_output=True, text=True, preexec_fn=_small_disk
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "result" in done.stderr
    assert out.read_text() == OLD
    assert leftovers(out.parent, out) == []


@pytest.mark.parametrize("what", ["scan report", "BOM", "signature"])
def test_sigterm_while_writing_leaves_the_old_file(tmp_path, model, private_key, what):
    """SIGTERM arrives as the new content is being flushed to disk, just before the rename."""
    out = tmp_path / "out" / "result"
    out.parent.mkdir()
    out.write_text(OLD)
    args = commands(model, private_key, out)[what]
    script = (
        "import os, signal, sys\n"
        "from aisbom import atomic_file\n"
        "from aisbom.cli import main\n"
        "real_fsync = os.fsync\n"
        "def fsync_then_terminated(fd):\n"
        "    real_fsync(fd)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "atomic_file.os.fsync = fsync_then_terminated\n"
        "sys.argv = ['aisbom', *sys.argv[1:]]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "Traceback" not in done.stderr
    assert out.read_text() == OLD
    assert leftovers(out.parent, out) == []


def test_a_new_file_gets_the_usual_permissions_and_an_old_one_keeps_its_own(tmp_path, model):
    from click.testing import CliRunner

    from aisbom.cli import cli

    fresh, kept = tmp_path / "fresh.json", tmp_path / "kept.json"
    kept.write_text(OLD)
    kept.chmod(0o600)
    for out in (fresh, kept):
        CliRunner().invoke(cli, ["scan", str(model), "--format", "json", "-o", str(out)])
    assert kept.stat().st_mode & 0o777 == 0o600 and kept.read_text() != OLD
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask
