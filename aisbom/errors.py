"""Typed errors. The CLI turns each into one readable line and an exit code."""

from __future__ import annotations


class AisbomError(Exception):
    """Base class: an error aisbom can explain to the user."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        message = super().__str__()
        return f"{self.path}: {message}" if self.path else message


class UsageError(AisbomError):
    """The user asked for something that cannot be done (bad option, bad allowlist file)."""


class TargetError(AisbomError):
    """The scan target itself cannot be read (missing, not a file or directory, no permission)."""
