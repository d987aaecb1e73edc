"""A batch run: decide what is already done, run the rest on an engine, write each outcome to DIR
as it arrives, and count what happened for the summary."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aisbom.batch.engines.interface import Engine
from aisbom.batch.index import append_record, read_index, report_names, write_atomically
from aisbom.batch.job import FAILED, Job, Outcome, Settings
from aisbom.severity import ExitCode
from aisbom.version import __version__


@dataclass
class Summary:
    targets: int = 0
    scanned: int = 0
    skipped: int = 0  # already done at the same revision, aisbom version and policy
    files: int = 0  # of the targets scanned in this run
    bytes: int = 0
    clean: int = 0
    unsafe: int = 0  # unsafe or incomplete
    failed: int = 0  # failed to resolve, a scan that is an error, or results that could not be written
    seconds: float = 0.0

    @property
    def exit_code(self) -> ExitCode:
        if self.failed:
            return ExitCode.ERROR
        return ExitCode.UNSAFE if self.unsafe else ExitCode.CLEAN


Echo = Callable[[str], None]  # one line to stderr


def run_batch(
    targets: tuple[str, ...],
    settings: Settings,
    engine: Engine,
    out_dir: Path,
    *,
    rescan: bool,
    echo: Echo,
) -> Summary:
    """Scan every target; what was done before (and not `rescan`) is skipped. Raises OSError when
    DIR itself cannot be made."""
    (out_dir / "reports").mkdir(parents=True, exist_ok=True)
    previous, unreadable = read_index(out_dir)
    if unreadable:
        echo(
            f"aisbom: note: {out_dir / 'index.jsonl'}: {unreadable} unreadable line(s) ignored; "
            "their targets are scanned again"
        )
    summary = Summary(targets=len(targets))
    started = time.monotonic()

    def jobs() -> Iterator[Job]:
        for target in targets:
            earlier = None if rescan else _reusable(previous.get(target), settings, out_dir)
            yield Job(target, settings, earlier)

    def on_done(outcome: Outcome) -> None:
        if not outcome.skipped:
            outcome = _written(outcome, out_dir, echo)
        _count(summary, outcome)
        error = outcome.record.get("error")
        if outcome.record.get("verdict") in (FAILED, "error") and error and not outcome.skipped:
            echo(f"aisbom: error: {_named(outcome.target, str(error))}")

    engine.run(jobs(), on_done)
    summary.seconds = time.monotonic() - started
    return summary


def _reusable(record: dict | None, settings: Settings, out_dir: Path) -> dict | None:
    """The earlier record, if a job may skip its target when the revision is still the same:
    a verdict was reached, by this aisbom version under this policy, with the files asked for
    still in DIR."""
    if record is None or record.get("exit_code") not in (0, 1) or record.get("verdict") == FAILED:
        return None
    if record.get("aisbom_version") != __version__ or record.get("policy") != settings.policy_key:
        return None
    wanted = [record.get("report")] + ([record.get("bom")] if settings.bom else [])
    if not all(isinstance(name, str) and (out_dir / name).is_file() for name in wanted):
        return None
    return record


def _written(outcome: Outcome, out_dir: Path, echo: Echo) -> Outcome:
    """Write the target's report and BOM, then its index line; a write that fails (disk full ...)
    turns the outcome into a failure, said on stderr, since the index cannot say it."""
    record = dict(outcome.record)
    report_name, bom_name = report_names(outcome.target)
    record["report"] = record["bom"] = None
    try:
        if outcome.report_text is not None:
            write_atomically(out_dir / report_name, outcome.report_text)
            record["report"] = report_name
        if outcome.bom_text is not None:
            write_atomically(out_dir / bom_name, outcome.bom_text)
            record["bom"] = bom_name
        append_record(out_dir, record)
    except OSError as exc:
        why = f"cannot write its results to {out_dir}: {exc.strerror or exc}"
        record.update(verdict=FAILED, exit_code=2, error=why)
    return Outcome(outcome.target, record, skipped=False)


def _count(summary: Summary, outcome: Outcome) -> None:
    record = outcome.record
    if outcome.skipped:
        summary.skipped += 1
    elif record.get("verdict") != FAILED:
        summary.scanned += 1
        summary.files += int(record.get("files") or 0)
        summary.bytes += int(record.get("bytes") or 0)
    code = record.get("exit_code")
    if code == 0:
        summary.clean += 1
    elif code == 1:
        summary.unsafe += 1
    else:
        summary.failed += 1


def _named(target: str, error: str) -> str:
    return error if target in error else f"{target}: {error}"
