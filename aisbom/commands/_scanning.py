"""What `scan` and `bom` share: the target and policy options, and running the scan behind them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from aisbom.errors import UsageError
from aisbom.policy import Policy, load_allow_file, with_allow_files
from aisbom.severity import Severity
from aisbom.terminal_text import shown

if TYPE_CHECKING:
    from aisbom.api import ScanReport
    from aisbom.limits import Limits
    from aisbom.selection import Selection
    from aisbom.sources import Resolved

F = TypeVar("F", bound=Callable[..., Any])


def policy_options(fail_on_help: str) -> Callable[[F], F]:
    """--fail-on, --strict, --allow, --allow-dangerous and --progress, in that order."""

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
                    help="File of extra trusted globals, one 'module:qualname' per line. Repeatable. "
                    "What it silences is still reported, with the file.",
                ),
                click.option(
                    "--allow-dangerous",
                    is_flag=True,
                    help="Let --allow files silence known code-execution gadgets too (os.system ...).",
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


def selection_options(command: F) -> F:
    """--include and --exclude: which files of a target to scan (aisbom.selection)."""
    for option in reversed(
        (
            click.option(
                "--include",
                multiple=True,
                metavar="GLOB",
                help="Scan only files whose path or name matches GLOB. Repeatable.",
            ),
            click.option(
                "--exclude",
                multiple=True,
                metavar="GLOB",
                help="Leave out files whose path or name matches GLOB (named in the report). Repeatable.",
            ),
        )
    ):
        command = option(command)
    return command


def source_options(command: F) -> F:
    """--sha256, --allow-http and --cache-dir: how remote targets are fetched."""
    for option in reversed(
        (
            click.option(
                "--sha256",
                metavar="HEX",
                help="Expected SHA-256 of an https:// target (or append #sha256=HEX to the URL); on a "
                "mismatch the download is deleted and nothing is scanned.",
            ),
            click.option(
                "--allow-http",
                is_flag=True,
                help="Allow plain http:// to hosts other than this machine (anyone on the way can change "
                "the bytes).",
            ),
            click.option(
                "--cache-dir",
                type=click.Path(file_okay=False, path_type=Path),
                help="Where downloads go. URLs: default $AISBOM_CACHE or the user cache directory; "
                "hf://: the Hugging Face cache to use (default $HF_HUB_CACHE or $HF_HOME/hub).",
            ),
        )
    ):
        command = option(command)
    return command


def resolve_target(
    target: str, sha256: str | None, allow_http: bool, cache_dir: Path | None, progress: bool | None
) -> Resolved:
    """Make TARGET local (downloading it if it is remote). Raises AisbomError."""
    from aisbom.sources import resolve

    show_progress = sys.stderr.isatty() if progress is None else progress
    url = target.lower().startswith(("https://", "http://"))
    with _download_bar(show_progress and url) as advance:
        if show_progress and not url:
            advance = _quiet  # hf://: any callback lets the Hugging Face client draw its own bars
        resolved = resolve(
            target, cache_dir=cache_dir, expected_sha256=sha256, allow_http=allow_http, progress=advance
        )
    for note in resolved.notes:
        click.echo(shown(f"aisbom: note: {note}"), err=True)
    prov = resolved.provenance
    if prov is not None:  # say where the bytes are: they stay in the cache, whatever the verdict
        from aisbom.provenance import ACQUIRED_FROM_CACHE_MTIME  # late: a local target has none

        if prov.hf_repo:
            how = "from the cache" if prov.acquired_by == ACQUIRED_FROM_CACHE_MTIME else "downloaded"
            where = f"commit {prov.revision} ({how}) at {resolved.path}"
        else:
            where = f"downloaded to {resolved.path}"
        click.echo(shown(f"aisbom: {_shown(target, resolved)}: {where}"), err=True)
    return resolved


def scan_resolved(
    target: str,
    resolved: Resolved,
    fail_on: str,
    strict: bool,
    allow_files: tuple[Path, ...],
    progress: bool | None,
    allow_dangerous: bool = False,
    selection: Selection | None = None,
    limits: Limits | None = None,
    *,
    hashed: bool = True,
) -> ScanReport:
    """Scan what `resolve_target` made local, with the policy the options describe, through the
    Python API (aisbom.api); the report names TARGET as the user gave it. Raises AisbomError
    (bad allowlist, bad target, a file whose hash is not the one its source published)."""
    from aisbom.api import scan_resolved as scan

    policy = build_policy(fail_on, strict, allow_files, allow_dangerous)
    with progress_bar(progress) as advance:
        return scan(
            target, resolved, policy, selection=selection, progress=advance, limits=limits, hashed=hashed
        )


def settings_in_force(ctx: click.Context) -> Limits | None:
    """The settings file's part in this command: say on stderr which of its values apply (the
    command line overrides the others), and return its limits."""
    from click.core import ParameterSource

    settings = ctx.find_root().obj
    if settings is None:
        return None
    used = [
        f"{name}={_value(value)}"
        for name, value in ctx.params.items()
        if ctx.get_parameter_source(name) == ParameterSource.DEFAULT_MAP
    ]
    limits = settings.values.get("limits", {})
    used += [f"limits.{name}={value}" for name, value in limits.items()]
    if used:
        click.echo(shown(f"aisbom: settings from {settings.origin}: {', '.join(used)}"), err=True)
    return settings.limits()  # type: ignore[no-any-return]


def _value(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return str(value)


def _shown(target: str, resolved: Resolved) -> str:
    """hf:// targets as typed; URLs as recorded (no credentials, no fragment)."""
    prov = resolved.provenance
    return target if prov is None or prov.hf_repo else prov.source_url


def build_policy(
    fail_on: str, strict: bool, allow_files: tuple[Path, ...], allow_dangerous: bool = False
) -> Policy:
    """The policy the options of `policy_options` describe. Raises AisbomError (bad allowlist)."""
    if allow_dangerous and not allow_files:
        raise UsageError("--allow-dangerous applies to --allow files; give at least one")
    policy = Policy(fail_on=Severity.parse(fail_on), strict=strict, allow_dangerous=allow_dangerous)
    return with_allow_files(policy, tuple(load_allow_file(path) for path in allow_files))


def progress_bar(progress: bool | None):  # type: ignore[no-untyped-def]
    """A context giving the scan's progress callback (None when off; default: on a terminal)."""
    if not (sys.stderr.isatty() if progress is None else progress):
        return nullcontext(None)
    from aisbom.commands._progress import ByteProgress

    return ByteProgress()


def _quiet(received: int, total: int | None) -> None:
    pass


def _download_bar(enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        return nullcontext(None)
    from aisbom.commands._progress import DownloadProgressBar

    return DownloadProgressBar()
