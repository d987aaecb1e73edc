"""docs/cli.md is the help of every command, as the commands print it today."""

from __future__ import annotations

from pathlib import Path

from aisbom.cli import cli
from aisbom.cli_reference import reference

REPO = Path(__file__).resolve().parents[1]


def test_the_cli_reference_is_current():
    assert (REPO / "docs" / "cli.md").read_text() == reference(), (
        "docs/cli.md is out of date: python -m aisbom.cli_reference > docs/cli.md"
    )


def test_it_covers_every_command():
    text = reference()
    for name in cli.all_commands():
        assert f"\n## aisbom {name}\n" in text
        assert f"Usage: aisbom {name} " in text
