"""Severities and exit codes: the one place that orders them."""

from __future__ import annotations

import enum


class Severity(enum.IntEnum):
    """How bad a finding is. Ordered, so thresholds compare with >=."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None


class ExitCode(enum.IntEnum):
    """Process exit codes of every aisbom command."""

    CLEAN = 0  # every file read and analysed, nothing at or above the fail threshold
    # A finding at or above the fail threshold, part of the target not fully analysed, or a
    # verification mismatch.
    UNSAFE = 1
    # Usage error; the target or a file in it could not be read (whatever the threshold);
    # nothing to scan.
    ERROR = 2
