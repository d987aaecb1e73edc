"""ECDSA keys (P-256, P-384, P-521): load, sign, verify, and the OMS public-key hint."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from aisbom.signing.base import Verified
from aisbom.signing.bundle import KIND_LABELS, KIND_PUBLIC_KEY, Bundle, make_bundle, pae
from aisbom.signing.errors import KeyMaterialError, SignatureInvalidError

# Each curve signs with the hash of matching strength (as Sigstore's key details name them).
_CURVE_HASH: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}
PASSWORD_ENV = "AISBOM_KEY_PASSWORD"


def _algorithm(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> ec.ECDSA:
    return ec.ECDSA(_CURVE_HASH[key.curve.name]())


def _check_curve(key: Any, path: Path) -> None:
    if not isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        raise KeyMaterialError("not an elliptic-curve key (ECDSA P-256/384/521 only)", path=str(path))
    if key.curve.name not in _CURVE_HASH:
        raise KeyMaterialError(
            f"unsupported curve {key.curve.name} (P-256, P-384 or P-521 only)", path=str(path)
        )


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise KeyMaterialError(f"cannot read {what}: {exc.strerror or exc}", path=str(path)) from None


def load_private_key(
    path: Path, password_prompt: Callable[[], bytes] | None = None
) -> ec.EllipticCurvePrivateKey:
    """Load a PEM private key. An encrypted one is opened with $AISBOM_KEY_PASSWORD, or else
    with `password_prompt()` (the CLI asks on a terminal), or fails with a clear error."""
    data = _read(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, None)
    except TypeError:  # encrypted
        if os.environ.get(PASSWORD_ENV):
            password = os.environ[PASSWORD_ENV].encode()
        elif password_prompt is not None:
            password = password_prompt()
        else:
            raise KeyMaterialError(f"private key is encrypted: set {PASSWORD_ENV}", path=str(path)) from None
        try:
            key = serialization.load_pem_private_key(data, password)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise KeyMaterialError("wrong password for the private key", path=str(path)) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError(f"not a PEM private key ({exc})", path=str(path)) from None
    _check_curve(key, path)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    data = _read(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError(f"not a PEM public key ({exc})", path=str(path)) from None
    _check_curve(key, path)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def key_hint(public_key: ec.EllipticCurvePublicKey) -> str:
    """OMS/model_signing key hint: hex SHA-256 of the PEM SubjectPublicKeyInfo text."""
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest()


def sign_payload(private_key: ec.EllipticCurvePrivateKey, payload: bytes) -> bytes:
    """DER ECDSA signature over the DSSE PAE of `payload`."""
    return private_key.sign(pae(payload), _algorithm(private_key))


def verify_payload(public_key: ec.EllipticCurvePublicKey, payload: bytes, sig: bytes) -> bool:
    try:
        public_key.verify(sig, pae(payload), _algorithm(public_key))
    except InvalidSignature:
        return False
    return True


def only_signature(bundle: Bundle) -> bytes:
    if len(bundle.signatures) != 1:
        raise SignatureInvalidError(f"expected exactly one DSSE signature, found {len(bundle.signatures)}")
    return bundle.signatures[0]


class KeySigner:
    """Signs with a private key; the bundle names the key by its hint only."""

    def __init__(self, private_key_path: Path, password_prompt: Callable[[], bytes] | None = None) -> None:
        self._key = load_private_key(private_key_path, password_prompt)

    def sign(self, payload: bytes) -> dict[str, Any]:
        material = {
            "publicKey": {"hint": key_hint(self._key.public_key())},
            "tlogEntries": [],
        }
        return make_bundle(material, payload, sign_payload(self._key, payload))


class KeyVerifier:
    """Verifies a key-signed bundle with a given public key; returns the signed payload."""

    def __init__(self, public_key_path: Path) -> None:
        self._key = load_public_key(public_key_path)

    def verify(self, bundle: Bundle) -> Verified:
        if bundle.kind != KIND_PUBLIC_KEY:
            raise SignatureInvalidError(
                f"the signature carries {KIND_LABELS[bundle.kind]}, not a public key: "
                "verify it with --certificate-chain or --identity/--issuer"
            )
        hint = bundle.material["publicKey"].get("hint")
        if hint and hint != key_hint(self._key):
            raise SignatureInvalidError(
                f"signed by another key (bundle key hint {hint[:16]}…, given key {key_hint(self._key)[:16]}…)"
            )
        if not verify_payload(self._key, bundle.payload, only_signature(bundle)):
            raise SignatureInvalidError("signature does not verify with the given public key")
        return Verified(bundle.payload, f"public key {key_hint(self._key)[:16]}")
