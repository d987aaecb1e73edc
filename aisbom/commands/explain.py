"""`aisbom explain FILE [--member NAME]`: a pickle as the Python it amounts to, with findings."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aisbom.errors import AisbomError
from aisbom.severity import ExitCode
from aisbom.terminal_text import shown

EXAMPLES = """\b
Examples:
  aisbom explain fixtures/demo/extra_weights.bin
  aisbom explain checkpoint.pt                     # every .pkl member of a PyTorch checkpoint
  aisbom explain checkpoint.pt --member data.pkl
"""
_WIDTH = 72  # code column; longer lines put their findings on the next line


@click.command(epilog=EXAMPLES)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--member", metavar="NAME", help="Only this member of a zip (a PyTorch checkpoint, an archive)."
)
def explain(file: Path, member: str | None) -> None:
    """Show FILE's pickle (or each pickle in a PyTorch checkpoint or zip) as the Python it
    amounts to, decompiled by fickling without running anything, with aisbom's findings beside
    the lines they concern: read it before trusting a flagged checkpoint. Exit status as for
    `aisbom scan FILE`: 0 clean, 1 unsafe, 2 an error (not a pickle, no such member)."""
    from aisbom.explain import explain as run

    try:
        report, explained = run(file, member=member)
    except AisbomError as exc:
        click.echo(shown(f"aisbom: error: {exc}"), err=True)
        sys.exit(ExitCode.ERROR)
    out = [f"# aisbom explain {shown(str(file))}: {report.verdict.upper()}"]
    for part in explained:
        out.append("")
        out.append(f"# --- {shown(part.member)} ---" if part.member else "# --- the pickle ---")
        if part.error:
            out.append(f"# fickling could not decompile it: {shown(part.error)}")
        for number, line in enumerate(part.lines, start=1):
            code = f"{number:4}  {shown(line.code)}"
            notes = [f"# {f.severity.label.upper()} {f.rule}: {shown(f.message)}" for f in line.findings] + (
                [f"# ^ {line.note}"] if line.note else []
            )
            if not notes:
                out.append(code)
                continue
            if len(code) <= _WIDTH:
                out.append(f"{code:{_WIDTH}}  {notes[0]}")
                rest = notes[1:]
            else:
                out.append(code)
                rest = notes
            out += [f"{'':{_WIDTH}}  {note}" for note in rest]
        for finding in part.unplaced:
            out.append(f"# {finding.severity.label.upper()} {finding.rule}: {shown(finding.message)}")
    click.echo("\n".join(out))
    sys.exit(report.exit_code)
