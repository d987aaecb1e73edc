"""A tolerant, bounded zip reader.

Why not `zipfile`: PyTorch reads checkpoints with miniz, which trusts the central directory,
ignores the local header's name, skips CRC checks and ignores most flag bits. `zipfile`
refuses such archives ("File name in directory ... differ", "Bad CRC-32", encrypted flag),
so a scanner built on it sees nothing where torch.load sees a pickle. Here we read what the
lenient loaders read, and report every inconsistency instead of stopping on it. Where the
central directory is depends on the reader: `zip_directory` finds it as each one does.
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
_LOCAL = b"PK\x03\x04"
UNIX = 3  # "version made by" host system: Unix
_MAX_COMMENT = 0xFFFF


class ZipError(Exception):
    """The archive's structure cannot be read at all."""


@dataclass(frozen=True)
class ZipEntry:
    """One central directory entry of a zip."""

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
    def zipfile_name(self) -> str:
        """The name as CPython's zipfile gives it (so numpy and Keras look it up): cut at the
        first NUL. miniz, and so PyTorch, keeps the whole name."""
        return self.name.split("\x00", 1)[0]

    @property
    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.unix_mode)


@dataclass(frozen=True)
class MemberData:
    """A zip member's bytes and what its local header says."""

    data: bytes
    local_name: str | None  # the name in the local header, if it differs from the central one
    crc_ok: bool
    truncated: bool  # stopped at the size limit


def starts_as_zip(data: Data) -> bool:
    """A local file header at offset 0: what torch.load and most tools check for."""
    return data[:4] == _LOCAL


def has_end_record(data: Data) -> bool:
    """An end-of-central-directory signature where readers search for one. Only a guess (random
    data holds one about once in 65,000 files of 64 KiB): the directory must then be read."""
    tail_start = max(0, len(data) - (_MAX_COMMENT + 4096 + 22))
    return data.rfind(_EOCD, tail_start) != -1 if len(data) >= 22 else False


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
    return start + 30 + nlen + xlen, decode_name(data[start + 30 : start + 30 + nlen], flags)


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


def decode_name(raw: bytes, flags: int, *, strict: bool = False) -> str:
    """Bit 11: UTF-8 names; otherwise cp437, as zipfile does. `strict`: a name flagged UTF-8
    that is not raises ZipError, as it makes zipfile fail to open the archive."""
    encoding = "utf-8" if flags & 0x800 else "cp437"
    try:
        return raw.decode(encoding, errors="strict" if strict else "replace")
    except UnicodeDecodeError:
        raise ZipError(f"a file name flagged as UTF-8 is not UTF-8: {raw[:64]!r}") from None
