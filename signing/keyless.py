"""Keyless signing and verification through sigstore-python (Fulcio + Rekor).

Importing this module, and constructing its classes, touches neither sigstore nor the
network: sigstore-python is imported inside the methods that need it (it is slow to import),
and the network is used only by `SigstoreSigner.sign`. Verification is offline: it checks the
bundle against Sigstore's production trusted root as embedded in sigstore-python, or against
a trust configuration file given by the user.
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
from aisbom.signing.errors import (
    BundleError,
    KeylessError,
    KeyMaterialError,
    SignatureInvalidError,
)

IDENTITY_TOKEN_ENV = "SIGSTORE_IDENTITY_TOKEN"  # the variable sigstore-python's own CLI reads
_PRODUCTION_TUF = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
_CLIENT_ID = "sigstore"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip()


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


def _load_trust_config(path: Path) -> Any:
    from sigstore.models import ClientTrustConfig

    text = _read_text(path, "trust configuration")
    try:
        return ClientTrustConfig.from_json(text)
    except Exception as exc:  # pydantic and sigstore raise several types here
        raise KeyMaterialError(
            f"not a Sigstore client trust configuration ({_first_line(exc)})", path=str(path)
        ) from None


def _read_text(path: Path, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise KeyMaterialError(f"cannot read {what}: {reason}", path=str(path)) from None


def load_trusted_root(trust_config: Path | None = None) -> Any:
    """A sigstore `TrustedRoot`, without network.

    `trust_config` may be a client trust configuration (trusted root + signing config, as
    `sigstore --trust-config` takes) or a bare trusted root. Without it, the production root
    that ships inside sigstore-python is used.
    """
    from sigstore.models import ClientTrustConfig, TrustedRoot

    if trust_config is not None:
        text = _read_text(trust_config, "trust configuration")
        try:
            media_type = str(json.loads(text).get("mediaType", ""))
        except (ValueError, AttributeError):
            raise KeyMaterialError(
                "trust configuration is not a JSON object", path=str(trust_config)
            ) from None
        try:
            if "trustedroot" in media_type:
                return TrustedRoot.from_file(str(trust_config))
            return ClientTrustConfig.from_json(text).trusted_root
        except Exception as exc:
            raise KeyMaterialError(
                f"not a Sigstore trust configuration or trusted root ({_first_line(exc)})",
                path=str(trust_config),
            ) from None

    import importlib.resources

    embedded = importlib.resources.files("sigstore") / "_store" / _PRODUCTION_TUF / "trusted_root.json"
    try:
        with importlib.resources.as_file(embedded) as path:
            return TrustedRoot.from_file(str(path))
    except (FileNotFoundError, NotADirectoryError):
        # Layout changed in a newer sigstore-python: its offline mode gives the same root
        # (via its local cache, which it seeds from the embedded copy).
        return ClientTrustConfig.production(offline=True).trusted_root


class SigstoreSigner:
    """Keyless signing: an OIDC identity token buys a short-lived Fulcio certificate, and the
    signature is logged in Rekor. Constructing this does nothing; `sign` does the work."""

    def __init__(
        self,
        identity_token: str | None = None,
        *,
        trust_config: Path | None = None,
        interactive: bool | None = None,
    ) -> None:
        self._explicit_token = identity_token
        self._trust_config = trust_config
        self._interactive = interactive

    def _trust(self) -> Any:
        from sigstore.models import ClientTrustConfig

        if self._trust_config is not None:
            return _load_trust_config(self._trust_config)
        try:
            return ClientTrustConfig.production()
        except Exception as exc:
            raise KeylessError(
                f"cannot fetch Sigstore's trust configuration (network?): {_first_line(exc)}"
            ) from None

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
    """Offline verification of a keyless bundle for an expected identity and OIDC issuer."""

    def __init__(self, identity: str, issuer: str, *, trust_config: Path | None = None) -> None:
        self._identity = identity
        self._issuer = issuer
        self._trust_config = trust_config

    def verify(self, bundle: Bundle) -> Verified:
        if bundle.kind != KIND_SIGSTORE:
            raise SignatureInvalidError(
                f"the signature carries {KIND_LABELS[bundle.kind]}, not a Sigstore certificate: "
                "verify it with --key or --certificate-chain"
            )
        trusted_root = load_trusted_root(self._trust_config)

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
