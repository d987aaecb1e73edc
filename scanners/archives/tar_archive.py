"""Tar archives (uncompressed; compressed ones arrive here through `compressed`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
