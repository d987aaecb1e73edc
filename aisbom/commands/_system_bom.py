"""`aisbom bom` without a model TARGET: the BOM of the whole AI system of a project (aisbom.toml),
built from its lock. Kept apart from `bom.py`, which handles a single model target."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from aisbom.commands._bom_output import as_spdx, emit
from aisbom.commands._scanning import build_policy
from aisbom.errors import AisbomError
from aisbom.severity import ExitCode
from aisbom.terminal_text import shown
from aisbom.wording import counted

if TYPE_CHECKING:
    from aisbom.bom.build import BomOptions
    from aisbom.signing.base import Signer

MANIFEST = "aisbom.toml"


def is_project_target(target: str | None, project_dir: Path | None) -> bool:
    """No TARGET, --project, or a TARGET that is an aisbom.toml (a TOML file is never a model)."""
    if target is None or project_dir is not None:
        return True
    return Path(target).name == MANIFEST and Path(target).is_file()


def write_system_bom(
    target: str | None,
    project_dir: Path | None,
    output: Path | None,
    options: BomOptions,
    *,
    fail_on: str,
    strict: bool,
    allow_files: tuple[Path, ...],
    allow_dangerous: bool = False,
    signer: Signer | None,
    bom_signature: Path | None,
    cache_dir: Path | None = None,
    output_format: str = "cyclonedx",
) -> NoReturn:
    from aisbom.project.system_bom import build_project_bom
    from aisbom.project.workspace import Project

    if target is not None and project_dir is not None:
        raise click.UsageError("give a model TARGET or --project, not both")
    try:
        policy = build_policy(fail_on, strict, allow_files, allow_dangerous)
        project = Project.open(Path(target) if target is not None else project_dir, Path.cwd())
        built, report = build_project_bom(project, policy, options, cache_dir=cache_dir)
        if output_format == "spdx":
            built = as_spdx(built)
    except AisbomError as exc:
        click.echo(shown(f"aisbom: error: {exc}"), err=True)
        sys.exit(ExitCode.ERROR)
    emit(
        built,
        report,
        output,
        options.spec_version,
        signer,
        bom_signature,
        how_to_justify='justification = "..." in aisbom.toml, or --justify TEXT',
        described=f"system {project.manifest.system.name!r}: {counted(len(project.manifest.assets), 'asset')}"
        ", ",
    )
