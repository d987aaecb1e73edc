"""`aisbom batch LIST --out DIR`: scan many targets into DIR/index.jsonl and a report (and BOM) each."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import click

from aisbom.batch import DEFAULT_SPLIT_MB, PART_FILES
from aisbom.commands._scanning import build_policy
from aisbom.errors import AisbomError
from aisbom.policy import Policy
from aisbom.severity import ExitCode, Severity
from aisbom.terminal_text import shown
from aisbom.wording import counted

EXAMPLES = """\b
Examples:
  aisbom batch targets.txt --out reports/            # one report per target, and index.jsonl
  aisbom batch targets.txt --out reports/ --engine ray
"""


@click.command(epilog=EXAMPLES)
@click.argument("target_list", metavar="LIST")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for index.jsonl and reports/ (made if missing; a rerun resumes there).",
)
@click.option("--bom", is_flag=True, help="Also write each target's CycloneDX AI-BOM (reports/*.cdx.json).")
@click.option("--rescan", is_flag=True, help="Scan every target again, even those already done.")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: a process pool on this machine. ray: one Ray task per target (pip install 'aisbom[ray]').",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes (local; default: the CPU count), or the CPUs of a local Ray instance.",
)
@click.option(
    "--address",
    metavar="ADDRESS",
    help="With --engine ray: the cluster to join, HOST:PORT of its head, ray://HOST:PORT, or 'auto' "
    "(the one RAY_ADDRESS names, else the one `ray start` started on this machine). "
    "Default: start a Ray instance for this run only.",
)
@click.option(
    "--split-mb",
    type=click.IntRange(min=0),
    metavar="MB",
    help="With --engine ray: scan a local directory of more than MB megabytes (or "
    f"{PART_FILES} files) in parts of at most that, one task each, joined into one report; "
    f"0 never splits. Default: {DEFAULT_SPLIT_MB}.",
)
@click.option(
    "--fail-on",
    type=click.Choice([s.label for s in Severity if s >= Severity.LOW]),
    default="high",
    show_default=True,
    help="A target is unsafe when a finding is at least this severe.",
)
@click.option("--strict", is_flag=True, help="Fail on anything outside the allowlist.")
@click.option(
    "--allow",
    "allow_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File of extra trusted globals, one 'module:qualname' per line. Repeatable.",
)
@click.option("--allow-dangerous", is_flag=True, help="Let --allow files silence code-execution gadgets too.")
@click.option("--allow-http", is_flag=True, help="Allow plain http:// to hosts other than this machine.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where downloads go (as for `aisbom scan`).",
)
def batch(
    target_list: str,
    out_dir: Path,
    bom: bool,
    rescan: bool,
    engine: str,
    workers: int | None,
    address: str | None,
    split_mb: int | None,
    fail_on: str,
    strict: bool,
    allow_files: tuple[Path, ...],
    allow_dangerous: bool,
    allow_http: bool,
    cache_dir: Path | None,
) -> None:
    """Scan every target of LIST (one per line: a local path, hf://ORG/NAME[@REV], https://...,
    s3://BUCKET/KEY-OR-PREFIX; '-' reads standard input; blank lines and # comments are skipped).

    Each target is resolved, scanned and checked as `aisbom scan` does; its JSON report goes to
    DIR/reports/ (with --bom, its AI-BOM too) and one line to DIR/index.jsonl: target, revision
    (commit, ETag or a digest of the files' sizes and times), verdict, exit code, counts, report
    and BOM paths, or the error. A rerun skips the targets already done at the same revision by
    the same aisbom version under the same policy. A summary goes to stderr. Exit status: 0 every
    target clean, 1 any unsafe or not fully analysed, 2 any target failed (the others are still
    done) or a usage error.
    """
    from aisbom.batch.engines import get_engine
    from aisbom.batch.job import Settings
    from aisbom.batch.run import run_batch
    from aisbom.batch.targets import read_targets

    for given, name in ((address, "--address"), (split_mb, "--split-mb")):
        if given is not None and engine != "ray":
            raise click.UsageError(f"{name} applies to --engine ray")
    if split_mb is None:
        split_mb = DEFAULT_SPLIT_MB
    part_bytes = split_mb * 1_000_000 if engine == "ray" and split_mb else None
    try:
        listed = read_targets(_read_list(target_list), "stdin" if target_list == "-" else target_list)
        policy = build_policy(fail_on, strict, allow_files, allow_dangerous)
        settings = Settings(
            policy,
            _policy_key(policy),
            bom=bom,
            cache_dir=cache_dir,
            allow_http=allow_http,
            part_bytes=part_bytes,
        )
        chosen = get_engine(engine, workers or os.cpu_count() or 1, address)
    except AisbomError as exc:
        click.echo(shown(f"aisbom: error: {exc}"), err=True)
        sys.exit(ExitCode.ERROR)
    for note in listed.notes:
        click.echo(shown(f"aisbom: note: {note}"), err=True)
    if not listed.targets:
        click.echo(shown(f"aisbom: error: {target_list}: no target to scan"), err=True)
        sys.exit(ExitCode.ERROR)

    def echo(line: str) -> None:
        click.echo(shown(line), err=True)

    try:
        summary = run_batch(listed.targets, settings, chosen, out_dir, rescan=rescan, echo=echo)
    except OSError as exc:
        click.echo(shown(f"aisbom: error: {out_dir}: {exc.strerror or exc}"), err=True)
        sys.exit(ExitCode.ERROR)
    except AisbomError as exc:  # the engine could not start (Ray missing, no cluster at --address)
        click.echo(shown(f"aisbom: error: {exc}"), err=True)
        sys.exit(ExitCode.ERROR)
    except KeyboardInterrupt:
        click.echo(f"aisbom: interrupted; what finished is in {out_dir}: run again to go on", err=True)
        sys.exit(ExitCode.ERROR)
    seconds = max(summary.seconds, 1e-6)
    startup = getattr(chosen, "startup_seconds", None)
    started = f" (of which {startup:.1f} s starting Ray)" if startup is not None else ""
    split = getattr(chosen, "split_targets", 0)
    parts = f" ({counted(split, 'target')} in {getattr(chosen, 'split_parts', 0)} parts)" if split else ""
    click.echo(
        shown(
            f"aisbom: batch: {counted(summary.targets, 'target')} ({summary.scanned} scanned, "
            f"{summary.skipped} already done){parts}, {counted(summary.files, 'file')}, "
            f"{summary.bytes / 1e6:.1f} MB; {summary.clean} clean, {summary.unsafe} unsafe, "
            f"{summary.failed} failed; {summary.seconds:.1f} s{started}, "
            f"{summary.files / seconds:.0f} files/s, {summary.bytes / 1e6 / seconds:.1f} MB/s; "
            f"index: {out_dir / 'index.jsonl'}"
        ),
        err=True,
    )
    sys.exit(summary.exit_code)


def _read_list(target_list: str) -> str:
    if target_list == "-":
        return sys.stdin.read()
    try:
        return Path(target_list).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise AisbomError(f"{target_list}: not UTF-8 text (one target per line)") from None
    except OSError as exc:
        raise AisbomError(f"cannot read {target_list}: {exc.strerror or exc}") from None


def _policy_key(policy: Policy) -> str:
    """A digest of what decides verdicts: a rerun under another policy scans again."""
    described = {
        "fail_on": policy.fail_on.label,
        "strict": policy.strict,
        "allow_dangerous": policy.allow_dangerous,
        "allowed": sorted(f"{m}:{n}" for f in policy.allow_files for m, n in f.entries),
        "extra": sorted(f"{m}:{n}" for m, n in policy.extra_allowed),
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]
