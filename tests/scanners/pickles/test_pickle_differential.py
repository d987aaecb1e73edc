"""The differential harness, bounded for CI: generated and mutated streams through the engine and
through CPython's unpicklers (every interpreter 3.9+ found) must import and call the same things
in the same order. For a longer run:

    python tests/scanners/shared/pickle_differential.py --seconds 1800

AISBOM_DIFFERENTIAL_SECONDS sets this test's budget (default 20 s).
"""

from __future__ import annotations

import json
import os

from pickle_differential import Tally, Worker, check_stream, interpreters, long_literal_streams, run_for

SECONDS = float(os.environ.get("AISBOM_DIFFERENTIAL_SECONDS", "20"))


def test_engine_and_cpython_unpicklers_agree_on_generated_and_mutated_streams() -> None:
    tally = run_for(SECONDS, seed=12, pythons=interpreters())
    assert tally.streams > 100, tally
    shown = [
        json.dumps({k: d[k] for k in ("mode", "python", "why", "data")})[:2000]
        for d in tally.disagreements[:5]
    ]
    assert tally.disagreements == [], "\n".join(shown)


def test_long_literals_are_read_as_each_cpython_reading_reads_them() -> None:
    # INT/LONG/FLOAT past 64 KiB and 4300 digits, long GLOBAL/INST/STRING/UNICODE lines, LONG4:
    # whatever each real reading accepts, refuses or stops at, the engine does too.
    tally = Tally()
    for python in interpreters():
        worker = Worker(python)
        try:
            for data in long_literal_streams():
                check_stream(data, worker, tally)
        finally:
            worker.stop()
    assert tally.skipped == 0, tally
    shown = [
        json.dumps({k: d[k] for k in ("mode", "python", "why")}) + " " + d["data"][:80]
        for d in tally.disagreements
    ]
    assert tally.disagreements == [], "\n".join(shown[:10])
