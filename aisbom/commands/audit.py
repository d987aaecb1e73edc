"""`aisbom audit`: show the project's audit log."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from aisbom.commands._project import event_line, fail, format_option, project_option, warn
from aisbom.errors import AisbomError
from aisbom.severity import ExitCode
from aisbom.terminal_text import shown

EXAMPLES = """\b
Examples:
  aisbom audit                             # every recorded change of the project
  aisbom audit --asset system-prompt --diff
  aisbom audit --format json
"""


@click.command(epilog=EXAMPLES)
@project_option
@format_option
@click.option(
    "--asset", "assets", multiple=True, metavar="NAME", help="Only events of this asset. Repeatable."
)
@click.option("--diff/--no-diff", default=True, help="Show recorded diffs (only logged when opted in).")
def audit(project_dir: Path | None, output_format: str, assets: tuple[str, ...], diff: bool) -> None:
    """Show aisbom-audit.jsonl: every change of a prompt or config (old and new SHA-256, UTC
    time, who and which command saw it) and every asset added, accepted into the lock or
    removed, oldest first. `--format json` prints the events as JSON Lines, as stored.

    The log is hash-chained: each line carries the SHA-256 of every byte before it, and
    aisbom.lock records the log's head when `aisbom lock` runs. The chain and the head are
    checked, and the first broken line (or the rewrite) is named.

    Exit status: 0, 1 if the log's chain is broken or it is not the log aisbom.lock recorded, or
    2 if there is no project or the log cannot be read.
    """
    from aisbom.project.workspace import Project

    try:
        project = Project.open(project_dir, Path.cwd())
        read = project.audit.read()
    except AisbomError as exc:
        fail(exc)
    name = project.audit.path.name
    notes = read.notes(project.lock.audit_head)
    warn([f"{name}: {p}" for p in read.problems] + [f"{name}: {n}" for n in notes])
    broken = read.integrity(project.lock.audit_head)
    events = [e for e in read.events if not assets or e.asset in assets]
    for event in events:
        if output_format == "json":
            click.echo(json.dumps(event.to_json(), ensure_ascii=False))
            continue
        click.echo(event_line(event))
        if diff and event.diff:
            for line in event.diff.splitlines():
                click.echo(f"    {shown(line)}")
    if output_format == "text" and not events:
        click.echo(f"No events in {shown(project.audit.path)}.")
    for problem in broken:
        click.echo(f"aisbom: {name}: NOT INTACT: {shown(problem)}", err=True)
    sys.exit(ExitCode.UNSAFE if broken else ExitCode.CLEAN)
