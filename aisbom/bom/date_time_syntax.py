"""The syntax of RFC 3339 date-times, for the schema's "date-time" format (a BOM's timestamps).

jsonschema checks it with the `rfc3339_validator` package when it is installed, whose import
brings `six`, `calendar` and `locale` (3 ms of CPU, for the one timestamp of a BOM).
`iri_syntax.use_for_jsonschema` keeps jsonschema from importing it and checks "date-time" (and
"time", as jsonschema derives it) here instead: the same expression and the same calendar check,
on the text upper-cased as jsonschema passes it.
"""

from __future__ import annotations

import functools
import re


@functools.cache
def _expression() -> re.Pattern[str]:
    # rfc3339_validator 0.1.4's, flags and all: `$` also takes a final newline, as there.
    return re.compile(
        r"^(\d{4})-(0[1-9]|1[0-2])-(\d{2})T(?:[01]\d|2[0123]):(?:[0-5]\d):(?:[0-5]\d)(?:\.\d+)?"
        r"(?:Z|[+-](?:[01]\d|2[0123]):[0-5]\d)$",
        re.ASCII,
    )


def is_date_time(value: object) -> bool:
    """As jsonschema's "date-time" with rfc3339_validator: anything but a string passes; year 0
    and days past the month's end do not; leap seconds are not supported."""
    if not isinstance(value, str):
        return True
    match = _expression().match(value.upper())
    if match is None:
        return False
    year, month, day = map(int, match.groups())
    return year != 0 and 1 <= day <= _days_in(year, month)


def is_time(value: object) -> bool:
    """As jsonschema's "time" (drafts 7 and later) with rfc3339_validator."""
    return not isinstance(value, str) or is_date_time("1970-01-01T" + value)


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31
