"""`aisbom explain`: a pickle shown as the Python it amounts to, with aisbom's findings beside the
lines they concern: what a reviewer reads before trusting a flagged checkpoint.

The Python comes from fickling's decompiler (`Pickled.load` reads the opcodes with pickletools,
`.ast` interprets them symbolically); nothing of fickling's that loads or runs a pickle is ever
called. The findings come from aisbom's own scan of the same file. A plain pickle (or a
stack of them, or an uncompressed joblib file up to its first inline array) is explained whole;
a zip (a PyTorch checkpoint, a TorchScript archive) member by member, or only `--member NAME`.
"""

from __future__ import annotations

import ast
import mmap
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aisbom.hashing as hashing
from aisbom.api import ScanReport, scan
from aisbom.errors import TargetError, UsageError
from aisbom.findings import Finding
from aisbom.limits import Limits
from aisbom.scanners.pickles.engine import looks_like_pickle
from aisbom.scanners.readers import zip_directory, zip_reader

_IMPORT = re.compile(r"^from (\S+) import (\S+)(?: as (\S+))?$")


@dataclass(frozen=True)
class Line:
    code: str
    findings: tuple[Finding, ...] = ()
    note: str = ""  # "called here": a later use of a flagged import


@dataclass(frozen=True)
class Explained:
    """One pickle: where it is (a zip member, or the file itself), its lines, and the findings
    of that pickle that no line carries (the file's format, a malformed tail ...)."""

    member: str | None
    lines: tuple[Line, ...]
    unplaced: tuple[Finding, ...]
    error: str | None = None  # why fickling could not decompile it (the findings still stand)


def explain(
    path: Path, *, member: str | None = None, limits: Limits | None = None
) -> tuple[ScanReport, list[Explained]]:
    """Scan `path` and decompile its pickles. Raises TargetError (unreadable, not a pickle or a
    zip of pickles) or UsageError (no member of that name)."""
    report = scan(path, limits=limits)
    findings = [f for f in report.findings]
    explained = [
        _explain_one(data, name, findings) for name, data in _pickles(path, member, limits or Limits())
    ]
    return report, explained


def _pickles(path: Path, member: str | None, limits: Limits) -> Iterator[tuple[str | None, bytes]]:
    try:
        with (
            hashing.open_regular(path, follow_symlinks=True) as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            # A zip as its readers find one: a local header first, or an end record at the tail
            # (a pickle may hold those bytes by chance: without a readable directory it is not one).
            entries = _zip_entries(path, data, limits, required=zip_reader.starts_as_zip(data))
            if entries is not None:
                yield from _zip_pickles(path, data, entries, member, limits)
                return
            if member is not None:
                raise UsageError(
                    "--member applies to a zip (a PyTorch checkpoint, an archive)", path=str(path)
                )
            if not looks_like_pickle(data):
                raise TargetError("not a pickle or a zip of pickles: nothing to explain", path=str(path))
            if len(data) > limits.max_in_memory:
                raise TargetError("too large to explain", path=str(path))
            yield None, bytes(data)
    except (OSError, ValueError) as exc:
        raise TargetError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", path=str(path)) from None


def _zip_entries(
    path: Path, data: mmap.mmap, limits: Limits, *, required: bool
) -> list[zip_reader.ZipEntry] | None:
    if not (required or zip_reader.has_end_record(data)):
        return None
    try:
        return zip_directory.central_entries(data, max_entries=limits.max_members)
    except zip_reader.ZipError as exc:
        if required:
            raise TargetError(f"unreadable zip: {exc}", path=str(path)) from None
        return None


def _zip_pickles(
    path: Path, data: mmap.mmap, entries: list[zip_reader.ZipEntry], member: str | None, limits: Limits
) -> Iterator[tuple[str | None, bytes]]:
    names = [e.name for e in entries]
    if member is not None:
        chosen = [e for e in entries if e.name == member or e.name.endswith("/" + member)]
        if not chosen:
            raise UsageError(f"no member {member!r} (members: {', '.join(names[:20])})", path=str(path))
    else:
        chosen = [e for e in entries if e.name.endswith(".pkl")]
        if not chosen:
            raise TargetError("a zip without a .pkl member: name one with --member", path=str(path))
    for entry in chosen:
        try:
            body = zip_reader.read_member(data, entry, max_size=limits.max_member_size).data
        except zip_reader.ZipError as exc:
            raise TargetError(f"cannot read member {entry.name}: {exc}", path=str(path)) from None
        yield entry.name, bytes(body)


def _explain_one(data: bytes, member: str | None, findings: list[Finding]) -> Explained:
    mine = [f for f in findings if (f.members[-1:] == (member,) if member else not f.members)]
    try:
        code = _decompile(data)
    except Exception as exc:  # fickling on hostile bytes: one line, the findings still stand
        return Explained(member, (), tuple(mine), f"{type(exc).__name__}: {exc}")
    placed: set[int] = set()
    lines: list[Line] = []
    called: dict[str, list[Finding]] = {}
    for text in code:
        here: list[Finding] = []
        match = _IMPORT.match(text)
        if match:
            module, name, alias = match.groups()
            for finding in mine:
                if dict(finding.evidence).get("global") == f"{module}.{name}" and id(finding) not in placed:
                    here.append(finding)
                    placed.add(id(finding))
            if here:
                called[alias or name] = here
        note = ""
        if not match and any(re.search(rf"\b{re.escape(n)}\(", text) for n in called):
            note = "called here"
        lines.append(Line(text, tuple(here), note))
    unplaced = tuple(f for f in mine if id(f) not in placed)
    return Explained(member, tuple(lines), unplaced)


def _decompile(data: bytes) -> list[str]:
    """The Python each pickle in `data` amounts to, stacked pickles one after another (fickling's
    parser and symbolic interpreter; nothing is imported or run)."""
    from fickling.fickle import StackedPickle

    stacked = StackedPickle.load(data, fail_on_decode_error=False)
    lines: list[str] = []
    for index, pickled in enumerate(stacked):
        if len(stacked) > 1:
            lines.append(f"# pickle {index + 1} of {len(stacked)}")
        lines += ast.unparse(pickled.ast).splitlines()
    return lines
