"""The human report: the verdict first and last, one line per file, and under each finding what
it means and what to do (the rule's one-line why and remedy, aisbom/rules.py).

Above `LIST_CLEAN_UP_TO` files, clean files are counted, not listed (`--show-clean` lists them);
`--quiet` prints only the verdict and the failing findings. Every name and message in it comes
from the files scanned: each goes through `terminal_text.shown`, so none can move the cursor or
add a line.
"""

from __future__ import annotations

from collections.abc import Callable

from aisbom.findings import Finding
from aisbom.formats.interface import FormatOptions, ReportFormat
from aisbom.pipeline import FileResult, ScanReport
from aisbom.rules import RULES
from aisbom.severity import Severity
from aisbom.terminal_text import shown
from aisbom.wording import counted

# Up to this many files, every file has its line; above it, clean files are one line in all.
LIST_CLEAN_UP_TO = 200

_COLORS = {
    Severity.CRITICAL: "red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "bright_black",
}
_VERDICT_COLORS = {"CLEAN": "green", "UNSAFE": "red", "ERROR": "yellow"}

Style = Callable[..., str]


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
        import click  # already imported by the CLI; keeps this module usable without a terminal

        def style(text: str, fg: str, bold: bool = False) -> str:
            return click.style(text, fg=fg, bold=bold) if options.color else text

        if options.quiet:
            return _quiet(report, style)
        return _render(report, style, verbose=options.verbose, show_clean=options.show_clean)


def _quiet(report: ScanReport, style: Style) -> str:
    lines = [f"{shown(report.target)}: {_result_line(report, style)}"]
    for finding in report.failing():
        lines += _finding_lines(finding, style, with_path=True)
    for file in report.unread:
        lines.append(f"  {style('ERROR   ', 'yellow', bold=True)} {shown(file.path)}: could not be read")
    return "\n".join(lines) + "\n"


def _render(report: ScanReport, style: Style, *, verbose: bool, show_clean: bool) -> str:
    total = sum(f.size or 0 for f in report.files)
    excluded = f"; {len(report.excluded)} excluded by --include/--exclude" if report.excluded else ""
    lines = [
        f"aisbom {report.tool_version}: {shown(report.target)} "
        f"({counted(len(report.files), 'file')}, {_size(total)}{excluded})",
        _result_line(report, style),
    ]
    if report.files:
        lines.append("")
    shown_floor = Severity.INFO if verbose else Severity.LOW
    collapse = not show_clean and len(report.files) > LIST_CLEAN_UP_TO
    collapsed = 0
    for file in report.files:
        findings = [f for f in file.findings if f.severity >= shown_floor]
        if collapse and file.readable and not findings and not file.silenced:
            collapsed += 1
            continue
        lines.append(_file_line(file, report, style))
        for finding in sorted(findings, key=lambda f: (-f.severity, f.offset or 0)):
            lines += _finding_lines(finding, style, with_path=False)
    if collapsed:
        lines.append(
            f"  {style('ok    ', 'green')} {counted(collapsed, 'clean file')} not listed (--show-clean)"
        )
    lines += _allow_files(report, style)
    if report.files:
        lines.append("")
        if not report.hashed:
            lines.append(
                "No file was hashed (--no-hash): nothing here may stand for a BOM, lock or signature."
            )
        if report.incomplete and report.error is None:
            lines.append("Some content could not be fully analysed: the scan cannot be called clean.")
        lines.append(_result_line(report, style))  # the verdict last, as first
    return "\n".join(lines) + "\n"


def _result_line(report: ScanReport, style: Style) -> str:
    counts = report.counts()
    summary = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
    if report.silenced:
        summary += f"{'; ' if summary else ''}{len(report.silenced)} silenced by --allow"
    outcome = report.verdict.upper()
    result = f"Result: {style(outcome, _VERDICT_COLORS[outcome], bold=True)}"
    if report.error is not None:
        result += f": {report.error}"
    if any(f.readable for f in report.files):
        result += (
            (f" ({summary})" if summary else " (no findings)")
            + f"; failing at {report.policy.fail_on.label} or above"
            + ("; --strict" if report.policy.strict else "")
        )
    return result


def _finding_lines(finding: Finding, style: Style, *, with_path: bool) -> list[str]:
    where = []
    if finding.member:
        where.append(f"in {shown(finding.member)}")
    if finding.offset is not None:
        where.append(f"at offset {finding.offset}")
    suffix = f" ({', '.join(where)})" if where else ""
    label = style(f"{finding.severity.label.upper():8}", _COLORS[finding.severity], bold=True)
    path = f"{shown(finding.path)}: " if with_path else ""
    lines = [f"    {label} {path}{finding.rule}: {shown(finding.message)}{suffix}"]
    evidence = dict(finding.evidence)
    if "call" in evidence:
        lines.append(f"             call: {shown(evidence['call'])}")
    rule = RULES[finding.rule]
    lines.append(f"             why: {rule.brief_why} — fix: {rule.remedy}")
    return lines


def _allow_files(report: ScanReport, style: Style) -> list[str]:
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


def _file_line(file: FileResult, report: ScanReport, style: Style) -> str:
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
