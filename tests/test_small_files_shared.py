"""Many small files are shared between this process and the workers (aisbom.forked), in batches:
the report is the same, file for file and finding for finding, as when one process scans them
all, and a batch whose worker dies is scanned again here, never lost."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from aisbom import pipeline
from aisbom.pipeline import scan_target

from .conftest import FIXTURES


def many_small_files(root: Path) -> None:
    """The pickle fixtures, benign and malicious, among enough small files for several batches."""
    for kind in ("benign", "malicious"):
        shutil.copytree(FIXTURES / kind / "pickle", root / kind)
    for n in range(3 * pipeline._BATCH):
        (root / f"blob-{n:04d}.bin").write_bytes(os.urandom(64 + n))


def as_compared(report: pipeline.ScanReport) -> list[tuple[str, str | None, str, list[tuple[str, str, str]]]]:
    return [
        (f.path, f.sha256, f.format, [(x.rule, x.severity.label, x.message) for x in f.findings])
        for f in report.files
    ]


def test_shared_small_files_give_the_report_one_process_gives(tmp_path: Path) -> None:
    many_small_files(tmp_path)
    alone = scan_target(tmp_path, workers=1)
    shared = scan_target(tmp_path, workers=3)
    assert len(pipeline._batches(list(range(len(alone.files))), 3)) > 2  # they were shared
    assert as_compared(shared) == as_compared(alone)
    assert sum(f.rule == "pickle-dangerous-global" for f in shared.findings) > 10
    assert shared.exit_code == alone.exit_code


def test_a_batch_whose_worker_dies_is_scanned_here(tmp_path: Path, hook) -> None:
    many_small_files(tmp_path)
    alone = scan_target(tmp_path, workers=1)
    parent = os.getpid()
    died = tmp_path.parent / f"{tmp_path.name}-died"

    def die_in_a_worker(path: str) -> None:  # every worker dies on its first file
        if os.getpid() != parent:
            died.write_text(path)
            os._exit(9)

    hook(die_in_a_worker)
    assert as_compared(scan_target(tmp_path, workers=2)) == as_compared(alone)
    assert died.exists()  # a worker did take a batch, and its files were scanned here
