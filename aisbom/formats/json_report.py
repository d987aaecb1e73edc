"""The JSON scan report. Its shape is versioned and documented in docs/report-format.md."""

from __future__ import annotations

import aisbom.json_text as json_text
from aisbom.formats.interface import FormatOptions, ReportFormat
from aisbom.pipeline import ScanReport

SCHEMA_VERSION = "1.0"


class JsonFormat(ReportFormat):
    def format(self, report: ScanReport, options: FormatOptions) -> str:
        return json_text.dumps(report_dict(report))


def report_dict(report: ScanReport) -> dict[str, object]:
    files = []
    for file in report.files:
        files.append(
            {
                "path": file.path,
                "size": file.size,
                "sha256": file.sha256,
                "format": file.format,
                "findings": [f.to_dict() for f in file.findings] if file.findings else [],
                "silenced": [f.to_dict() for f in file.silenced] if file.silenced else [],
            }
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "aisbom", "version": report.tool_version},
        "target": report.target,
        "policy": {
            "fail_on": report.policy.fail_on.label,
            "strict": report.policy.strict,
            "extra_allowed": sorted(f"{m}:{n}" for m, n in report.policy.extra_allowed),
            "allow_files": [
                {
                    "path": f.path,
                    "sha256": f.sha256,
                    "entries": sorted(f"{m}:{n}" for m, n in f.entries),
                    "silenced": sum(1 for x in report.silenced if x.silenced_by == f.path),
                }
                for f in report.policy.allow_files
            ],
            "allow_dangerous": report.policy.allow_dangerous,
        },
        "summary": {
            "hashed": report.hashed,
            "files": len(report.files),
            "bytes": sum(f.size or 0 for f in report.files),
            "findings": report.counts(),
            "failing": len(report.failing()),
            "silenced": len(report.silenced),
            "complete": not report.incomplete,
            "verdict": report.verdict,
            "error": report.error,
            "exit_code": int(report.exit_code),
        },
        "files": files,
        "excluded": list(report.excluded),
    }
