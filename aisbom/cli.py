"""The `aisbom` command line. Each command lives in its own module under aisbom/commands."""

from __future__ import annotations

import click

from aisbom import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aisbom")
def cli() -> None:
    """Protect the ML supply chain: scan, hash, sign and inventory AI assets."""


def _register() -> None:
    from aisbom.commands.bom import bom
    from aisbom.commands.diff import diff
    from aisbom.commands.scan import scan
    from aisbom.commands.sign import sign
    from aisbom.commands.verify import verify

    cli.add_command(scan)
    cli.add_command(sign)
    cli.add_command(verify)
    cli.add_command(bom)
    cli.add_command(diff)


_register()


def main() -> None:
    cli(prog_name="aisbom")
