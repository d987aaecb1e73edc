"""Signing and verification methods as the commands take them: `aisbom sign` and
`aisbom bom --sign-…` choose a signer from the same options (under different names), and
`aisbom verify` a verifier. Checks the combination, then builds the object; nothing is
imported from the signing methods until one is chosen.

Where the key is kept (a PEM file, a PKCS #11 token, a cloud KMS) is a key provider; the
bundle a provider signs is the same (a public-key hint, or with --certificate the chain).
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
    from aisbom.signing.providers.base import KeyProvider

# Option names in `aisbom sign`; `aisbom bom` prefixes most of them with --sign-.
SIGN_OPTIONS: Mapping[str, str] = {
    "key": "--key",
    "certificate": "--certificate",
    "chain": "--chain",
    "sigstore": "--sigstore",
    "identity_token": "--identity-token",
    "trust_config": "--trust-config",
    "pkcs11_uri": "--pkcs11-uri",
    "kms": "--kms",
    "password_file": "--password-file",
    "staging": "--staging",
}
BOM_SIGN_OPTIONS: Mapping[str, str] = {
    "key": "--sign-key",
    "certificate": "--sign-certificate",
    "chain": "--sign-chain",
    "sigstore": "--sign-sigstore",
    "identity_token": "--identity-token",
    "trust_config": "--sign-trust-config",
    "pkcs11_uri": "--sign-pkcs11-uri",
    "kms": "--sign-kms",
    "password_file": "--sign-password-file",
    "staging": "--sign-staging",
}


@dataclass(frozen=True)
class SigningMethod:
    """One key (--key PRIV | --pkcs11-uri URI | --kms URI), optionally with --certificate LEAF
    --chain CA…; or --sigstore [--identity-token T] [--staging | --trust-config F]."""

    key: Path | None = None
    certificate: Path | None = None
    chain: tuple[Path, ...] = ()
    sigstore: bool = False
    identity_token: str | None = None
    trust_config: Path | None = None
    pkcs11_uri: str | None = None
    kms: str | None = None
    password_file: Path | None = None
    staging: bool = False

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
            or self.pkcs11_uri
            or self.kms
            or self.password_file
            or self.staging
        )

    def _keys_given(self, names: Mapping[str, str]) -> list[str]:
        return [names[k] for k in ("key", "pkcs11_uri", "kms") if getattr(self, k)]

    def check(self, names: Mapping[str, str] = SIGN_OPTIONS) -> None:
        """Raise click.UsageError unless the options make exactly one signing method."""
        keys = self._keys_given(names)
        if self.sigstore and (keys or self.certificate):
            raise click.UsageError(
                f"{names['sigstore']} cannot be combined with {', '.join(keys or [names['certificate']])}"
            )
        if len(keys) > 1:
            raise click.UsageError(f"choose one key: {' or '.join(keys)}")
        if not self.sigstore and not keys:
            raise click.UsageError(
                f"choose a signing method: {names['key']}, {names['pkcs11_uri']} or {names['kms']} "
                f"(each optionally with {names['certificate']}), or {names['sigstore']}"
            )
        if self.certificate is None and self.chain:
            raise click.UsageError(f"{names['chain']} needs {names['certificate']}")
        if not self.sigstore and (self.identity_token or self.trust_config or self.staging):
            raise click.UsageError(
                f"{names['identity_token']}, {names['trust_config']} and {names['staging']} "
                f"need {names['sigstore']}"
            )
        if self.staging and self.trust_config:
            raise click.UsageError(f"{names['staging']} and {names['trust_config']} each choose the instance")
        if self.password_file and not (self.key or self.pkcs11_uri):
            raise click.UsageError(
                f"{names['password_file']} unlocks {names['key']} (or a {names['pkcs11_uri']} token)"
            )

    def provider(self) -> KeyProvider:
        """The key provider for --key, --pkcs11-uri or --kms (reads, unlocks or contacts it now)."""
        from aisbom.signing.providers.password import Password

        password = Password(self.password_file, _prompt if sys.stdin.isatty() else None)
        if self.pkcs11_uri is not None:
            from aisbom.signing.providers.pkcs11 import Pkcs11KeyProvider

            return Pkcs11KeyProvider(self.pkcs11_uri, password)
        if self.kms is not None:
            from aisbom.signing.providers.kms import open_kms_key

            return open_kms_key(self.kms)
        from aisbom.signing.providers.pem import PemKeyProvider

        assert self.key is not None
        return PemKeyProvider(self.key, password)

    def signer(self) -> Signer:
        """The signer. Reads (and, on a terminal, unlocks) the key now; keyless contacts nobody
        until it signs."""
        if self.sigstore:
            from aisbom.signing.keyless import SigstoreSigner

            return SigstoreSigner(self.identity_token, trust_config=self.trust_config, staging=self.staging)
        provider = self.provider()
        if self.certificate is not None:
            from aisbom.signing.certificate import CertificateSigner

            return CertificateSigner(provider, self.certificate, self.chain)
        from aisbom.signing.keys import KeySigner

        return KeySigner(provider)


@dataclass(frozen=True)
class VerificationMethod:
    """Exactly one of: a public key, trusted CA certificates, a keyless identity and issuer."""

    key: Path | None = None
    certificate_chain: tuple[Path, ...] = ()
    identity: str | None = None
    issuer: str | None = None
    trust_config: Path | None = None
    staging: bool = False
    offline: bool = False
    certificate_identity: str | None = None  # the signer expected of a certificate chain
    certificate_issuer: str | None = None  # the CA expected to have issued its certificate

    @property
    def count(self) -> int:
        return sum([self.key is not None, bool(self.certificate_chain), bool(self.identity or self.issuer)])

    def check(self) -> None:
        if self.count > 1:
            raise click.UsageError(CHOOSE_ONE)
        if bool(self.identity) != bool(self.issuer):
            raise click.UsageError("--identity and --issuer go together")
        keyless_only = [
            name
            for name, given in (("--trust-config", self.trust_config), ("--staging", self.staging))
            if given
        ] + (["--offline"] if self.offline else [])
        if keyless_only and not self.identity:
            raise click.UsageError(
                f"{', '.join(keyless_only)}: keyless verification only (--identity/--issuer)"
            )
        if self.staging and self.trust_config:
            raise click.UsageError("--staging and --trust-config each choose the Sigstore instance")
        if (self.certificate_identity or self.certificate_issuer) and not self.certificate_chain:
            raise click.UsageError(
                "--certificate-identity and --certificate-issuer need --certificate-chain "
                "(keyless signatures name theirs with --identity and --issuer)"
            )

    @property
    def any_signer(self) -> bool:
        """A certificate chain with no expected signer: every certificate its CAs issued passes."""
        return bool(self.certificate_chain) and not (self.certificate_identity or self.certificate_issuer)

    def verifier(self) -> Verifier:
        if self.key is not None:
            from aisbom.signing.keys import KeyVerifier

            return KeyVerifier(self.key)
        if self.certificate_chain:
            from aisbom.signing.certificate import CertificateVerifier

            return CertificateVerifier(
                self.certificate_chain, identity=self.certificate_identity, issuer=self.certificate_issuer
            )
        from aisbom.signing.keyless import SigstoreVerifier

        assert self.identity is not None and self.issuer is not None
        return SigstoreVerifier(
            self.identity,
            self.issuer,
            trust_config=self.trust_config,
            staging=self.staging,
            offline=self.offline,
        )


METHODS = "--key, --certificate-chain, or --identity with --issuer"
CHOOSE_ONE = f"choose one verification method: {METHODS}"


def _prompt(what: str) -> bytes:
    return str(click.prompt(what[:1].upper() + what[1:], hide_input=True, err=True)).encode()
