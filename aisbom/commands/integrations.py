"""`aisbom integrations ...`: files that let other tools run aisbom's engine."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aisbom.severity import ExitCode
from aisbom.terminal_text import shown

EXAMPLES = """\b
Examples:
  aisbom integrations modelscan-settings -o modelscan-settings.toml
  modelscan -p ./model --settings-file modelscan-settings.toml
"""


@click.group(epilog=EXAMPLES)
def integrations() -> None:
    """Settings that make other scanners use aisbom's engine."""


@integrations.command("modelscan-settings", epilog=EXAMPLES)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("modelscan-settings.toml"),
    show_default=True,
    help="Where to write the settings file.",
)
def modelscan_settings(output: Path) -> None:
    """Write a modelscan settings file that enables aisbom's scanner
    (aisbom.integrations.modelscan.AisbomScan) for every model extension, and turns off
    modelscan's own scanners, whose formats aisbom reads. `modelscan -p
    MODEL --settings-file FILE` then reports aisbom's findings in modelscan's formats and
    severities. Needs modelscan installed (pip install modelscan)."""
    try:
        from aisbom.integrations.modelscan import modelscan_settings as settings
    except ImportError as exc:
        click.echo(f"aisbom: error: modelscan is not installed ({exc}): pip install modelscan", err=True)
        sys.exit(ExitCode.ERROR)
    try:
        output.write_text(settings(), encoding="utf-8")
    except OSError as exc:
        click.echo(shown(f"aisbom: error: cannot write {output}: {exc.strerror or exc}"), err=True)
        sys.exit(ExitCode.ERROR)
    click.echo(shown(f"Wrote {output}: modelscan -p MODEL --settings-file {output}"))
