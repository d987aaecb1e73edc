"""Zip archives (npz and Keras v3 files too), located as `zipfile` and PyTorch's miniz locate
them (`readers/zip_directory`): every member either reader lists is scanned, and readers that
list different members are reported. Only where neither can read a central directory are the
local headers walked, as streaming extractors walk them (and that is reported). Every member is
checked for the tricks that let loaders and scanners see different content, and scanned through
`ScanContext.scan_nested`.
"""

from __future__ import annotations

import bisect
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from aisbom.scanners.archives.members import (
    check_name,
    examples,
    member_cap,
    out_of_time,
    report_cut,
    report_link,
    too_many,
)
from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.readers import zip_directory, zip_reader
from aisbom.wording import counted

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_DESCRIPTOR = b"PK\x07\x08"
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
_ENCRYPTED = 0x0001 | 0x0040  # traditional / strong encryption
_DATA_DESCRIPTOR = 0x0008
# Bits every writer may set: encryption (handled apart), deflate options, data descriptor, UTF-8.
_ORDINARY_FLAGS = _ENCRYPTED | 0x0006 | _DATA_DESCRIPTOR | 0x0800
_STORED = 0
_U32 = 0xFFFFFFFF


@dataclass(frozen=True)
class _Local:
    """A local file header, as a streaming extractor reads it."""

    offset: int
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    name: str
    body: int  # offset of the member's data


def _local_header(data: Data, offset: int) -> _Local | None:
    header = data[offset : offset + 30]
    if len(header) < 30 or header[:4] != _LOCAL:
        return None
    (_, _, flags, method, _, _, crc, csize, usize, nlen, xlen) = _LOCAL_HEADER.unpack(header)
    raw_name = data[offset + 30 : offset + 30 + nlen]
    name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
    return _Local(offset, flags, method, crc, csize, usize, name, offset + 30 + nlen + xlen)


def read_zip_member(data: Data, entry: zip_reader.ZipEntry, member: ScanContext) -> zip_reader.MemberData:
    """The data of one zip member, read within the file's limits: the per-member and in-memory
    caps and, for a compressed member, the compression ratio and what is left of the file's
    decompression budget, which its bytes are then counted against. A cut is reported on
    `member`, the member's context. Raises zip_reader.ZipError when it cannot be read."""
    compressed = entry.method != _STORED
    packed_size = entry.compressed_size if compressed else None
    plain = False
    if compressed:
        # Imported here: PyTorch stores its members, and only compressed ones are asked this.
        from aisbom.scanners.pickles.numpy_arrays import holds_no_objects

        # The data of a NumPy array of numbers cannot hold code: it is not judged by its ratio.
        plain = holds_no_objects(zip_reader.read_member(data, entry, max_size=4096).data)
    cap = member_cap(member, packed_size, ratio=not plain)
    got = zip_reader.read_member(data, entry, max_size=cap.size)
    if compressed:
        member.claim_unpacked(len(got.data))
    if got.truncated:
        report_cut(
            member,
            f"member {entry.name!r}",
            cap,
            packed_size=packed_size,
            declared_size=entry.size,
            offset=entry.header_offset,
        )
    return got


def scan_zip(data: Data, ctx: ScanContext) -> None:
    """Zip archives, including npz and Keras v3 files. PyTorch zips have their own scanner, which
    reads members with `read_zip_member` too."""
    directories = zip_directory.read_directories(data, max_entries=ctx.limits.max_members)
    if not directories.readable:
        _ZipScan(data, ctx).run_local_headers(directories.first_failure())
        return
    report_divergence(ctx, directories)
    entries = directories.entries()
    if not directories.complete:
        too_many(ctx, len(entries))
    _ZipScan(data, ctx).run_central(
        entries, complete=directories.complete, repeated=directories.repeated_names()
    )


def report_divergence(ctx: ScanContext, directories: zip_directory.Directories) -> None:
    """zipfile and miniz list different members: every member either lists is scanned, and the
    archive is reported, since no zip writer produces such a file."""
    if directories.divergent:
        ctx.report(
            "archive-tampered",
            "zip readers find different central directories (every member listed was scanned): "
            + "; ".join(zip_directory.describe(directories)),
            evidence={"views": str(len(directories.views))},
        )


