"""`aisbom diff OLD NEW`: what changed between two BOMs, before a model update is announced."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aisbom.errors import AisbomError
from aisbom.severity import ExitCode
from aisbom.terminal_text import shown

EXAMPLES = """\b
Examples:
  aisbom diff v1.cdx.json v2.cdx.json
  aisbom diff v1.cdx.json v2.cdx.json --format json
"""


@click.command(epilog=EXAMPLES)
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def diff(old: Path, new: Path, output_format: str) -> None:
    """Compare two CycloneDX BOMs: added, removed and changed components (hashes, version,
    licences, findings). Exit status: 0 identical, 1 drift, 2 unreadable or invalid BOM.
    """
    from aisbom.bom.diff import diff_boms, load_bom, render_json, render_text

    try:
        before = load_bom(old)
        after = load_bom(new)
    except AisbomError as exc:
        click.echo(shown(f"aisbom: error: {exc}"), err=True)
        sys.exit(ExitCode.ERROR)
    result = diff_boms(before, after)
    render = render_json if output_format == "json" else render_text
    click.echo(render(result, str(old), str(new)), nl=False)
    sys.exit(ExitCode.UNSAFE if result.drift else ExitCode.CLEAN)
