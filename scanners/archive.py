"""Archives: zip, tar and 7z.

Members are read into memory, never extracted to disk, each bounded by the limits, checked for
the tricks that make extraction dangerous or let loaders and scanners see different content,
and scanned recursively through `ScanContext.scan_nested`, which sniffs them by content.

Findings about one member (its name, its data, a limit it hit) are reported on that member
(`ctx.child(name)`), findings about the archive as a whole on the archive.
"""

from __future__ import annotations

import bisect
import io
import mmap
import posixpath
import re
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aisbom.scanners.frame.context import Data, ScanContext, as_file
from aisbom.scanners.readers import zip_reader
from aisbom.severity import Severity

if TYPE_CHECKING:
    import tarfile

# Below this many decompressed bytes the compression ratio is not judged: small members
# (a config full of zeros, an empty tensor) legitimately compress far beyond any ratio limit.
RATIO_FLOOR = 1024 * 1024

_EXAMPLES = 5  # member names quoted in aggregated findings


# --- shared by every container scanner ----------------------------------------------------


@dataclass(frozen=True)
class Cap:
    """At most `size` bytes of one member are read; `limit` names the Limits field that set it."""

    size: int
    limit: str


def member_cap(ctx: ScanContext, packed_size: int | None = None) -> Cap:
    """How many bytes of one member may be read into memory.

    `packed_size` is given for compressed data: then the compression ratio (above RATIO_FLOOR)
    and what is left of the per-file decompression budget bound it too.
    """
    limits = ctx.limits
    caps = [
        Cap(limits.max_member_size, "max_member_size"),
        Cap(limits.max_in_memory, "max_in_memory"),
    ]
    if packed_size is not None:
        caps.append(Cap(max(RATIO_FLOOR, packed_size * limits.max_ratio), "max_ratio"))
        caps.append(Cap(max(0, limits.max_total_unpacked - ctx.budget.unpacked), "max_total_unpacked"))
    return min(caps, key=lambda cap: cap.size)


def report_cut(
    ctx: ScanContext,
    what: str,
    cap: Cap,
    *,
    packed_size: int | None = None,
    declared_size: int | None = None,
    offset: int | None = None,
    refused: bool = False,
) -> None:
    """Report a HIGH `scan-limit`: `what` holds more than `cap.size` bytes, so only that many
    were analysed (none if `refused`: it was not decompressed at all)."""
    value = getattr(ctx.limits, cap.limit)
    if cap.limit == "max_ratio":
        why = f"more than {value}x its compressed size of {packed_size} bytes (max_ratio)"
    elif cap.limit == "max_total_unpacked":
        why = f"more than the {value}-byte decompression budget of the file (max_total_unpacked)"
    else:
        why = f"more than {value} bytes ({cap.limit})"
    analysed = 0 if refused else cap.size
    evidence = {"limit": cap.limit, "limit_value": str(value), "bytes_analysed": str(analysed)}
    if packed_size is not None:
        evidence["compressed_size"] = str(packed_size)
    if declared_size is not None:
        evidence["declared_size"] = str(declared_size)
    verb = "holds" if packed_size is None else "decompresses to"
    done = "it was not analysed" if refused else f"only its first {cap.size} bytes were analysed"
    ctx.report("scan-limit", f"{what} {verb} {why}; {done}", offset=offset, evidence=evidence)


_DRIVE = re.compile(r"^[A-Za-z]:")


def path_problem(name: str) -> str | None:
    """Why extracting a member called `name` would write outside the target, or None.

    Backslashes count as separators (Windows extractors treat them so), and a segment of only
    dots and spaces with two or more dots counts as '..' (Windows trims trailing dots/spaces).
    """
    norm = name.replace("\\", "/")
    if norm.startswith("/"):
        return "absolute path"
    if _DRIVE.match(norm):
        return "Windows drive letter"
    for segment in norm.split("/"):
        if segment.count(".") >= 2 and not segment.strip(". "):
            return "'..' segment"
    return None