class DisjointSpans:
    """Byte ranges of an archive already read, none overlapping another. Readers that go over
    central directory entries skip an entry whose bytes overlap one read before: thousands of
    entries can point at the same data (the zip checks report them)."""

    def __init__(self) -> None:
        self.starts: list[int] = []  # sorted
        self.ends: list[int] = []

    def add(self, start: int, end: int) -> bool:
        """Add [start, end) unless it overlaps a range already there; whether it was added."""
        i = bisect.bisect_right(self.starts, start)
        if (i and self.ends[i - 1] > start) or (i < len(self.starts) and self.starts[i] < end):
            return False
        self.starts.insert(i, start)
        self.ends.insert(i, end)
        return True

    @staticmethod
    def of_entry(entry: zip_reader.ZipEntry) -> tuple[int, int]:
        """An entry's bytes, at least: its fixed local header and its compressed data."""
        return entry.header_offset, entry.header_offset + 30 + entry.compressed_size


class _ZipScan:
    def __init__(self, data: Data, ctx: ScanContext) -> None:
        self.data = data
        self.ctx = ctx
        self.seen: Counter[str] = Counter()
        self.over_budget: list[str] = []  # compressed members skipped: budget exhausted
        self.count = 0  # entries looked at, against max_members

    # The central directory is what zipfile, numpy, Keras and PyTorch (miniz) read.
    def run_central(self, entries: list[zip_reader.ZipEntry], *, complete: bool, repeated: list[str]) -> None:
        ctx, data = self.ctx, self.data
        locals_ = [_local_header(data, e.header_offset) for e in entries]
        extents = [self._extent(e, loc) for e, loc in zip(entries, locals_, strict=True)]
        self.seen.update(e.name for e in entries if not e.is_dir)
        self.count = len(entries)
        for name in repeated:
            self.ctx.report(
                "archive-tampered",
                f"{self.seen[name]} members are called {name!r}: loaders differ on which copy wins "
                "(all copies were scanned)",
                evidence={"name": name, "copies": str(self.seen[name])},
            )

        scanned = DisjointSpans()  # the bytes of members already read
        aliases: list[str] = []  # same local header and data as a member already read
        overlapping: list[str] = []  # data overlaps a member already read: not read again
        read_spans: dict[tuple[int, int, int], str] = {}
        for done, (entry, local, (start, end)) in enumerate(zip(entries, locals_, extents, strict=True)):
            if out_of_time(ctx, done, len(entries)):
                return
            member = ctx.child(entry.name)
            check_name(member, entry.name)
            if self._empty_directory(entry, None if local is None else local.body):
                continue
            if local is None:
                member.report(
                    "scan-error",
                    f"member {entry.name!r}: no local header at offset {entry.header_offset}; "
                    "its data could not be read",
                    offset=entry.header_offset,
                )
                continue
            span = (entry.header_offset, entry.method, entry.compressed_size)
            if span in read_spans:
                aliases.append(entry.name)
                continue
            if not scanned.add(start, end):
                overlapping.append(entry.name)
                continue
            read_spans[span] = entry.name
            self._compare_headers(member, entry, local)
            self._scan_member(member, entry, local.body, walked=False)

        if aliases or overlapping:
            names = aliases + overlapping
            ctx.report(
                "archive-tampered",
                f"{len(names)} central directory entries point at data that other entries "
                f"already use ({examples(names)}): overlapping entries are how "
                "'non-recursive' zip bombs reach huge sizes, and no zip writer produces them",
                evidence={"entries": str(len(names)), "overlapping": str(len(overlapping))},
            )
        if overlapping:
            ctx.report(
                "scan-limit",
                f"{counted(len(overlapping), 'member')} sharing compressed data with other members, not "
                f"decompressed again ({examples(overlapping)})",
                evidence={"limit": "overlapping_entries", "members": str(len(overlapping))},
            )
        self._report_budget()
        if complete:  # with a truncated list, unlisted entries are not hidden ones
            self._scan_hidden(sorted(extents))

    # Without a readable central directory, do what streaming extractors do.
    def run_local_headers(self, reason: str) -> None:
        ctx = self.ctx
        count = 0
        for entry in _walk_local_headers(self.data, 0, len(self.data)):
            if count >= ctx.limits.max_members:
                too_many(ctx, count)
                break
            if out_of_time(ctx, count, None):
                break
            if count == 0:
                ctx.report(
                    "archive-tampered",
                    f"zip central directory unreadable ({reason}); members were read by walking "
                    "the local headers, as streaming extractors do",
                    evidence={"reason": reason},
                )
            count += 1
            self._scan_walked(*entry)
        if count == 0:
            ctx.report(
                "scan-error",
                f"zip archive unreadable: {reason}, and no local file header was found",
                evidence={"reason": reason},
            )
            return
        self._report_budget()

    def _scan_walked(self, entry: zip_reader.ZipEntry, body: int) -> None:
        member = self.ctx.child(entry.name)
        check_name(member, entry.name)
        self.seen[entry.name] += 1
        if self.seen[entry.name] == 2:
            self.ctx.report(
                "archive-tampered",
                f"several members are called {entry.name!r}: loaders differ on which copy wins "
                "(all copies were scanned)",
                evidence={"name": entry.name},
            )
        if self._empty_directory(entry, body):
            return
        self._check_flags(member, entry, [])
        self._scan_member(member, entry, body, walked=True)

    def _empty_directory(self, entry: zip_reader.ZipEntry, body: int | None) -> bool:
        """A directory entry with no data: stored empty, or (what Java's ZipOutputStream and
        so every jar writes) deflated to the 2-byte empty stream 03 00."""
        if not entry.is_dir or entry.size != 0:
            return False
        if entry.compressed_size == 0:
            return True
        return (
            body is not None
            and entry.method == 8  # deflate
            and entry.compressed_size == 2
            and self.data[body : body + 2] == b"\x03\x00"
        )

    def _extent(self, entry: zip_reader.ZipEntry, local: _Local | None) -> tuple[int, int]:
        """The bytes an entry occupies: local header, data and any data descriptor."""
        if local is None:
            return entry.header_offset, entry.header_offset + 30
        end = local.body + entry.compressed_size
        if entry.flags & _DATA_DESCRIPTOR:
            if self.data[end : end + 4] == _DESCRIPTOR:
                end += 4
            zip64 = _U32 in (local.compressed_size, local.size) or entry.size >= _U32
            end += 20 if zip64 else 12
        return entry.header_offset, end

    def _compare_headers(self, member: ScanContext, entry: zip_reader.ZipEntry, local: _Local) -> None:
        """Local and central headers must agree: streaming readers trust the local one."""
        issues: list[str] = []
        if local.name != entry.name:
            issues.append(f"local header names it {local.name!r}")
        if local.method != entry.method:
            issues.append(
                f"compression method {local.method} in the local header, "
                f"{entry.method} in the central directory"
            )
        if not local.flags & _DATA_DESCRIPTOR:
            for what, here, there in (
                ("CRC", local.crc, entry.crc),
                ("compressed size", local.compressed_size, entry.compressed_size),
                ("size", local.size, entry.size),
            ):
                if here != there and here != _U32:
                    issues.append(f"{what} {here} in the local header, {there} in the central directory")
        if (local.flags ^ entry.flags) & _ENCRYPTED:
            issues.append("local and central headers disagree on encryption")
        self._check_flags(member, entry, issues)

    def _check_flags(self, member: ScanContext, entry: zip_reader.ZipEntry, issues: list[str]) -> None:
        if entry.is_dir:  # only entries with data get here
            issues.append("a directory entry holds data (extractors drop it, other readers do not)")
        if "\x00" in entry.name:
            issues.append("its name contains a NUL byte (some readers cut the name there)")
        odd = entry.flags & ~_ORDINARY_FLAGS & 0xFFFF
        if odd:
            issues.append(
                f"unusual flag bits 0x{odd:04x} (patched data, masked headers or "
                "reserved bits) that readers interpret differently"
            )
        if issues:
            member.report(
                "archive-tampered",
                f"member {entry.name!r}: " + "; ".join(issues),
                offset=entry.header_offset,
                evidence={"issues": str(len(issues))},
            )
        if entry.flags & _ENCRYPTED:
            member.report(
                "scan-error",
                f"member {entry.name!r} is flagged as encrypted: if it is, its content cannot "
                "be analysed (readers that ignore the flag get the bytes scanned here)",
                offset=entry.header_offset,
            )

    def _scan_member(
        self, member: ScanContext, entry: zip_reader.ZipEntry, body: int, *, walked: bool
    ) -> None:
        ctx, data = self.ctx, self.data
        name = entry.name
        compressed = entry.method != _STORED
        if compressed and ctx.budget.unpacked >= ctx.limits.max_total_unpacked:
            self.over_budget.append(name)
            return
        cut_short = body + entry.compressed_size > len(data)
        if cut_short:
            member.report(
                "scan-error",
                f"member {name!r} is truncated: its data runs past the end of the archive",
                offset=entry.header_offset,
            )
        try:
            got = read_zip_member(data, entry, member)
        except zip_reader.ZipError as exc:
            member.report(
                "scan-error",
                f"member {name!r} could not be read: {exc}",
                offset=entry.header_offset,
            )
            return
        if not got.truncated and not cut_short:
            # Walked entries with a data descriptor have no size or CRC in their header.
            deferred = walked and entry.flags & _DATA_DESCRIPTOR
            issues = []
            if len(got.data) != entry.size and not deferred:
                issues.append(f"it holds {counted(len(got.data), 'byte')}, its header says {entry.size}")
            if not got.crc_ok and not deferred:
                issues.append("its CRC-32 does not match (PyTorch does not check it)")
            if issues:
                member.report(
                    "archive-tampered",
                    f"member {name!r}: " + "; ".join(issues),
                    offset=entry.header_offset,
                    evidence={"issues": str(len(issues))},
                )
        if entry.is_symlink:
            # Its data is the link's target, not content: unzip would create the link.
            report_link(member, name, got.data[:4096].decode("utf-8", "replace"))
            return
        # A member cut by a limit was reported once (scan-limit); its scanner is told, so that
        # it does not report the same cut again as truncated content.
        ctx.scan_nested(got.data, name, hints=ctx.hints | {"cut"} if got.truncated else None)

    def _report_budget(self) -> None:
        if self.over_budget:
            self.ctx.report(
                "scan-limit",
                f"the file's decompression budget of {self.ctx.limits.max_total_unpacked} bytes "
                f"is spent; {len(self.over_budget)} compressed members were not analysed "
                f"({examples(self.over_budget)})",
                evidence={"limit": "max_total_unpacked", "members": str(len(self.over_budget))},
            )
            self.over_budget = []

    def _scan_hidden(self, extents: list[tuple[int, int]]) -> None:
        """Local entries outside every listed entry: invisible to zipfile and PyTorch, but read
        by streaming extractors (and a second archive glued in front of this one)."""
        data = self.data
        gaps: list[tuple[int, int]] = []
        pos = 0
        for start, end in extents:
            if start > pos:
                gaps.append((pos, start))
            pos = max(pos, end)
        central = data.find(_CENTRAL, pos)
        if central < 0:
            central = data.rfind(b"PK\x05\x06")
        if central > pos:
            gaps.append((pos, central))
        for gap_start, gap_end in gaps:
            for entry, body in _walk_local_headers(data, gap_start, gap_end):
                if self.count >= self.ctx.limits.max_members:
                    too_many(self.ctx, self.count)
                    return
                if out_of_time(self.ctx, self.count, None):
                    return
                self.count += 1
                self.ctx.report(
                    "archive-tampered",
                    f"local entry {entry.name!r} at offset {entry.header_offset} is not listed in "
                    "the central directory: zipfile and PyTorch ignore it, streaming extractors "
                    "read it (it was scanned)",
                    offset=entry.header_offset,
                    evidence={"name": entry.name},
                )
                self._scan_walked(entry, body)
        self._report_budget()


