"""The checks every value read back from aisbom.lock and aisbom-audit.jsonl passes before it is
used: both files are committed, so a pull request can write anything into them, and a hash is
later used as a file name (`.aisbom/objects/<sha256>`), a path inside an asset as a path.

Each check returns the value or raises ValueError with a phrase naming what is wrong; the
readers turn that into their own error (a lock that cannot be loaded, a log line skipped).
"""

from __future__ import annotations

import re
from typing import Any

from aisbom.relative_paths import name_problem

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SHA1 = re.compile(r"[0-9a-f]{40}")
# An asset's name, as aisbom.toml allows it (manifest._NAME says the same).
ASSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def sha256_or_none(value: Any, what: str) -> str | None:
    """A SHA-256 as aisbom writes it (64 lowercase hex digits), or None."""
    if value is None:
        return None
    if not is_sha256(value):
        raise ValueError(f"{what} is not a SHA-256 (64 lowercase hex digits): {_short(value)}")
    return str(value)


def sha1_or_none(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not (isinstance(value, str) and _SHA1.fullmatch(value)):
        raise ValueError(f"{what} is not a commit id (40 lowercase hex digits): {_short(value)}")
    return value


def file_name(value: Any, what: str) -> str:
    """A path inside an asset: relative, '/'-separated, normalised, no '..' (relative_paths)."""
    problem = name_problem(value)
    if problem is not None:
        raise ValueError(f"{what} {_short(value)} {problem}")
    return str(value)


def asset_name(value: Any, what: str) -> str:
    if not (isinstance(value, str) and ASSET_NAME.fullmatch(value)):
        raise ValueError(f"{what} {_short(value)} is not an asset name")
    return value


def size_or_none(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} is not a size in bytes: {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
