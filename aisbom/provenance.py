"""Where an asset came from, when known. Recorded by aisbom.sources (hf://, https:// and s3:// targets),
read by the BOM (aisbom.bom) and the lock (aisbom.project): below all three, it imports none.

A local target has no provenance record: the BOM then names the path it was read from and the
time it was scanned, as properties, and never pretends either is a download URL or an
acquisition time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


# How `acquired_at` was learnt, so a BOM never passes a file timestamp off as a witnessed download.
ACQUIRED_BY_DOWNLOAD = "download"  # this run fetched the bytes and read the clock when they arrived
ACQUIRED_FROM_CACHE_MTIME = "cache-mtime"  # the cached file's modification time: when it was written


@dataclass(frozen=True)
class FileSource:
    """What the source said about one file, beyond its URL and upstream hash."""

    etag: str | None = None  # as the server sent it, quotes removed (the Hub: git blob sha1 or LFS sha256)
    size: int | None = None  # the size the source declared (Content-Length, the Hub's metadata)
    last_modified: str | None = None  # the HTTP Last-Modified header, verbatim
    # Where the bytes were served from after redirects, when that differs from the file URL;
    # without its query string, which in signed URLs is a credential.
    final_url: str | None = None
    acquired_at: datetime | None = None
    acquired_by: str | None = None  # ACQUIRED_BY_DOWNLOAD or ACQUIRED_FROM_CACHE_MTIME
    version_id: str | None = None  # an object store's version of the object (S3 VersionId)


@dataclass(frozen=True)
class Provenance:
    """What a source knows about how the bytes were obtained (EN 304 223 5.2.4-2.1)."""

    source_url: str  # where the bytes came from, e.g. https://huggingface.co/org/name
    acquired_at: datetime | None = None  # when they were fetched (timezone-aware, UTC)
    revision: str | None = None  # commit or tag; becomes the model version
    # Hugging Face repository id ("org/name") when the source is the Hub: gives the purl.
    hf_repo: str | None = None
    # Per file (path relative to the target, '/'-separated): its download URL, and the
    # SHA-256 the source published for it (e.g. the Hub's LFS oid) or the user pinned
    # (`--sha256`), known before we hashed it.
    file_urls: Mapping[str, str] = field(default_factory=_empty)
    upstream_sha256: Mapping[str, str] = field(default_factory=_empty)
    # True only if a signature over the files was verified when they were fetched.
    signature_verified: bool = False
    # How acquired_at was learnt: ACQUIRED_BY_DOWNLOAD or ACQUIRED_FROM_CACHE_MTIME.
    acquired_by: str | None = None
    # The branch or tag the user named, when `revision` is the commit it resolved to.
    requested_revision: str | None = None
    # "model" or "dataset" for a Hugging Face repository.
    repo_type: str | None = None
    # Per file, as for file_urls: ETag, declared size, Last-Modified, final URL, acquisition.
    files: Mapping[str, FileSource] = field(default_factory=_empty)
    # True when the revision and the upstream hashes were read from the local Hugging Face cache
    # (offline, or the Hub unreachable), not from the Hub: a BOM labels them so, and they do not
    # count as an independent upstream hash (EN 304 223 5.2.3-2).
    facts_from_cache: bool = False
    # Files in hand that could not be checked against what the source published, and why (a
    # file the commit does not hold, a cache with no listing of the commit): they have no URL,
    # upstream hash or FileSource above, since nothing says they came from the source.
    unverified: Mapping[str, str] = field(default_factory=_empty)
