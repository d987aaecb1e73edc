"""`aisbom scan TARGET`: scan a model file or directory before anything loads it."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

import click

from aisbom.errors import AisbomError
from aisbom.policy import Policy, load_allowlist_file
from aisbom.severity import ExitCode, Severity

_FORMATS = ("text", "json", "cyclonedx")


@click.command()
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(_FORMATS), default="text", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to FILE instead of stdout.",
)
@click.option(
    "--fail-on",
    type=click.Choice([s.label for s in Severity if s >= Severity.LOW]),
    default="high",
    show_default=True,
    help="Exit 1 when a finding is at least this severe.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail on anything outside the allowlist, even if only imported or constructed.",
)
@click.option(
    "--allow",
    "allow_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File of extra trusted globals, one 'module:qualname' per line. Repeatable.",
)
@click.option("-v", "--verbose", is_flag=True, help="Also show informational findings.")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal).")
def scan(
    target: Path,
    output_format: str,
    output: Path | None,
    fail_on: str,
    strict: bool,
    allow_files: tuple[Path, ...],
    verbose: bool,
    progress: bool | None,
) -> None:
    """Scan TARGET (a model file or directory) for unsafe serialization.

    Identifies every file by content, hashes it (SHA-256) and analyses pickles and the formats
    that wrap them without loading anything. Exit status: 0 clean, 1 unsafe (or not fully
    analysed), 2 usage or I/O error.
    """
    from aisbom.pipeline import scan_target

    try:
        extra: frozenset[tuple[str, str]] = frozenset()
        for path in allow_files:
            extra |= load_allowlist_file(path)
        policy = Policy(fail_on=Severity.parse(fail_on), strict=strict, extra_allowed=extra)
        show_progress = sys.stderr.isatty() if progress is None else progress
        scanned_at = datetime.now(timezone.utc).replace(microsecond=0)
        with _progress_bar(show_progress) as advance:
            report = scan_target(target, policy=policy, progress=advance)
        if output_format == "cyclonedx":
            from aisbom.formats.cyclonedx import render as render_cyclonedx

            rendered = render_cyclonedx(report, target, scanned_at=scanned_at)
    except AisbomError as exc:
        click.echo(f"aisbom: error: {exc}", err=True)
        sys.exit(ExitCode.ERROR)

    if output_format == "json":
        from aisbom.formats.json_report import render as render_json

        rendered = render_json(report)
    elif output_format == "text":  # (cyclonedx was rendered above, where its errors exit 2)
        from aisbom.formats.text import render as render_text

        rendered = render_text(report, color=output is None and sys.stdout.isatty(), verbose=verbose)
    if output is None:
        click.echo(rendered, nl=False)
    else:
        try:
            output.write_text(rendered, encoding="utf-8")
        except OSError as exc:
            click.echo(f"aisbom: error: cannot write {output}: {exc.strerror or exc}", err=True)
            sys.exit(ExitCode.ERROR)
    sys.exit(report.exit_code)


def _progress_bar(enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        return nullcontext(None)
    from aisbom.commands._progress import ByteProgress

    return ByteProgress()
