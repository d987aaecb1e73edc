"""Sniff an object and run the checks of its format: the way every file and every nested member
goes through the scanners."""

from __future__ import annotations

import time

from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.frame.context import Budget, Data, ScanContext
from aisbom.scanners.frame.expected_formats import check_name
from aisbom.scanners.frame.registry import also_checks, checks_for, checks_for_name
from aisbom.scanners.frame.sniff import sniff


def context_for_file(path: str, limits: Limits, policy: Policy, *, source: str | None = None) -> ScanContext:
    """The context of one top-level file; nested content found in it is scanned by `scan_blob`."""
    budget = Budget(deadline=time.monotonic() + limits.max_seconds_per_file)
    return ScanContext(
        path=path, limits=limits, policy=policy, sink=[], budget=budget, dispatch=scan_blob, source=source
    )


def scan_blob(data: Data, ctx: ScanContext) -> str:
    """Sniff `data`, run the checks of its format, and return the format's name."""
    answered: dict[str, bool] = {}  # (the pickle test, asked once of a file that is no pickle)
    fmt = sniff(data, answered)
    check_name(fmt, data, ctx)  # the name decides nothing; a model-format name on other content is reported
    checks = checks_for(fmt) + also_checks(fmt, data, answered) + checks_for_name(ctx.name)
    if checks:
        if ctx.out_of_time():
            ctx.report(
                "scan-limit",
                f"time limit of {ctx.limits.max_seconds_per_file:g}s per file reached; not analysed",
                evidence={"limit": "max_seconds_per_file"},
            )
        else:
            for check in checks:
                check(data, ctx)
    return fmt
