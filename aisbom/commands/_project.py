"""What the project commands (add, status, lock, remove, audit) share: --project, the fetch
options for remote sources, one-line errors, and how an outcome is printed."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from aisbom.severity import ExitCode
from aisbom.terminal_text import shown

if TYPE_CHECKING:
    from aisbom.project.acquire import FetchOptions
    from aisbom.project.audit import AuditEvent
    from aisbom.project.workspace import Outcome, Result

F = TypeVar("F", bound=Callable[..., Any])

project_option = click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The project directory (holding aisbom.toml). Default: the nearest one at or above the "
    "current directory, as git finds its repository.",
)

format_option = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)


def fetch_options(command: F) -> F:
    """--cache-dir and --allow-http, for remote sources (hf://, https://)."""
    command = click.option(
        "--allow-http",
        is_flag=True,
        help="Allow plain http:// sources (default: https only).",
    )(command)
    return click.option(
        "--cache-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where remote sources are downloaded (default: the sources' own cache).",
    )(command)


def make_fetch(cache_dir: Path | None, allow_http: bool) -> FetchOptions:
    from aisbom.project.acquire import FetchOptions

    return FetchOptions(cache_dir=cache_dir, allow_http=allow_http)


def fail(exc: Exception) -> NoReturn:
    from aisbom.errors import AisbomError

    text = str(exc) if isinstance(exc, AisbomError) else f"{type(exc).__name__}: {exc}"
    click.echo(f"aisbom: error: {shown(text)}", err=True)
    sys.exit(ExitCode.ERROR)


def warn(lines: list[str] | tuple[str, ...]) -> None:
    for line in lines:
        click.echo(f"aisbom: warning: {shown(line)}", err=True)


def short(sha: str | None) -> str:
    return sha[:12] if sha else "-"


def outcome_lines(outcome: Outcome, verbose_report: bool) -> list[str]:
    """One line per asset; the full scan report when it was refused."""
    from aisbom.formats.interface import FormatOptions
    from aisbom.formats.text import TextFormat

    report = outcome.report
    lines = []
    if verbose_report and report is not None:
        lines.append(TextFormat().format(report, FormatOptions()).rstrip("\n"))
    files = f"{len(report.files)} file{'s' if len(report.files) != 1 else ''}" if report else ""
    detail = "; ".join(shown(x) for x in (files, outcome.message) if x)
    lines.append(
        f"{outcome.action:9} {outcome.kind:7} {shown(outcome.name)}" + (f"  ({detail})" if detail else "")
    )
    lines += [f"          warning: {shown(w)}" for w in outcome.warnings]
    return lines


def event_line(event: AuditEvent) -> str:
    where = f"{event.asset}/{event.file}" if event.file else event.asset
    return shown(
        f"{event.time}  {event.event:8} {event.kind:7} {where}  "
        f"{short(event.old_sha256)} -> {short(event.new_sha256)}  ({event.command}"
        + (f", {event.who}" if event.who else "")
        + ")"
    )


def result_json(result: Result, **extra: Any) -> str:
    doc = {
        **extra,
        "assets": [
            {
                "name": o.name,
                "kind": o.kind,
                "action": o.action,
                "message": o.message or None,
                "warnings": list(o.warnings),
                "scan": _scan_summary(o),
            }
            for o in result.outcomes
        ],
        "audit_events": [e.to_json() for e in result.events],
        "warnings": result.warnings,
        "exit_code": int(result.exit_code),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _scan_summary(outcome: Outcome) -> dict[str, Any] | None:
    if outcome.report is None:
        return None
    from aisbom.formats.json_report import report_dict

    return report_dict(outcome.report)
