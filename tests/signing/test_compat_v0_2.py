"""Signatures written by model_signing v0.2.0 (tests/signing/vectors, made by the real release):
its Digests/v0.1 statement, its faulty DSSE encoding and its SHA-256-for-every-curve signatures
verify, as they do with model_signing 1.1.1; the faulty encoding is accepted for nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _signing_helpers import KeyPair, copy_model, flip_byte, run
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from aisbom.signing.bundle import make_bundle
from aisbom.signing.compat_v0_2 import PREDICATE_TYPE_V0_1, pae_v0_2_0
from aisbom.signing.keys import KeySigner, key_hint
from aisbom.signing.manifest import hash_file
from aisbom.signing.providers.pem import PemKeyProvider

V020 = Path(__file__).resolve().parent / "vectors" / "model-signing-v0.2.0"
TRUST = {
    "key.sig": ["--key", V020 / "key.pub"],
    "certificate.sig": ["--certificate-chain", V020 / "ca-cert.pem"],
}


@pytest.mark.parametrize("signature", sorted(TRUST))
def test_v020_signatures_verify(signature: str) -> None:
    result = run("verify", V020 / "model", "--signature", V020 / signature, *TRUST[signature])
    assert result.exit_code == 0, result.output
    assert "2 files match" in result.stdout


@pytest.mark.parametrize("signature", sorted(TRUST))
def test_model_signing_accepts_them_too(signature: str) -> None:
    import model_signing

    config = model_signing.verifying.Config()
    if signature == "key.sig":
        config.use_elliptic_key_verifier(public_key=V020 / "key.pub")
    else:
        config.use_certificate_verifier(certificate_chain=[V020 / "ca-cert.pem"])
    config.verify(V020 / "model", V020 / signature)


@pytest.mark.parametrize("signature", sorted(TRUST))
def test_v020_signatures_fail_on_a_changed_or_added_file(signature: str, tmp_path: Path) -> None:
    model = copy_model(V020 / "model", tmp_path / "model")
    flip_byte(model / "signme-2")
    result = run("verify", model, "--signature", V020 / signature, *TRUST[signature])
    assert result.exit_code == 1 and "  modified  signme-2" in result.stdout
    model = copy_model(V020 / "model", tmp_path / "again")
    (model / "added").write_text("x")
    result = run("verify", model, "--signature", V020 / signature, *TRUST[signature])
    assert result.exit_code == 1 and "  extra     added" in result.stdout


def _statement_v0_1(model: Path, annotation: str | None = "file-sha256") -> bytes:
    subjects: list[dict[str, Any]] = []
    for path in sorted(p for p in model.rglob("*") if p.is_file() and ".git" not in p.parts):
        subject: dict[str, Any] = {
            "name": path.relative_to(model).as_posix(),
            "digest": {"sha256": hash_file(path)},
        }
        if annotation is not None:
            subject["annotations"] = {"actual_hash_algorithm": annotation}
        subjects.append(subject)
    doc = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": PREDICATE_TYPE_V0_1,
    }
    return json.dumps(
        {**doc, "predicate": {"unused": "Unused, just passed due to API requirements"}}
    ).encode()


def test_a_v0_1_statement_with_a_correct_encoding_verifies(
    model_dir: Path, key: KeyPair, tmp_path: Path
) -> None:
    """How a keyless v0.2.0 signature is made (sigstore-python encodes correctly)."""
    sig = tmp_path / "model.sig"
    sig.write_text(json.dumps(KeySigner(PemKeyProvider(key.private)).sign(_statement_v0_1(model_dir))))
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 0, result.output


def test_a_v0_1_statement_hashed_otherwise_is_refused(model_dir: Path, key: KeyPair, tmp_path: Path) -> None:
    sig = tmp_path / "model.sig"
    statement = _statement_v0_1(model_dir, annotation="file-blake2")
    sig.write_text(json.dumps(KeySigner(PemKeyProvider(key.private)).sign(statement)))
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 1 and "hashed with 'file-blake2', not SHA-256" in result.stdout


def test_the_faulty_encoding_is_accepted_only_for_v0_1_statements(
    model_dir: Path, key: KeyPair, tmp_path: Path
) -> None:
    good = tmp_path / "good.sig"
    assert run("sign", model_dir, "--signature", good, "--key", key.private).exit_code == 0
    modern = json.loads(good.read_text())
    import base64

    payload = base64.b64decode(modern["dsseEnvelope"]["payload"])
    material = {"publicKey": {"hint": key_hint(key.key.public_key())}}
    for statement, expected in ((payload, 1), (_statement_v0_1(model_dir), 0)):
        faulty = key.key.sign(pae_v0_2_0(statement), ec.ECDSA(hashes.SHA256()))
        sig = tmp_path / "faulty.sig"
        sig.write_text(json.dumps(make_bundle(material, statement, faulty)))
        result = run("verify", model_dir, "--signature", sig, "--key", key.public)
        assert result.exit_code == expected, result.output
        if expected:
            assert "signature does not verify with the given public key" in result.stdout