def check_name(ctx: ScanContext, name: str, kind: str = "member name") -> bool:
    """Report `archive-path-traversal` on the member if `name` escapes; True if it does."""
    problem = path_problem(name)
    if problem is None:
        return False
    ctx.report(
        "archive-path-traversal",
        f"{kind} {name!r} escapes the extraction directory ({problem})",
        evidence={"name": name, "problem": problem},
    )
    return True


def link_problem(name: str, target: str) -> str | None:
    """Why a symlink `name` -> `target` points outside the extraction directory, or None."""
    norm = target.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        return path_problem(norm)
    base = posixpath.dirname(name.replace("\\", "/"))
    return path_problem(posixpath.normpath(posixpath.join(base, norm)))


def report_link(ctx: ScanContext, name: str, target: str) -> None:
    problem = link_problem(name, target)
    if problem is not None:
        ctx.report(
            "archive-path-traversal",
            f"symlink {name!r} points to {target!r}, outside the extraction directory ({problem})",
            evidence={"name": name, "target": target},
        )


def _examples(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_EXAMPLES])
    return shown + (f" and {len(names) - _EXAMPLES} more" if len(names) > _EXAMPLES else "")


def _out_of_time(ctx: ScanContext, done: int, total: int | None) -> bool:
    if not ctx.out_of_time():
        return False
    rest = f"{total - done} of {total}" if total is not None else "the remaining"
    ctx.report(
        "scan-limit",
        f"time limit of {ctx.limits.max_seconds_per_file:g}s per file reached; {rest} members "
        "were not analysed",
        evidence={"limit": "max_seconds_per_file"},
    )
    return True


def _too_many(ctx: ScanContext, count: int) -> None:
    ctx.report(
        "scan-limit",
        f"more than {ctx.limits.max_members} members; only the first {count} were analysed",
        evidence={"limit": "max_members", "limit_value": str(ctx.limits.max_members)},
    )


# --- zip -----------------------------------------------------------------------------------

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


def scan_zip(data: Data, ctx: ScanContext) -> None:
    """Zip archives, including npz and Keras v3 files. PyTorch zips have their own scanner."""
    complete = True
    try:
        entries = zip_reader.read_central_directory(data, max_entries=ctx.limits.max_members)
    except zip_reader.TooManyEntries as exc:
        entries, complete = exc.entries, False
        _too_many(ctx, len(entries))
    except zip_reader.ZipError as exc:
        _ZipScan(data, ctx).run_local_headers(str(exc))
        return
    _ZipScan(data, ctx).run_central(entries, complete=complete)


