"""Signing and verification methods as the commands take them: `aisbom sign` and
`aisbom bom --sign-…` choose a signer from the same options (under different names), and
`aisbom verify` a verifier. Checks the combination, then builds the object; nothing is
imported from the signing methods until one is chosen.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from aisbom.signing.base import Signer, Verifier

# Option names in `aisbom sign`; `aisbom bom` prefixes most of them with --sign-.
SIGN_OPTIONS: Mapping[str, str] = {
    "key": "--key",
    "certificate": "--certificate",
    "chain": "--chain",
    "sigstore": "--sigstore",
    "identity_token": "--identity-token",
    "trust_config": "--trust-config",
}
BOM_SIGN_OPTIONS: Mapping[str, str] = {
    "key": "--sign-key",
    "certificate": "--sign-certificate",
    "chain": "--sign-chain",
    "sigstore": "--sign-sigstore",
    "identity_token": "--identity-token",
    "trust_config": "--sign-trust-config",
}


@dataclass(frozen=True)
class SigningMethod:
    """--key PRIV | --certificate LEAF --chain CA… --key PRIV | --sigstore [--identity-token T]."""

    key: Path | None = None
    certificate: Path | None = None
    chain: tuple[Path, ...] = ()
    sigstore: bool = False
    identity_token: str | None = None
    trust_config: Path | None = None

    @property
    def given(self) -> bool:
        """Whether any signing option was given at all."""
        return bool(
            self.key
            or self.certificate
            or self.chain
            or self.sigstore
            or self.identity_token
            or self.trust_config
        )

    def check(self, names: Mapping[str, str] = SIGN_OPTIONS) -> None:
        """Raise click.UsageError unless the options make exactly one signing method."""
        if self.sigstore and (self.key or self.certificate):
            raise click.UsageError(
                f"{names['sigstore']} cannot be combined with {names['key']} or {names['certificate']}"
            )
        if not self.sigstore and not self.key:
            raise click.UsageError(
                f"choose a signing method: {names['key']}, {names['certificate']} with {names['key']}, "
                f"or {names['sigstore']}"
            )
        if self.certificate is None and self.chain:
            raise click.UsageError(f"{names['chain']} needs {names['certificate']}")
        if not self.sigstore and (self.identity_token or self.trust_config):
            raise click.UsageError(
                f"{names['identity_token']} and {names['trust_config']} need {names['sigstore']}"
            )

    def signer(self) -> Signer:
        """The signer. Reads (and, on a terminal, unlocks) the key now; keyless contacts nobody
        until it signs."""
        if self.sigstore:
            from aisbom.signing.keyless import SigstoreSigner

            return SigstoreSigner(self.identity_token, trust_config=self.trust_config)
        assert self.key is not None
        prompt = _password_prompt if sys.stdin.isatty() else None
        if self.certificate is not None:
            from aisbom.signing.certificate import CertificateSigner

            return CertificateSigner(self.key, self.certificate, self.chain, password_prompt=prompt)
        from aisbom.signing.keys import KeySigner

        return KeySigner(self.key, password_prompt=prompt)


def make_verifier(
    key: Path | None,
    certificate_chain: tuple[Path, ...],
    identity: str | None,
    issuer: str | None,
    trust_config: Path | None,
) -> Verifier:
    """The verifier for exactly one of: a public key, trusted CA certificates, a keyless identity."""
    if key is not None:
        from aisbom.signing.keys import KeyVerifier

        return KeyVerifier(key)
    if certificate_chain:
        from aisbom.signing.certificate import CertificateVerifier

        return CertificateVerifier(certificate_chain)
    from aisbom.signing.keyless import SigstoreVerifier

    assert identity is not None and issuer is not None
    return SigstoreVerifier(identity, issuer, trust_config=trust_config)


def _password_prompt() -> bytes:
    return str(click.prompt("Private key password", hide_input=True, err=True)).encode()
