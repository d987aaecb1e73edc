"""The differential harness, bounded for CI: generated and mutated streams through the engine and
through CPython's unpicklers (every interpreter 3.9+ found) must import and call the same things
in the same order. For a longer run:

    python tests/scanners/shared/pickle_differential.py --seconds 1800

AISBOM_DIFFERENTIAL_SECONDS sets this test's budget (default 20 s).
"""

from __future__ import annotations

import json
import os

from pickle_differential import interpreters, run_for

SECONDS = float(os.environ.get("AISBOM_DIFFERENTIAL_SECONDS", "20"))


def test_engine_and_cpython_unpicklers_agree_on_generated_and_mutated_streams() -> None:
    tally = run_for(SECONDS, seed=12, pythons=interpreters())
    assert tally.streams > 100, tally
    shown = [
        json.dumps({k: d[k] for k in ("mode", "python", "why", "data")})[:2000]
        for d in tally.disagreements[:5]
    ]
    assert tally.disagreements == [], "\n".join(shown)
