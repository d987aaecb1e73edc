"""`aisbom bom TARGET -o FILE`: the CycloneDX AI-BOM of a model, with its EN 304 223 evidence."""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from aisbom.errors import AisbomError
from aisbom.policy import Policy, load_allowlist_file
from aisbom.severity import ExitCode, Severity

if TYPE_CHECKING:
    from aisbom.pipeline import ScanReport


@click.command()
@click.argument("target", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the BOM to FILE (default: stdout). Nothing is written if the BOM does not validate.",
)
@click.option(
    "--spec-version",
    type=click.Choice(["1.6", "1.7"]),
    default="1.6",
    show_default=True,
    help="CycloneDX version; 1.7 adds citations (which field came from which file).",
)
@click.option(
    "--reproducible",
    is_flag=True,
    help="Leave out the serial number and every timestamp: the same input gives the same bytes.",
)
@click.option(
    "--justify",
    "justification",
    metavar="TEXT",
    help="Why components that are not well documented (no card, licence, source, upstream hash; "
    "unsafe format; findings) are used anyway. Recorded in the BOM (EN 304 223 5.2.3-2).",
)
@click.option(
    "--require-justification",
    is_flag=True,
    help="Exit 2, writing nothing, if a component is not well documented and no --justify is given.",
)
@click.option(
    "--fail-on",
    type=click.Choice([s.label for s in Severity if s >= Severity.LOW]),
    default="high",
    show_default=True,
    help="Exit 1 (after writing the BOM) when a finding is at least this severe.",
)
@click.option("--strict", is_flag=True, help="Fail on anything outside the allowlist, as `scan --strict`.")
@click.option(
    "--allow",
    "allow_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File of extra trusted globals, one 'module:qualname' per line. Repeatable.",
)
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal).")
def bom(
    target: Path,
    output: Path | None,
    spec_version: str,
    reproducible: bool,
    justification: str | None,
    require_justification: bool,
    fail_on: str,
    strict: bool,
    allow_files: tuple[Path, ...],
    progress: bool | None,
) -> None:
    """Write the CycloneDX AI-BOM of TARGET (a model directory or file).

    Scans and hashes every file as `aisbom scan` does, imports the model card (README front
    matter and sections, config.json), and records findings as vulnerabilities and what the BOM
    evidences of ETSI EN 304 223 principles 5, 7 and 8. The BOM is checked against the official
    CycloneDX schema before it is written. Exit status: 0 written and clean, 1 written but the
    model is unsafe or not fully analysed, 2 usage or I/O error, invalid BOM, or a missing
    justification with --require-justification.
    """
    from aisbom.bom.build import BomOptions, build_bom
    from aisbom.pipeline import scan_target

    try:
        extra: frozenset[tuple[str, str]] = frozenset()
        for path in allow_files:
            extra |= load_allowlist_file(path)
        policy = Policy(fail_on=Severity.parse(fail_on), strict=strict, extra_allowed=extra)
        scanned_at = datetime.now(timezone.utc).replace(microsecond=0)
        show_progress = sys.stderr.isatty() if progress is None else progress
        with _progress_bar(show_progress) as advance:
            report = scan_target(target, policy=policy, progress=advance)
        report = _without_output(report, target, output)
        options = BomOptions(
            spec_version=spec_version,
            reproducible=reproducible,
            justification=justification,
            require_justification=require_justification,
            scanned_at=scanned_at,
        )
        built = build_bom(report, target, options)
    except AisbomError as exc:
        click.echo(f"aisbom: error: {exc}", err=True)
        sys.exit(ExitCode.ERROR)

    if output is None:
        click.echo(built.text, nl=False)
    else:
        try:
            _write_atomically(output, built.text)
        except OSError as exc:
            click.echo(f"aisbom: error: cannot write {output}: {exc.strerror or exc}", err=True)
            sys.exit(ExitCode.ERROR)
        counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n) or "no findings"
        click.echo(
            f"aisbom: wrote {output} (CycloneDX {spec_version}; {len(report.files)} files; {counts})",
            err=True,
        )
    for model in built.unjustified():
        click.echo(
            f"aisbom: note: {model.name} is not well documented ({model.gap_text()}); no justification "
            "is recorded (--justify TEXT; EN 304 223 5.2.3-2)",
            err=True,
        )
    sys.exit(report.exit_code)


def _progress_bar(enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        return nullcontext(None)
    from aisbom.commands._progress import ByteProgress

    return ByteProgress()


def _without_output(report: ScanReport, target: Path, output: Path | None) -> ScanReport:
    """A BOM written inside the target (from an earlier run) is not part of what it describes."""
    if output is None or not target.is_dir():
        return report
    try:
        relative = output.resolve().relative_to(target.resolve()).as_posix()
    except ValueError:
        return report
    return dataclasses.replace(report, files=tuple(f for f in report.files if f.path != relative))


def _write_atomically(output: Path, text: str) -> None:
    directory = output.parent if str(output.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp creates 0600; a BOM is meant to be shared
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
