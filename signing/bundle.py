"""Sigstore bundle v0.3 JSON carrying a DSSE envelope: build, write, read, check the shape.

Written by hand with the json module rather than through protobuf classes, so the bytes on
disk are stable (key order, no ints-as-floats). Reading checks the structure the OMS bundle
schema asks for, so a malformed file fails here with one clear message instead of deep inside
a verifier.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aisbom.atomic_file import write_atomically
from aisbom.signing.errors import BundleError

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
_BUNDLE_MEDIA_PREFIX = "application/vnd.dev.sigstore.bundle"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_BUNDLE_BYTES = 64 << 20  # a bundle for a million files is well under this

KIND_PUBLIC_KEY = "publicKey"
KIND_CERTIFICATE_CHAIN = "x509CertificateChain"
KIND_SIGSTORE = "certificate"  # keyless: a Fulcio certificate plus transparency-log entries
KIND_LABELS = {
    KIND_PUBLIC_KEY: "a public-key hint",
    KIND_CERTIFICATE_CHAIN: "a certificate chain",
    KIND_SIGSTORE: "a Sigstore (keyless) certificate",
}


def pae(payload: bytes, payload_type: str = PAYLOAD_TYPE) -> bytes:
    """DSSE v1 pre-authentication encoding: what is actually signed."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise BundleError(f"{what} is missing or not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BundleError(f"{what} is not valid base64") from None


def make_bundle(verification_material: dict[str, Any], payload: bytes, sig: bytes) -> dict[str, Any]:
    """A bundle with one DSSE signature, laid out as model_signing 1.1.1 writes it."""
    return {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": verification_material,
        "dsseEnvelope": {
            "payload": b64(payload),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": b64(sig), "keyid": ""}],
        },
    }


def dumps(bundle: dict[str, Any]) -> bytes:
    return (json.dumps(bundle, indent=2, ensure_ascii=True) + "\n").encode("ascii")


def write_bundle(path: Path, data: bytes) -> None:
    """Write atomically: a reader never sees half a signature, a failure leaves no file."""
    try:
        write_atomically(Path(path), data, mode=0o644)
    except OSError as exc:
        raise BundleError(f"cannot write signature: {exc.strerror or exc}", path=str(path)) from None


@dataclass(frozen=True)
class Bundle:
    """A structurally valid OMS bundle. Nothing in it has been verified yet."""

    raw: bytes  # the file as read, handed unchanged to sigstore-python for keyless bundles
    document: dict[str, Any]
    media_type: str
    kind: str  # one of the KIND_* constants
    payload: bytes
    payload_type: str
    signatures: tuple[bytes, ...]

    @property
    def material(self) -> dict[str, Any]:
        vm: dict[str, Any] = self.document["verificationMaterial"]
        return vm


def read_bundle(path: Path) -> Bundle:
    """Read and structurally check a signature file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BUNDLE_BYTES + 1)
    except OSError as exc:
        raise BundleError(f"cannot read signature: {exc.strerror or exc}", path=str(path)) from None
    if len(raw) > MAX_BUNDLE_BYTES:
        raise BundleError(f"signature file is larger than {MAX_BUNDLE_BYTES} bytes", path=str(path))
    try:
        return parse_bundle(raw)
    except BundleError as exc:
        raise BundleError(str(exc), path=str(path)) from None


def parse_bundle(raw: bytes) -> Bundle:
    if not raw.strip():
        raise BundleError("signature file is empty")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"signature file is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise BundleError("signature file is not a JSON object")

    media_type = doc.get("mediaType")
    if not isinstance(media_type, str) or not media_type.startswith(_BUNDLE_MEDIA_PREFIX):
        raise BundleError(f"not a Sigstore bundle (mediaType {media_type!r})")

    vm = doc.get("verificationMaterial")
    if not isinstance(vm, dict):
        raise BundleError("bundle has no verificationMaterial")
    kind = _material_kind(vm)

    env = doc.get("dsseEnvelope")
    if not isinstance(env, dict):
        if "messageSignature" in doc:
            raise BundleError("bundle signs a blob, not a DSSE envelope: not an OMS signature")
        raise BundleError("bundle has no dsseEnvelope")
    payload = _unb64(env.get("payload"), "dsseEnvelope.payload")
    payload_type = env.get("payloadType")
    if payload_type != PAYLOAD_TYPE:
        raise BundleError(f"DSSE payloadType is {payload_type!r}, expected {PAYLOAD_TYPE!r}")
    sigs = env.get("signatures")
    if not isinstance(sigs, list) or not sigs:
        raise BundleError("DSSE envelope has no signatures")
    signatures = []
    for i, s in enumerate(sigs):
        if not isinstance(s, dict):
            raise BundleError(f"DSSE signature {i} is not an object")
        keyid = s.get("keyid")
        if keyid is not None and not isinstance(keyid, str):
            raise BundleError(f"DSSE signature {i} has a non-string keyid")
        signatures.append(_unb64(s.get("sig"), f"DSSE signature {i}"))

    return Bundle(
        raw=raw,
        document=doc,
        media_type=media_type,
        kind=kind,
        payload=payload,
        payload_type=payload_type,
        signatures=tuple(signatures),
    )


def _material_kind(vm: dict[str, Any]) -> str:
    tlog = vm.get("tlogEntries")
    if tlog is not None and not isinstance(tlog, list):
        raise BundleError("verificationMaterial.tlogEntries is not a list")
    if "publicKey" in vm:
        pk = vm["publicKey"]
        if not isinstance(pk, dict) or not (pk.get("hint") or pk.get("rawBytes")):
            raise BundleError("verificationMaterial.publicKey has neither hint nor rawBytes")
        if pk.get("hint") is not None and not isinstance(pk.get("hint"), str):
            raise BundleError("verificationMaterial.publicKey.hint is not a string")
        return KIND_PUBLIC_KEY
    if "x509CertificateChain" in vm:
        chain = vm["x509CertificateChain"]
        certs = chain.get("certificates") if isinstance(chain, dict) else None
        if not isinstance(certs, list) or not certs:
            raise BundleError("verificationMaterial.x509CertificateChain has no certificates")
        for i, c in enumerate(certs):
            _unb64(c.get("rawBytes") if isinstance(c, dict) else None, f"certificate {i}")
        return KIND_CERTIFICATE_CHAIN
    if "certificate" in vm:
        cert = vm["certificate"]
        _unb64(cert.get("rawBytes") if isinstance(cert, dict) else None, "certificate")
        if not tlog:
            raise BundleError(
                "keyless bundle has a certificate but no transparency-log entries (tlogEntries)"
            )
        return KIND_SIGSTORE
    raise BundleError("verificationMaterial has no publicKey, x509CertificateChain or certificate")


def certificate_chain_der(bundle: Bundle) -> list[bytes]:
    """DER certificates of an x509CertificateChain bundle, leaf first."""
    return [base64.b64decode(c["rawBytes"]) for c in bundle.material["x509CertificateChain"]["certificates"]]
