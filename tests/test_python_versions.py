"""aisbom runs on every Python it supports (requires-python), not only on the one the suite runs
on: another interpreter gives every fixture the same hash, format and findings.

AISBOM_OTHER_PYTHONS names those interpreters, separated by spaces (.ci/run makes one with
Python 3.10, the oldest supported, in an environment of its own); without it the test is skipped
and says why. Python 3.10 once failed every scan at import: a pattern used 3.11's possessive
quantifiers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
_OTHERS = "AISBOM_OTHER_PYTHONS"
_OTHER_PYTHONS = os.environ.get(_OTHERS, "").split()


def _readings(python: str, out: Path) -> dict[str, tuple]:
    """Each file of the fixtures: its hash, format and (rule, severity, location) of each finding,
    as `python -m aisbom scan` reports them."""
    result = subprocess.run(
        [python, "-m", "aisbom", "scan", str(FIXTURES), "--format", "json", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    # The malicious fixtures fail the scan (exit 1) and the report is written.
    assert (result.returncode, out.exists()) == (1, True), result.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    return {
        file["path"]: (
            file["sha256"],
            file["format"],
            sorted((f["rule"], f["severity"], json.dumps(f.get("location"))) for f in file["findings"]),
        )
        for file in report["files"]
    }


@pytest.mark.parametrize("python", _OTHER_PYTHONS or ["(none)"])
def test_every_supported_python_gives_the_fixtures_the_same_readings(python, tmp_path):
    if not _OTHER_PYTHONS:
        pytest.skip(f"{_OTHERS} names no other Python to compare with (.ci/run makes one with 3.10)")
    version = subprocess.run(
        [python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0, version.stderr
    other = tuple(int(part) for part in version.stdout.split())
    assert other != sys.version_info[:2], f"{python} is this suite's own Python"
    assert other >= (3, 10), f"{python} is older than requires-python"

    theirs = _readings(python, tmp_path / "theirs.json")
    ours = _readings(sys.executable, tmp_path / "ours.json")
    assert len(ours) > 300  # every fixture, not a directory that failed early
    differing = {path: (ours.get(path), theirs.get(path)) for path in ours.keys() | theirs.keys()}
    assert {path: pair for path, pair in differing.items() if pair[0] != pair[1]} == {}
