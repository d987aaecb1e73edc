"""7z archives, through py7zr, extracted into memory only."""

from __future__ import annotations

import io
import mmap
from collections import Counter
from typing import Any

from aisbom.scanners.archives.members import (
    Cap,
    check_name,
    member_cap,
    report_cut,
    report_link,
    too_many,
)
from aisbom.scanners.frame.context import Data, ScanContext


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
        too_many(ctx, len(infos))
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
    ratio_cap = max(ctx.limits.ratio_floor, len(data) * ctx.limits.max_ratio)
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
