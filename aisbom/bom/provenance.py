"""Where an asset came from, when known. Filled by the sources (local today; hf:// and URLs later).

A local target has no provenance record: the BOM then names the path it was read from and the
time it was scanned, as properties, and never pretends either is a download URL or an
acquisition time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Provenance:
    """What a source knows about how the bytes were obtained (EN 304 223 5.2.4-2.1)."""

    source_url: str  # where the bytes came from, e.g. https://huggingface.co/org/name
    acquired_at: datetime | None = None  # when they were fetched (timezone-aware, UTC)
    revision: str | None = None  # commit or tag; becomes the model version
    # Hugging Face repository id ("org/name") when the source is the Hub: gives the purl.
    hf_repo: str | None = None
    # Per file (path relative to the target, '/'-separated): its download URL, and the
    # SHA-256 the source published for it (e.g. the Hub's LFS oid), before we hashed it.
    file_urls: Mapping[str, str] = field(default_factory=_empty)
    upstream_sha256: Mapping[str, str] = field(default_factory=_empty)
    # True only if a signature over the files was verified when they were fetched.
    signature_verified: bool = False
