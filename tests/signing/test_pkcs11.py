"""`aisbom sign --pkcs11-uri pkcs11:…`: a key on a SoftHSM2 token made for the test signs; the
bundle verifies with the public key (or the certificate chain), by aisbom and by model_signing,
and model_signing's own PKCS #11 signatures verify with aisbom. A module that is missing or
fails, a wrong PIN, a key that is not there or not ECDSA: one line, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _signing_helpers import run
from _tokens import Hsm

from aisbom.signing.errors import KeyMaterialError
from aisbom.signing.providers.pkcs11_uri import parse_pkcs11_uri


@pytest.fixture(scope="module")
def ms() -> Any:
    import model_signing

    return model_signing


@pytest.mark.parametrize("key", ["p256", "p384"])
def test_token_key_signs_and_both_tools_verify(
    ms: Any, softhsm: Hsm, model_dir: Path, tmp_path: Path, key: str
) -> None:
    sig = tmp_path / "model.sig"
    signed = run("sign", model_dir, "--signature", sig, "--pkcs11-uri", softhsm.uri(key))
    assert signed.exit_code == 0, signed.output
    result = run("verify", model_dir, "--signature", sig, "--key", softhsm.public[key])
    assert result.exit_code == 0, result.output
    ms.verifying.Config().use_elliptic_key_verifier(public_key=softhsm.public[key]).verify(model_dir, sig)


def test_model_signing_pkcs11_signature_passes_aisbom(
    ms: Any, softhsm: Hsm, model_dir: Path, tmp_path: Path
) -> None:
    sig = tmp_path / "model.sig"
    ms.signing.Config().use_pkcs11_signer(pkcs11_uri=softhsm.uri()).sign(model_dir, sig)
    result = run("verify", model_dir, "--signature", sig, "--key", softhsm.public["p256"])
    assert result.exit_code == 0, result.output
    (model_dir / "weights.bin").write_bytes(b"changed")
    assert run("verify", model_dir, "--signature", sig, "--key", softhsm.public["p256"]).exit_code == 1


def test_token_key_with_its_certificate(ms: Any, softhsm: Hsm, model_dir: Path, tmp_path: Path) -> None:
    """What model_signing's `sign pkcs11-certificate` is for (in 1.1.1 it fails to build the
    bundle); model_signing's certificate verifier accepts aisbom's."""
    sig = tmp_path / "model.sig"
    args = ["--pkcs11-uri", softhsm.uri(), "--certificate", softhsm.leaf]
    signed = run("sign", model_dir, "--signature", sig, *args)
    assert signed.exit_code == 0, signed.output
    result = run("verify", model_dir, "--signature", sig, "--certificate-chain", softhsm.root)
    assert result.exit_code == 0 and "hsm-signer" in result.stdout
    ms.verifying.Config().use_certificate_verifier(certificate_chain=[softhsm.root]).verify(model_dir, sig)


def test_pin_from_a_password_file(softhsm: Hsm, model_dir: Path, tmp_path: Path) -> None:
    pin = tmp_path / "pin"
    pin.write_text(softhsm.pin + "\n")
    sig = tmp_path / "model.sig"
    uri = softhsm.uri(pin=False)
    signed = run("sign", model_dir, "--signature", sig, "--pkcs11-uri", uri, "--password-file", pin)
    assert signed.exit_code == 0, signed.output
    assert run("verify", model_dir, "--signature", sig, "--key", softhsm.public["p256"]).exit_code == 0


def _fails(result, sig: Path, message: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not sig.exists() and not list(sig.parent.glob(f".{sig.name}.*"))


def test_bad_tokens_and_keys(
    softhsm: Hsm, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AISBOM_KEY_PASSWORD", raising=False)
    sig = tmp_path / "model.sig"
    not_a_module = tmp_path / "libbroken.so"
    not_a_module.write_bytes(b"\x7fELF but not really a shared object")
    cases = [
        (softhsm.uri(module=str(tmp_path / "missing.so")), "PKCS #11 module not found"),
        (softhsm.uri(module=str(not_a_module)), "cannot load the PKCS #11 module"),
        (softhsm.uri().replace(softhsm.pin, "0000"), "wrong PIN for token 'aisbom-test'"),
        (softhsm.uri(pin=False), "PIN for token 'aisbom-test' needed"),
        (softhsm.uri("nope"), "no private key on the token matches"),
        (softhsm.uri("rsa"), "unsupported key type CKK_RSA"),
        (softhsm.uri().replace("token=aisbom-test", "token=other"), "no PKCS #11 token matches"),
        (f"pkcs11:token={softhsm.label};object=p256", "names no module"),
    ]
    for uri, message in cases:
        _fails(run("sign", model_dir, "--signature", sig, "--pkcs11-uri", uri), sig, message)
    assert "0000" not in run("sign", model_dir, "--signature", sig, "--pkcs11-uri", cases[2][0]).stderr


@pytest.mark.parametrize(
    "uri, message",
    [
        ("pkcs11:token=t?module-path=/x.so", "names no key"),
        ("pkcs11:object=k;object=j", "given twice"),
        ("pkcs11:object=k;type=cert", "type=private"),
        ("pkcs11:object", "malformed"),
        ("file:///k", "not a PKCS #11 URI"),
    ],
)
def test_malformed_uris(uri: str, message: str) -> None:
    with pytest.raises(KeyMaterialError, match=message):
        parse_pkcs11_uri(uri)


def test_uri_attributes_are_percent_decoded() -> None:
    text = "pkcs11:token=my%20token;id=%01%ff;object=a%3Bb?module-path=/m.so&pin-value=1%262"
    uri = parse_pkcs11_uri(text)
    assert uri.path == {"token": "my token", "object": "a;b"} and uri.key_id == b"\x01\xff"
    assert uri.query == {"module-path": "/m.so", "pin-value": "1&2"}
    assert "1%262" not in uri.redacted and "pin-value=***" in uri.redacted
