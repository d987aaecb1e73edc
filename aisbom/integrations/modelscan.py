"""aisbom's engine inside modelscan: a modelscan scanner class that its settings file can enable.

`aisbom integrations modelscan-settings -o modelscan-settings.toml` writes modelscan's own
default settings with this scanner enabled for every model extension modelscan knows (and those
it does not: .safetensors, .onnx, .gguf ...), and modelscan's own scanners disabled (aisbom reads
every format they read, by content; two scanners would report each payload twice).
Then `modelscan -p MODEL --settings-file modelscan-settings.toml` reports aisbom's findings in
modelscan's report formats, with modelscan's severities (aisbom's info findings are left out:
modelscan has no such level).

This module imports modelscan, so it is imported only by modelscan (the settings name it) and by
`modelscan_settings()`; aisbom itself never needs it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from modelscan.issues import Issue, IssueCode, IssueDetails, IssueSeverity
from modelscan.model import Model
from modelscan.scanners.scan import ScanBase, ScanResults

from aisbom.api import scan
from aisbom.findings import Finding
from aisbom.severity import Severity

SCANNER = "aisbom.integrations.modelscan.AisbomScan"
# Files modelscan hands to this scanner: its own model extensions and the formats it does not read.
EXTENSIONS = [
    ".pkl", ".pickle", ".joblib", ".dill", ".dat", ".data", ".bin", ".pt", ".pth", ".ckpt", ".npy",
    ".h5", ".keras", ".pb", ".safetensors", ".onnx", ".gguf", ".tflite", ".ptl", ".mar", ".msgpack",
]  # fmt: skip


class AisbomIssueDetails(IssueDetails):
    """One aisbom finding, as modelscan's reports print and serialise it."""

    def __init__(self, finding: Finding, source: str, scanner: str = "") -> None:
        super().__init__(scanner)
        self.finding = finding
        self.source = source

    def output_lines(self) -> list[str]:
        finding = self.finding
        where = f" (in {finding.member})" if finding.member else ""
        return [
            f"Description: aisbom {finding.rule}: {finding.message}{where}",
            f"Source: {self.source}",
        ]

    def output_json(self) -> dict[str, str]:
        finding = self.finding
        return {
            "description": f"aisbom {finding.rule}: {finding.message}",
            "rule": finding.rule,
            "operator": dict(finding.evidence).get("global", finding.rule),
            "module": "aisbom",
            "source": str(self.source),
            "scanner": self.scanner,
            "severity": finding.severity.name,
        }


class AisbomScan(ScanBase):
    @staticmethod
    def name() -> str:
        return "aisbom"

    @staticmethod
    def full_name() -> str:
        return SCANNER

    def scan(self, model: Model) -> ScanResults | None:
        settings = self._settings["scanners"].get(SCANNER, {})
        source = model.get_source()
        if source.suffix.lower() not in settings.get("supported_extensions", EXTENSIONS):
            return None
        if source.is_file():
            report = scan(source)
        else:  # a member modelscan took out of a zip: its bytes, scanned as a file of their own
            with tempfile.TemporaryDirectory() as folder:
                copy_path = Path(folder) / source.name
                copy_path.write_bytes(model.get_stream().read())
                report = scan(copy_path)
        issues = [
            Issue(
                IssueCode.UNSAFE_OPERATOR, IssueSeverity[f.severity.name], AisbomIssueDetails(f, str(source))
            )
            for f in report.findings
            if f.severity >= Severity.LOW
        ]
        return self.label_results(ScanResults(issues, [], []))


def modelscan_settings() -> str:
    """modelscan's default settings (its DEFAULT_SETTINGS, as a settings file) with AisbomScan
    enabled and the scanners it replaces off."""
    import tomlkit
    from modelscan.settings import DEFAULT_SETTINGS

    settings = _plain(DEFAULT_SETTINGS)
    for name in settings["scanners"]:
        settings["scanners"][name]["enabled"] = False
    # Its format-by-extension middleware serves only its own scanners (and cannot read back the
    # format table a file holds); aisbom decides formats by content.
    settings["middlewares"] = {}
    settings["scanners"][SCANNER] = {"enabled": True, "supported_extensions": list(EXTENSIONS)}
    return "# modelscan settings, with aisbom's scanner (aisbom integrations modelscan-settings)\n\n" + (
        tomlkit.dumps(settings)
    )


def _plain(value: Any) -> Any:
    """The settings as TOML holds them: modelscan keys its format table by Property objects,
    named in a file by their value ("pickle", "pytorch" ...)."""
    if isinstance(value, dict):
        return {str(getattr(k, "value", k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
