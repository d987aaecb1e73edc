"""A text argument with no newline for a long stretch: a protocol-0 opcode that reads a line
(PERSID "P", FLOAT "F", GLOBAL "c" ...) as the first byte of a large file that is no pickle, as
one safetensors file in about 28 starts (its header length's low byte). The pickle test reads on
to the newline, as the loaders do, but the file must not end up mapped into the process."""

from __future__ import annotations

import mmap
import subprocess
import sys
from pathlib import Path

import pytest

from aisbom.scanners.pickles import engine

PEAK_RSS = """
import mmap, resource, sys
from aisbom.scanners.pickles.engine import looks_like_pickle
with open(sys.argv[1], "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    answer = looks_like_pickle(data)
    print(answer, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


@pytest.mark.parametrize(
    "opcode, runs_as_pickle",
    [
        (b"P", "False"),  # truncated: no loader acts on it
        (b"S", "False"),
        (b"c", "True"),  # a GLOBAL name too long to decode counts as one computed at load time
    ],
)
def test_a_line_without_end_is_searched_in_bounded_memory(
    tmp_path: Path, opcode: bytes, runs_as_pickle: str
) -> None:
    path = tmp_path / "model.safetensors"
    size = 96 << 20
    with path.open("wb") as f:
        f.write(opcode + b"\x05\x00\x00\x00\x00\x00\x00{}")
        f.truncate(size)  # zeros: no newline anywhere
    run = [sys.executable, "-c", PEAK_RSS, str(path)]
    answer, grown_mib = subprocess.run(run, capture_output=True, text=True, check=True).stdout.split()
    assert answer == runs_as_pickle
    assert int(grown_mib) < 32, f"{grown_mib} MiB of a {size >> 20} MiB file were mapped into the process"


def _mapped(tmp_path: Path, content: bytes) -> mmap.mmap:
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    with path.open("rb") as f:
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


@pytest.mark.parametrize("where", [None, 0, 4095, 4096, (1 << 20) - 1, 1 << 20, (3 << 20) + 5, (5 << 20) - 1])
def test_the_stepped_search_finds_what_find_finds(tmp_path: Path, monkeypatch, where: int | None) -> None:
    monkeypatch.setattr(engine, "_NEWLINE_STEP", 1 << 20)
    monkeypatch.setattr(engine, "_last_search", None)
    content = bytearray(5 << 20)
    if where is not None:
        content[where] = 0x0A
    data = _mapped(tmp_path, bytes(content))
    try:
        for start in (0, 1, 4096, (2 << 20) + 3):
            assert engine._find_newline(data, start) == data.find(b"\n", start)
    finally:
        data.close()


def test_the_second_reading_of_a_line_reuses_the_search_of_the_same_mapping_only(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(engine, "_NEWLINE_STEP", 1 << 20)
    monkeypatch.setattr(engine, "_last_search", None)
    first = _mapped(tmp_path, b"\x00" * (4 << 20) + b"\n")
    other_path = tmp_path / "other.bin"
    other_path.write_bytes(b"\x00" * (3 << 20) + b"\n" + b"\x00" * (1 << 20))
    with other_path.open("rb") as f:
        other = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        assert engine._find_newline(first, 0) == 4 << 20
        assert engine._find_newline(first, 10) == 4 << 20  # within the line searched
        assert engine._find_newline(other, 0) == 3 << 20  # another mapping: searched afresh
    finally:
        first.close()
        other.close()


def test_a_long_literal_is_parsed_once_per_mapping_for_every_reading(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(engine, "_literals", None)
    content = b"F" + b"1" * (engine._LONG_LITERAL + 10) + b"\n."
    first, other = _mapped(tmp_path, content), None
    try:
        c_run = engine.run_pickle(first)
        outcome = engine._literals
        py_run = engine.run_pickle(first, reading=engine.Reading.PY)
        assert engine._literals is outcome and outcome is not None and outcome[0] is first
        assert "too large" in (c_run.error or "") and py_run.end == len(content)  # OverflowError; inf
        other_path = tmp_path / "other.bin"
        other_path.write_bytes(content)
        with other_path.open("rb") as f:
            other = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        engine.run_pickle(other)
        assert engine._literals is not None and engine._literals[0] is other  # another mapping: afresh
        engine.run_pickle(content)  # bytes are not kept
        assert engine._literals[0] is other
    finally:
        first.close()
        if other is not None:
            other.close()
