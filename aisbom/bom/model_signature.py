"""`bom --model-signature FILE`: the model's signature, referenced from its component.

The bundle is read and its statement parsed, not verified (that needs the signer's key or identity:
`aisbom verify`); what the BOM needs is that it signs exactly the files the BOM describes, which
the build checks by comparing the statement's subject digest with the model's manifest digest.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from aisbom.bom.assets import SignatureRef
from aisbom.errors import UsageError
from aisbom.signing.bundle import read_bundle
from aisbom.signing.errors import SigningError
from aisbom.signing.statement import decode_statement, root_digest


class SignatureUnreadable(UsageError):
    """--model-signature names a file that is not an OMS signature bundle."""


def signature_ref(signature: Path, target: Path) -> SignatureRef:
    try:
        bundle = read_bundle(signature)
        manifest = decode_statement(bundle.payload)
    except SigningError as exc:
        raise SignatureUnreadable(f"{signature}: not a model signature aisbom can read: {exc}") from None
    digests = [digest for _, digest in manifest.sorted_resources()]
    return SignatureRef(
        location=_location(signature, target),
        sha256=hashlib.sha256(bundle.raw).hexdigest(),
        subject_sha256=root_digest(digests),
    )


def _location(signature: Path, target: Path) -> str:
    """Inside a model directory: its name there (as the signature names files); else as given."""
    if target.is_dir():
        try:
            return signature.resolve().relative_to(target.resolve()).as_posix()
        except ValueError:
            pass
    return signature.as_posix()
