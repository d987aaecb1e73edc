"""Compressed streams: gzip, bzip2, xz, legacy lzma, lz4 frames, zlib (and joblib's legacy
`ZF0x…` zlib files) and zstd.

Streams are decompressed incrementally with a bounded output size, so a bomb never allocates
more than the limit. What came out, even of a corrupt or truncated stream (a truncated gzip of
a malicious pickle still holds the payload), is scanned as one member, labelled after the
format because the file name that would tell us more is not ours to trust.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aisbom.scanners.archives.members import Cap, all_zero, member_cap, report_cut
from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.frame.sniff import joblib_zfile_start, sniff
from aisbom.severity import Severity
from aisbom.wording import counted

# Compressed bytes fed per call. Small, because a decoder that hits corrupt data raises and
# drops the output of that call: what a streaming reader (pickle.load on a GzipFile) would
# already have acted on must still reach the scan.
_CHUNK = 64 * 1024
_STEP = 64 * 1024 * 1024  # decompressed bytes asked for per call: bounds every allocation


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = -1, /) -> bytes: ...


class _Zlib:
    """zlib's decompressobj behind the bz2/lzma interface (needs_input, max_length)."""

    def __init__(self, wbits: int) -> None:
        self._d = zlib.decompressobj(wbits)

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def needs_input(self) -> bool:
        return not self._d.unconsumed_tail

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    def decompress(self, data: bytes, max_length: int = -1, /) -> bytes:
        tail = self._d.unconsumed_tail
        # zlib spells "no limit" 0, the others -1.
        return self._d.decompress(tail + data if tail else data, max(0, max_length))


@dataclass(frozen=True)
class _Format:
    """One compressed format: how to decode it and how its readers treat what follows."""

    name: str
    label: str  # the member name of the decompressed content
    new: Callable[[], _Decompressor] | None  # None: no decoder installed
    restart: tuple[bytes, ...] = ()  # prefixes that start another concatenated stream
    zero_padding: bool = False  # zero bytes after the last stream are legitimate
    # Readers that try any bytes after a stream as another stream (lzma.LZMAFile, which
    # joblib and lzma.open use, detects .xz or .lzma per stream): a decoder for the next one.
    next_stream: Callable[[], _Decompressor] | None = None


def _lz4() -> _Decompressor:
    import lz4.frame  # late: a C extension most scans never need

    return lz4.frame.LZ4FrameDecompressor()  # type: ignore[no-any-return]


def _zstd_factory() -> Callable[[], _Decompressor] | None:
    # Python 3.14's compression.zstd, or its backport (a dependency of py7zr). Both have the
    # bz2-style max_length interface; the `zstandard` package has not, so it is not used.
    try:
        from compression import zstd  # type: ignore[import-not-found]
    except ImportError:
        try:
            from backports import zstd  # type: ignore[import-not-found,no-redef]
        except ImportError:
            return None
    return zstd.ZstdDecompressor  # type: ignore[no-any-return]


_SKIPPABLE = tuple(bytes([0x50 + i, 0x2A, 0x4D, 0x18]) for i in range(16))


def _format(name: str) -> _Format | None:
    if name == "gzip":
        return _Format(name, "gzip-content", lambda: _Zlib(31), (b"\x1f\x8b",), zero_padding=True)
    if name == "bzip2":
        return _Format(name, "bzip2-content", bz2.BZ2Decompressor, (b"BZh",))
    if name == "xz":
        xz_magic = (b"\xfd7zXZ\x00",)
        return _Format(
            name,
            "xz-content",
            lzma.LZMADecompressor,
            xz_magic,
            zero_padding=True,
            next_stream=lzma.LZMADecompressor,
        )
    if name == "lzma":
        alone = lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE)  # noqa: E731
        return _Format(name, "lzma-content", alone, next_stream=lzma.LZMADecompressor)
    if name == "lz4":
        return _Format(name, "lz4-content", _lz4, (b"\x04\x22\x4d\x18", *_SKIPPABLE))
    if name == "zlib":
        return _Format(name, "zlib-content", lambda: _Zlib(15))
    if name == "zstd":
        return _Format(name, "zstd-content", _zstd_factory(), (b"\x28\xb5\x2f\xfd", *_SKIPPABLE))
    return None


@dataclass
class _Result:
    """What decoding one compressed file gave, and where and why it stopped."""

    out: bytes
    cut: bool = False  # stopped at the cap
    error: str | None = None  # corrupt, truncated or out of time
    error_offset: int | None = None
    timed_out: bool = False
    trailing: int | None = None  # offset of bytes after the last stream that are not a stream
    trailing_bytes: int = 0


