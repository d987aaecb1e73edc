"""How every `aisbom bom` ends: print the BOM or write (and sign) it, note what is unjustified, and
exit with the scan's status. Shared by `bom TARGET` and the project's system BOM."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from aisbom.atomic_file import write_atomically
from aisbom.errors import AisbomError
from aisbom.severity import ExitCode
from aisbom.terminal_text import shown
from aisbom.wording import counted

if TYPE_CHECKING:
    from aisbom.bom.build import BuiltBom
    from aisbom.pipeline import ScanReport
    from aisbom.signing.base import Signer


def as_spdx(built: BuiltBom) -> BuiltBom:
    """`--format spdx`: the same BOM as SPDX 3.0.1 JSON-LD (spdx-python-model, imported only here)."""
    from aisbom.bom.spdx import to_spdx

    return to_spdx(built)


def emit(
    built: BuiltBom,
    report: ScanReport,
    output: Path | None,
    spec_version: str,
    signer: Signer | None,
    bom_signature: Path | None,
    *,
    how_to_justify: str,
    described: str = "",
) -> NoReturn:
    """Print the BOM, or write (and sign) it to OUTPUT; note each component left unjustified; exit
    with the scan's status. The end of both `bom TARGET` and the project's `bom`; `described`
    goes before the file count in the "wrote" line. A scan that is an error (nothing scanned, a
    file that could not be read) writes nothing: a BOM must give every file's hash."""
    if report.error is not None:
        click.echo(f"aisbom: error: {report.error}; no BOM written", err=True)
        for file in report.unread:
            for finding in file.findings:
                click.echo(f"aisbom: error: {file.path}: {finding.message}", err=True)
        sys.exit(ExitCode.ERROR)
    if output is None:
        click.echo(built.text, nl=False)
    else:
        try:
            write_atomically(output, built.text)
        except OSError as exc:
            click.echo(shown(f"aisbom: error: cannot write {output}: {exc.strerror or exc}"), err=True)
            sys.exit(ExitCode.ERROR)
        counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n) or "no findings"
        if report.silenced:
            counts += f"; {len(report.silenced)} silenced by --allow"
        files = counted(len(report.files), "file")
        click.echo(
            shown(f"aisbom: wrote {output} ({built.label}; {described}{files}; {counts})"),
            err=True,
        )
        if signer is not None:
            assert bom_signature is not None
            _sign(output, signer, bom_signature)
    for model in built.unjustified():
        click.echo(
            shown(
                f"aisbom: note: {model.name} is not well documented ({model.gap_text()}); no justification "
                f"is recorded ({how_to_justify}; EN 304 223 5.2.3-2)"
            ),
            err=True,
        )
    sys.exit(report.exit_code)


def _sign(output: Path, signer: Signer, signature: Path) -> None:
    """Sign the written BOM as a single-file model named "." (model_signing 1.1.1 verifies only
    that; aisbom accepts it too, and a renamed BOM still verifies)."""
    from aisbom.signing.api import sign_model

    try:
        result = sign_model(output, signer, signature=signature, single_file_dot_name=True)
    except Exception as exc:  # AisbomError or not: one line, exit 2
        click.echo(
            shown(f"aisbom: error: {output} was written but not signed: {describe_error(exc)}"), err=True
        )
        sys.exit(ExitCode.ERROR)
    click.echo(shown(f"aisbom: signed {output}: {result.signature}"), err=True)


def describe_error(exc: Exception) -> str:
    return str(exc) if isinstance(exc, AisbomError) else f"{type(exc).__name__}: {exc}"
