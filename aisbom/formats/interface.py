"""What every output format of a scan is: one `format` of a finished ScanReport to text.

Formats never recompute anything: the verdict, the counts and the findings come from the report.
`FormatOptions` carries what some formats need beyond it; each format reads only its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aisbom.pipeline import ScanReport
    from aisbom.provenance import Provenance


@dataclass(frozen=True)
class FormatOptions:
    """How a report is rendered (colour, detail, provenance)."""

    color: bool = False  # text: ANSI colours, for a terminal
    verbose: bool = False  # text: informational findings too
    quiet: bool = False  # text: only the verdict and the failing findings
    show_clean: bool = False  # text: list every clean file, however many there are
    # cyclonedx: the scanned files on this machine (model card, config), when and where they came
    # from, and what the target is ("model" or "dataset").
    target: Path | None = None
    scanned_at: datetime | None = None
    provenance: Provenance | None = None
    kind: str = "model"


class ReportFormat(ABC):
    @abstractmethod
    def format(self, report: ScanReport, options: FormatOptions) -> str:
        """The whole document, ending with a newline. May raise AisbomError (a BOM that does not
        validate)."""
