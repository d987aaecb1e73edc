"""Large targets in parts, without Ray: how a directory is cut, and a join of the parts' results
that gives the outcome of the whole target, or one failed line when its files changed meanwhile.
(tests/batch/test_batch_ray.py runs the same through Ray tasks.)"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from _batch_helpers import FIXTURES

from aisbom.batch import PART_FILES
from aisbom.batch.job import Job, Settings, join_parts, run_job
from aisbom.batch.parts import partition, scan_part
from aisbom.inventory import walk
from aisbom.policy import Policy


def _model(root: Path) -> Path:
    model = root / "model"
    shutil.copytree(FIXTURES / "malicious" / "pytorch", model / "pytorch")
    for n in range(3):
        (model / f"shard-{n}.bin").write_bytes(bytes([n]) * 300_000)
    return model


def test_a_directory_is_cut_in_walk_order_at_the_size_and_file_bounds(tmp_path: Path) -> None:
    model = _model(tmp_path)
    parts = partition(model, 350_000)
    flat = [path for part in parts for path in part]
    assert len(flat) == len(set(flat)) == 22 + 3  # every file once
    assert flat == [entry.path for entry in walk(model)[1]]  # in the order of the whole scan
    for part in parts:
        sizes = [(model / path).stat().st_size for path in part]
        assert len(part) == 1 or sum(sizes) <= 350_000
    assert [part for part in parts if any(p.startswith("shard-") for p in part)] == [
        ("shard-0.bin",),
        ("shard-1.bin",),
        ("shard-2.bin",),
    ]
    many = tmp_path / "many"
    many.mkdir()
    for n in range(PART_FILES + 5):
        (many / f"{n:05d}.json").write_text("{}")
    assert [len(part) for part in partition(many, 10**12)] == [PART_FILES, 5]
    assert partition(model / "shard-0.bin", 1) == ()  # a file is never cut


def test_joined_parts_give_the_outcome_of_the_whole_target(tmp_path: Path) -> None:
    model = _model(tmp_path)
    settings = Settings(Policy(), "p", bom=True)
    whole = run_job(Job(str(model), settings))
    planned = run_job(Job(str(model), dataclasses.replace(settings, part_bytes=350_000)))
    plan = planned.plan
    assert plan is not None and len(plan.parts) >= 4 and planned.record == {}
    joined = join_parts(plan, *(scan_part(model, part, settings.policy) for part in plan.parts))
    assert joined.report_text == whole.report_text and joined.plan is None
    timeless = ("scanned_at", "seconds")
    assert {k: v for k, v in joined.record.items() if k not in timeless} == {
        k: v for k, v in whole.record.items() if k not in timeless
    }
    assert joined.record["verdict"] == "unsafe" and joined.bom_text


def test_a_file_gone_between_the_cut_and_its_part_fails_the_target(tmp_path: Path) -> None:
    model = _model(tmp_path)
    settings = Settings(Policy(), "p", part_bytes=350_000)
    plan = run_job(Job(str(model), settings)).plan
    assert plan is not None
    (model / "shard-1.bin").unlink()
    joined = join_parts(plan, *(scan_part(model, part, settings.policy) for part in plan.parts))
    assert joined.record["verdict"] == "failed" and joined.record["exit_code"] == 2
    assert "its files changed while it was scanned in parts" in joined.record["error"]
    assert joined.report_text is None
