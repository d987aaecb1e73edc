"""A release in one command: `bom TARGET --sign-key K --sign-model` scans, writes and signs the
BOM and signs the model, reading each file of the model once; `verify` then checks it all."""

from __future__ import annotations

import json
import os
import resource
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from aisbom import pipeline
from aisbom.cli import cli


@pytest.fixture
def key(tmp_path: Path) -> tuple[Path, Path]:
    private_key = ec.generate_private_key(ec.SECP256R1())
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    private.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def invoke(*args: object):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, [str(a) for a in args])


def model(tmp_path: Path, size: int = 3 << 20) -> Path:
    root = tmp_path / "model"
    root.mkdir()
    (root / "weights.bin").write_bytes(os.urandom(size))
    (root / "config.json").write_text('{"hidden": 8}\n')
    return root


def test_release_in_one_command_verifies(tmp_path, key):
    private, public = key
    root = model(tmp_path)
    bom = root / "model.cdx.json"
    result = invoke("bom", root, "-o", bom, "--sign-key", private, "--sign-model")
    assert result.exit_code == 0, result.output
    assert "signed the model (2 files)" in result.output
    assert (root / "model.sig").is_file() and (root / "model.cdx.json.sig").is_file()
    # The BOM lists the model's files, not the release's own outputs, and references the
    # model's signature.
    document = json.loads(bom.read_text())
    files = {c["name"] for c in _components(document) if c.get("type") == "file"}
    assert files == {"weights.bin", "config.json"}
    assert '"url": "model.sig"' in json.dumps(document)
    verified = invoke(
        "verify", root, "--signature", root / "model.sig", "--key", public,
        "--bom", bom, "--bom-signature", root / "model.cdx.json.sig",
    )  # fmt: skip
    assert verified.exit_code == 0, verified.output
    (root / "weights.bin").write_bytes(b"changed")
    assert invoke("verify", root, "--signature", root / "model.sig", "--key", public).exit_code == 1


def _components(node):  # type: ignore[no-untyped-def]
    """Every component of a CycloneDX document, nested ones included."""
    for component in node.get("components", []):
        yield component
        yield from _components(component)


def test_the_model_is_signed_with_the_hashes_the_scan_judged(tmp_path, key):
    """The signature carries the digest of the bytes the scan read, not of a second read: a file
    rewritten after its scan is signed as scanned (and then fails verification)."""
    private, public = key
    root = model(tmp_path, size=1000)
    scanned = (root / "weights.bin").read_bytes()

    original_scan = pipeline.scan_target

    def scan_then_rewrite(*args, **kwargs):  # type: ignore[no-untyped-def]
        report = original_scan(*args, **kwargs)
        (root / "weights.bin").write_bytes(b"x" * len(scanned))
        return report

    pipeline.scan_target = scan_then_rewrite  # type: ignore[assignment]
    try:
        result = invoke("bom", root, "-o", tmp_path / "b.json", "--sign-key", private, "--sign-model")
    finally:
        pipeline.scan_target = original_scan  # type: ignore[assignment]
    assert result.exit_code == 0, result.output
    verified = invoke("verify", root, "--signature", root / "model.sig", "--key", public)
    assert verified.exit_code == 1 and "weights.bin" in verified.output
    (root / "weights.bin").write_bytes(scanned)
    assert invoke("verify", root, "--signature", root / "model.sig", "--key", public).exit_code == 0


def _evicted(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _bytes_read() -> int:
    """Block reads of this process and of its children (the scan's workers), in bytes."""
    who = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    return 512 * sum(resource.getrusage(w).ru_inblock for w in who)


def test_a_release_reads_each_file_once(tmp_path, key):
    private, _ = key
    size = 32 << 20
    root = model(tmp_path, size)
    _evicted(root / "weights.bin")
    before = _bytes_read()
    result = invoke("bom", root, "-o", tmp_path / "b.json", "--sign-key", private, "--sign-model")
    read = _bytes_read() - before
    assert result.exit_code == 0, result.output
    if read == 0:
        pytest.skip("this file system keeps files in memory (tmpfs): nothing to measure")
    assert size <= read < size * 1.25


def test_the_bom_libraries_load_on_a_thread_while_the_workers_hash(tmp_path, monkeypatch):
    """Neither before the workers start (the thread would slow their start) nor between their
    jobs (a worker that finished a file would wait for its next one); done before the BOM is
    built."""
    from aisbom import forked
    from aisbom.bom import build
    from aisbom.commands import bom as bom_command

    seen: dict[str, object] = {}
    start, build_bom = bom_command._Preparing.start, build.build_bom

    def starting(self):  # type: ignore[no-untyped-def]
        seen["workers"] = len(forked._PARENT_ENDS) // 2  # two pipe ends per live worker
        return start(self)

    def building(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen["preparing"] = [t.name for t in threading.enumerate() if t.name == "aisbom-bom-prepare"]
        return build_bom(*args, **kwargs)

    monkeypatch.setattr(bom_command._Preparing, "start", starting)
    monkeypatch.setattr(build, "build_bom", building)
    root = model(tmp_path)
    (root / "more.bin").write_bytes(os.urandom(3 << 20))
    result = invoke("bom", root, "-o", tmp_path / "b.json")
    assert result.exit_code == 0, result.output
    assert seen["workers"] >= 1
    assert seen["preparing"] == []
    assert pipeline.meanwhile is None
    assert json.loads((tmp_path / "b.json").read_text())["components"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sign-model"], "--sign-key"),
        (["--sign-model", "--model-signature", "m.sig"], "--sign-key"),
        (["--model-signature", "missing.sig"], "does not exist"),
    ],
)
def test_sign_model_needs_a_signing_method(tmp_path, args, message):
    root = model(tmp_path, size=10)
    result = invoke("bom", root, "-o", tmp_path / "b.json", *args)
    assert result.exit_code == 2 and message in result.output
