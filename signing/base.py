"""The two small interfaces every signing method implements, and what verification returns.

Signers and verifiers come in pairs (key, certificate, Sigstore keyless). A signer turns the
statement bytes into a bundle; a verifier checks a bundle's signature and hands back the
signed bytes, which nothing may read before that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from aisbom.signing.bundle import Bundle


@dataclass(frozen=True)
class Verified:
    """A bundle whose signature checked out: its payload, and who signed it (for humans)."""

    payload: bytes
    signer: str


class Signer(Protocol):
    def sign(self, payload: bytes) -> dict[str, Any]:
        """Sign the in-toto statement bytes; return the Sigstore bundle as a JSON object."""
        ...


class Verifier(Protocol):
    def verify(self, bundle: Bundle) -> Verified:
        """Check the bundle's signature, or raise a `VerificationFailure`."""
        ...
