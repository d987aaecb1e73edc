"""Findings: frozen values passed from scanners to formats. Formats never recompute them."""

from __future__ import annotations

from dataclasses import dataclass, field

from aisbom.rules import RULES
from aisbom.severity import Severity

MEMBER_SEPARATOR = "!"  # outer.zip!inner.tar!data.pkl, as in jar: URLs


@dataclass(frozen=True)
class Finding:
    """One thing a check saw: its rule, severity, file (and member) and why it matters."""

    rule: str
    severity: Severity
    message: str
    path: str  # file, relative to the scan target, '/'-separated
    members: tuple[str, ...] = ()  # container members, outermost first
    offset: int | None = None  # byte offset inside the innermost object
    evidence: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # The allow file that silenced it: the finding is reported apart, and does not count.
    silenced_by: str | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown rule id {self.rule!r}")

    @property
    def member(self) -> str | None:
        return MEMBER_SEPARATOR.join(self.members) if self.members else None

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity.label,
            "message": self.message,
            "location": {"file": self.path, "member": self.member, "offset": self.offset},
            "evidence": dict(self.evidence),
            **({"silenced_by": self.silenced_by} if self.silenced_by else {}),
        }
