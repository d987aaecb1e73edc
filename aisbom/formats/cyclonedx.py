"""The CycloneDX AI-BOM of a scan (`scan --format cyclonedx`). Built and checked by aisbom.bom;
see docs/bom.md for what goes where."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aisbom.pipeline import ScanReport

if TYPE_CHECKING:
    from aisbom.bom.provenance import Provenance


def render(
    report: ScanReport,
    target: Path,
    *,
    scanned_at: datetime | None = None,
    spec_version: str = "1.6",
    provenance: Provenance | None = None,
    kind: str = "model",
) -> str:
    from aisbom.bom.build import BomOptions, render_bom

    options = BomOptions(spec_version=spec_version, scanned_at=scanned_at, provenance=provenance, kind=kind)
    return render_bom(report, target, options)
