"""What every scanner receives: the bytes, and a context to report findings and recurse."""

from __future__ import annotations

import io
import mmap
import time
from dataclasses import dataclass, field, replace
from typing import BinaryIO, Union

from aisbom.findings import Finding
from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.rules import RULES
from aisbom.severity import Severity

# Scanners read `bytes` (small files, container members) or a read-only `mmap` (large files).
# Both support len(), indexing to int, slicing to bytes and .find().
Data = Union[bytes, mmap.mmap]  # noqa: UP007 (a runtime alias)


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
    path: str  # the top-level file, relative to the target
    limits: Limits
    policy: Policy
    sink: list[Finding]
    budget: Budget
    members: tuple[str, ...] = ()
    depth: int = 0
    # Loader hints from the enclosing container, e.g. "torchscript" (whose pickle loader
    # never imports Python modules) or "joblib" (inline array data inside the pickle).
    hints: frozenset[str] = field(default_factory=frozenset)
    # The top-level file on disk, when there is one: for parsers that run in a child process
    # (libhdf5) and must reopen the file rather than receive a copy of a large mapping.
    source: str | None = None

    @classmethod
    def for_file(cls, path: str, limits: Limits, policy: Policy, *, source: str | None = None) -> ScanContext:
        budget = Budget(deadline=time.monotonic() + limits.max_seconds_per_file)
        return cls(path=path, limits=limits, policy=policy, sink=[], budget=budget, source=source)

    def report(
        self,
        rule: str,
        message: str,
        *,
        severity: Severity | None = None,
        offset: int | None = None,
        evidence: dict[str, str] | None = None,
    ) -> None:
        self.sink.append(
            Finding(
                rule=rule,
                severity=RULES[rule].severity if severity is None else severity,
                message=message,
                path=self.path,
                members=self.members,
                offset=offset,
                evidence=tuple(sorted((evidence or {}).items())),
            )
        )

    def child(self, member: str, *, hints: frozenset[str] | None = None) -> ScanContext:
        """Context for a member of this object (an archive entry, an embedded pickle ...)."""
        return replace(
            self,
            members=(*self.members, member),
            depth=self.depth + 1,
            hints=self.hints if hints is None else hints,
        )

    def out_of_time(self) -> bool:
        return time.monotonic() > self.budget.deadline

    def claim_unpacked(self, size: int) -> bool:
        """Count `size` decompressed bytes against the per-file budget; False once over it."""
        self.budget.unpacked += size
        return self.budget.unpacked <= self.limits.max_total_unpacked

    def scan_nested(self, data: Data, member: str, *, hints: frozenset[str] | None = None) -> str:
        """Sniff and scan `data` as a member of this object; returns its format."""
        from aisbom.scanners.frame.registry import scan_blob  # late: registry imports the scanners

        child = self.child(member, hints=hints)
        if child.depth > self.limits.max_depth:
            self.report(
                "scan-limit",
                f"member {member!r} is nested deeper than {self.limits.max_depth} containers; not analysed",
                evidence={"limit": "max_depth"},
            )
            return "unknown"
        return scan_blob(data, child)
