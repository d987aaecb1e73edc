"""The schema's "date-time" format, checked without importing rfc3339_validator (with six,
calendar and locale), and the same answers as jsonschema gives with it."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from aisbom.bom.date_time_syntax import is_date_time, is_time

SAMPLES = [
    "2026-12-07T14:05:10Z",
    "2026-12-07t14:05:10z",
    "2026-12-07T14:05:10.123456Z",
    "2026-12-07T14:05:10+01:00",
    "2026-12-07T14:05:10-23:59",
    "2026-12-07T14:05:10+24:00",
    "2026-12-07T14:05:10+0100",
    "2026-12-07T14:05:10",
    "2026-12-07 14:05:10Z",
    "2026-12-07T14:05:10Z\n",
    "2026-12-07T14:05:10Z ",
    "2024-02-29T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2000-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-12-00T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "2026-12-07T24:00:00Z",
    "2026-12-07T23:59:60Z",
    "2026-12-07T14:05:10.Z",
    "\uff12\uff10\uff12\uff16-12-07T14:05:10Z",  # fullwidth digits
    "2026-12-07T14:05:10\u017f",  # upper-cases to S
    "",
    "14:05:10Z",
    "14:05:10.5+02:00",
    "25:00:00Z",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_same_answers_as_rfc3339_validator(text: str) -> None:
    """jsonschema passes its checker the text upper-cased; "time" is a date-time's tail."""
    validate_rfc3339 = pytest.importorskip("rfc3339_validator").validate_rfc3339
    assert is_date_time(text) == validate_rfc3339(text.upper())
    assert is_time(text) == validate_rfc3339(("1970-01-01T" + text).upper())


def test_a_non_string_is_no_concern_of_the_format() -> None:
    assert is_date_time(5) and is_time(None)


def test_jsonschema_checks_date_time_as_it_would_with_rfc3339_validator() -> None:
    """Every draft's checker says what a plain jsonschema (with rfc3339_validator) says, and
    validating a BOM imports neither rfc3339_validator nor what it brings (draft 3's own "time"
    does: strptime imports calendar, hence the look before the answers)."""
    pytest.importorskip("rfc3339_validator")
    script = (
        "import json, sys\n"
        "if sys.argv[2] == 'aisbom':\n"
        "    from aisbom.bom.check import schema_errors\n"
        "    doc = {'bomFormat': 'CycloneDX', 'specVersion': '1.6', 'version': 1,\n"
        "           'metadata': {'timestamp': '2026-02-30T00:00:00Z'}}\n"
        "    errors = schema_errors(json.dumps(doc), '1.6', strict=True)\n"
        "else:\n"
        "    errors = []\n"
        "imported = [m in sys.modules for m in ('rfc3339_validator', 'six', 'calendar')]\n"
        "import jsonschema\n"
        "drafts = [getattr(jsonschema, f'Draft{n}Validator') for n in (3, 4, 6, 7, 201909, 202012)]\n"
        "answers = [[d.FORMAT_CHECKER.conforms(s, f) if f in d.FORMAT_CHECKER.checkers else None\n"
        "            for d in drafts for f in ('date-time', 'time')] for s in json.loads(sys.argv[1])]\n"
        "print(json.dumps([answers, errors, imported]))\n"
    )

    def run(setup: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-c", script, json.dumps(SAMPLES), setup],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    ours, errors, imported = run("aisbom")
    plain, _, _ = run("plain")
    assert ours == plain
    assert imported == [False, False, False]
    assert len(errors) == 1 and "metadata/timestamp" in errors[0] and "date-time" in errors[0]
