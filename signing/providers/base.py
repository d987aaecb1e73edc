"""The key-provider interface, and the ECDSA conventions every provider shares."""

from __future__ import annotations

from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from aisbom.signing.errors import KeyMaterialError
from aisbom.wording import counted

# Each curve signs with the hash of matching strength (as Sigstore's key details name them).
CURVE_HASH: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}
SUPPORTED_KEYS = "ECDSA P-256, P-384 or P-521"


class KeyProvider(Protocol):
    """One ECDSA private key, wherever it is kept."""

    @property
    def description(self) -> str:
        """What the key is, for messages (a file name, a token and label, a KMS key)."""
        ...

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The public half (its curve is one of CURVE_HASH)."""
        ...

    def sign_digest(self, digest: bytes) -> bytes:
        """A DER ECDSA signature over `digest`, a hash made with `signature_hash(public_key())`."""
        ...


def signature_hash(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> hashes.HashAlgorithm:
    return CURVE_HASH[key.curve.name]()


def digest_of(data: bytes, key: ec.EllipticCurvePublicKey) -> bytes:
    """The digest a provider signs for `data` (the DSSE PAE) with `key`'s curve."""
    h = hashes.Hash(signature_hash(key))
    h.update(data)
    return h.finalize()


def sign_with(provider: KeyProvider, data: bytes) -> bytes:
    """DER ECDSA signature over `data` by `provider`, checked against its public key before it
    is used: a token or KMS that signed something else must not yield a bundle that fails later."""
    public_key = provider.public_key()
    signature = provider.sign_digest(digest_of(data, public_key))
    try:
        public_key.verify(signature, data, ec.ECDSA(signature_hash(public_key)))
    except (InvalidSignature, ValueError):
        raise KeyMaterialError(
            f"the signature made by {provider.description} does not verify with its public key"
        ) from None
    return signature


def der_from_raw(raw: bytes) -> bytes:
    """PKCS #11 returns r || s (two equal halves); DSSE and cryptography want DER."""
    half = len(raw) // 2
    if not raw or len(raw) % 2:
        raise ValueError(f"an ECDSA signature of {counted(len(raw), 'byte')} is not r || s")
    return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))


def is_supported(key: object) -> bool:
    return isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)) and (
        key.curve.name in CURVE_HASH
    )
