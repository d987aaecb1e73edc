"""`aisbom scan TARGET`: scan a model file or directory before anything loads it."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from aisbom.commands._scanning import policy_options, resolve_target, scan_resolved, source_options
from aisbom.errors import AisbomError
from aisbom.severity import ExitCode

_FORMATS = ("text", "json", "sarif", "cyclonedx")


@click.command()
@click.argument("target")
@click.option("--format", "output_format", type=click.Choice(_FORMATS), default="text", show_default=True)
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
    0 clean, 1 unsafe (or not fully analysed), 2 usage or I/O error.

    TARGET is a local path, hf://ORG/NAME[@REV] (hf://datasets/ORG/NAME[@REV] for a dataset;
    with HF_HUB_OFFLINE=1 read from the Hugging Face cache only) or an https:// URL. Remote
    files are downloaded into a cache, scanned before anything else uses them, and stay there
    whatever the verdict (nothing marks them trusted: every run fetches and scans again).
    """
    try:
        resolved = resolve_target(target, sha256, allow_http, cache_dir, progress)
        scanned_at = datetime.now(timezone.utc).replace(microsecond=0)
        report = scan_resolved(target, resolved, fail_on, strict, allow_files, progress)
        if output_format == "cyclonedx":
            from aisbom.formats.cyclonedx import render as render_cyclonedx

            rendered = render_cyclonedx(
                report,
                resolved.path,
                scanned_at=scanned_at,
                provenance=resolved.provenance,
                kind=resolved.kind_hint or "model",
            )
    except AisbomError as exc:
        click.echo(f"aisbom: error: {exc}", err=True)
        sys.exit(ExitCode.ERROR)

    if output_format == "json":
        from aisbom.formats.json_report import render as render_json

        rendered = render_json(report)
    elif output_format == "sarif":
        from aisbom.formats.sarif import render as render_sarif

        rendered = render_sarif(report)
    elif output_format == "text":  # (cyclonedx was rendered above, where its errors exit 2)
        from aisbom.formats.text import render as render_text

        rendered = render_text(report, color=output is None and sys.stdout.isatty(), verbose=verbose)
    if output is None:
        click.echo(rendered, nl=False)
    else:
        try:
            output.write_text(rendered, encoding="utf-8")
        except OSError as exc:
            click.echo(f"aisbom: error: cannot write {output}: {exc.strerror or exc}", err=True)
            sys.exit(ExitCode.ERROR)
    sys.exit(report.exit_code)
