"""Sources: turn a target (local path, `hf://ORG/NAME[@REV]`, `https://...`, `s3://BUCKET/KEY`) into
local bytes to scan, and say where they came from.

Network is used only when the target names a remote source. Nothing here loads or runs what it
fetches; the caller scans `Resolved.path` before anything else uses it, then calls
`check_scanned_hashes` with the scan's SHA-256s (see base.py for why the sources do not hash).
"""

from __future__ import annotations

import re
from pathlib import Path

from aisbom.errors import AisbomError
from aisbom.sources.base import (
    BadSpecError,
    DownloadError,
    DownloadProgress,
    HashMismatchError,
    InsecureURLError,
    NetworkError,
    NotInCacheError,
    Resolved,
    SizeLimitError,
    UnknownSchemeError,
    check_scanned_hashes,
)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def resolve(
    spec: str,
    *,
    cache_dir: Path | None = None,
    expected_sha256: str | None = None,
    allow_http: bool = False,
    progress: DownloadProgress | None = None,
) -> Resolved:
    """Make `spec` local.

    - a local path: returned as is (no provenance); a missing path is left for the scan to report.
    - `hf://ORG/NAME[/SUB/PATH][@REV]`, `hf://datasets/ORG/NAME[@REV]`: through huggingface_hub
      into the Hugging Face cache (`cache_dir`, else HF_HUB_CACHE / HF_HOME); with
      HF_HUB_OFFLINE=1, from that cache only, without network.
    - `https://...` (`http://` to this machine, or anywhere with `allow_http`): streamed into
      `cache_dir` (else $AISBOM_CACHE, else the user cache directory), hashed on the way, checked
      against `expected_sha256` or a `#sha256=HEX` fragment.
    - `s3://BUCKET/KEY-OR-PREFIX`: the object, or every object under the prefix, copied into
      `cache_dir` (as for URLs) with its ETag, version id and last-modified time (s3.py).

    `progress(received, total)` is called as bytes of a URL arrive; for hf:// the Hugging Face
    client draws its own progress bars when `progress` is given, and none otherwise.
    Raises UsageError or TargetError subclasses (base.py), each with a one-line message; a
    source that cannot be reached raises NetworkError (network.py says what is retried and for
    how long), except that an hf:// revision already in the cache is used from there, as the
    Hugging Face client does, with a line in `Resolved.notes` that says so.
    """
    try:
        return _resolve(spec, cache_dir, expected_sha256, allow_http, progress)
    except AisbomError:
        raise
    except OSError as exc:
        raise DownloadError(f"{spec}: {exc.strerror or _first_line(exc)}") from None
    except Exception as exc:  # a client library's surprise is still one line, never a traceback
        raise DownloadError(f"{spec}: {type(exc).__name__}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _resolve(
    spec: str,
    cache_dir: Path | None,
    expected_sha256: str | None,
    allow_http: bool,
    progress: DownloadProgress | None,
) -> Resolved:
    match = _SCHEME.match(spec)
    if match is None:
        if expected_sha256 is not None:
            raise BadSpecError("--sha256 applies to https:// targets only")
        return Resolved(Path(spec), None, None)
    scheme = match.group(1).lower()
    if scheme == "hf":
        if expected_sha256 is not None:
            raise BadSpecError("--sha256 applies to https:// targets only (the Hub's own hashes check hf://)")
        from aisbom.sources.hf import resolve_hf

        return resolve_hf(spec, cache_dir=cache_dir, progress=progress)
    if scheme in ("https", "http"):
        from aisbom.sources.http import fetch_url

        return fetch_url(
            spec,
            cache_dir=cache_dir,
            expected_sha256=expected_sha256,
            allow_http=allow_http,
            progress=progress,
        )
    if scheme == "s3":
        if expected_sha256 is not None:
            raise BadSpecError("--sha256 applies to https:// targets only")
        from aisbom.sources.s3 import resolve_s3

        return resolve_s3(spec, cache_dir=cache_dir)
    if Path(spec).exists():  # an odd but real local name such as 'x://y'
        return Resolved(Path(spec), None, None)
    raise UnknownSchemeError(
        f"unknown scheme {scheme}:// in {spec!r} (use a local path, hf://ORG/NAME, https://... or s3://BUCKET/KEY)"
    )


__all__ = [
    "BadSpecError",
    "DownloadError",
    "DownloadProgress",
    "HashMismatchError",
    "InsecureURLError",
    "NetworkError",
    "NotInCacheError",
    "Resolved",
    "SizeLimitError",
    "UnknownSchemeError",
    "check_scanned_hashes",
    "resolve",
]
