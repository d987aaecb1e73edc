"""Tar archives (uncompressed; compressed ones arrive here through `compressed`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aisbom.scanners.archives.members import (
    all_zero,
    check_name,
    member_cap,
    out_of_time,
    report_cut,
    report_link,
    too_many,
)
from aisbom.scanners.frame.context import Data, ScanContext, as_file
from aisbom.severity import Severity
from aisbom.wording import counted

if TYPE_CHECKING:
    import tarfile


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
        archive = tarfile.open(  # noqa: SIM115
            fileobj=as_file(data), mode="r:", ignore_zeros=True, tarinfo=_checked_tarinfo(tarfile)
        )
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
                too_many(ctx, count)
            return
        if out_of_time(ctx, count, None):
            return
        try:
            info = archive.next()
        except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError) as exc:
            ctx.report(
                "scan-error",
                f"tar archive corrupt after {counted(count, 'member')}: {exc}; the rest was not analysed",
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
        _scan_tar_member(data, ctx, info)
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
            f"follows {counted(end - pos, 'byte')}, not a valid header: tarfile stops there, "
            "GNU tar skips to the next header"
        )
    ctx.report(
        "archive-tampered",
        f"tar member {name!r} at offset {end} {why}; it was scanned",
        offset=end,
        evidence={"name": name, "skipped_from": str(pos)},
    )


def _next_member(archive: tarfile.TarFile) -> tarfile.TarInfo | None:
    try:
        return archive.next()
    except Exception:  # (only asking whether anything follows)
        return None


def _scan_tar_member(data: Data, ctx: ScanContext, info: tarfile.TarInfo) -> None:
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
    if info.sparse is not None:
        _scan_sparse_member(data, ctx, member, info)
        return
    cap = member_cap(ctx)
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


def _scan_sparse_member(data: Data, ctx: ScanContext, member: ScanContext, info: tarfile.TarInfo) -> None:
    """A GNU sparse member: its stored segments placed at their offsets, the holes between them
    zero. Its holes cost nothing in the archive, so it is capped like compressed data (ratio and
    the file's decompression budget), and built here in one buffer: tarfile's own reader adds
    segment after segment to a bytes object, quadratic in the number of segments."""
    segments: list[tuple[int, int]] = list(info.sparse or [])  # type: ignore[arg-type]  # (offset, size)
    stored = sum(length for _, length in segments)
    cap = member_cap(ctx, stored)
    out = bytearray(min(info.size, cap.size))
    pos = info.offset_data
    for offset, length in segments:
        chunk = data[pos : pos + length]
        pos += length
        if offset < len(out):
            piece = chunk[: len(out) - offset]
            out[offset : offset + len(piece)] = piece
    ctx.claim_unpacked(len(out))
    if pos > len(data):
        member.report(
            "scan-error",
            f"member {info.name!r} is truncated: its sparse segments run past the end of the archive",
            offset=info.offset,
        )
    if info.size > cap.size:
        what = f"sparse member {info.name!r}"
        report_cut(member, what, cap, packed_size=stored, declared_size=info.size, offset=info.offset)
    ctx.scan_nested(bytes(out), info.name)


# A pax record: "<length> <keyword>=<value>\n"; its length field has at most 20 digits.
_PAX_LENGTH = re.compile(rb"([0-9]{1,20}) ")
# Digits in a row: numbers in pax records have at most 20. Python's tarfile before 3.11.10 and
# 3.12.6 searches pax headers with regular expressions that backtrack over a run of digits
# (CVE-2024-6232): a header of n digits costs n * n / 2 steps (1 MB: half an hour).
_DIGIT_RUN = re.compile(rb"[0-9]{65}")


def pax_problem(body: bytes) -> str | None:
    """Why a pax header's records are not framed as POSIX says (what fixed tarfile releases
    refuse), or hold a run of digits that older releases take quadratic time over; None if
    they are fine. Linear in the header."""
    pos = 0
    while pos < len(body) and body[pos] != 0:
        match = _PAX_LENGTH.match(body, pos)
        length = int(match.group(1)) if match else 0
        if length < 5 or pos + length > len(body):
            return f"record at byte {pos} has no valid length"
        keyword, equals, _ = body[match.end() : pos + length - 1].partition(b"=")  # type: ignore[union-attr]
        if not keyword or not equals or body[pos + length - 1] != 0x0A:
            return f"record at byte {pos} is not 'keyword=value' ended by a newline"
        pos += length
    if _DIGIT_RUN.search(body):
        return "a run of more than 64 digits"
    return None


def _checked_tarinfo(tarfile: Any) -> type:
    """A TarInfo that refuses a malformed pax header before tarfile parses it, as an invalid
    header: with ignore_zeros tarfile then moves on block by block, and the skipped blocks are
    reported as a gap before the next member. An old GNU sparse header whose extension blocks
    the file cuts off is a truncated header (tarfile raised IndexError, a traceback)."""

    class CheckedTarInfo(tarfile.TarInfo):  # type: ignore[misc, name-defined]
        def _proc_pax(self, archive: Any) -> Any:
            start = archive.fileobj.tell()
            body = archive.fileobj.read(self._block(self.size))
            archive.fileobj.seek(start)
            problem = pax_problem(body)
            if problem is not None:
                raise tarfile.InvalidHeaderError(f"pax header: {problem}")
            return super()._proc_pax(archive)

        def _proc_sparse(self, archive: Any) -> Any:
            try:
                return super()._proc_sparse(archive)
            except IndexError:  # tarfile's nti() on an extension block cut off by the file's end
                raise tarfile.TruncatedHeaderError("GNU sparse extension header cut off") from None

    return CheckedTarInfo
