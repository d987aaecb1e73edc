"""Bundles against the OMS v1.0 JSON schemas and test vectors (shared/oms)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from _signing_helpers import KeyPair, Pki, copy_model, run

from aisbom.signing.bundle import BUNDLE_MEDIA_TYPE, PAYLOAD_TYPE, pae

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")


@pytest.fixture(scope="session")
def validators(oms: Path) -> tuple[Any, Any]:
    """(bundle validator, statement validator), resolving the schemas' cross references."""
    schemas = [json.loads(p.read_text()) for p in sorted((oms / "schemas").glob("*.json"))]
    registry = referencing.Registry().with_resources(
        (s["$id"], referencing.Resource.from_contents(s)) for s in schemas
    )
    by_title = {s["$id"].split("/")[-3]: s for s in schemas}
    make = jsonschema.Draft202012Validator
    return (
        make(by_title["bundle"], registry=registry),
        make(by_title["statement"], registry=registry),
    )


def assert_valid(validators: tuple[Any, Any], bundle_path: Path) -> dict[str, Any]:
    bundle_validator, statement_validator = validators
    bundle = json.loads(bundle_path.read_text())
    bundle_validator.validate(bundle)
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement_validator.validate(statement)
    return bundle


def test_pae_matches_the_dsse_spec() -> None:
    assert pae(b"hello", "http://example.com/HelloWorld") == (
        b"DSSEv1 29 http://example.com/HelloWorld 5 hello"
    )


@pytest.mark.parametrize("curve", ["p256", "p384", "p521"])
def test_key_bundles_validate(
    validators: tuple[Any, Any], model_dir: Path, keys: dict[str, KeyPair], curve: str, tmp_path: Path
) -> None:
    sig = tmp_path / "m.sig"
    assert run("sign", model_dir, "--signature", sig, "--key", keys[curve].private).exit_code == 0
    bundle = assert_valid(validators, sig)
    assert bundle["mediaType"] == BUNDLE_MEDIA_TYPE
    assert bundle["dsseEnvelope"]["payloadType"] == PAYLOAD_TYPE
    assert list(bundle["verificationMaterial"]["publicKey"]) == ["hint"]


def test_certificate_and_single_file_bundles_validate(
    validators: tuple[Any, Any], model_dir: Path, pki: Pki, key: KeyPair, tmp_path: Path
) -> None:
    cert_sig, file_sig = tmp_path / "c.sig", tmp_path / "f.sig"
    args = ["--certificate", pki.leaf, "--chain", pki.intermediate, "--key", pki.leaf_key]
    assert run("sign", model_dir, "--signature", cert_sig, *args).exit_code == 0
    assert (
        run("sign", model_dir / "weights.bin", "--signature", file_sig, "--key", key.private).exit_code == 0
    )
    bundle = assert_valid(validators, cert_sig)
    assert len(bundle["verificationMaterial"]["x509CertificateChain"]["certificates"]) == 2
    assert_valid(validators, file_sig)


def test_signing_is_deterministic_apart_from_the_signature(
    model_dir: Path, key: KeyPair, tmp_path: Path
) -> None:
    a, b = tmp_path / "a.sig", tmp_path / "b.sig"
    for sig in (a, b):
        assert run("sign", model_dir, "--signature", sig, "--key", key.private).exit_code == 0
    da, db = json.loads(a.read_text()), json.loads(b.read_text())
    assert da["dsseEnvelope"]["payload"] == db["dsseEnvelope"]["payload"]
    assert da["verificationMaterial"] == db["verificationMaterial"]


@pytest.mark.parametrize("name", ["key", "certificate", "sigstore"])
def test_valid_oms_vectors_pass_the_schemas(validators: tuple[Any, Any], oms: Path, name: str) -> None:
    assert_valid(validators, oms / "test-vectors" / "valid" / f"{name}.bundle.json")


def test_valid_oms_vectors_verify(oms: Path, vectors: Path, tmp_path: Path) -> None:
    valid = oms / "test-vectors" / "valid"
    # key.bundle and certificate.bundle sign the files of the *-elliptic-key models.
    model = copy_model(vectors / "v1.1.0-elliptic-key", tmp_path / "model", skip=("model.sig",))
    keys_dir = vectors / "keys"
    key = run(
        "verify", model, "--signature", valid / "key.bundle.json", "--key", keys_dir / "signing-key-pub.pem"
    )
    assert key.exit_code == 0, key.output
    cert = run(
        "verify", model, "--signature", valid / "certificate.bundle.json",
        "--certificate-chain", keys_dir / "ca-cert.pem",
    )  # fmt: skip
    assert cert.exit_code == 0, cert.output


@pytest.mark.parametrize(
    "name, message",
    [
        ("empty", "empty"),
        ("missing-envelope", "no dsseEnvelope"),
        ("missing-tlog-entries", "no transparency-log entries"),
        ("missing-verification-material", "no verificationMaterial"),
    ],
)
def test_invalid_oms_vectors_are_rejected_at_bundle_level(
    validators: tuple[Any, Any], oms: Path, vectors: Path, name: str, message: str
) -> None:
    path = oms / "test-vectors" / "invalid" / f"{name}.bundle.json"
    if path.read_bytes().strip():  # the schema must refuse them too
        with pytest.raises(jsonschema.ValidationError):
            validators[0].validate(json.loads(path.read_text()))
    model = vectors / "v1.1.0-elliptic-key"
    for method in (
        ["--key", vectors / "keys" / "signing-key-pub.pem"],
        ["--identity", "stefanb@us.ibm.com", "--issuer", "https://sigstore.verify.ibm.com/oauth2"],
    ):
        result = run("verify", model, "--signature", path, *method)
        assert result.exit_code == 2, result.output
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_payload_vector_is_rejected(
    validators: tuple[Any, Any], oms: Path, vectors: Path, tmp_path: Path
) -> None:
    path = oms / "test-vectors" / "invalid-payload" / "wrong-predicate.bundle.json"
    bundle = json.loads(path.read_text())
    validators[0].validate(bundle)  # a well-formed bundle …
    with pytest.raises(jsonschema.ValidationError):  # … whose statement is not OMS
        validators[1].validate(json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"])))
    model = copy_model(vectors / "v1.1.0-elliptic-key", tmp_path / "m", skip=("model.sig",))
    result = run("verify", model, "--signature", path, "--key", vectors / "keys" / "signing-key-pub.pem")
    assert result.exit_code == 1
    assert result.stdout.startswith("FAILED")