def _walk_local_headers(data: Data, start: int, end: int) -> Iterator[tuple[zip_reader.ZipEntry, int]]:
    """Local entries in data[start:end] (with the offset of their data), one after another,
    as a streaming extractor finds them."""
    records = _NextRecord(data, end)
    pos = records.find(_LOCAL, start)
    while pos >= 0:
        local = _local_header(data, pos)
        if local is None or local.body > end:
            return
        size = local.compressed_size
        # Sizes deferred to a data descriptor, or zeroed to hide compressed data: a streaming
        # extractor inflates until the stream ends, so the data runs to the next record.
        deferred = local.flags & _DATA_DESCRIPTOR or local.method != _STORED
        if (deferred and size == 0) or size == _U32:
            size = _guess_data_size(records, local.body)
        yield (
            zip_reader.ZipEntry(
                name=local.name,
                method=local.method,
                flags=local.flags,
                crc=local.crc,
                compressed_size=size,
                size=local.size,
                header_offset=pos,
                is_dir=local.name.endswith("/"),
            ),
            local.body,
        )
        pos = records.find(_LOCAL, min(local.body + size, end))


class _NextRecord:
    """Where the next record signature at or after a position is, in data[:end]. Walking headers
    asks again and again from positions that only move forward: each answer is remembered with
    the position it was searched from, so the file is searched once per signature, not once per
    header (thousands of headers with deferred sizes and no descriptor would be quadratic)."""

    def __init__(self, data: Data, end: int) -> None:
        self.data = data
        self.end = end
        self.searched: dict[bytes, tuple[int, int]] = {}  # signature -> (searched from, found)

    def find(self, signature: bytes, start: int) -> int:
        if start >= self.end:
            return -1
        searched_from, found = self.searched.get(signature, (self.end, -1))
        # Nothing lies between searched_from and found (or the end, when nothing was found).
        if searched_from <= start and (found < 0 or found >= start):
            return found
        found = self.data.find(signature, start, self.end)
        self.searched[signature] = (start, found)
        return found


def _guess_data_size(records: _NextRecord, body: int) -> int:
    """Sizes deferred to a data descriptor: the data ends where the next record starts."""
    descriptor = records.find(_DESCRIPTOR, body)
    if descriptor >= 0:
        return descriptor - body
    following = [p for p in (records.find(_LOCAL, body), records.find(_CENTRAL, body)) if p >= 0]
    if following:
        return max(0, min(following) - body - 12)
    return records.end - body
