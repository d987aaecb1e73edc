"""Keyless signing and verification through sigstore-python (Fulcio + Rekor).

Importing this module, and constructing its classes, touches neither sigstore nor the
network: sigstore-python is imported inside the methods that need it (it is slow to import).
`SigstoreSigner.sign` needs the network; `SigstoreVerifier.verify` refreshes the trust root
of the production (or staging) instance as sigstore-python does, unless told to stay offline,
or checks against a trust configuration file given by the user (see sigstore_trust).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aisbom.signing.base import Verified
from aisbom.signing.bundle import KIND_LABELS, KIND_SIGSTORE, PAYLOAD_TYPE, Bundle
from aisbom.signing.errors import BundleError, KeylessError, SignatureInvalidError
from aisbom.signing.sigstore_trust import (
    PRODUCTION,
    STAGING,
    client_trust_config,
    first_line,
    load_trust_config_file,
    load_trusted_root,
)

IDENTITY_TOKEN_ENV = "SIGSTORE_IDENTITY_TOKEN"  # the variable sigstore-python's own CLI reads
_CLIENT_ID = "sigstore"
_first_line = first_line


def _is_tty() -> bool:
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass(frozen=True)
class TokenSource:
    """Where an identity token came from, and the token itself."""

    origin: str  # "flag", "env" or "ambient"
    token: str


def find_identity_token(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    detect_ambient: Callable[[], str | None] | None = None,
) -> TokenSource | None:
    """The first identity token available without asking anyone.

    Order: the explicit value, then $SIGSTORE_IDENTITY_TOKEN, then ambient CI credentials
    (GitHub Actions, GitLab, Buildkite, CircleCI, Google Cloud) via sigstore-python.
    """
    if explicit:
        return TokenSource("flag", explicit)
    env = os.environ if environ is None else environ
    if env.get(IDENTITY_TOKEN_ENV):
        return TokenSource("env", env[IDENTITY_TOKEN_ENV])
    detect = detect_ambient or _detect_ambient
    token = detect()
    return TokenSource("ambient", token) if token else None


def _detect_ambient() -> str | None:
    from sigstore.oidc import IdentityError, detect_credential

    try:
        return detect_credential(_CLIENT_ID)
    except IdentityError as exc:
        raise KeylessError(f"ambient CI credentials found but unusable: {_first_line(exc)}") from None


class SigstoreSigner:
    """Keyless signing: an OIDC identity token buys a short-lived Fulcio certificate, and the
    signature is logged in Rekor. Constructing this does nothing; `sign` does the work."""

    def __init__(
        self,
        identity_token: str | None = None,
        *,
        trust_config: Path | None = None,
        interactive: bool | None = None,
        staging: bool = False,
    ) -> None:
        self._explicit_token = identity_token
        self._trust_config = trust_config
        self._interactive = interactive
        self._instance = STAGING if staging else PRODUCTION

    def _trust(self) -> Any:
        if self._trust_config is not None:
            return load_trust_config_file(self._trust_config)
        return client_trust_config(self._instance, for_signing=True)  # signing needs the network anyway

    def identity_token(self) -> tuple[Any, Any | None]:
        """(IdentityToken, trust config if it had to be fetched already) — or a clear error."""
        from sigstore.oidc import IdentityError, IdentityToken

        found = find_identity_token(self._explicit_token)
        trust = None
        if found is None:
            interactive = _is_tty() if self._interactive is None else self._interactive
            if not interactive:
                raise KeylessError(
                    "no identity token for keyless signing: pass --identity-token, set "
                    f"{IDENTITY_TOKEN_ENV}, or run in CI with OIDC enabled (GitHub Actions: "
                    "permissions: id-token: write)"
                )
            trust = self._trust()
            raw = self._browser_token(trust)
        else:
            raw = found.token
        try:
            return IdentityToken(raw, _CLIENT_ID), trust
        except IdentityError as exc:
            raise KeylessError(f"identity token rejected: {_first_line(exc)}") from None

    @staticmethod
    def _browser_token(trust: Any) -> str:
        from sigstore.oidc import Issuer

        try:
            issuer = Issuer(trust.signing_config.get_oidc_url())
            return str(issuer.identity_token(client_id=_CLIENT_ID))
        except Exception as exc:
            raise KeylessError(f"interactive sign-in failed: {_first_line(exc)}") from None

    def sign(self, payload: bytes) -> dict[str, Any]:
        from sigstore.dsse import Statement
        from sigstore.sign import SigningContext

        token, trust = self.identity_token()  # fails fast, before any network, if none
        if trust is None:
            trust = self._trust()
        try:
            statement = Statement(payload)
            context = SigningContext.from_trust_config(trust)
            with context.signer(token) as signer:
                bundle = signer.sign_dsse(statement)
        except KeylessError:
            raise
        except Exception as exc:  # network, Fulcio, Rekor, TSA: one readable line
            raise KeylessError(f"Sigstore signing failed: {_first_line(exc)}") from None
        document: dict[str, Any] = json.loads(bundle.to_json())
        return document


class SigstoreVerifier:
    """Verification of a keyless bundle for an expected identity and OIDC issuer."""

    def __init__(
        self,
        identity: str,
        issuer: str,
        *,
        trust_config: Path | None = None,
        staging: bool = False,
        offline: bool = False,
    ) -> None:
        self._identity = identity
        self._issuer = issuer
        self._trust_config = trust_config
        self._instance = STAGING if staging else PRODUCTION
        self._offline = offline

    def verify(self, bundle: Bundle) -> Verified:
        if bundle.kind != KIND_SIGSTORE:
            raise SignatureInvalidError(
                f"the signature carries {KIND_LABELS[bundle.kind]}, not a Sigstore certificate: "
                "verify it with --key or --certificate-chain"
            )
        trusted_root = load_trusted_root(self._trust_config, instance=self._instance, offline=self._offline)

        from sigstore.errors import Error as SigstoreError
        from sigstore.models import Bundle as SigstoreBundle
        from sigstore.verify import Verifier, policy

        try:
            sigstore_bundle = SigstoreBundle.from_json(bundle.raw)
        except Exception as exc:
            raise BundleError(f"malformed Sigstore bundle: {_first_line(exc)}") from None
        try:
            verifier = Verifier(trusted_root=trusted_root)
            payload_type, payload = verifier.verify_dsse(
                sigstore_bundle, policy.Identity(identity=self._identity, issuer=self._issuer)
            )
        except SigstoreError as exc:
            raise SignatureInvalidError(f"Sigstore verification failed: {_first_line(exc)}") from None
        except Exception as exc:  # crafted bundles can trip sigstore's parsers in other ways
            raise SignatureInvalidError(f"Sigstore verification failed: {_first_line(exc)}") from None
        if payload_type != PAYLOAD_TYPE:
            raise SignatureInvalidError(f"unexpected DSSE payload type {payload_type!r}")
        return Verified(payload, f"{self._identity} (issuer {self._issuer}) via Sigstore")
