"""A tolerant, bounded zip reader.

Why not `zipfile`: PyTorch reads checkpoints with miniz, which trusts the central directory,
ignores the local header's name, skips CRC checks and ignores most flag bits. `zipfile`
refuses such archives ("File name in directory ... differ", "Bad CRC-32", encrypted flag),
so a scanner built on it sees nothing where torch.load sees a pickle. Here we read what the
lenient loaders read, and report every inconsistency instead of stopping on it.
"""

from __future__ import annotations

import bz2
import io
import lzma
import stat
import struct
import zlib
from dataclasses import dataclass

from aisbom.scanners.frame.context import Data

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_UNIX = 3  # "version made by" host system: Unix
_MAX_COMMENT = 0xFFFF


class ZipError(Exception):
    """The archive's structure cannot be read at all."""


class TooManyEntries(ZipError):
    """More central directory entries than allowed; `entries` holds the first ones."""

    def __init__(self, message: str, entries: list[ZipEntry]) -> None:
        super().__init__(message)
        self.entries = entries


@dataclass(frozen=True)
class ZipEntry:
    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int  # absolute offset of the local header in the data
    is_dir: bool
    # st_mode bits from a Unix "made by" central entry (0 otherwise): Info-ZIP unzip and bsdtar
    # create symlinks from them, with the member's data as the link target.
    unix_mode: int = 0

    @property
    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.unix_mode)


@dataclass(frozen=True)
class MemberData:
    data: bytes
    local_name: str | None  # the name in the local header, if it differs from the central one
    crc_ok: bool
    truncated: bool  # stopped at the size limit


def looks_like_zip(data: Data) -> bool:
    if data[:4] == _LOCAL:
        return True
    tail_start = max(0, len(data) - (_MAX_COMMENT + 22))
    return data.rfind(_EOCD, tail_start) != -1 if len(data) >= 22 else False


def read_central_directory(data: Data, *, max_entries: int) -> list[ZipEntry]:
    """Entries as the central directory lists them. Raises ZipError if it cannot be found."""
    size = len(data)
    eocd = data.rfind(_EOCD, max(0, size - (_MAX_COMMENT + 22)))
    if eocd < 0 or eocd + 22 > size:
        raise ZipError("no end-of-central-directory record")
    (_, _, _, _, count, cd_size, cd_offset, _) = struct.unpack("<4sHHHHIIH", data[eocd : eocd + 22])
    cd_end = eocd
    # Zip64: the real values live in the zip64 end record.
    locator = eocd - 20
    if locator >= 0 and data[locator : locator + 4] == _EOCD64_LOCATOR:
        (_, _, eocd64_offset, _) = struct.unpack("<4sIQI", data[locator : locator + 20])
        record = locator - 56
        if record >= 0 and data[record : record + 4] == _EOCD64:
            (_, _, _, _, _, _, _, count, cd_size, cd_offset) = struct.unpack(
                "<4sQHHIIQQQQ", data[record : record + 56]
            )
            cd_end = record
    # Data prepended to the archive shifts every offset (self-extractors, concatenation).
    shift = cd_end - cd_size - cd_offset
    if shift < 0:
        raise ZipError("central directory offset points past its own end")
    pos = cd_offset + shift
    entries: list[ZipEntry] = []
    while data[pos : pos + 4] == _CENTRAL:
        if len(entries) >= max_entries:
            raise TooManyEntries(f"more than {max_entries} entries", entries)
        header = data[pos : pos + 46]
        if len(header) < 46:
            raise ZipError("truncated central directory")
        (_, made_by, _, flags, method, _, _, crc, csize, usize, nlen, xlen, clen, _, _, attrs, offset) = (
            struct.unpack("<4sHHHHHHIIIHHHHHII", header)
        )
        raw_name = data[pos + 46 : pos + 46 + nlen]
        extra = data[pos + 46 + nlen : pos + 46 + nlen + xlen]
        usize, csize, offset = _apply_zip64(extra, usize, csize, offset)
        name = _decode_name(raw_name, flags)
        entries.append(
            ZipEntry(
                name=name,
                method=method,
                flags=flags,
                crc=crc,
                compressed_size=csize,
                size=usize,
                header_offset=offset + shift,
                is_dir=name.endswith("/"),
                unix_mode=attrs >> 16 if made_by >> 8 == _UNIX else 0,
            )
        )
        pos += 46 + nlen + xlen + clen
    if not entries and count:
        raise ZipError("central directory records not found where the end record says")
    return entries


