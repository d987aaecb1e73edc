"""`aisbom lock [NAME...]`: accept the working tree's assets into aisbom.lock."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aisbom.commands._project import (
    event_line,
    fail,
    fetch_options,
    format_option,
    make_fetch,
    outcome_lines,
    project_option,
    result_json,
    warn,
)
from aisbom.commands._scanning import build_policy, policy_options, progress_bar
from aisbom.errors import AisbomError

EXAMPLES = """\b
Examples:
  aisbom lock                              # accept every new or modified asset
  aisbom lock system-prompt                # only this one
"""


@click.command(epilog=EXAMPLES)
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--rescan", is_flag=True, help="Scan every asset again, not only new and modified ones.")
@click.option(
    "--allow-unsafe",
    is_flag=True,
    help="Lock assets even if the scan finds them unsafe or cannot fully analyse them.",
)
@click.option(
    "--accept-audit-log",
    is_flag=True,
    help="Take aisbom-audit.jsonl as it is although its hash chain is broken or it is not the log "
    "aisbom.lock recorded (e.g. after merging two branches that both appended to it); logged as a "
    "log-accepted event.",
)
@project_option
@fetch_options
@format_option
@policy_options("The scan refuses an asset when a finding is at least this severe.")
def lock(
    names: tuple[str, ...],
    rescan: bool,
    allow_unsafe: bool,
    accept_audit_log: bool,
    project_dir: Path | None,
    cache_dir: Path | None,
    allow_http: bool,
    output_format: str,
    fail_on: str,
    strict: bool,
    allow_files: tuple[Path, ...],
    allow_dangerous: bool,
    progress: bool | None,
) -> None:
    """Accept changes into aisbom.lock: every new or modified asset (or only the NAMEs given) is
    fetched if remote, scanned, and locked with its files' SHA-256, sizes and scan results;
    assets no longer declared in aisbom.toml are dropped. An asset the scan finds unsafe keeps
    its old lock entry (its findings are printed) unless --allow-unsafe.

    Audit log: each change of a prompt or config not logged yet is appended first (as `status`
    does), then one `accepted` event per file whose locked SHA-256 changes (old and new hash);
    a model or dataset gets one `accepted` (or `added`) event with its old and new digest, and a
    dropped asset a `removed` event. Unchanged assets keep their entries byte for byte.

    The lock records the audit log's head (SHA-256 and size), so that a log rewritten later,
    even consistently, is caught. A log whose hash chain is broken, or that does not begin with
    the bytes the lock recorded, is refused and nothing is locked, unless --accept-audit-log.

    Exit status: 0 locked, 1 an asset (or the audit log) was refused, 2 usage or I/O error (e.g.
    a source is missing, a file cannot be read or an asset has no file left, even with
    --allow-unsafe).
    """
    from aisbom.project.workspace import Project

    try:
        policy = build_policy(fail_on, strict, allow_files, allow_dangerous)
        project = Project.open(project_dir, Path.cwd())
        with progress_bar(progress) as advance:
            result = project.accept(
                names,
                policy=policy,
                allow_unsafe=allow_unsafe,
                rescan=rescan,
                fetch=make_fetch(cache_dir, allow_http),
                progress=advance,
                accept_log=accept_audit_log,
            )
    except AisbomError as exc:
        fail(exc)
    warn(result.warnings)
    if output_format == "json":
        click.echo(result_json(result, project=str(project.root)), nl=False)
        sys.exit(result.exit_code)
    for outcome in result.outcomes:
        for line in outcome_lines(outcome, verbose_report=outcome.action in ("refused", "error")):
            click.echo(line)
    for event in result.events:
        click.echo(f"Logged: {event_line(event)}")
    changed = [o for o in result.outcomes if o.action in ("added", "locked", "dropped")]
    click.echo(f"aisbom.lock: {len(changed)} asset{'s' if len(changed) != 1 else ''} updated.")
    sys.exit(result.exit_code)
