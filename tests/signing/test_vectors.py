"""Real signatures made by model_signing v1.0.0, v1.0.1 and v1.1.0 verify with aisbom, offline,
and stop verifying when one byte of a signed file changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from _signing_helpers import VECTOR_IDENTITY, VECTOR_ISSUER, copy_model, flip_byte, run

VERSIONS = ["v1.0.0", "v1.0.1", "v1.1.0"]
METHODS = ["elliptic-key", "certificate", "sigstore"]


def method_args(vectors: Path, method: str) -> list[object]:
    keys = vectors / "keys"
    if method == "elliptic-key":
        return ["--key", keys / "signing-key-pub.pem"]
    if method == "certificate":
        return ["--certificate-chain", keys / "ca-cert.pem"]
    return ["--identity", VECTOR_IDENTITY, "--issuer", VECTOR_ISSUER, "--offline"]


def target_and_args(vectors: Path, version: str, method: str, root: Path) -> tuple[Path, list[object]]:
    """The model path and the extra options model_signing's own CLI would need for it."""
    sig = root / "model.sig"
    extra: list[object] = []
    if version == "v1.0.0" and method == "elliptic-key":
        return root / "signme-1", ["--signature", sig]  # a single-file model, resource "."
    if version == "v1.0.1":
        # v1.0.x did not record its exclusions; this one was signed with --ignore-paths ignore-me.
        extra = ["--ignore", "ignore-me"]
    return root, ["--signature", sig, *extra]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("version", VERSIONS)
def test_vector_verifies_in_place(vectors: Path, version: str, method: str) -> None:
    root = vectors / f"{version}-{method}"
    target, args = target_and_args(vectors, version, method, root)
    result = run("verify", target, *args, *method_args(vectors, method))
    assert result.exit_code == 0, result.output
    assert "match the signature" in result.stdout or "matches the signature" in result.stdout


TAMPER_CASES = [
    (version, method, victim)
    for version in VERSIONS
    for method in METHODS
    for victim in ("signme-1", "signme-2")
    if not (version == "v1.0.0" and method == "elliptic-key" and victim == "signme-2")
]


@pytest.mark.parametrize("version, method, victim", TAMPER_CASES)
def test_vector_fails_after_one_byte_changes(
    vectors: Path, tmp_path: Path, version: str, method: str, victim: str
) -> None:
    root = copy_model(vectors / f"{version}-{method}", tmp_path / "model")
    target, args = target_and_args(vectors, version, method, root)
    assert run("verify", target, *args, *method_args(vectors, method)).exit_code == 0
    flip_byte(root / victim, offset=len((root / victim).read_bytes()) // 2)
    result = run("verify", target, *args, *method_args(vectors, method))
    assert result.exit_code == 1, result.output
    assert f"  modified  {victim}" in result.stdout


def test_v101_without_the_recorded_exclusion_reports_the_extra_file(vectors: Path) -> None:
    root = vectors / "v1.0.1-elliptic-key"
    result = run("verify", root, "--signature", root / "model.sig", *method_args(vectors, "elliptic-key"))
    assert result.exit_code == 1
    assert "  extra     ignore-me" in result.stdout


@pytest.mark.parametrize(
    "identity, issuer",
    [
        ("someone@example.com", VECTOR_ISSUER),
        (VECTOR_IDENTITY, "https://accounts.google.com"),
    ],
)
def test_keyless_vector_with_the_wrong_identity_fails(vectors: Path, identity: str, issuer: str) -> None:
    root = vectors / "v1.1.0-sigstore"
    result = run("verify", root, "--identity", identity, "--issuer", issuer, "--offline")
    assert result.exit_code == 1
    assert "Sigstore verification failed" in result.stdout


def test_certificate_vector_with_another_ca_fails(vectors: Path, pki) -> None:  # type: ignore[no-untyped-def]
    root = vectors / "v1.1.0-certificate"
    result = run("verify", root, "--certificate-chain", pki.root)
    assert result.exit_code == 1 and "trusted CA" in result.stdout
