"""`aisbom sign --kms awskms://…`: AWS KMS signs (moto's server on loopback stands in for it);
the bundle verifies with the public key alone, by aisbom and by model_signing; a KMS that
refuses, cannot be reached or times out, or holds the wrong kind of key, is one line and exit 2
with nothing written."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from _signing_helpers import run
from _tokens import Kms

from aisbom.signing.errors import KeyMaterialError
from aisbom.signing.providers.kms import AwsKmsKeyProvider, open_kms_key


@pytest.mark.parametrize("alias", ["p256", "p384"])
def test_kms_signature_verifies_with_the_public_key(
    kms: Kms, model_dir: Path, tmp_path: Path, alias: str
) -> None:
    sig = tmp_path / "model.sig"
    signed = run("sign", model_dir, "--signature", sig, "--kms", kms.uri(alias))
    assert signed.exit_code == 0, signed.output
    result = run("verify", model_dir, "--signature", sig, "--key", kms.public[alias])
    assert result.exit_code == 0, result.output
    (model_dir / "config.json").write_text("{}")
    assert run("verify", model_dir, "--signature", sig, "--key", kms.public[alias]).exit_code == 1


def test_kms_signature_passes_model_signing(kms: Kms, model_dir: Path, tmp_path: Path) -> None:
    import model_signing

    sig = tmp_path / "model.sig"
    assert run("sign", model_dir, "--signature", sig, "--kms", f"awskms:///{kms.arns['p256']}").exit_code == 0
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=kms.public["p256"]).verify(
        model_dir, sig
    )


def test_kms_key_with_a_certificate(kms: Kms, model_dir: Path, tmp_path: Path) -> None:
    from _signing_helpers import make_cert, write_pem
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ca = ec.generate_private_key(ec.SECP384R1())
    public = serialization.load_pem_public_key(kms.public["p256"].read_bytes())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    leaf = write_pem(tmp_path / "leaf.pem", make_cert("kms-signer", public, "kms-ca", ca, ca=False))
    root = write_pem(tmp_path / "root.pem", make_cert("kms-ca", ca.public_key(), "kms-ca", ca, ca=True))
    sig = tmp_path / "model.sig"
    signed = run("sign", model_dir, "--signature", sig, "--kms", kms.uri("p256"), "--certificate", leaf)
    assert signed.exit_code == 0, signed.output
    result = run("verify", model_dir, "--signature", sig, "--certificate-chain", root)
    assert result.exit_code == 0 and "kms-signer" in result.stdout


@pytest.mark.parametrize(
    "alias, message",
    [
        ("rsa", "unsupported key type RSA_2048"),
        ("symmetric", "is for ENCRYPT_DECRYPT, not SIGN_VERIFY"),
        ("no-such-key", "AWS KMS refused GetPublicKey for alias/no-such-key: NotFoundException"),
    ],
)
def test_kms_keys_that_cannot_sign(
    kms: Kms, model_dir: Path, tmp_path: Path, alias: str, message: str
) -> None:
    sig = tmp_path / "model.sig"
    result = run("sign", model_dir, "--signature", sig, "--kms", kms.uri(alias))
    assert result.exit_code == 2, result.output
    assert message.lower() in result.stderr.lower() and len(result.stderr.strip().splitlines()) == 1
    assert not sig.exists() and not list(tmp_path.glob(".model.sig.*"))


def test_kms_refusing_to_sign_writes_nothing(kms: Kms, model_dir: Path, tmp_path: Path) -> None:
    sig = tmp_path / "model.sig"
    result = run("sign", model_dir, "--signature", sig, "--kms", kms.uri("disabled"))
    assert (
        result.exit_code == 2
        and "AWS KMS refused Sign for alias/disabled: DisabledException" in result.stderr
    )
    assert len(result.stderr.strip().splitlines()) == 1 and not sig.exists()


class _WrongSigner:
    """A provider whose signature is over other bytes (a token or KMS gone wrong)."""

    description = "a faulty key store"

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self._key = ec.generate_private_key(ec.SECP256R1())

    def public_key(self):  # type: ignore[no-untyped-def]
        return self._key.public_key()

    def sign_digest(self, digest: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return self._key.sign(digest, ec.ECDSA(hashes.SHA256()))  # hashes the digest again


def test_a_provider_signature_that_does_not_verify_is_refused(model_dir: Path, tmp_path: Path) -> None:
    from aisbom.signing.api import sign_model
    from aisbom.signing.keys import KeySigner

    sig = tmp_path / "model.sig"
    with pytest.raises(KeyMaterialError, match="made by a faulty key store does not verify"):
        sign_model(model_dir, KeySigner(_WrongSigner()), signature=sig)
    assert not sig.exists()


def test_unreachable_kms(kms: Kms, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a loopback port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", f"http://127.0.0.1:{port}")
    result = run("sign", model_dir, "--signature", tmp_path / "m.sig", "--kms", kms.uri("p256"))
    assert result.exit_code == 2 and "AWS KMS GetPublicKey failed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_kms_that_times_out(kms: Kms, silent_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", silent_server)
    with pytest.raises(KeyMaterialError, match="AWS KMS GetPublicKey failed .*timeout|timed out"):
        AwsKmsKeyProvider(kms.uri("p256"), timeout=0.3, attempts=1)


@pytest.mark.parametrize("uri", ["gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", "hashivault://k"])
def test_other_kms_schemes_are_recognised_but_not_yet_supported(uri: str) -> None:
    with pytest.raises(KeyMaterialError, match="not supported yet"):
        open_kms_key(uri)


def test_kms_uri_errors(model_dir: Path, tmp_path: Path) -> None:
    result = run("sign", model_dir, "--signature", tmp_path / "m.sig", "--kms", "s3://bucket/key")
    assert result.exit_code == 2 and "not a KMS key URI" in result.stderr
    result = run("sign", model_dir, "--signature", tmp_path / "m.sig", "--kms", "awskms://")
    assert result.exit_code == 2 and "malformed AWS KMS URI" in result.stderr
    result = run("sign", model_dir, "--kms", "awskms:///alias/x", "--key", tmp_path / "k.pem")
    assert result.exit_code == 2 and "choose one key" in result.output


def test_bom_signed_by_kms(kms: Kms, model_dir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from aisbom.cli import cli

    bom = tmp_path / "model.cdx.json"
    written = CliRunner().invoke(cli, ["bom", str(model_dir), "-o", str(bom), "--sign-kms", kms.uri("p256")])
    assert written.exit_code == 0, written.output
    args = ["--bom", bom, "--bom-signature", tmp_path / "model.cdx.json.sig", "--key", kms.public["p256"]]
    result = run("verify", model_dir, *args)
    assert result.exit_code == 0 and "Verified: BOM" in result.stdout, result.output
