"""`aisbom remove NAME`: take an asset out of the inventory."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aisbom.commands._project import event_line, fail, project_option, warn
from aisbom.errors import AisbomError
from aisbom.severity import ExitCode
from aisbom.terminal_text import shown

EXAMPLES = """\b
Examples:
  aisbom remove old-model
"""


@click.command(epilog=EXAMPLES)
@click.argument("name")
@project_option
def remove(name: str, project_dir: Path | None) -> None:
    """Remove asset NAME from aisbom.toml and aisbom.lock (its files are left alone) and log a
    `removed` event. Refused while another asset is trained on or fine-tuned from it.

    Exit status: 0 removed, 2 usage or I/O error.
    """
    from aisbom.project.workspace import Project

    try:
        project = Project.open(project_dir, Path.cwd())
        result = project.remove(name)
    except AisbomError as exc:
        fail(exc)
    warn(result.warnings)
    click.echo(shown(f"Removed {name} from aisbom.toml and aisbom.lock."))
    for event in result.events:
        click.echo(shown(f"Logged: {event_line(event)}"))
    sys.exit(ExitCode.CLEAN)
