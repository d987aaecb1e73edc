"""An ECDSA private key in a PEM file."""

from __future__ import annotations

from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from aisbom.signing.errors import KeyMaterialError
from aisbom.signing.providers.base import SUPPORTED_KEYS, is_supported, signature_hash
from aisbom.signing.providers.password import Password


def read_key_file(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise KeyMaterialError(f"cannot read {what}: {exc.strerror or exc}", path=str(path)) from None


def unsupported_key_message(key: object) -> str:
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return f"unsupported curve {key.curve.name} ({SUPPORTED_KEYS} only)"
    return f"unsupported key type {type(key).__name__.lstrip('_')} ({SUPPORTED_KEYS} only)"


def load_private_key(path: Path, password: Password | None = None) -> ec.EllipticCurvePrivateKey:
    """Load a PEM private key; an encrypted one is opened with the password from `password`."""
    data = read_key_file(path, "private key")
    password = password or Password()
    try:
        key = serialization.load_pem_private_key(data, None)
    except TypeError:  # encrypted
        secret = password.require("private key password", str(path))
        try:
            key = serialization.load_pem_private_key(data, secret)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise KeyMaterialError("wrong password for the private key", path=str(path)) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError(f"not a PEM private key ({exc})", path=str(path)) from None
    if not is_supported(key):
        raise KeyMaterialError(unsupported_key_message(key), path=str(path))
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


class PemKeyProvider:
    """The key of a PEM file, read (and unlocked) when the provider is made."""

    def __init__(self, path: Path, password: Password | None = None) -> None:
        self._key = load_private_key(path, password)
        self.description = f"key file {path}"

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def sign_digest(self, digest: bytes) -> bytes:
        return self._key.sign(digest, ec.ECDSA(Prehashed(signature_hash(self._key))))
