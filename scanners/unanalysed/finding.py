"""The one finding every unanalysed format gets, and how each format describes itself in it."""

from __future__ import annotations

from dataclasses import dataclass

from aisbom.scanners.frame.context import ScanContext
from aisbom.severity import Severity


@dataclass(frozen=True)
class Unanalysed:
    """A model format aisbom recognises and does not analyse."""

    name: str  # what the file is, in words: "Core ML model specification"
    loading: str  # what loading it can do, where that is known
    # The rule's medium, raised where the file itself can carry code its loader runs.
    severity: Severity = Severity.MEDIUM


def report_not_analysed(ctx: ScanContext, fmt: Unanalysed, detail: str = "") -> None:
    """Report `fmt` as recognised and not analysed; `detail` (a version, a model type) is what the
    recogniser could read of the file without analysing it."""
    what = f"{fmt.name} ({detail})" if detail else fmt.name
    ctx.report(
        "format-not-analysed",
        f"{what}: recognised, not analysed by aisbom; {fmt.loading}",
        severity=fmt.severity,
        evidence={"format": fmt.name, **({"detail": detail} if detail else {})},
    )
