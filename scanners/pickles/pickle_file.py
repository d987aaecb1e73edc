"""Pickle files and members, joblib files included: every pickle in them, read the way
joblib.load reads it and, when it holds raw arrays, the way pickle.load reads it too."""

from __future__ import annotations

from dataclasses import replace

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.pickles.joblib_arrays import JoblibArrays
from aisbom.scanners.pickles.stream import scan_pickle_stream


def scan_pickle(data: Data, ctx: ScanContext) -> None:
    """A file or member that is one or more pickles, back to back (joblib files included).

    It is read the way joblib.load reads it (raw array bytes inside the stream are skipped);
    if it holds such arrays, it is read again the way pickle.load would, since a crafted
    "array" can be valid opcodes that only a plain pickle loader executes.
    """
    if not ctx.members:
        ctx.report(
            "pickle-format",
            "pickle serialization: loading it with pickle, torch or joblib can run code",
        )
    elif ctx.members[-1].endswith("-content"):  # the content of a compressed stream
        ctx.report(
            "pickle-format",
            f"compressed pickle ({ctx.members[-1].removesuffix('-content')}): loading it with "
            "joblib or pickle can run code",
        )
    arrays = JoblibArrays(data, ctx)
    scan_pickle_stream(data, ctx, build_hook=arrays)
    if arrays.arrays:
        _scan_plain_view(data, ctx)


def _scan_plain_view(data: Data, ctx: ScanContext) -> None:
    """Report what pickle.load (no joblib hook) would call beyond the joblib reading.

    Read this way, array bytes become opcodes and nested pickles share the outer memo, so
    parse errors and computed names are expected noise; only calls of globals that are
    dangerous or outside the allowlist are evidence of a payload hidden in "array data"."""
    scratch = replace(ctx, sink=[])
    scan_pickle_stream(data, scratch)
    seen = {(f.rule, f.offset, f.members) for f in ctx.sink}
    for finding in scratch.sink:
        if finding.rule not in ("pickle-dangerous-global", "pickle-unknown-call"):
            continue
        if (finding.rule, finding.offset, finding.members) not in seen:
            ctx.keep(finding)
