"""Keys in a cloud KMS, named by the URIs cosign uses (awskms://, gcpkms://, azurekms://,
hashivault://). The key signs a digest made here and never leaves the KMS.

Implemented: AWS KMS (`awskms://[ENDPOINT]/KEY`, KEY a key id, key ARN, alias/NAME or alias
ARN), through boto3 and its usual configuration (credentials, AWS_REGION, AWS_ENDPOINT_URL_KMS);
an ENDPOINT in the URI is reached over https, as cosign does. The other schemes are recognised
and refused with a clear message: each is one class with `public_key` and `sign_digest`, added
to PROVIDERS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from aisbom.signing.errors import KeyMaterialError
from aisbom.signing.providers.base import SUPPORTED_KEYS, KeyProvider, is_supported

# AWS key specs aisbom signs with, and the signing algorithm each needs (hash of matching size).
AWS_SIGNING_ALGORITHMS = {
    "ECC_NIST_P256": "ECDSA_SHA_256",
    "ECC_NIST_P384": "ECDSA_SHA_384",
    "ECC_NIST_P521": "ECDSA_SHA_512",
}
DEFAULT_TIMEOUT = 30.0  # seconds, for connecting and for each read
DEFAULT_ATTEMPTS = 3  # tries of each call in all (botocore's "standard" retry mode)
_AWS_URI = re.compile(r"awskms://(?P<endpoint>[^/]*)/(?P<key>.+)")
_ARN_REGION = re.compile(r"arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):")


@dataclass(frozen=True)
class KmsUri:
    scheme: str
    text: str


def parse_kms_uri(text: str) -> KmsUri:
    scheme, sep, _ = text.partition("://")
    if not sep or scheme not in PROVIDERS:
        known = ", ".join(f"{s}://" for s in PROVIDERS)
        raise KeyMaterialError(f"not a KMS key URI ({known}): {text!r}")
    return KmsUri(scheme, text)


def open_kms_key(text: str, *, timeout: float = DEFAULT_TIMEOUT) -> KeyProvider:
    """The provider for a KMS key URI; contacts the KMS to read the public key."""
    uri = parse_kms_uri(text)
    factory = PROVIDERS[uri.scheme]
    if factory is None:
        raise KeyMaterialError(f"{uri.scheme}:// keys are not supported yet (awskms:// is): {text}")
    return factory(uri.text, timeout)


def _boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise KeyMaterialError("AWS KMS signing needs boto3: pip install 'aisbom[kms]'") from None
    return boto3


class AwsKmsKeyProvider:
    """An asymmetric ECC_NIST_* SIGN_VERIFY key in AWS KMS."""

    def __init__(self, uri: str, timeout: float = DEFAULT_TIMEOUT, attempts: int = DEFAULT_ATTEMPTS) -> None:
        match = _AWS_URI.fullmatch(uri)
        if match is None:
            raise KeyMaterialError(f"malformed AWS KMS URI (awskms://[ENDPOINT]/KEY): {uri!r}")
        self._key_id = match["key"]
        self.description = f"AWS KMS key {self._key_id}"
        self._client = self._make_client(match["endpoint"], timeout, attempts)
        response = self._call("GetPublicKey", KeyId=self._key_id)
        self._public_key, self._algorithm = self._check_key(response)

    def _make_client(self, endpoint: str, timeout: float, attempts: int) -> Any:
        boto3 = _boto3()
        from botocore.config import Config

        region = _ARN_REGION.match(self._key_id)
        retries = {"mode": "standard", "max_attempts": attempts}
        config = Config(connect_timeout=timeout, read_timeout=timeout, retries=retries)
        try:
            return boto3.session.Session().client(
                "kms",
                region_name=region["region"] if region else None,
                endpoint_url=f"https://{endpoint}" if endpoint else None,
                config=config,
            )
        except Exception as exc:  # botocore: NoRegionError, invalid endpoint …
            raise KeyMaterialError(f"cannot set up AWS KMS: {_first_line(exc)}") from None

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        method: Callable[..., dict[str, Any]] = getattr(self._client, _snake(operation))
        try:
            return method(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = error.get("Code", "error"), error.get("Message", "")
            raise KeyMaterialError(
                f"AWS KMS refused {operation} for {self._key_id}: {code}"
                + (f": {message}" if message else "")
            ) from None
        except BotoCoreError as exc:  # no credentials, no region, timeouts, connection errors
            raise KeyMaterialError(
                f"AWS KMS {operation} failed for {self._key_id}: {_first_line(exc)}"
            ) from None

    def _check_key(self, response: dict[str, Any]) -> tuple[ec.EllipticCurvePublicKey, str]:
        spec = response.get("KeySpec") or response.get("CustomerMasterKeySpec")
        if response.get("KeyUsage") not in (None, "SIGN_VERIFY"):
            raise KeyMaterialError(f"{self.description} is for {response['KeyUsage']}, not SIGN_VERIFY")
        if spec not in AWS_SIGNING_ALGORITHMS:
            raise KeyMaterialError(
                f"unsupported key type {spec} in {self.description} ({SUPPORTED_KEYS} only)"
            )
        try:
            key = serialization.load_der_public_key(response["PublicKey"])
        except (KeyError, ValueError, UnsupportedAlgorithm):
            raise KeyMaterialError(f"AWS KMS returned no usable public key for {self._key_id}") from None
        if not is_supported(key):
            raise KeyMaterialError(f"unsupported key in {self.description} ({SUPPORTED_KEYS} only)")
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return key, AWS_SIGNING_ALGORITHMS[spec]

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public_key

    def sign_digest(self, digest: bytes) -> bytes:
        response = self._call(
            "Sign", KeyId=self._key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm=self._algorithm
        )
        signature = response.get("Signature")
        if not isinstance(signature, bytes) or not signature:
            raise KeyMaterialError(f"AWS KMS returned no signature for {self._key_id}")
        return signature


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# Scheme → provider class (None: recognised, not implemented yet).
PROVIDERS: dict[str, Callable[[str, float], KeyProvider] | None] = {
    "awskms": AwsKmsKeyProvider,
    "gcpkms": None,
    "azurekms": None,
    "hashivault": None,
}
