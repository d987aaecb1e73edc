"""What a worker does with one target: the same resolve -> scan -> check as `aisbom scan`
(pipeline.scan_resolved), then the JSON report (and the AI-BOM) rendered to text. Runs in a
worker process (local pool) or a Ray task, so a Job and its Outcome are plain picklable values
and the worker writes nothing: the driver writes what comes back, wherever the worker ran.

Every failure becomes an Outcome with `error` set, never an exception: one target's problem is
one index line, and the run goes on.

With `Settings.part_bytes` (the Ray engine), a local directory larger than that comes back as a
Plan instead: the engine scans its parts as tasks of their own (batch/parts.py) and hands their
results to `join_parts`, which renders the target as `run_job` would have.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aisbom.batch.identity import identity_after, identity_before
from aisbom.batch.parts import Part, partition
from aisbom.errors import AisbomError
from aisbom.pipeline import FileResult, ScanReport, scan_resolved
from aisbom.policy import Policy
from aisbom.sources import Resolved, resolve
from aisbom.version import __version__

# Verdicts of a target in the index: the scan's (clean, unsafe, error) or `failed` when no scan
# could be made (unknown scheme, unreachable source, a hash that did not match ...).
FAILED = "failed"


@dataclass(frozen=True)
class Settings:
    """What every job of a run shares."""

    policy: Policy
    policy_key: str  # a digest of the policy options and allow files, recorded in the index
    bom: bool = False
    cache_dir: Path | None = None
    allow_http: bool = False
    # Split a local directory of more than this many bytes into parts (None: never split).
    part_bytes: int | None = None


@dataclass(frozen=True)
class Job:
    target: str
    settings: Settings
    # The target's record from an earlier run, when that run reached a verdict with the same
    # aisbom version, policy and outputs: the job is skipped if the target is still the same.
    previous: dict[str, Any] | None = None


@dataclass(frozen=True)
class Outcome:
    target: str
    record: dict[str, Any]  # the index line, without the paths the driver gives the files
    report_text: str | None = None
    bom_text: str | None = None
    skipped: bool = False  # already done at this identity: `record` is the earlier one
    plan: Plan | None = None  # too large for one task: scan these parts, then join_parts


@dataclass(frozen=True)
class Plan:
    """A target to scan in parts, and what its join needs to render it as one."""

    job: Job
    resolved: Resolved
    identity: str | None
    parts: tuple[Part, ...]
    scanned_at: datetime
    began: float  # time.time() when its first task began (parts may run on other machines)


def run_job(job: Job) -> Outcome:
    """Resolve, scan and render one target (or plan its parts); never raises."""
    started = time.monotonic()
    try:
        return _run(job, started)
    except AisbomError as exc:
        return failed(job, str(exc), started)
    except Exception as exc:  # a library's surprise is one index line, never a lost target
        return failed(job, _surprise(exc), started)


def join_parts(plan: Plan, *parts: tuple[FileResult, ...]) -> Outcome:
    """The target's outcome from the results of its parts, in order: what run_job gives for the
    whole target, or a failure when its files changed since they were cut into parts."""
    job = plan.job
    elapsed = time.time() - plan.began
    try:
        files = tuple(result for part in parts for result in part)
        if [f.path for f in files] != [path for part in plan.parts for path in part]:
            why = "its files changed while it was scanned in parts (a file came or went); run again"
            return failed(job, why)
        report = ScanReport(str(plan.resolved.path), __version__, job.settings.policy, files)
        return _rendered(job, plan.resolved, plan.identity, report, plan.scanned_at, elapsed)
    except AisbomError as exc:
        return failed(job, str(exc))
    except Exception as exc:
        return failed(job, _surprise(exc))


def failed(job: Job, error: str, started: float | None = None) -> Outcome:
    record = _base_record(job, None)
    record.update(verdict=FAILED, exit_code=2, error=error)
    record["seconds"] = round(time.monotonic() - started, 3) if started is not None else None
    return Outcome(job.target, record)


def _run(job: Job, started: float) -> Outcome:
    identity = identity_before(job.target)
    if identity is not None and _already_done(job, identity):
        return Outcome(job.target, dict(job.previous or {}), skipped=True)
    resolved = resolve(job.target, cache_dir=job.settings.cache_dir, allow_http=job.settings.allow_http)
    identity = identity or identity_after(job.target, resolved)
    if identity is not None and _already_done(job, identity):
        return Outcome(job.target, dict(job.previous or {}), skipped=True)

    scanned_at = datetime.now(timezone.utc).replace(microsecond=0)
    parts = _parts(job, resolved)
    if len(parts) > 1:
        plan = Plan(job, resolved, identity, parts, scanned_at, time.time() - (time.monotonic() - started))
        return Outcome(job.target, {}, plan=plan)

    report = scan_resolved(resolved, policy=job.settings.policy)
    return _rendered(job, resolved, identity, report, scanned_at, time.monotonic() - started)


def _parts(job: Job, resolved: Resolved) -> tuple[Part, ...]:
    """The parts of a local target above the size to split at; else none."""
    if job.settings.part_bytes is None or resolved.provenance is not None:
        return ()
    return partition(resolved.path, job.settings.part_bytes)


def _rendered(
    job: Job, resolved: Resolved, identity: str | None, report: ScanReport, scanned_at: datetime, took: float
) -> Outcome:
    """The JSON report (and BOM) of a finished scan, and its index line."""
    from aisbom.formats import get_format
    from aisbom.formats.interface import FormatOptions

    if resolved.provenance is not None:  # as `aisbom scan` names it: hf:// as typed, URLs as recorded
        shown = job.target if resolved.provenance.hf_repo else resolved.provenance.source_url
        report = dataclasses.replace(report, target=shown)
    kind = resolved.kind_hint or "model"
    options = FormatOptions(
        color=False, target=resolved.path, scanned_at=scanned_at, provenance=resolved.provenance, kind=kind
    )
    report_text = get_format("json").format(report, options)
    bom_text = _bom(report, resolved, scanned_at, kind) if job.settings.bom and report.error is None else None

    record = _base_record(job, identity)
    record.update(
        verdict=report.verdict,
        exit_code=int(report.exit_code),
        error=report.error,
        counts=report.counts(),
        files=len(report.files),
        bytes=sum(f.size or 0 for f in report.files),
        source=resolved.provenance.source_url if resolved.provenance else None,
        scanned_at=scanned_at.isoformat(),
        seconds=round(took, 3),
    )
    return Outcome(job.target, record, report_text, bom_text)


def _bom(report: Any, resolved: Resolved, scanned_at: datetime, kind: str) -> str:
    from aisbom.bom.build import BomOptions, build_bom

    options = BomOptions(provenance=resolved.provenance, scanned_at=scanned_at, kind=kind)
    return build_bom(report, resolved.path, options).text


def _surprise(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no message'}"


def _already_done(job: Job, identity: str) -> bool:
    return job.previous is not None and job.previous.get("revision") == identity


def _base_record(job: Job, identity: str | None) -> dict[str, Any]:
    return {
        "target": job.target,
        "revision": identity,
        "aisbom_version": __version__,
        "policy": job.settings.policy_key,
    }
