"""`aisbom scan TARGET...`: scan model files or directories before anything loads them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from aisbom.atomic_file import write_atomically
from aisbom.commands._scanning import (
    policy_options,
    resolve_target,
    scan_resolved,
    selection_options,
    settings_in_force,
    source_options,
)
from aisbom.errors import AisbomError, UsageError
from aisbom.formats import FORMATS
from aisbom.selection import Selection
from aisbom.severity import ExitCode
from aisbom.terminal_text import shown

EXAMPLES = """\b
Examples:
  aisbom scan ./model                      # a directory: every file, by content
  aisbom scan model.pt tokenizer/ -q       # several targets; only the verdict and failing findings
  aisbom scan hf://org/name@main           # a Hugging Face repository, scanned before use
  aisbom scan ./model --format sarif -o aisbom.sarif
  aisbom scan ./model --exclude '*.md' --fail-on medium
"""


@click.command(epilog=EXAMPLES)
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...")
@click.option(
    "--format", "output_format", type=click.Choice(list(FORMATS)), default="text", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to FILE instead of stdout.",
)
@policy_options("Exit 1 when a finding is at least this severe.")
@selection_options
@click.option("-v", "--verbose", is_flag=True, help="Also show informational findings.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the verdict and the failing findings.")
@click.option(
    "--show-clean", is_flag=True, help="List every clean file (above 200 files they are counted, not listed)."
)
@click.option(
    "--no-hash",
    is_flag=True,
    help="Judge without hashing: the tensor data of large files is never read (pre-commit hooks, CI "
    "jobs on every change). The report says no hash was taken; no BOM, lock or signature rests on it.",
)
@source_options
def scan(
    targets: tuple[str, ...],
    output_format: str,
    output: Path | None,
    fail_on: str,
    strict: bool,
    allow_files: tuple[Path, ...],
    allow_dangerous: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    verbose: bool,
    quiet: bool,
    show_clean: bool,
    no_hash: bool,
    progress: bool | None,
    sha256: str | None,
    allow_http: bool,
    cache_dir: Path | None,
) -> None:
    """Scan TARGET (a model file or directory; several in one run) for unsafe serialization.

    Identifies every file by content, hashes it (SHA-256) and analyses it without loading
    anything: pickles and what wraps them (PyTorch, joblib, NumPy, archives), Keras, ONNX,
    TensorFlow graphs, safetensors headers, GGUF headers and chat templates. Exit status:
    0 clean, 1 unsafe (or not fully analysed), 2 usage error, a file that could not be read
    (whatever --fail-on says), or nothing to scan; with several targets, the worst of them.

    TARGET is a local path, hf://ORG/NAME[@REV] (hf://datasets/ORG/NAME[@REV] for a dataset;
    with HF_HUB_OFFLINE=1 read from the Hugging Face cache only) or an https:// URL. Remote
    files are downloaded into a cache, scanned before anything else uses them, and stay there
    whatever the verdict (nothing marks them trusted: every run fetches and scans again).

    The text report gives the verdict first and last, and under each finding why it matters
    and what to do (`aisbom rules RULE` says more). Colours only on a terminal, never with
    NO_COLOR set; the progress bar only when stderr is a terminal.
    """
    if no_hash and output_format == "cyclonedx":
        raise click.UsageError("--no-hash takes no hash, and a CycloneDX BOM gives every file's")
    if no_hash and sha256:
        raise click.UsageError("--sha256 checks the hash the scan takes; --no-hash takes none")
    if len(targets) > 1 and output_format != "text":
        raise click.UsageError(f"--format {output_format} takes one TARGET; run aisbom once per target")
    color = output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    selection = Selection(include, exclude)
    limits = settings_in_force(click.get_current_context())
    worst = ExitCode.CLEAN
    documents = []
    for target in targets:
        try:
            resolved = resolve_target(target, sha256, allow_http, cache_dir, progress)
            report = scan_resolved(
                target,
                resolved,
                fail_on,
                strict,
                allow_files,
                progress,
                allow_dangerous,
                selection,
                limits,
                hashed=not no_hash,
            )
            # an invalid BOM is an error: exit 2
            documents.append(
                report.formatted(
                    output_format, color=color, verbose=verbose, quiet=quiet, show_clean=show_clean
                )
            )
            worst = max(worst, report.exit_code)
        except UsageError as exc:
            click.echo(shown(f"aisbom: error: {exc}"), err=True)
            sys.exit(ExitCode.ERROR)
        except AisbomError as exc:  # this target cannot be scanned; the others still are
            click.echo(shown(f"aisbom: error: {exc}"), err=True)
            worst = ExitCode.ERROR
    rendered = ("\n" if not quiet else "").join(documents)
    if len(targets) > 1:
        verdict = {ExitCode.CLEAN: "CLEAN", ExitCode.UNSAFE: "UNSAFE", ExitCode.ERROR: "ERROR"}[worst]
        rendered += f"{'' if quiet else chr(10)}All {len(targets)} targets: {verdict}\n"

    if output is None:
        click.echo(rendered, nl=False)
    else:
        try:
            write_atomically(output, rendered)
        except OSError as exc:
            click.echo(shown(f"aisbom: error: cannot write {output}: {exc.strerror or exc}"), err=True)
            sys.exit(ExitCode.ERROR)
    sys.exit(worst)
