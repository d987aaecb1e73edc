"""What `scan` and `bom` share: the policy options and running the scan behind them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from aisbom.policy import Policy, load_allowlist_file
from aisbom.severity import Severity

if TYPE_CHECKING:
    from aisbom.pipeline import ScanReport

F = TypeVar("F", bound=Callable[..., Any])


def policy_options(fail_on_help: str) -> Callable[[F], F]:
    """--fail-on, --strict, --allow and --progress, in that order."""

    def decorate(command: F) -> F:
        for option in reversed(
            (
                click.option(
                    "--fail-on",
                    type=click.Choice([s.label for s in Severity if s >= Severity.LOW]),
                    default="high",
                    show_default=True,
                    help=fail_on_help,
                ),
                click.option(
                    "--strict",
                    is_flag=True,
                    help="Fail on anything outside the allowlist, even if only imported or constructed.",
                ),
                click.option(
                    "--allow",
                    "allow_files",
                    multiple=True,
                    type=click.Path(exists=True, dir_okay=False, path_type=Path),
                    help="File of extra trusted globals, one 'module:qualname' per line. Repeatable.",
                ),
                click.option(
                    "--progress/--no-progress",
                    default=None,
                    help="Show a progress bar (default: on a terminal).",
                ),
            )
        ):
            command = option(command)
        return command

    return decorate


def run_scan(
    target: Path, fail_on: str, strict: bool, allow_files: tuple[Path, ...], progress: bool | None
) -> ScanReport:
    """Build the policy from the options and scan. Raises AisbomError (bad allowlist, bad target)."""
    from aisbom.pipeline import scan_target

    extra: frozenset[tuple[str, str]] = frozenset()
    for path in allow_files:
        extra |= load_allowlist_file(path)
    policy = Policy(fail_on=Severity.parse(fail_on), strict=strict, extra_allowed=extra)
    show_progress = sys.stderr.isatty() if progress is None else progress
    with _progress_bar(show_progress) as advance:
        return scan_target(target, policy=policy, progress=advance)


def _progress_bar(enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        return nullcontext(None)
    from aisbom.commands._progress import ByteProgress

    return ByteProgress()
