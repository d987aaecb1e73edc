"""A large local target in parts: its files, in the order the walk gives them, cut into slices of
at most `part_bytes` bytes and PART_FILES files, each scanned by a task of its own, then joined
(batch/job.py, join_parts) into the report the whole target would have had. Each file's result
depends on that file alone (pipeline.scan_target scans them one by one), so a slice scanned apart
gives the same results as inside the whole scan.

Only local paths split: every task must reach the files, and a remote target is copied into the
cache of the one node that resolved it.
"""

from __future__ import annotations

from pathlib import Path

from aisbom.batch import PART_FILES
from aisbom.errors import AisbomError
from aisbom.inventory import walk
from aisbom.pipeline import FileResult, scan_target
from aisbom.policy import Policy

Part = tuple[str, ...]  # relative paths of the files of one part, in walk order


def partition(path: Path, part_bytes: int) -> tuple[Part, ...]:
    """The parts of a directory (one part when it is small, or is a single file). Raises
    TargetError when the target cannot be walked."""
    if not path.is_dir():
        return ()
    parts: list[Part] = []
    current: list[str] = []
    size = 0
    for entry in walk(path)[1]:
        if current and (size + entry.size > part_bytes or len(current) >= PART_FILES):
            parts.append(tuple(current))
            current, size = [], 0
        current.append(entry.path)
        size += entry.size
    if current:
        parts.append(tuple(current))
    return tuple(parts)


def scan_part(path: Path, part: Part, policy: Policy) -> tuple[FileResult, ...]:
    """The results of the files of one part, as the whole scan gives them. A file that went away
    since the target was cut into parts is missing from the answer (the join notices)."""
    wanted = frozenset(part)
    try:
        report = scan_target(path, policy=policy, select=wanted.__contains__)
    except AisbomError:  # the target itself went away: the join says it changed
        return ()
    return report.files
