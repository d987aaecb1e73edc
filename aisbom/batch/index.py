"""DIR/index.jsonl and DIR/reports/: what a batch run leaves behind, written so that an interrupted
run loses at most the targets in flight.

Each finished target appends one JSON line to the index with a single write(2) to a file opened
O_APPEND, then fsync: a line is in the index whole or not at all (a write the disk could not
finish is cut off again, and a torn last line from a crash is ignored on reading). The report
and BOM of a target are written to a temporary name and renamed into place before its index line
is appended, so a line always points at complete files. The last line of a target wins.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

INDEX = "index.jsonl"
REPORTS = "reports"
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def read_index(out_dir: Path) -> tuple[dict[str, dict[str, Any]], int]:
    """The last record of each target in DIR/index.jsonl, and how many lines could not be read
    (a line torn by a crash, or edited by hand): those targets are scanned again."""
    latest: dict[str, dict[str, Any]] = {}
    unreadable = 0
    for line in _lines(out_dir / INDEX):
        try:
            record = json.loads(line)
        except ValueError:
            unreadable += 1
            continue
        if isinstance(record, dict) and isinstance(record.get("target"), str):
            latest[record["target"]] = record
        else:
            unreadable += 1
    return latest, unreadable


def _lines(path: Path) -> Iterator[str]:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.strip():
                    yield line
    except FileNotFoundError:
        return


def append_record(out_dir: Path, record: dict[str, Any]) -> None:
    """Append one line, whole or not at all. Raises OSError (disk full ...)."""
    line = (json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(out_dir / INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        start = os.fstat(fd).st_size
        try:
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(28, "No space left on device (index line cut short)")
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, start)  # no torn line for the next run to stumble on
            raise
    finally:
        os.close(fd)


def report_names(target: str) -> tuple[str, str]:
    """Paths (relative to DIR) of a target's JSON report and BOM: a readable part of the target
    and a digest of all of it, so that two targets never share a file."""
    readable = _UNSAFE_CHARS.sub("_", target.split("://", 1)[-1]).strip("._")[-60:] or "target"
    stem = f"{readable}-{hashlib.sha256(target.encode('utf-8', 'surrogateescape')).hexdigest()[:12]}"
    return f"{REPORTS}/{stem}.json", f"{REPORTS}/{stem}.cdx.json"


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename it into place. Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
