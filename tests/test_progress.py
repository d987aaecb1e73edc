"""Progress on a terminal advances by the bytes read inside large files, with the total, the
throughput and the time left, and costs no redraw per file or per chunk.

Large files are hashed in child processes (aisbom.forked): what a child has hashed so far
reaches the parent's bar through shared memory. `pipeline.between_passes` runs in that child
once the file is hashed and before it is judged, so a test can ask there what the bar would
show while the file is not yet finished.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from aisbom import pipeline
from tests.test_terminal_report import ANSI, _on_a_terminal

MIB = 1 << 20


class Watcher:
    """A progress display as the scan sees one (pipeline.ByteWatcher)."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.inside: Callable[[], int] = lambda: -1
        self.finished: list[int] = []

    def __call__(self, size: int) -> None:
        self.finished.append(size)

    def expect(self, total: int, inside: Callable[[], int]) -> None:
        self.total = total
        self.inside = inside


def test_the_bytes_hashed_inside_an_unfinished_large_file_count(tmp_path: Path, hook) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(os.urandom(20 * MIB + 123))  # hashed in 8 MiB steps
    (model / "config.json").write_bytes(b'{"a": 1}')
    seen = tmp_path / "seen"
    watcher = Watcher()

    def note(path: str) -> None:  # in the child, the file hashed and not yet finished
        if path == "weights.bin":
            seen.write_text(f"{watcher.inside()} {len(watcher.finished)}")

    hook(note)
    report = pipeline.scan_target(model, progress=watcher)
    assert report.exit_code == 0
    inside, finished = map(int, seen.read_text().split())
    assert (inside, finished) == (20 * MIB + 123, 0)  # every byte of it, before it finished
    assert watcher.total == 20 * MIB + 123 + 8
    assert sorted(watcher.finished) == [8, 20 * MIB + 123]
    assert watcher.inside() == 0  # once finished, its bytes count as a finished file's


def test_a_plain_callable_is_still_told_each_finished_file(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(os.urandom(2 * MIB))
    (tmp_path / "b.txt").write_bytes(b"hello")
    sizes: list[int] = []
    pipeline.scan_target(tmp_path, progress=sizes.append)
    assert sorted(sizes) == [5, 2 * MIB]


@pytest.fixture
def no_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


def test_on_a_terminal_the_bar_gives_the_total_and_the_time_left_and_redraws_at_its_pace(
    tmp_path: Path, no_no_color: None
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(os.urandom(24 * MIB))
    for i in range(400):
        (model / f"{i:03d}.txt").write_bytes(b"x" * 100)
    started = time.monotonic()
    code, seen = _on_a_terminal(["scan", str(model)], {})
    elapsed = time.monotonic() - started
    assert code == 0
    frames = [ANSI.sub("", frame) for frame in re.split(r"[\r\n]", seen) if "scanning" in frame]
    assert frames, seen
    # The total (24 MiB + 40,000 bytes = 25.2 MB) is known, so the bar has an end and an ETA.
    assert any("/25.2 MB" in frame and "ETA" in frame for frame in frames), frames
    assert any("401 files, 25.2/25.2 MB" in frame for frame in frames), frames
    # Four redraws a second at most (and one at the start and the end), never one per file.
    assert len(frames) <= 4 * elapsed + 4, (len(frames), elapsed)
