"""The scan step of the GitHub Action (action.yml at the repository's root).

`python -m aisbom.integrations.github_action` scans every path in $AISBOM_PATHS (whitespace
separated) with $AISBOM_FAIL_ON, writes one SARIF file ($AISBOM_SARIF, a run per path) for code
scanning, a job summary to $GITHUB_STEP_SUMMARY (the verdict, counts per path, the top failing
findings with why and fix), and `verdict`, `exit-code`, `failing` and `sarif` to $GITHUB_OUTPUT.
It exits 0 once those are written, so the SARIF is uploaded whatever the verdict; the action's
last step fails the job on `exit-code`. Nothing is sent anywhere by this step.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from aisbom.api import ScanReport, scan
from aisbom.errors import AisbomError
from aisbom.findings import Finding
from aisbom.formats.sarif import sarif_dict
from aisbom.rules import RULES
from aisbom.severity import ExitCode

TOP_FINDINGS = 10
_VERDICTS = {ExitCode.CLEAN: "clean", ExitCode.UNSAFE: "unsafe", ExitCode.ERROR: "error"}


def main() -> int:
    paths = os.environ.get("AISBOM_PATHS", ".").split()
    fail_on = os.environ.get("AISBOM_FAIL_ON", "high")
    sarif_path = Path(os.environ.get("AISBOM_SARIF", "aisbom.sarif"))
    reports: list[ScanReport] = []
    errors: list[str] = []
    for path in paths:
        try:
            reports.append(scan(path, fail_on=fail_on))
        except AisbomError as exc:
            errors.append(str(exc))
            print(f"aisbom: error: {exc}", file=sys.stderr)
    worst = max([r.exit_code for r in reports] + [ExitCode.ERROR] * bool(errors), default=ExitCode.ERROR)
    _write_sarif(sarif_path, reports)
    failing = sum(len(r.failing()) for r in reports)
    _append(
        "GITHUB_OUTPUT",
        f"verdict={_VERDICTS[worst]}\nexit-code={int(worst)}\nfailing={failing}\nsarif={sarif_path}\n",
    )
    _append("GITHUB_STEP_SUMMARY", summary(reports, errors, worst))
    print(f"aisbom: {_VERDICTS[worst].upper()} ({len(paths)} path(s), {failing} failing finding(s))")
    return 0


def summary(reports: list[ScanReport], errors: list[str], worst: ExitCode) -> str:
    """The job summary, in GitHub-flavoured Markdown; every name from the files is escaped."""
    icon = {ExitCode.CLEAN: "✅", ExitCode.UNSAFE: "❌", ExitCode.ERROR: "⚠️"}[worst]
    lines = [f"## {icon} aisbom: {_VERDICTS[worst].upper()}", ""]
    lines += ["| path | verdict | files | critical | high | medium | low |", "|---|---|---|---|---|---|---|"]
    for report in reports:
        counts = report.counts()
        lines.append(
            f"| {_md(report.target)} | {report.verdict} | {len(report.files)} | {counts['critical']} "
            f"| {counts['high']} | {counts['medium']} | {counts['low']} |"
        )
    for error in errors:
        lines.append(f"| {_md(error)} | error | | | | | |")
    failing = sorted(
        ((r, f) for r in reports for f in r.failing()), key=lambda rf: (-rf[1].severity, rf[1].path)
    )
    if failing:
        lines += ["", f"### Top findings ({min(len(failing), TOP_FINDINGS)} of {len(failing)})", ""]
        lines += ["| severity | file | rule | what was seen | fix |", "|---|---|---|---|---|"]
        lines += [_finding_row(report, finding) for report, finding in failing[:TOP_FINDINGS]]
    policy = reports[0].policy if reports else None
    if policy is not None:
        lines += ["", f"Failing at **{policy.fail_on.label}** or above. `aisbom rules RULE` explains a rule."]
    return "\n".join(lines) + "\n"


def _finding_row(report: ScanReport, finding: Finding) -> str:
    where = finding.path + (f"!{finding.member}" if finding.member else "")
    rule = RULES[finding.rule]
    return (
        f"| {finding.severity.label} | {_md(where)} | `{finding.rule}` | {_md(finding.message)} "
        f"| {_md(rule.remedy)} |"
    )


def _md(text: str) -> str:
    """Text from a file as one Markdown table cell: no markup, links, images or HTML."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]()!|#~])", r"\\\1", text)


def _write_sarif(path: Path, reports: list[ScanReport]) -> None:
    if not reports:
        return
    document = sarif_dict(reports[0])
    for report in reports[1:]:
        document["runs"] += sarif_dict(report)["runs"]
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _append(variable: str, text: str) -> None:
    target = os.environ.get(variable)
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    sys.exit(main())
