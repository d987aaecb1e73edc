"""The CycloneDX AI-BOM of a scan (`scan --format cyclonedx`). Built and checked by aisbom.bom;
see docs/bom.md for what goes where."""

from __future__ import annotations

from pathlib import Path

from aisbom.formats.interface import FormatOptions, ReportFormat
from aisbom.pipeline import ScanReport


class CycloneDxFormat(ReportFormat):
    def format(self, report: ScanReport, options: FormatOptions) -> str:
        from aisbom.bom.build import BomOptions, render_bom

        target = options.target if options.target is not None else Path(report.target)
        bom_options = BomOptions(
            scanned_at=options.scanned_at, provenance=options.provenance, kind=options.kind
        )
        return render_bom(report, target, bom_options)
