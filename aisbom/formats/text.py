"""The human report: one line per file, details only where something was found.

Every name and message in it comes from the files scanned: each goes through
`terminal_text.shown`, so none can move the cursor or add a line.
"""

from __future__ import annotations

from aisbom.formats.interface import FormatOptions, ReportFormat
from aisbom.pipeline import FileResult, ScanReport
from aisbom.severity import Severity
from aisbom.terminal_text import shown
from aisbom.wording import counted

_COLORS = {
    Severity.CRITICAL: "red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "bright_black",
}


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


class TextFormat(ReportFormat):
    def format(self, report: ScanReport, options: FormatOptions) -> str:
        return _render(report, color=options.color, verbose=options.verbose)


def _render(report: ScanReport, *, color: bool, verbose: bool) -> str:
    import click  # already imported by the CLI; keeps this module usable without a terminal

    def style(text: str, fg: str, bold: bool = False) -> str:
        return click.style(text, fg=fg, bold=bold) if color else text

    total = sum(f.size or 0 for f in report.files)
    lines = [
        f"aisbom {report.tool_version}: {shown(report.target)} "
        f"({counted(len(report.files), 'file')}, {_size(total)})",
        "",
    ]
    shown_floor = Severity.INFO if verbose else Severity.LOW
    for file in report.files:
        lines.append(_file_line(file, report, style))
        for finding in sorted(file.findings, key=lambda f: (-f.severity, f.offset or 0)):
            if finding.severity < shown_floor:
                continue
            where = []
            if finding.member:
                where.append(f"in {shown(finding.member)}")
            if finding.offset is not None:
                where.append(f"at offset {finding.offset}")
            suffix = f" ({', '.join(where)})" if where else ""
            label = style(f"{finding.severity.label.upper():8}", _COLORS[finding.severity], bold=True)
            lines.append(f"    {label} {finding.rule}: {shown(finding.message)}{suffix}")
            evidence = dict(finding.evidence)
            if "call" in evidence:
                lines.append(f"             call: {shown(evidence['call'])}")
    lines += _allow_files(report, style)
    counts = report.counts()
    summary = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
    if report.silenced:
        summary += f"{'; ' if summary else ''}{len(report.silenced)} silenced by --allow"
    outcome = report.verdict.upper()
    outcome_color = {"CLEAN": "green", "UNSAFE": "red", "ERROR": "yellow"}[outcome]
    result = f"Result: {style(outcome, outcome_color, bold=True)}"
    if report.error is not None:
        result += f": {report.error}"
    if any(f.readable for f in report.files):
        result += (
            (f" ({summary})" if summary else " (no findings)")
            + f"; failing at {report.policy.fail_on.label} or above"
            + ("; --strict" if report.policy.strict else "")
        )
    lines += ["", result] if report.files else [result]
    if not report.hashed:
        lines.append("No file was hashed (--no-hash): nothing here may stand for a BOM, lock or signature.")
    if report.incomplete and report.error is None:
        lines.append("Some content could not be fully analysed: the scan cannot be called clean.")
    return "\n".join(lines) + "\n"


def _allow_files(report: ScanReport, style) -> list[str]:  # type: ignore[no-untyped-def]
    """Every allow file in force, and each finding it silenced: an allow file never hides a
    finding unseen."""
    policy = report.policy
    if not policy.allow_files:
        return []
    lines = [""]
    if policy.allow_dangerous:
        lines.append("--allow-dangerous: allow files may silence known code-execution gadgets")
    for allow_file in policy.allow_files:
        silenced = [f for f in report.silenced if f.silenced_by == allow_file.path]
        lines.append(
            f"Allow file {allow_file.path} ({counted(len(allow_file.entries), 'entry', 'entries')}, "
            f"sha256:{allow_file.sha256[:16]}…) silenced {counted(len(silenced), 'finding')}"
            + (":" if silenced else "")
        )
        for finding in silenced:
            label = style(f"{finding.severity.label.upper():8}", _COLORS[finding.severity], bold=True)
            where = f"{finding.path}" + (f" in {finding.member}" if finding.member else "")
            lines.append(f"    {label} {finding.rule} ({where}): {finding.message}")
            if "call" in dict(finding.evidence):
                lines.append(f"             call: {dict(finding.evidence)['call']}")
    return lines


def _file_line(file: FileResult, report: ScanReport, style) -> str:  # type: ignore[no-untyped-def]
    failing = [f for f in file.findings if report.policy.fails(f.severity, f.rule)]
    if not file.readable:
        mark = style("ERROR ", "yellow", bold=True)
    elif failing:
        mark = style("UNSAFE", "red", bold=True)
    elif any(f.severity >= Severity.MEDIUM for f in file.findings):
        mark = style("WARN  ", "yellow")
    else:
        mark = style("ok    ", "green")
    digest = f"sha256:{file.sha256[:16]}…" if file.sha256 else ""
    silenced = f"  ({counted(len(file.silenced), 'finding')} silenced by --allow)" if file.silenced else ""
    return f"  {mark} {shown(file.path)}  [{file.format}, {_size(file.size)}] {digest}".rstrip() + silenced
