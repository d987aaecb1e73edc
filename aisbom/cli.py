"""The `aisbom` command line. Each command lives in its own module under aisbom/commands."""

from __future__ import annotations

import click

from aisbom.version import __version__

EXAMPLES = """\b
Examples:
  aisbom scan ./model                      # before loading third-party weights
  aisbom bom ./model -o model.cdx.json     # the AI-BOM of a release
  aisbom sign ./model --key release.pem    # and its signature
  aisbom verify ./model --key release.pub  # before deploying it
  aisbom rules pickle-dangerous-global     # what a finding means
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXAMPLES)
@click.version_option(__version__, prog_name="aisbom")
def cli() -> None:
    """Protect the ML supply chain: scan, hash, sign and inventory AI assets."""


def _register() -> None:
    from aisbom.commands.add import add
    from aisbom.commands.audit import audit
    from aisbom.commands.bom import bom
    from aisbom.commands.diff import diff
    from aisbom.commands.lock import lock
    from aisbom.commands.remove import remove
    from aisbom.commands.rules import rules
    from aisbom.commands.scan import scan
    from aisbom.commands.sign import sign
    from aisbom.commands.status import status
    from aisbom.commands.verify import verify

    cli.add_command(scan)
    cli.add_command(sign)
    cli.add_command(verify)
    cli.add_command(bom)
    cli.add_command(diff)
    cli.add_command(add)
    cli.add_command(status)
    cli.add_command(lock)
    cli.add_command(remove)
    cli.add_command(audit)
    cli.add_command(rules)


_register()


def main() -> None:
    cli(prog_name="aisbom")
