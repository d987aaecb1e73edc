"""The `aisbom` command line. Each command lives in its own module under aisbom/commands."""

from __future__ import annotations

import click

from aisbom import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aisbom")
def cli() -> None:
    """Protect the ML supply chain: scan, hash, sign and inventory AI assets."""


def _register() -> None:
    from aisbom.commands.add import add
    from aisbom.commands.audit import audit
    from aisbom.commands.batch import batch
    from aisbom.commands.bom import bom
    from aisbom.commands.convert import convert
    from aisbom.commands.diff import diff
    from aisbom.commands.lock import lock
    from aisbom.commands.remove import remove
    from aisbom.commands.scan import scan
    from aisbom.commands.sign import sign
    from aisbom.commands.status import status
    from aisbom.commands.verify import verify

    cli.add_command(scan)
    cli.add_command(sign)
    cli.add_command(verify)
    cli.add_command(bom)
    cli.add_command(convert)
    cli.add_command(diff)
    cli.add_command(add)
    cli.add_command(status)
    cli.add_command(lock)
    cli.add_command(remove)
    cli.add_command(audit)
    cli.add_command(batch)


_register()


def main() -> None:
    cli(prog_name="aisbom")
