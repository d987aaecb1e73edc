"""`aisbom scan TARGET`: scan a model file or directory before anything loads it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aisbom.commands._scanning import policy_options, resolve_target, scan_resolved, source_options
from aisbom.errors import AisbomError
from aisbom.formats import FORMATS
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
    try:
        resolved = resolve_target(target, sha256, allow_http, cache_dir, progress)
        report = scan_resolved(target, resolved, fail_on, strict, allow_files, progress, allow_dangerous)
        color = output is None and sys.stdout.isatty()
        rendered = report.formatted(output_format, color=color, verbose=verbose)  # an invalid BOM: exit 2
    except AisbomError as exc:
        click.echo(shown(f"aisbom: error: {exc}"), err=True)
        sys.exit(ExitCode.ERROR)

    if output is None:
        click.echo(rendered, nl=False)
    else:
        try:
            output.write_text(rendered, encoding="utf-8")
        except OSError as exc:
            click.echo(shown(f"aisbom: error: cannot write {output}: {exc.strerror or exc}"), err=True)
            sys.exit(ExitCode.ERROR)
    sys.exit(report.exit_code)
