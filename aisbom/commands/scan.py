"""`aisbom scan TARGET`: scan a model file or directory before anything loads it."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from aisbom.atomic_file import write_atomically
from aisbom.commands._scanning import policy_options, resolve_target, scan_resolved, source_options
from aisbom.errors import AisbomError
from aisbom.formats import FORMATS, get_format
from aisbom.formats.interface import FormatOptions
from aisbom.severity import ExitCode
from aisbom.terminal_text import shown


@click.command()
@click.argument("target")
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
@click.option("-v", "--verbose", is_flag=True, help="Also show informational findings.")
@click.option(
    "--no-hash",
    is_flag=True,
    help="Judge without hashing: the tensor data of large files is never read (pre-commit hooks, CI "
    "jobs on every change). The report says no hash was taken; no BOM, lock or signature rests on it.",
)
@source_options
def scan(
    target: str,
    output_format: str,
    output: Path | None,
    fail_on: str,
    strict: bool,
    allow_files: tuple[Path, ...],
    allow_dangerous: bool,
    verbose: bool,
    no_hash: bool,
    progress: bool | None,
    sha256: str | None,
    allow_http: bool,
    cache_dir: Path | None,
) -> None:
    """Scan TARGET (a model file or directory) for unsafe serialization.

    Identifies every file by content, hashes it (SHA-256) and analyses it without loading
    anything: pickles and what wraps them (PyTorch, joblib, NumPy, archives), Keras, ONNX,
    TensorFlow graphs, safetensors headers, GGUF headers and chat templates. Exit status:
    0 clean, 1 unsafe (or not fully analysed), 2 usage error, a file that could not be read
    (whatever --fail-on says), or nothing to scan.

    TARGET is a local path, hf://ORG/NAME[@REV] (hf://datasets/ORG/NAME[@REV] for a dataset;
    with HF_HUB_OFFLINE=1 read from the Hugging Face cache only) or an https:// URL. Remote
    files are downloaded into a cache, scanned before anything else uses them, and stay there
    whatever the verdict (nothing marks them trusted: every run fetches and scans again).
    """
    if no_hash and output_format == "cyclonedx":
        raise click.UsageError("--no-hash takes no hash, and a CycloneDX BOM gives every file's")
    if no_hash and sha256:
        raise click.UsageError("--sha256 checks the hash the scan takes; --no-hash takes none")
    try:
        resolved = resolve_target(target, sha256, allow_http, cache_dir, progress)
        scanned_at = datetime.now(timezone.utc).replace(microsecond=0)
        report = scan_resolved(
            target, resolved, fail_on, strict, allow_files, progress, allow_dangerous, hashed=not no_hash
        )
        options = FormatOptions(
            color=output is None and sys.stdout.isatty(),
            verbose=verbose,
            target=resolved.path,
            scanned_at=scanned_at,
            provenance=resolved.provenance,
            kind=resolved.kind_hint or "model",
        )
        rendered = get_format(output_format).format(report, options)  # a BOM that does not validate: exit 2
    except AisbomError as exc:
        click.echo(shown(f"aisbom: error: {exc}"), err=True)
        sys.exit(ExitCode.ERROR)

    if output is None:
        click.echo(rendered, nl=False)
    else:
        try:
            write_atomically(output, rendered)
        except OSError as exc:
            click.echo(shown(f"aisbom: error: cannot write {output}: {exc.strerror or exc}"), err=True)
            sys.exit(ExitCode.ERROR)
    sys.exit(report.exit_code)
