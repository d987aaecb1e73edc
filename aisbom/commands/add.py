"""`aisbom add KIND SOURCE`: scan an AI asset and record it in the project's inventory."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aisbom.commands._project import (
    fail,
    fetch_options,
    format_option,
    make_fetch,
    outcome_lines,
    project_option,
    result_json,
    warn,
)
from aisbom.commands._scanning import build_policy, policy_options, progress_bar
from aisbom.errors import AisbomError
from aisbom.terminal_text import shown

EXAMPLES = """\b
Examples:
  aisbom add model hf://org/name@main --license apache-2.0
  aisbom add dataset ./data/train.jsonl --name train
  aisbom add prompt prompts/system.txt
  aisbom add model ./finetuned --trained-on train --fine-tuned-from base
"""


@click.command(epilog=EXAMPLES)
@click.argument("kind", type=click.Choice(["model", "dataset", "prompt", "config"]))
@click.argument("source")
@click.option("--name", help="The asset's name in aisbom.toml (default: derived from SOURCE).")
@click.option(
    "--license", "license_", metavar="SPDX", help="Its licence, e.g. apache-2.0 or an SPDX expression."
)
@click.option("--description", metavar="TEXT", help="What it is, in a sentence.")
@click.option(
    "--justify",
    "justification",
    metavar="TEXT",
    help="Why it is used although not well documented or secured (EN 304 223 5.2.3-2).",
)
@click.option(
    "--trained-on",
    multiple=True,
    metavar="DATASET",
    help="A declared dataset this model was trained or fine-tuned on. Repeatable.",
)
@click.option("--fine-tuned-from", metavar="MODEL", help="The declared model this model was fine-tuned from.")
@click.option(
    "--allow-unsafe",
    is_flag=True,
    help="Record the asset even if the scan finds it unsafe or cannot fully analyse it.",
)
@project_option
@fetch_options
@format_option
@policy_options("The scan refuses the asset when a finding is at least this severe.")
def add(
    kind: str,
    source: str,
    name: str | None,
    license_: str | None,
    description: str | None,
    justification: str | None,
    trained_on: tuple[str, ...],
    fine_tuned_from: str | None,
    allow_unsafe: bool,
    project_dir: Path | None,
    cache_dir: Path | None,
    allow_http: bool,
    output_format: str,
    fail_on: str,
    strict: bool,
    allow_files: tuple[Path, ...],
    allow_dangerous: bool,
    progress: bool | None,
) -> None:
    """Add an AI asset to the inventory: KIND is model, dataset, prompt (system prompts,
    templates) or config (model configuration); SOURCE a local file or directory, hf://ORG/NAME@REV,
    hf://datasets/ORG/NAME@REV or an https:// URL.

    The asset is fetched (remote sources) and scanned before anything is recorded; an unsafe or
    not fully analysed asset is refused and its findings printed, unless --allow-unsafe. Then it
    is declared in aisbom.toml (created in the current directory, or --project, if there is
    none; your comments and layout are kept) and locked in aisbom.lock with every file's SHA-256,
    size and scan result, and an `added` event is appended to aisbom-audit.jsonl. Relations
    (--trained-on, --fine-tuned-from) name assets already declared.

    Exit status: 0 added, 1 refused (unsafe), 2 usage or I/O error (a file that cannot be read, or
    no file at all, even with --allow-unsafe).
    """
    from aisbom.project.manifest import Asset, default_name, normalize_source
    from aisbom.project.workspace import Project

    cwd = Path.cwd()
    try:
        policy = build_policy(fail_on, strict, allow_files, allow_dangerous)
        project, created = Project.open_or_create(project_dir, cwd)
        declared = normalize_source(source, project.root, cwd)
        asset = Asset(
            name=name or default_name(declared),
            kind=kind,
            source=declared,
            license=license_,
            description=description,
            justification=justification,
            trained_on=tuple(trained_on),
            fine_tuned_from=fine_tuned_from,
        )
        with progress_bar(progress) as advance:
            result = project.add(
                asset,
                policy=policy,
                allow_unsafe=allow_unsafe,
                fetch=make_fetch(cache_dir, allow_http),
                progress=advance,
            )
    except AisbomError as exc:
        fail(exc)
    warn(result.warnings)
    if output_format == "json":
        click.echo(result_json(result, project=str(project.root), created=created), nl=False)
        sys.exit(result.exit_code)
    outcome = result.outcomes[0]
    if outcome.action != "added":
        for line in outcome_lines(outcome, verbose_report=outcome.action in ("refused", "error")):
            click.echo(line)
        sys.exit(result.exit_code)
    if created:
        click.echo(shown(f"Created {project.manifest.path}"))
    for line in outcome_lines(outcome, verbose_report=False):
        click.echo(line)
    if not asset.remote and Path(asset.source).is_absolute():
        warn([f"{asset.source} is outside the project: aisbom.toml names it by its absolute path"])
    logged = len(result.events)
    click.echo(
        f"Recorded in aisbom.toml and aisbom.lock; {logged} event{'s' if logged != 1 else ''} "
        "appended to aisbom-audit.jsonl."
    )
    sys.exit(result.exit_code)
