"""The batch LIST: one target per line; blank lines and `#` comments are skipped, a repeated target is
scanned once (and the repeat noted), surrounding spaces are not part of a target."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TargetList:
    targets: tuple[str, ...]  # in the order of their first line
    notes: tuple[str, ...]  # one line each, for stderr: what was skipped and why


def read_targets(text: str, source: str) -> TargetList:
    """The targets of LIST `text` (read from `source`, named in the notes)."""
    first_line: dict[str, int] = {}
    notes: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "\x00" in line:
            notes.append(f"{source}:{number}: a NUL byte cannot be part of a target; line skipped")
            continue
        if line in first_line:
            notes.append(f"{source}:{number}: repeats line {first_line[line]}; scanned once")
            continue
        first_line[line] = number
    return TargetList(tuple(first_line), tuple(notes))
