"""The CLI reference (docs/cli.md), generated from the click commands themselves:
`python -m aisbom.cli_reference > docs/cli.md`. tests/test_cli_reference.py keeps it current."""

from __future__ import annotations

import click

from aisbom.cli import cli

_WIDTH = 100


def _help(command: click.Command, name: str, parent: click.Context | None) -> str:
    ctx = click.Context(
        command, info_name=name, parent=parent, terminal_width=_WIDTH, max_content_width=_WIDTH
    )
    return command.get_help(ctx)


def reference() -> str:
    # With the group's context settings (-h and --help), as the commands run.
    root = click.Context(
        cli, info_name="aisbom", terminal_width=_WIDTH, max_content_width=_WIDTH, **cli.context_settings
    )
    lines = [
        "# aisbom command reference",
        "",
        "Generated from the commands by `python -m aisbom.cli_reference > docs/cli.md`; do not edit",
        "by hand (tests/test_cli_reference.py fails when it is out of date).",
        "",
        "## aisbom",
        "",
        "```",
        cli.get_help(root),
        "```",
    ]
    for name, command in cli.all_commands().items():
        lines += ["", f"## aisbom {name}", "", "```", _help(command, name, root), "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