class _ZipScan:
    def __init__(self, data: Data, ctx: ScanContext) -> None:
        self.data = data
        self.ctx = ctx
        self.seen: Counter[str] = Counter()
        self.over_budget: list[str] = []  # compressed members skipped: budget exhausted
        self.count = 0  # entries looked at, against max_members

    # The central directory is what zipfile, numpy, Keras and PyTorch (miniz) read.
    def run_central(self, entries: list[zip_reader.ZipEntry], *, complete: bool) -> None:
        ctx, data = self.ctx, self.data
        locals_ = [_local_header(data, e.header_offset) for e in entries]
        extents = [self._extent(e, loc) for e, loc in zip(entries, locals_, strict=True)]
        files = [e.name for e in entries if not e.is_dir]
        self.seen.update(files)
        self.count = len(entries)
        self._report_duplicates(files)

        scanned_starts: list[int] = []  # disjoint, sorted ranges of members already read
        scanned_ends: list[int] = []
        aliases: list[str] = []  # same local header and data as a member already read
        overlapping: list[str] = []  # data overlaps a member already read: not read again
        read_spans: dict[tuple[int, int, int], str] = {}
        for done, (entry, local, (start, end)) in enumerate(zip(entries, locals_, extents, strict=True)):
            if _out_of_time(ctx, done, len(entries)):
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
            i = bisect.bisect_right(scanned_starts, start)
            if (i > 0 and scanned_ends[i - 1] > start) or (
                i < len(scanned_starts) and scanned_starts[i] < end
            ):
                overlapping.append(entry.name)
                continue
            scanned_starts.insert(i, start)
            scanned_ends.insert(i, end)
            read_spans[span] = entry.name
            self._compare_headers(member, entry, local)
            self._scan_member(member, entry, local.body, walked=False)

        if aliases or overlapping:
            names = aliases + overlapping
            ctx.report(
                "archive-tampered",
                f"{len(names)} central directory entries point at data that other entries "
                f"already use ({_examples(names)}): overlapping entries are how "
                "'non-recursive' zip bombs reach huge sizes, and no zip writer produces them",
                evidence={"entries": str(len(names)), "overlapping": str(len(overlapping))},
            )
        if overlapping:
            ctx.report(
                "scan-limit",
                f"{len(overlapping)} members share compressed data with other members and were "
                f"not decompressed again ({_examples(overlapping)})",
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
                _too_many(ctx, count)
                break
            if _out_of_time(ctx, count, None):
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

    def _report_duplicates(self, names: list[str]) -> None:
        for name, count in Counter(names).items():
            if count > 1:
                self.ctx.report(
                    "archive-tampered",
                    f"{count} members are called {name!r}: loaders differ on which copy wins "
                    "(all copies were scanned)",
                    evidence={"name": name, "copies": str(count)},
                )

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
        cap = member_cap(ctx, entry.compressed_size if compressed else None)
        try:
            got = zip_reader.read_member(data, entry, max_size=cap.size)
        except zip_reader.ZipError as exc:
            member.report(
                "scan-error",
                f"member {name!r} could not be read: {exc}",
                offset=entry.header_offset,
            )
            return
        if compressed:
            ctx.claim_unpacked(len(got.data))
        if got.truncated:
            report_cut(
                member,
                f"member {name!r}",
                cap,
                packed_size=entry.compressed_size if compressed else None,
                declared_size=entry.size,
                offset=entry.header_offset,
            )
        elif not cut_short:
            # Walked entries with a data descriptor have no size or CRC in their header.
            deferred = walked and entry.flags & _DATA_DESCRIPTOR
            issues = []
            if len(got.data) != entry.size and not deferred:
                issues.append(f"it holds {len(got.data)} bytes, its header says {entry.size}")
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
        ctx.scan_nested(got.data, name)

    def _report_budget(self) -> None:
        if self.over_budget:
            self.ctx.report(
                "scan-limit",
                f"the file's decompression budget of {self.ctx.limits.max_total_unpacked} bytes "
                f"is spent; {len(self.over_budget)} compressed members were not analysed "
                f"({_examples(self.over_budget)})",
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
                    _too_many(self.ctx, self.count)
                    return
                if _out_of_time(self.ctx, self.count, None):
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
    pos = data.find(_LOCAL, start, end)
    while pos >= 0:
        local = _local_header(data, pos)
        if local is None or local.body > end:
            return
        size = local.compressed_size
        if (local.flags & _DATA_DESCRIPTOR and size == 0) or size == _U32:
            size = _guess_data_size(data, local.body, end)
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
        pos = data.find(_LOCAL, min(local.body + size, end), end)


def _guess_data_size(data: Data, body: int, end: int) -> int:
    """Sizes deferred to a data descriptor: the data ends where the next record starts."""
    descriptor = data.find(_DESCRIPTOR, body, end)
    if descriptor >= 0:
        return descriptor - body
    following = [p for p in (data.find(_LOCAL, body, end), data.find(_CENTRAL, body, end)) if p >= 0]
    if following:
        return max(0, min(following) - body - 12)
    return end - body


# --- tar -----------------------------------------------------------------------------------


def scan_tar(data: Data, ctx: ScanContext) -> None:
    """Uncompressed tar (compressed ones arrive here through `compressed.scan_compressed`).

    Read with `ignore_zeros`, as `tar -i` does: readers disagree on what follows an
    end-of-archive marker or an invalid header (tarfile stops silently, GNU tar skips to the
    next header), so we read every member any of them could see, and report the skipped
    stretches that let them disagree.

    Device nodes and FIFOs are reported as `archive-tampered` (medium): tarfile's 'data'
    extraction filter refuses them, a model archive never needs one, and a device node extracted
    as root gives raw access to that device. Repeated names are not reported: appending a newer
    copy is ordinary tar usage, and every copy is scanned.
    """
    import tarfile  # late: not needed for most files

    try:
        archive = tarfile.open(fileobj=as_file(data), mode="r:", ignore_zeros=True)  # noqa: SIM115
    except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError) as exc:
        ctx.report("scan-error", f"tar archive unreadable: {exc}")
        return
    with archive:  # closes the TarFile only, never the caller's buffer or mmap
        _scan_tar_members(data, ctx, archive)


def _scan_tar_members(data: Data, ctx: ScanContext, archive: tarfile.TarFile) -> None:
    import tarfile

    count = 0
    expected: int | None = 0  # where the next header should start
    while True:
        if count >= ctx.limits.max_members:
            if _next_member(archive) is not None:
                _too_many(ctx, count)
            return
        if _out_of_time(ctx, count, None):
            return
        try:
            info = archive.next()
        except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError) as exc:
            ctx.report(
                "scan-error",
                f"tar archive corrupt after {count} members: {exc}; the rest was not analysed",
            )
            return
        if info is None:
            break
        count += 1
        if expected is not None and info.offset > expected:
            _report_tar_gap(data, ctx, expected, info.offset, info.name)
        # Old-style GNU sparse members store less than their size: no expectation then.
        has_data = info.isreg() or info.type not in tarfile.SUPPORTED_TYPES
        stored = tarfile.BLOCKSIZE * -(-info.size // tarfile.BLOCKSIZE) if has_data else 0
        expected = None if info.sparse is not None else info.offset_data + stored
        _scan_tar_member(data, ctx, archive, info)
    if count == 0:
        ctx.report("scan-error", "tar archive unreadable: no valid member header found")
    elif expected is not None and not all_zero(data, expected):
        ctx.report(
            "archive-tampered",
            f"non-zero data after the last tar member (offset {expected}) that is not a member",
            severity=Severity.LOW,
            offset=expected,
        )


def _report_tar_gap(data: Data, ctx: ScanContext, start: int, end: int, name: str) -> None:
    """Blocks skipped before member `name`: pax global headers are fine; an end-of-archive
    marker (concatenated archives) or invalid headers make readers disagree."""
    import tarfile

    pos = start
    while pos < end:
        try:
            header = tarfile.TarInfo.frombuf(bytes(data[pos : pos + 512]), "utf-8", "replace")
        except tarfile.HeaderError:
            break
        if header.type != tarfile.XGLTYPE:
            break
        pos += 512 + tarfile.BLOCKSIZE * -(-header.size // tarfile.BLOCKSIZE)
    if pos >= end:
        return
    if all_zero(data, pos, end):
        why = (
            "follows an end-of-archive marker: tar and tarfile stop there by default, so "
            "most readers never see it (concatenated archives)"
        )
    else:
        why = (
            f"follows {end - pos} bytes that are not a valid header: tarfile stops there, "
            "GNU tar skips to the next header"
        )
    ctx.report(
        "archive-tampered",
        f"tar member {name!r} at offset {end} {why}; it was scanned",
        offset=end,
        evidence={"name": name, "skipped_from": str(pos)},
    )


def all_zero(data: Data, start: int, end: int | None = None) -> bool:
    """True if data[start:end] holds only zero bytes (checked a chunk at a time)."""
    stop = len(data) if end is None else min(end, len(data))
    step = 1024 * 1024
    return not any(data[at : min(at + step, stop)].strip(b"\x00") for at in range(start, stop, step))


def _next_member(archive: tarfile.TarFile) -> tarfile.TarInfo | None:
    try:
        return archive.next()
    except Exception:  # (only asking whether anything follows)
        return None


def _scan_tar_member(data: Data, ctx: ScanContext, archive: tarfile.TarFile, info: tarfile.TarInfo) -> None:
    name = info.name
    member = ctx.child(name)
    check_name(member, name)
    if info.issym():
        report_link(member, name, info.linkname)
        return
    if info.islnk():
        check_name(member, info.linkname, kind=f"hard link {name!r} to")
        return
    if info.ischr() or info.isblk() or info.isfifo():
        kind = "FIFO" if info.isfifo() else "device node"
        member.report(
            "archive-tampered",
            f"member {name!r} is a {kind}: model archives never need one, and safe extraction "
            "filters refuse it",
            evidence={"name": name, "type": kind},
        )
        return
    if info.isdir() or info.size == 0:
        return
    cap = member_cap(ctx)
    if info.sparse is not None:
        reader = archive.extractfile(info)
        try:
            content = reader.read(cap.size) if reader is not None else b""
        except (tarfile.TarError, OSError, EOFError) as exc:
            member.report("scan-error", f"member {name!r} could not be read: {exc}")
            return
    else:
        content = data[info.offset_data : info.offset_data + min(info.size, cap.size)]
        if info.offset_data + info.size > len(data):
            member.report(
                "scan-error",
                f"member {name!r} is truncated: {len(content)} of {info.size} bytes present",
                offset=info.offset,
            )
    if info.size > cap.size:
        report_cut(member, f"member {name!r}", cap, declared_size=info.size, offset=info.offset)
    ctx.scan_nested(content, name)


# --- 7z ------------------------------------------------------------------------------------


class _Abort(Exception):
    """Raised from inside py7zr's extraction loop to stop it (time limit)."""


def scan_7z(data: Data, ctx: ScanContext) -> None:
    """7z archives through py7zr, extracting into memory only (a writer factory).

    Member sizes come from the archive header and the decoder never produces more than that,
    so over-limit members are refused before anything is decompressed. py7zr refuses to
    extract members whose names escape; those are reported and not analysed.
    """
    import py7zr  # late: py7zr imports its codecs eagerly

    try:
        archive = _open_7z(py7zr, data, max_extract=None)
        try:
            infos = archive.list()
            encrypted = archive.needs_password()
        finally:
            archive.close()  # a file object we passed in stays open
    except py7zr.PasswordRequired:
        ctx.report("scan-error", "7z archive is encrypted (its header too); it cannot be analysed")
        return
    except Exception as exc:  # (py7zr raises many types on hostile input)
        ctx.report("scan-error", f"7z archive unreadable: {type(exc).__name__}: {exc}")
        return

    if len(infos) > ctx.limits.max_members:
        infos = infos[: ctx.limits.max_members]
        _too_many(ctx, len(infos))
    names = Counter(info.filename for info in infos if not info.is_directory)
    for name, copies in names.items():
        if copies > 1:
            ctx.report(
                "archive-tampered",
                f"{copies} members are called {name!r}: extractors differ on which copy wins "
                "(all copies were scanned)",
                evidence={"name": name, "copies": str(copies)},
            )

    # The name py7zr hands the writer factory for each member (duplicates get suffixes).
    ordinal: Counter[str] = Counter()
    keys = {id(info): _py7zr_key(info.filename, ordinal) for info in infos}
    wanted: list[Any] = []  # py7zr FileInfo
    planned = 0
    # Solid blocks have no per-member compressed size: the ratio applies to the archive.
    ratio_cap = max(RATIO_FLOOR, len(data) * ctx.limits.max_ratio)
    left = max(0, ctx.limits.max_total_unpacked - ctx.budget.unpacked)
    budget = Cap(ratio_cap, "max_ratio") if ratio_cap <= left else Cap(left, "max_total_unpacked")
    for info in infos:
        member = ctx.child(info.filename)
        if check_name(member, info.filename):
            if not info.is_directory:
                member.report(
                    "scan-error",
                    f"member {info.filename!r} was not analysed: py7zr refuses to extract names that escape",
                )
            continue
        if info.is_directory or encrypted:
            continue
        if not keys[id(info)]:
            member.report(
                "scan-error",
                f"member {info.filename!r} was not analysed: py7zr cannot extract an empty name",
            )
            continue
        cap = member_cap(ctx)
        if info.uncompressed > cap.size:
            report_cut(
                member, f"member {info.filename!r}", cap, declared_size=info.uncompressed, refused=True
            )
            continue
        if planned + info.uncompressed > budget.size:
            report_cut(
                member,
                f"together with the {planned} bytes of members before it, member {info.filename!r}",
                budget,
                packed_size=len(data),
                declared_size=info.uncompressed,
                refused=True,
            )
            continue
        planned += info.uncompressed
        wanted.append(info)
    if encrypted:
        ctx.report("scan-error", "7z archive is encrypted; its members cannot be analysed")
        return
    if not wanted:
        return

    products, error = _extract_7z(py7zr, data, ctx, wanted, budget.size)
    if error:
        ctx.report("scan-error", f"7z archive could not be fully decompressed: {error}")
    for info in wanted:
        member = ctx.child(info.filename)
        buffer = products.get(keys[id(info)])
        if buffer is None:
            if not error:
                member.report(
                    "scan-error",
                    f"member {info.filename!r} was not analysed: py7zr returned no content",
                )
            continue
        content = buffer.getvalue()
        ctx.claim_unpacked(len(content))
        if info.is_symlink:
            report_link(member, info.filename, content.decode("utf-8", errors="replace"))
            continue
        ctx.scan_nested(content, info.filename)


class _MmapFile(io.RawIOBase):
    """A read-only file over an mmap, without copying it: py7zr accepts only io.IOBase."""

    def __init__(self, data: mmap.mmap) -> None:
        self._data = data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._data[self._pos : self._pos + len(buffer)]
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._data)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


def _open_7z(py7zr: Any, data: Data, max_extract: int | None) -> Any:
    opener = py7zr.SevenZipFile
    source = _MmapFile(data) if isinstance(data, mmap.mmap) else io.BytesIO(data)
    if max_extract is None:
        return opener(source, mode="r")
    try:
        # py7zr >= 1.1.3 counts every decompressed byte, including members decoded only to
        # reach a later one in the same solid block, against this bound.
        return opener(source, mode="r", max_extract_size=max_extract)
    except TypeError:
        source.seek(0)
        return opener(source, mode="r")


def _extract_7z(
    py7zr: Any, data: Data, ctx: ScanContext, wanted: list[Any], bound: int
) -> tuple[dict[str, io.BytesIO], str | None]:
    """Decompress `wanted` into memory. Returns the buffers by py7zr's output name, and the
    error that stopped extraction, if any (buffers filled before it are kept)."""
    from py7zr.io import Py7zIO, WriterFactory

    products: dict[str, io.BytesIO] = {}

    cap = member_cap(ctx).size  # a same-named copy of a refused member is extracted too

    class _Writer(Py7zIO):
        def __init__(self, buffer: io.BytesIO) -> None:
            self.buffer = buffer

        def write(self, s: bytes | bytearray) -> int:
            if ctx.out_of_time():
                raise _Abort(f"time limit of {ctx.limits.max_seconds_per_file:g}s reached")
            room = cap - self.buffer.tell()
            if room > 0:
                self.buffer.write(s[:room])
            return len(s)

        def read(self, size: int | None = None) -> bytes:
            return self.buffer.read(size)

        def seek(self, offset: int, whence: int = 0) -> int:
            return self.buffer.seek(offset, whence)

        def flush(self) -> None:
            pass

        def size(self) -> int:
            return self.buffer.getbuffer().nbytes

    class _Factory(WriterFactory):
        def create(self, filename: str) -> Py7zIO:
            buffer = products.setdefault(filename, io.BytesIO())
            return _Writer(buffer)

    targets = [info.filename for info in wanted]
    try:
        archive = _open_7z(py7zr, data, max_extract=bound + 1)
        try:
            archive.extract(targets=targets, factory=_Factory())
        finally:
            archive.close()
    except _Abort as exc:
        return products, str(exc)
    except Exception as exc:  # (py7zr raises many types on hostile input)
        return products, f"{type(exc).__name__}: {exc}"
    return products, None


def _py7zr_key(name: str, ordinal: Counter[str]) -> str:
    """The name py7zr hands the writer factory for member `name` (see py7zr's _extract):
    leading slashes and '.' segments dropped; later copies of a name get '_0', '_1' ..."""
    seen = ordinal[name]
    ordinal[name] += 1
    out = name if seen == 0 else f"{name}_{seen - 1}"
    parts = [p for p in out.lstrip("/").split("/") if p not in ("", ".")]
    return "/".join(parts)
