"""UTC time as aisbom writes it in the lock and the audit log: ISO 8601, seconds, `Z`.

SOURCE_DATE_EPOCH (the reproducible-builds convention) fixes the clock, so a lock or a log
written in a test or a reproducible build has the same bytes every time.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from aisbom.errors import UsageError

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> datetime:
    fixed = os.environ.get("SOURCE_DATE_EPOCH")
    if fixed:
        try:
            return datetime.fromtimestamp(int(fixed), timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise UsageError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {fixed!r}") from None
    return datetime.now(timezone.utc).replace(microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(_FORMAT)


def parse(text: str) -> datetime:
    """A time as written by `stamp` (or any ISO 8601 time with an offset), as aware UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without a timezone: {text!r}")
    return moment.astimezone(timezone.utc)
