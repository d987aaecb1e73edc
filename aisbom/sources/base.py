"""What every source returns, and the errors a source can raise (one readable line each)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aisbom.errors import TargetError, UsageError

if TYPE_CHECKING:  # a local scan never builds one: provenance's dataclasses cost ~2 ms of start-up
    from aisbom.provenance import Provenance

# Called as bytes arrive: (bytes received so far, total bytes expected or None).
DownloadProgress = Callable[[int, "int | None"], None]


@dataclass(frozen=True)
class Resolved:
    """A target made local. `path` (a file or a directory) is what gets scanned, and it must be
    scanned before anything else uses it; `provenance` is None for a local path."""

    path: Path
    provenance: Provenance | None
    kind_hint: str | None  # "model" | "dataset" for hf:// targets, else None
    # What the user should know about how the bytes were obtained, one line each (the Hub was
    # unreachable and the cache stood in for it ...). Sources do not print: the caller does.
    notes: tuple[str, ...] = ()


class UnknownSchemeError(UsageError):
    """A target like `ftp://...`: only local paths, hf:// and https:// are understood."""


class BadSpecError(UsageError):
    """A malformed hf:// target, or an unusable --sha256 value."""


class InsecureURLError(UsageError):
    """http:// to a host other than this machine, without --allow-http."""


class NotInCacheError(TargetError):
    """Offline, and the Hugging Face cache does not hold what was asked for."""


class DownloadError(TargetError):
    """The source answered with an error, could not be reached, or the transfer broke off."""


class NetworkError(DownloadError):
    """The source could not be reached or kept failing: unknown host, refused or reset connection,
    TLS failure, timeout, unreachable proxy, or 5xx/429 after the retries (network.py)."""


class SizeLimitError(DownloadError):
    """The file is larger than Limits.max_download_size."""


class HashMismatchError(TargetError):
    """The bytes are not the ones expected: a wrong --sha256, or a cache modified after download."""


def check_scanned_hashes(provenance: Provenance | None, scanned: Mapping[str, str | None]) -> None:
    """Compare the SHA-256 the scan computed of each file (path -> hex) with the hash known in
    advance (the Hub's LFS sha256, or --sha256). The sources do not hash large files themselves,
    so that each byte is read once, by the scan; this is the check that makes that safe.
    Unreadable files (None) are already findings of the scan and are skipped here."""
    if provenance is None:
        return
    for path, expected in sorted(provenance.upstream_sha256.items()):
        actual = scanned.get(path)
        if actual is not None and actual != expected:
            raise HashMismatchError(
                f"SHA-256 of {path} is {actual}, but the source said {expected}: the file changed after it "
                "was downloaded (delete it from the cache and download it again)",
                path=provenance.source_url,
            )