def scan_compressed(data: Data, ctx: ScanContext) -> None:
    fmt = _format(sniff(data))
    if fmt is None:
        return
    if fmt.new is None:
        ctx.report(
            "scan-error",
            f"{fmt.name} is not supported here (no zstd module: install backports.zstd); "
            "the content was not analysed",
            evidence={"format": fmt.name},
        )
        return
    start = 0
    if fmt.name == "zlib" and data[:2] == b"ZF":
        zfile = joblib_zfile_start(bytes(data[:64]))
        if zfile is None:
            ctx.report("scan-error", "joblib zlib file with a malformed 'ZF' length header")
            return
        start = zfile

    packed = len(data) - start
    cap = member_cap(ctx, packed)
    result = _inflate(data, start, fmt, cap.size, ctx)
    ctx.claim_unpacked(len(result.out))
    _report(ctx, fmt, result, cap, packed)
    if result.out:
        ctx.scan_nested(result.out, fmt.label)


def _report(ctx: ScanContext, fmt: _Format, result: _Result, cap: Cap, packed: int) -> None:
    if result.cut:
        report_cut(ctx, f"{fmt.name} stream", cap, packed_size=packed)
    if result.timed_out:
        ctx.report(
            "scan-limit",
            f"time limit of {ctx.limits.max_seconds_per_file:g}s per file reached while "
            f"decompressing {fmt.name}; only the first {counted(len(result.out), 'byte')} were analysed",
            offset=result.error_offset,
            evidence={"limit": "max_seconds_per_file"},
        )
    elif result.error is not None:
        ctx.report(
            "scan-error",
            f"{fmt.name} stream is {result.error}; the {counted(len(result.out), 'byte')} decompressed "
            "before that point were analysed",
            offset=result.error_offset,
            evidence={"format": fmt.name, "decompressed": str(len(result.out))},
        )
    if result.trailing is not None:
        ctx.report(
            "archive-tampered",
            f"{fmt.name} data ends at offset {result.trailing} but the file goes on: readers "
            "differ on whether the rest is ignored or an error",
            severity=Severity.LOW,
            offset=result.trailing,
            evidence={"format": fmt.name, "trailing_bytes": str(result.trailing_bytes)},
        )


def _starts_stream(new: Callable[[], _Decompressor], chunk: bytes) -> bool:
    """Whether a reader that tries the bytes after a stream as another one would decode them
    (it ignores them when the decoder refuses them at once)."""
    try:
        new().decompress(chunk, 1)
    except Exception:  # every decoder has its own error type
        return False
    return True


def _inflate(data: Data, start: int, fmt: _Format, cap: int, ctx: ScanContext) -> _Result:
    """Decompress data[start:] as concatenated streams of `fmt`, producing at most `cap` bytes."""
    assert fmt.new is not None
    out = io.BytesIO()  # getvalue() hands over its buffer without a copy
    size = len(data)
    pos = start
    new = fmt.new
    while True:  # one stream per round
        decompressor = new()
        stalls = 0
        while not decompressor.eof:
            if out.tell() > cap:
                out.truncate(cap)
                return _Result(out.getvalue(), cut=True)
            if ctx.out_of_time():
                return _Result(out.getvalue(), timed_out=True, error_offset=pos)
            chunk = b""
            if decompressor.needs_input and pos < size:
                chunk = data[pos : pos + _CHUNK]
                pos += len(chunk)
            try:
                piece = decompressor.decompress(chunk, min(_STEP, cap + 1 - out.tell()))
            except Exception as exc:  # every decoder has its own error type
                return _Result(out.getvalue(), error=f"corrupt ({exc})", error_offset=pos)
            out.write(piece)
            if piece or chunk:
                stalls = 0
                continue
            stalls += 1
            if pos >= size and (decompressor.needs_input or stalls > 2):
                return _Result(out.getvalue(), error="truncated", error_offset=pos)
            if stalls > 2:
                return _Result(out.getvalue(), error="corrupt (no progress)", error_offset=pos)
        if out.tell() > cap:
            out.truncate(cap)
            return _Result(out.getvalue(), cut=True)
        pos -= len(decompressor.unused_data or b"")  # lz4 has None for none
        if pos >= size:
            return _Result(out.getvalue())
        head = data[pos : pos + 8]
        if any(head.startswith(magic) for magic in fmt.restart):
            continue
        if fmt.next_stream is not None and _starts_stream(fmt.next_stream, data[pos : pos + _CHUNK]):
            new = fmt.next_stream
            continue
        if fmt.zero_padding and all_zero(data, pos):
            return _Result(out.getvalue())
        return _Result(out.getvalue(), trailing=pos, trailing_bytes=size - pos)
