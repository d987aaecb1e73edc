"""`aisbom status`: what changed in the project's assets since aisbom.lock."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from aisbom.commands._project import (
    event_line,
    fail,
    fetch_options,
    format_option,
    make_fetch,
    project_option,
    short,
    warn,
)
from aisbom.errors import AisbomError
from aisbom.severity import ExitCode
from aisbom.terminal_text import shown
from aisbom.wording import counted

EXAMPLES = """\b
Examples:
  aisbom status                            # what changed since aisbom.lock
  aisbom status --format json
"""


@click.command(epilog=EXAMPLES)
@project_option
@format_option
@click.option(
    "--remote",
    "fetch_remote",
    is_flag=True,
    help="Also fetch remote assets again and compare their files (default: compare them by the lock, "
    "without network).",
)
@click.option(
    "--no-record",
    is_flag=True,
    help="Do not append changes of prompts and configs to the audit log (a dry run).",
)
@fetch_options
def status(
    project_dir: Path | None,
    output_format: str,
    fetch_remote: bool,
    no_record: bool,
    cache_dir: Path | None,
    allow_http: bool,
) -> None:
    """Compare the working tree with aisbom.lock: each declared asset is new (declared but not
    locked), modified (a file new, changed or missing, or its source or kind changed), missing
    (its source is gone), removed (locked but no longer declared) or unchanged. Local assets are
    hashed again; remote ones are compared by their lock entry unless --remote.

    Audit log: every change of a prompt or config asset is appended to aisbom-audit.jsonl as
    soon as any aisbom command sees it, status included: one `modified` (or `new`, `missing`)
    event per file, with the previous and the current SHA-256 and the UTC time, once per new
    content (running status again adds nothing; a revert is a change of its own). The lock is
    not touched: `aisbom lock` accepts the change and logs it as `accepted`.

    The audit log's hash chain is checked too, and so is its head against the one aisbom.lock
    recorded: the first broken line (or the rewrite) is named, and makes the status 1.

    Exit status: 0 unchanged, 1 something changed or the audit log is not intact, 2 usage or
    I/O error.
    """
    from aisbom.project.workspace import Project

    try:
        project = Project.open(project_dir, Path.cwd())
        state, result = project.status(
            record=not no_record, fetch_remote=fetch_remote, fetch=make_fetch(cache_dir, allow_http)
        )
    except AisbomError as exc:
        fail(exc)
    warn(result.warnings)
    clean = state.clean and not result.log_problems
    code = ExitCode.CLEAN if clean else ExitCode.UNSAFE
    if output_format == "json":
        doc = {
            "project": str(project.root),
            "system": project.manifest.system.name,
            "clean": clean,
            "audit_log_problems": result.log_problems,
            "counts": state.counts(),
            "assets": [
                {
                    "name": a.name,
                    "kind": a.kind,
                    "source": a.source,
                    "state": a.state,
                    "checked": a.checked,
                    "files": a.file_count,
                    "note": a.note,
                    "changes": [
                        {
                            "path": c.path,
                            "state": c.state,
                            "locked_sha256": c.locked_sha256,
                            "current_sha256": c.current_sha256,
                        }
                        for c in a.files
                    ],
                }
                for a in state.assets
            ],
            "audit_events": [e.to_json() for e in result.events],
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        sys.exit(code)

    assets = state.assets
    click.echo(
        f"Project {shown(project.root)} (system {shown(repr(project.manifest.system.name))}): "
        f"{len(assets)} asset{'s' if len(assets) != 1 else ''}"
    )
    width = max((len(shown(a.name)) for a in assets), default=0)
    for a in assets:
        count = f"{a.file_count} file{'s' if a.file_count != 1 else ''}"
        extra = "; by lock, not fetched" if a.checked == "lock" and a.state == "unchanged" else ""
        click.echo(f"  {a.state:9} {a.kind:7} {shown(a.name):{width}}  {shown(a.source)}  ({count}{extra})")
        if a.note:
            click.echo(f"              {shown(a.note)}")
        changes = a.files if a.state != "new" else ()
        for c in changes[:20]:
            hashes = f"{short(c.locked_sha256)} -> {short(c.current_sha256)}"
            click.echo(f"              {c.state:8} {shown(c.path)}  {hashes}")
        if len(changes) > 20:
            click.echo(f"              ... and {counted(len(changes) - 20, 'more file', 'more files')}")
    counts = ", ".join(f"{n} {s}" for s, n in state.counts().items() if n) or "no assets"
    click.echo(counts + ".")
    for problem in result.log_problems:
        click.echo(f"Audit log NOT INTACT: {shown(problem)}")
    for event in result.events:
        click.echo(f"Logged: {event_line(event)}")
    if not state.clean:
        click.echo("Run `aisbom lock` to accept these changes into aisbom.lock.")
    sys.exit(code)
