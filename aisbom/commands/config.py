"""`aisbom config`: the scan settings in force, and where each value came from."""

from __future__ import annotations

import dataclasses
import json

import click

from aisbom.config import SETTINGS, Settings
from aisbom.limits import Limits

EXAMPLES = """\b
Examples:
  aisbom config                            # the settings scan would use here
  aisbom --config ci/aisbom.toml config    # those of another file
  aisbom config --format json
"""

_DEFAULTS: dict[str, object] = {
    "fail_on": "high",
    "strict": False,
    "allow": [],
    "allow_dangerous": False,
    "include": [],
    "exclude": [],
    "format": "text",
}


@click.command(epilog=EXAMPLES)
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def config(settings: Settings | None, output_format: str) -> None:
    """Show the scan settings in force here: each value, and whether it comes from a settings
    file (pyproject.toml [tool.aisbom] or aisbom.toml [scan], the nearest at or above the current
    directory, or `aisbom --config FILE`) or is aisbom's default. Options given to `aisbom scan`
    override them."""
    values = dict(settings.values) if settings else {}
    rows: list[tuple[str, object, str]] = []
    for name in SETTINGS:
        if name == "limits":
            continue
        if name in values:
            value = values[name]
            rows.append((name, [str(v) for v in value] if isinstance(value, tuple) else value, "file"))
        else:
            rows.append((name, _DEFAULTS[name], "default"))
    overrides = values.get("limits", {})
    for field in dataclasses.fields(Limits):
        origin = "file" if field.name in overrides else "default"
        rows.append(
            (f"limits.{field.name}", overrides.get(field.name, getattr(Limits(), field.name)), origin)
        )

    if output_format == "json":
        document = {
            "file": {"path": str(settings.path), "table": settings.table} if settings else None,
            "settings": {name: {"value": value, "from": origin} for name, value, origin in rows},
        }
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(f"Settings file: {settings.origin}" if settings else "Settings file: none (aisbom's defaults)")
    width = max(len(name) for name, _, _ in rows)
    for name, value, origin in rows:
        where = settings.origin if origin == "file" and settings else "default"
        click.echo(f"  {name:{width}}  {json.dumps(value)}  ({where})")
