"""Signatures written by model_signing v0.2.0, the first release in the Sigstore bundle format.

OMS v1.0 §5.1 and §11 keep its statement verifiable though deprecated; model_signing 1.1.1
and the Go model-signing verify it, so aisbom does too. It differs from OMS v1.0 in three ways,
each handled here and nowhere else:

- The predicate is `https://model_signing/Digests/v0.1`: one in-toto subject per file (its
  path and SHA-256, annotated `actual_hash_algorithm: file-sha256`), a placeholder predicate,
  no serialization parameters (files, SHA-256, no symlinks, nothing recorded as ignored).
- Its key and certificate signers built the DSSE pre-authentication encoding with a bug: the
  payload bytes were formatted into a str (`b'…'`, with escapes) and "DSSEv1" was spelled
  "DSSEV1".
- They signed with SHA-256 whatever the key's curve (a P-384 certificate included).

A signature over the buggy encoding is accepted only for a v0.1 statement (no release signed a
v1.0 statement that way); a correctly encoded v0.1 statement (keyless v0.2.0 signatures, made
by sigstore-python) needs only the statement decoding.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from aisbom.signing.bundle import PAYLOAD_TYPE
from aisbom.signing.errors import StatementError
from aisbom.signing.manifest import Manifest
from aisbom.signing.resource_names import SINGLE_FILE_COMPAT_NAME, check_resource_name

PREDICATE_TYPE_V0_1 = "https://model_signing/Digests/v0.1"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# What v0.2.0 wrote into each subject's annotations for a SHA-256 file digest.
_SHA256_ANNOTATIONS = (None, "file-sha256", "sha256")


def pae_v0_2_0(payload: bytes) -> bytes:
    """The pre-authentication encoding as model_signing v0.2.0 computed it (see above)."""
    return f"DSSEV1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} {len(payload)} {payload!r}".encode()


def verify_v0_2_0_signature(public_key: ec.EllipticCurvePublicKey, payload: bytes, sig: bytes) -> bool:
    """True if `sig` is a v0.2.0 signature (buggy encoding, SHA-256) over a v0.1 statement."""
    try:
        public_key.verify(sig, pae_v0_2_0(payload), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return _predicate_type(payload) == PREDICATE_TYPE_V0_1


def _predicate_type(payload: bytes) -> object:
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return None
    return doc.get("predicateType") if isinstance(doc, dict) else None


def decode_digests_v0_1(doc: dict[str, Any]) -> Manifest:
    """The manifest of a verified v0.1 statement: every subject is a file and its SHA-256."""
    subjects = doc.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise StatementError("v0.1 statement lists no subjects (files)")
    resources: dict[str, str] = {}
    single_file = False
    for subject in subjects:
        if not isinstance(subject, dict):
            raise StatementError("a subject is not an object")
        raw_name = subject.get("name")
        if raw_name == SINGLE_FILE_COMPAT_NAME and len(subjects) == 1:
            name, single_file = SINGLE_FILE_COMPAT_NAME, True
        else:
            name = check_resource_name(raw_name)
        annotations = subject.get("annotations")
        algorithm = annotations.get("actual_hash_algorithm") if isinstance(annotations, dict) else None
        if algorithm not in _SHA256_ANNOTATIONS:
            raise StatementError(f"subject {name!r} is hashed with {algorithm!r}, not SHA-256")
        digests = subject.get("digest")
        digest = digests.get("sha256") if isinstance(digests, dict) else None
        if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
            raise StatementError(f"subject {name!r} has no well-formed sha256 digest")
        if name in resources:
            raise StatementError(f"subject {name!r} is listed twice")
        resources[name] = digest
    return Manifest(model_name="", resources=resources, single_file=single_file)
