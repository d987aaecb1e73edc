"""Signing with a key provider (the bundle names the key by its hint), verifying with a public key.

Any provider (a PEM file, a PKCS #11 token, a cloud KMS) signs the same way: the bundle's
`publicKey.hint` is the OMS key hint, and the public key alone verifies it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from aisbom.signing.base import Verified
from aisbom.signing.bundle import KIND_LABELS, KIND_PUBLIC_KEY, Bundle, make_bundle, pae
from aisbom.signing.compat_v0_2 import verify_v0_2_0_signature
from aisbom.signing.errors import KeyMaterialError, SignatureInvalidError
from aisbom.signing.providers.base import KeyProvider, is_supported, sign_with, signature_hash
from aisbom.signing.providers.pem import read_key_file, unsupported_key_message


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    data = read_key_file(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError(f"not a PEM public key ({exc})", path=str(path)) from None
    if not is_supported(key):
        raise KeyMaterialError(unsupported_key_message(key), path=str(path))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def key_hint(public_key: ec.EllipticCurvePublicKey) -> str:
    """OMS/model_signing key hint: hex SHA-256 of the PEM SubjectPublicKeyInfo text."""
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest()


def verify_payload(public_key: ec.EllipticCurvePublicKey, payload: bytes, sig: bytes) -> bool:
    """True if `sig` is `public_key`'s signature over the DSSE PAE of `payload`."""
    try:
        public_key.verify(sig, pae(payload), ec.ECDSA(signature_hash(public_key)))
    except InvalidSignature:
        return False
    return True


def verify_payload_any_release(public_key: ec.EllipticCurvePublicKey, payload: bytes, sig: bytes) -> bool:
    """`verify_payload`, or else the signature model_signing v0.2.0 made (see compat_v0_2)."""
    return verify_payload(public_key, payload, sig) or verify_v0_2_0_signature(public_key, payload, sig)


def only_signature(bundle: Bundle) -> bytes:
    if len(bundle.signatures) != 1:
        raise SignatureInvalidError(f"expected exactly one DSSE signature, found {len(bundle.signatures)}")
    return bundle.signatures[0]


class KeySigner:
    """Signs with a key provider; the bundle names the key by its hint only."""

    def __init__(self, provider: KeyProvider) -> None:
        self._provider = provider

    def sign(self, payload: bytes) -> dict[str, Any]:
        material = {
            "publicKey": {"hint": key_hint(self._provider.public_key())},
            "tlogEntries": [],
        }
        return make_bundle(material, payload, sign_with(self._provider, pae(payload)))


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
        if not verify_payload_any_release(self._key, bundle.payload, only_signature(bundle)):
            raise SignatureInvalidError("signature does not verify with the given public key")
        return Verified(bundle.payload, f"public key {key_hint(self._key)[:16]}")