def read_member(data: Data, entry: ZipEntry, *, max_size: int) -> MemberData:
    """Decompress one member, reading at most `max_size` bytes of output.

    Raises ZipError for an unknown compression method or an unreadable local header.
    """
    body, local_name = _local_header(data, entry)
    end = min(body + entry.compressed_size, len(data))
    out, truncated = _decompress(entry.method, data, body, end, max_size)
    crc_ok = truncated or (zlib.crc32(out) & 0xFFFFFFFF) == entry.crc
    return MemberData(
        data=out,
        local_name=None if local_name == entry.name else local_name,
        crc_ok=crc_ok,
        truncated=truncated,
    )


def data_offset(data: Data, entry: ZipEntry) -> int:
    """Where the member's (compressed) bytes start, after its local header. Raises ZipError."""
    return _local_header(data, entry)[0]


def _local_header(data: Data, entry: ZipEntry) -> tuple[int, str]:
    start = entry.header_offset
    header = data[start : start + 30]
    if len(header) < 30 or header[:4] != _LOCAL:
        raise ZipError(f"no local header at offset {start}")
    (_, _, flags, _, _, _, _, _, _, nlen, xlen) = struct.unpack("<4sHHHHHIIIHH", header)
    return start + 30 + nlen + xlen, _decode_name(data[start + 30 : start + 30 + nlen], flags)


_CHUNK = 1024 * 1024  # compressed bytes copied out of the archive at a time


def _decompress(method: int, data: Data, start: int, end: int, max_size: int) -> tuple[bytes, bool]:
    """Decompress data[start:end], copying neither more input nor more output than needed:
    a stored or deflated member can be gigabytes of tensor data in an mmapped archive."""
    if method == 0:
        raw = data[start : min(end, start + max_size + 1)]
        return raw[:max_size], len(raw) > max_size
    if method == 8:
        decompressor = zlib.decompressobj(-15)
    elif method == 12:
        decompressor = bz2.BZ2Decompressor()  # type: ignore[assignment]
    elif method == 14:
        decompressor, start = _zip_lzma(data[start : start + 9], start)  # type: ignore[assignment]
    else:
        raise ZipError(f"unsupported compression method {method}")
    out = io.BytesIO()  # getvalue() hands its buffer over without a copy
    pos = start
    try:
        while pos < end and out.tell() <= max_size and not decompressor.eof:
            chunk = data[pos : min(end, pos + _CHUNK)]
            pos += len(chunk)
            out.write(decompressor.decompress(chunk, max_size + 1 - out.tell()))
    except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
        raise ZipError(f"corrupt compressed data: {exc}") from None
    if out.tell() > max_size:
        out.truncate(max_size)
        return out.getvalue(), True
    return out.getvalue(), False


def _zip_lzma(head: bytes, start: int) -> tuple[lzma.LZMADecompressor, int]:
    # Zip's LZMA (method 14): 2 bytes version, 2 bytes properties size, the 5-byte LZMA1
    # properties (lc/lp/pb byte, dictionary size), then a raw LZMA1 stream (returned: where).
    (props_size,) = struct.unpack("<H", head[2:4]) if len(head) >= 4 else (0,)
    props = head[4 : 4 + props_size]
    if props_size != 5 or len(props) != 5:
        raise ZipError("corrupt LZMA properties")
    bits, dict_size = props[0], struct.unpack("<I", props[1:5])[0]
    lc, lp, pb = bits % 9, bits // 9 % 5, bits // 45
    lzma1 = {"id": lzma.FILTER_LZMA1, "lc": lc, "lp": lp, "pb": pb, "dict_size": dict_size}
    try:
        decompressor = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1])
    except lzma.LZMAError as exc:
        raise ZipError(f"corrupt LZMA properties: {exc}") from None
    return decompressor, start + 4 + props_size


def _apply_zip64(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[pos : pos + 4])
        if tag == 0x0001:
            field = extra[pos + 4 : pos + 4 + length]
            values = [struct.unpack("<Q", field[i : i + 8])[0] for i in range(0, len(field) - 7, 8)]
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
            break
        pos += 4 + length
    return usize, csize, offset


def _decode_name(raw: bytes, flags: int) -> str:
    # Bit 11: UTF-8 names; otherwise cp437, as zipfile does.
    return raw.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
