"""The fuzz targets (fuzz/targets.py): every input that once crashed, hung or blew up a reader
is replayed (fuzz/regressions/TARGET/*), every target runs on its seeds, and each runs under
atheris for two seconds (skipped, with the reason, where atheris is not installed). The longer
run is documented in fuzz/README.md."""

from __future__ import annotations

import importlib.util
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "fuzz"))

import targets  # noqa: E402

REGRESSIONS = sorted((REPO / "fuzz" / "regressions").glob("*/*"))


@pytest.mark.parametrize("path", REGRESSIONS, ids=[f"{p.parent.name}/{p.name}" for p in REGRESSIONS])
def test_an_input_that_once_broke_a_reader_is_handled(path):
    targets.TARGETS[path.parent.name](path.read_bytes())


@pytest.mark.parametrize("name", list(targets.TARGETS))
def test_every_target_reads_its_seeds(name):
    seeds = list(itertools.islice(targets.seeds(name), 3))
    assert seeds, f"no seed for {name}"
    for seed in seeds:
        targets.TARGETS[name](seed)


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed")
@pytest.mark.parametrize("name", list(targets.TARGETS))
def test_a_short_coverage_guided_run_finds_nothing(name, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "fuzz" / "run.py"),
            name,
            "-max_total_time=2",
            "-rss_limit_mb=2048",
            "-timeout=20",
            f"-artifact_prefix={tmp_path}/",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "AISBOM_FUZZ_CORPUS": str(tmp_path / "corpus")},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-"))]
