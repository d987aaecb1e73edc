"""Run one fuzz target under atheris (coverage-guided), seeded from the fixtures.

    python fuzz/run.py TARGET [libFuzzer options ...]
    python fuzz/run.py pickle -max_total_time=600 -rss_limit_mb=2048 -timeout=30

The corpus lives in fuzz/corpus/TARGET, or $AISBOM_FUZZ_CORPUS/TARGET (made from the seeds on
first run, grown by atheris);
crashes are written as crash-*/timeout-*/oom-* in the current directory: each becomes a
regression test (tests/test_fuzz_targets.py reads fuzz/regressions/TARGET/*).
`python fuzz/run.py --list` names the targets."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import targets


def main() -> None:
    if sys.argv[1:2] == ["--list"]:
        print("\n".join(targets.TARGETS))
        return
    name = sys.argv.pop(1)
    target = targets.TARGETS[name]
    corpus = Path(os.environ.get("AISBOM_FUZZ_CORPUS") or Path(__file__).resolve().parent / "corpus") / name
    corpus.mkdir(parents=True, exist_ok=True)
    for seed in targets.seeds(name):
        (corpus / hashlib.sha256(seed).hexdigest()[:16]).write_bytes(seed)
    atheris.Setup([sys.argv[0], *sys.argv[1:], str(corpus)], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
