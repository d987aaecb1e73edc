"""Which Sigstore instance to trust, and its trust root, fetched as sigstore-python does.

By default the trust root is refreshed through TUF (the metadata cached in the user data
directory, the trusted root in the user cache directory, both sigstore-python's own), so a key
rotation or a revoked log reaches the verifier. `offline` skips that and uses the cached copy,
or the one embedded in sigstore-python when nothing is cached. A trust configuration file
given by the user is used as it is, never refreshed.

Nothing here imports sigstore-python until a function runs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aisbom.signing.errors import KeylessError, KeyMaterialError


@dataclass(frozen=True)
class SigstoreInstance:
    name: str
    tuf_url: str


PRODUCTION = SigstoreInstance("production", "https://tuf-repo-cdn.sigstore.dev")
STAGING = SigstoreInstance("staging", "https://tuf-repo-cdn.sigstage.dev")


class TrustRootUnreachable(KeylessError):
    """The trust root could not be refreshed because its server could not be reached."""


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip()


def _quiet_sigstore_logs() -> None:
    # sigstore-python logs a warning for every offline load; with no logging configured Python
    # would print it. aisbom's own output says what matters.
    logger = logging.getLogger("sigstore")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def read_text(path: Path, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise KeyMaterialError(f"cannot read {what}: {reason}", path=str(path)) from None


def load_trust_config_file(path: Path) -> Any:
    """A client trust configuration (trusted root + signing config), as `sigstore --trust-config`."""
    from sigstore.models import ClientTrustConfig

    text = read_text(path, "trust configuration")
    try:
        return ClientTrustConfig.from_json(text)
    except Exception as exc:  # pydantic and sigstore raise several types here
        raise KeyMaterialError(
            f"not a Sigstore client trust configuration ({first_line(exc)})", path=str(path)
        ) from None


def client_trust_config(
    instance: SigstoreInstance = PRODUCTION, *, offline: bool = False, for_signing: bool = False
) -> Any:
    """The instance's `ClientTrustConfig` through sigstore-python's TUF client. Verification
    can do without the network (--offline); signing cannot, so its message does not offer it."""
    from sigstore.models import ClientTrustConfig

    _quiet_sigstore_logs()
    try:
        return ClientTrustConfig.from_tuf(instance.tuf_url, offline)
    except Exception as exc:
        if offline:
            raise KeylessError(
                f"cannot load the cached Sigstore {instance.name} trust root: {first_line(exc)}"
            ) from None
        if _unreachable(exc):
            hint = "" if for_signing else "; --offline verifies with the cached or embedded root"
            raise TrustRootUnreachable(
                f"cannot refresh the Sigstore {instance.name} trust root: {instance.tuf_url} is "
                f"unreachable ({_deepest(exc)}){hint}"
            ) from None
        raise KeylessError(
            f"cannot refresh the Sigstore {instance.name} trust root from {instance.tuf_url}: {_deepest(exc)}"
        ) from None


def load_trusted_root(
    trust_config: Path | None = None,
    *,
    instance: SigstoreInstance = PRODUCTION,
    offline: bool = False,
) -> Any:
    """A sigstore `TrustedRoot` for verification.

    `trust_config` may be a client trust configuration or a bare trusted root; it is used as
    given. Otherwise the instance's root, refreshed unless `offline`.
    """
    if trust_config is not None:
        return _trusted_root_file(trust_config)
    try:
        return client_trust_config(instance, offline=offline).trusted_root
    except TrustRootUnreachable:
        raise
    except KeylessError:
        if not offline:
            raise
        # An unwritable cache directory: the root embedded in sigstore-python still serves.
        return _embedded_trusted_root(instance)


def _trusted_root_file(path: Path) -> Any:
    from sigstore.models import ClientTrustConfig, TrustedRoot

    text = read_text(path, "trust configuration")
    try:
        media_type = str(json.loads(text).get("mediaType", ""))
    except (ValueError, AttributeError):
        raise KeyMaterialError("trust configuration is not a JSON object", path=str(path)) from None
    try:
        if "trustedroot" in media_type:
            return TrustedRoot.from_file(str(path))
        return ClientTrustConfig.from_json(text).trusted_root
    except Exception as exc:
        raise KeyMaterialError(
            f"not a Sigstore trust configuration or trusted root ({first_line(exc)})", path=str(path)
        ) from None


def _embedded_trusted_root(instance: SigstoreInstance) -> Any:
    import importlib.resources
    from urllib.parse import quote

    from sigstore.models import TrustedRoot

    store = importlib.resources.files("sigstore") / "_store" / quote(instance.tuf_url, safe="")
    try:
        with importlib.resources.as_file(store / "trusted_root.json") as path:
            return TrustedRoot.from_file(str(path))
    except (OSError, ValueError) as exc:
        raise KeylessError(f"no usable Sigstore {instance.name} trust root: {first_line(exc)}") from None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _deepest(exc: BaseException) -> str:
    """The most specific reason in the exception chain (urllib3's, not "Failed to refresh")."""
    for cause in reversed(_chain(exc)):
        text = first_line(cause)
        if text and text != type(cause).__name__:
            return text
    return first_line(exc)


def _unreachable(exc: BaseException) -> bool:
    """Whether the failure is the network's (no route, refused, timed out, DNS), not the data's."""
    from tuf.api.exceptions import DownloadHTTPError, SlowRetrievalError
    from urllib3.exceptions import HTTPError as Urllib3Error

    for cause in _chain(exc):
        if isinstance(cause, DownloadHTTPError):
            return False  # the server answered
        if isinstance(cause, (SlowRetrievalError, Urllib3Error, ConnectionError, TimeoutError)):
            return True
    return False
