"""The `aisbom` command line. Each command lives in its own module under aisbom/commands."""

from __future__ import annotations

import gc
import importlib
import io
import os
import signal
import sys
from pathlib import Path

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


_HELP_OPTIONS = ["-h", "--help"]

# Every command, in the module of aisbom.commands that defines it under its own name.
_COMMANDS = (
    "scan",
    "sign",
    "verify",
    "bom",
    "convert",
    "diff",
    "add",
    "status",
    "lock",
    "remove",
    "audit",
    "batch",
    "rules",
    "config",
    "explain",
    "integrations",
)


class _LazyGroup(click.Group):
    """Imports a command's module only when that command runs or a help lists it: `aisbom
    --version` and `aisbom scan` do not pay for the imports of every other command."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            module = importlib.import_module(f"aisbom.commands.{cmd_name}")  # safe: a name of _COMMANDS
            command = getattr(module, cmd_name)
            _same_help_options(command)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def all_commands(self) -> dict[str, click.Command]:
        """Every command, by name, each imported (the CLI reference, tests)."""
        ctx = click.Context(self)
        return {name: command for name in self.list_commands(ctx) if (command := self.get_command(ctx, name))}


@click.group(cls=_LazyGroup, context_settings={"help_option_names": _HELP_OPTIONS}, epilog=EXAMPLES)
@click.version_option(__version__, prog_name="aisbom")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read scan settings from FILE (default: the nearest aisbom.toml [scan] or pyproject.toml "
    "[tool.aisbom] at or above the current directory).",
)
@click.option("--no-config", is_flag=True, help="Use no settings file.")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, no_config: bool) -> None:
    """Protect the ML supply chain: scan, hash, sign and inventory AI assets.

    Scan settings (fail_on, allow files, include/exclude globs, limits, format) may live in
    pyproject.toml [tool.aisbom] or aisbom.toml [scan]; options on the command line override
    them, and `aisbom config` shows what is in force and where each value came from.
    """
    from aisbom.config import find_settings, load_settings
    from aisbom.errors import AisbomError

    if config_file is not None and no_config:
        raise click.UsageError("--config and --no-config exclude each other")
    try:
        if no_config:
            settings = None
        elif config_file is not None:
            settings = load_settings(config_file)
        else:
            settings = find_settings(Path.cwd())
    except AisbomError as exc:
        raise click.UsageError(str(exc)) from None
    ctx.obj = settings
    if settings is not None:
        ctx.default_map = settings.default_map()


def _same_help_options(command: click.Command) -> None:
    """-h and --help on every command however it is invoked: click builds a command's help
    option once, from the names of the first context that asks, and keeps it."""
    command.context_settings.setdefault("help_option_names", _HELP_OPTIONS)
    if getattr(command, "_help_option", None) is not None:  # built by an invocation before this one
        command._help_option = None  # type: ignore[attr-defined]
    for sub in getattr(command, "commands", {}).values():
        _same_help_options(sub)


def main() -> None:
    # SIGTERM ends a run as SIGINT does, through every `finally`: no temporary file or worker
    # process is left behind, and what was being written keeps its old content.
    signal.signal(signal.SIGTERM, _terminated)
    # Reports hold characters (an ellipsis, a dash, any file name) that a terminal or pipe in a
    # legacy encoding (ISO 8859-1, say) cannot show: they are escaped there, where Python's strict
    # default failed the command halfway through its report. (click turns ASCII into UTF-8.)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")
    try:
        cli(prog_name="aisbom")
    except Exception as exc:
        # An error no command expected is a bug. Left to the interpreter, its traceback would end
        # the process with status 1, which says "unsafe": one line and status 2 instead (an
        # error), and with AISBOM_DEBUG set, the traceback as well.
        if os.environ.get("AISBOM_DEBUG"):
            raise
        first = (str(exc).splitlines() or [""])[0]
        sys.stderr.write(
            f"aisbom: internal error: {type(exc).__name__}: {first} (a bug in aisbom {__version__}; "
            "please report it, with the traceback that AISBOM_DEBUG=1 shows)\n"
        )
        from aisbom.severity import ExitCode

        sys.exit(ExitCode.ERROR)
    finally:
        # The command is done. On its way out the interpreter runs full collections over every
        # object still alive, which only costs time: 30 ms after a scan, more after a BOM, with
        # cyclonedx-python-lib loaded. Frozen objects are skipped. Nothing here relies
        # on a collection to clean up: temporary files go through `finally` and atexit.
        gc.freeze()


def _terminated(signal_number: int, _frame: object) -> None:
    raise SystemExit(128 + signal_number)
