"""What every check receives: the bytes, and a ScanContext to report findings through and to
hand nested content to (a member of an archive, a pickle inside a pickle ...).

The context knows nothing of the formats: how nested content is sniffed and scanned is given
to it (`dispatch`, the registry's `scan_blob`) when `dispatch.context_for_file` creates it.
"""

from __future__ import annotations

import io
import mmap
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import BinaryIO, TypeVar, Union

from aisbom.findings import Finding
from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.rules import RULES
from aisbom.severity import Severity
from aisbom.wording import counted

# Scanners read `bytes` (small files, container members) or a read-only `mmap` (large files).
# Both support len(), indexing to int, slicing to bytes and .find().
Data = Union[bytes, mmap.mmap]  # noqa: UP007 (a runtime alias)
# A check: reads `data` as one format and reports what it finds through the context.
Check = Callable[[Data, "ScanContext"], None]
# Sniffs `data`, runs the checks of its format with the context, returns the format's name.
Dispatch = Callable[[Data, "ScanContext"], str]
T = TypeVar("T")


def as_file(data: Data) -> BinaryIO:
    """A seekable binary file over `data`, without copying it."""
    if isinstance(data, mmap.mmap):
        data.seek(0)
        return data  # type: ignore[return-value]  # mmap has read/seek/tell
    return io.BytesIO(data)


@dataclass
class Budget:
    """Shared by every context of one top-level file: time and decompression allowance."""

    deadline: float
    unpacked: int = 0


@dataclass(frozen=True)
class ScanContext:
    """What a check gets with the bytes: the file, limits, policy, budget and dispatch."""

    path: str  # the top-level file, relative to the target
    limits: Limits
    policy: Policy
    sink: list[Finding]
    budget: Budget
    dispatch: Dispatch  # how nested content is scanned (the registry's scan_blob)
    members: tuple[str, ...] = ()
    depth: int = 0
    # Loader hints from the enclosing container, e.g. "torchscript" (whose pickle loader
    # never imports Python modules) or "joblib" (inline array data inside the pickle).
    hints: frozenset[str] = frozenset()
    # The top-level file on disk, when there is one: for parsers that run in a child process
    # (libhdf5) and must reopen the file rather than receive a copy of a large mapping.
    source: str | None = None
    # Work one check did on this object that another check of the same object reuses (a JSON
    # document parsed once for the template and the Keras check); a child starts empty.
    memo: dict[str, tuple[object, object]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        """The file name of the object: the innermost member's, or the top-level file's."""
        return (self.members[-1] if self.members else self.path).rsplit("/", 1)[-1]

    def report(
        self,
        rule: str,
        message: str,
        *,
        severity: Severity | None = None,
        offset: int | None = None,
        evidence: dict[str, str] | None = None,
        silenced_by: str | None = None,
    ) -> None:
        """Report a finding; `silenced_by` names the allow file that silences it (it is then
        shown apart, with that file, and does not count)."""
        self.keep(
            Finding(
                rule=rule,
                severity=RULES[rule].severity if severity is None else severity,
                message=message,
                path=self.path,
                members=self.members,
                offset=offset,
                evidence=tuple(sorted((k, _as_text(v)) for k, v in (evidence or {}).items())),
                silenced_by=silenced_by,
            )
        )

    def keep(self, finding: Finding) -> None:
        """Add a finding to the file's list, up to `max_findings_per_file`: the finding that
        reaches the cap is replaced by a scan-limit finding, later ones are dropped (a stream
        of a million small pickles would otherwise keep a finding or more for each)."""
        cap = self.limits.max_findings_per_file
        if len(self.sink) < cap:
            self.sink.append(finding)
        elif len(self.sink) == cap:
            self.sink.append(
                Finding(
                    rule="scan-limit",
                    severity=RULES["scan-limit"].severity,
                    message=f"more than {counted(cap, 'finding')} in this file; the rest are not listed",
                    path=self.path,
                    members=self.members,
                    evidence=(("limit", "max_findings_per_file"),),
                )
            )

    def child(self, member: str, *, hints: frozenset[str] | None = None) -> ScanContext:
        """Context for a member of this object (an archive entry, an embedded pickle ...)."""
        return replace(
            self,
            members=(*self.members, member),
            depth=self.depth + 1,
            hints=self.hints if hints is None else hints,
            memo={},
        )

    def out_of_time(self) -> bool:
        return time.monotonic() > self.budget.deadline

    def claim_unpacked(self, size: int) -> bool:
        """Count `size` decompressed bytes against the per-file budget; False once over it."""
        self.budget.unpacked += size
        return self.budget.unpacked <= self.limits.max_total_unpacked

    def scan_nested(self, data: Data, member: str, *, hints: frozenset[str] | None = None) -> str:
        """Sniff and scan `data` as a member of this object; returns its format."""
        child = self.child(member, hints=hints)
        if child.depth > self.limits.max_depth:
            self.report(
                "scan-limit",
                f"member {member!r} is nested deeper than {self.limits.max_depth} containers; not analysed",
                evidence={"limit": "max_depth"},
            )
            return "unknown"
        return self.dispatch(data, child)

    def reuse(self, key: str, data: Data, compute: Callable[[], T]) -> T:
        """What `compute()` returns for `data`, computed once however many checks ask."""
        held = self.memo.get(key)
        if held is not None and held[0] is data:
            return held[1]  # type: ignore[return-value]
        value = compute()
        self.memo[key] = (data, value)
        return value


def _as_text(value: object) -> str:
    """Evidence is text in every report; bytes a parser handed back (a protobuf string field
    that is not UTF-8) are decoded with escapes rather than break the JSON report."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value if isinstance(value, str) else str(value)
