"""A zip's central directory as each loader's reader finds it: CPython's `zipfile` (numpy's .npz,
Keras's .keras, most Python tools) and miniz (PyTorch's torch.load and torch.jit.load).

The two locate the end-of-central-directory record (EOCD) differently, and a scanner that finds it
a third way reads a directory no loader reads:

- `zipfile` first takes the last 22 bytes if they are an EOCD with no comment, whatever else they
  hold; otherwise the last `PK\\5\\6` in the final 64 KiB + 22 bytes, which must leave a whole
  record. It reads the directory by its size in bytes (ignoring the entry counts), shifts every
  offset by any data prepended to the archive, and cuts each name at its first NUL. Zip64 end
  records are found in two ways: where the locator says, checked against the directory (CPython
  3.9.24, 3.10.19, 3.11.14, 3.12.12, 3.13.9, 3.14 and later), or just before the locator, unchecked
  (older releases, such as the 3.11.7 the tests run on). Both are read when they differ.
- miniz takes the last `PK\\5\\6` that leaves at least a whole record, searching back in 4 KiB
  blocks until it has passed 64 KiB + 22 bytes; it reads exactly the number of entries the record
  gives, at the absolute offsets it gives (no shift), and refuses an archive whose counts, disk
  numbers or stored sizes do not add up.

`read_directories` returns what each reader sees; where they see different entries, scanners
judge every view and report the divergence. No reader here falls back silently to another view.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from aisbom.scanners.frame.context import Data
from aisbom.scanners.readers.zip_reader import UNIX, ZipEntry, ZipError, decode_name
from aisbom.wording import counted

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_EOCD_SIZE = 22
_LOCATOR_SIZE = 20
_EOCD64_SIZE = 56
_CENTRAL_SIZE = 46
_LOCAL_SIZE = 30
_MAX_COMMENT = 0xFFFF
_U32 = 0xFFFFFFFF
_CENTRAL_HEADER = struct.Struct("<4sHHHHHHIIIHHHHHII")
_MAX_EXTRACT_VERSION = 63  # zipfile refuses an entry that needs a newer version
_MASKED_LOCAL_HEADERS = 0x2000  # miniz refuses archives that mask local headers
_MINIZ_BLOCK = 4096

ZIPFILE = "zipfile"
ZIPFILE_BEFORE_2025 = "zipfile (before the 2025 zip64 fix)"
MINIZ = "miniz"


@dataclass(frozen=True)
class _EndRecord:
    """Where one reader reads the central directory from."""

    eocd: int  # offset of the end record the reader took
    start: int  # offset of the first central directory record
    size: int  # bytes of central directory
    count: int | None  # entries to read (None: zipfile reads `size` bytes, whatever the count)
    shift: int  # added to every local header offset (data prepended to the archive)
    disk: int = 0  # miniz: this disk's number, which each entry's start disk must match (or be 1)


@dataclass(frozen=True)
class View:
    """The entries one or more readers see."""

    readers: tuple[str, ...]
    entries: tuple[ZipEntry, ...]
    eocd: int
    complete: bool  # False when cut at max_entries


@dataclass(frozen=True)
class Directories:
    """Every reading of a zip's directory that the loaders could make."""

    views: tuple[View, ...]  # distinct successful readings, the zipfile one first
    failures: dict[str, str] = field(default_factory=dict)  # reader -> why it cannot open the file

    @property
    def readable(self) -> bool:
        return bool(self.views)

    @property
    def complete(self) -> bool:
        return all(view.complete for view in self.views)

    @property
    def divergent(self) -> bool:
        """Two readers open the archive and list different entries."""
        return len(self.views) > 1

    def entries(self) -> list[ZipEntry]:
        """Every entry any reader sees, each once, in the order of the first view that lists it."""
        seen: set[ZipEntry] = set()
        out: list[ZipEntry] = []
        for view in self.views:
            for entry in view.entries:
                if entry not in seen:
                    seen.add(entry)
                    out.append(entry)
        return out

    def repeated_names(self) -> list[str]:
        """Names listed more than once by one reader (a name in two views is the divergence).
        Counted, not searched name by name: an archive holds up to max_members entries."""
        repeated: set[str] = set()
        for view in self.views:
            copies = Counter(entry.name for entry in view.entries if not entry.is_dir)
            repeated.update(name for name, count in copies.items() if count > 1)
        return sorted(repeated)

    def view_of(self, reader: str) -> View | None:
        return next((view for view in self.views if reader in view.readers), None)

    def first_failure(self) -> str:
        return next(iter(self.failures.values()), "no end-of-central-directory record")


def read_directories(data: Data, *, max_entries: int) -> Directories:
    """What zipfile (both zip64 variants) and miniz list in `data`. Never raises."""
    readings: dict[str, tuple[_EndRecord, tuple[ZipEntry, ...], bool] | str] = {}
    parsed: dict[_EndRecord, tuple[_EndRecord, tuple[ZipEntry, ...], bool]] = {}
    for reader, locate, parse in (
        (ZIPFILE, lambda: _zipfile_end(data, fixed=True), _parse_zipfile),
        (ZIPFILE_BEFORE_2025, lambda: _zipfile_end(data, fixed=False), _parse_zipfile),
        (MINIZ, lambda: _miniz_end(data), _parse_miniz),
    ):
        try:
            end = locate()
            if end not in parsed:  # the two zipfile variants nearly always agree
                listed, whole = parse(data, end, max_entries)
                parsed[end] = (end, tuple(listed), whole)
            readings[reader] = parsed[end]
        except ZipError as exc:
            readings[reader] = str(exc)
    views: list[View] = []
    failures: dict[str, str] = {}
    for reader, reading in readings.items():
        if isinstance(reading, str):
            failures[reader] = reading
            continue
        end, entries, complete = reading
        same = next((i for i, v in enumerate(views) if v.entries == entries), None)
        if same is None:
            views.append(View((reader,), entries, end.eocd, complete))
        else:
            view = views[same]
            views[same] = View((*view.readers, reader), view.entries, view.eocd, view.complete)
    return Directories(tuple(views), failures)


def central_entries(data: Data, *, max_entries: int) -> list[ZipEntry]:
    """Every entry some reader lists (see `read_directories`); raises ZipError if none can."""
    directories = read_directories(data, max_entries=max_entries)
    if not directories.readable:
        raise ZipError(directories.first_failure())
    return directories.entries()


def entries_read_by(data: Data, reader: str, *, max_entries: int) -> list[ZipEntry]:
    """The entries `reader` (ZIPFILE for numpy, MINIZ for torch) lists, for code that must read
    the archive as that loader would; raises ZipError when it cannot open the file, when it lists
    more than `max_entries`, or when another reader lists different entries (which the scan
    reports: whichever copy were taken, it could be the other one's)."""
    directories = read_directories(data, max_entries=max_entries)
    view = directories.view_of(reader)
    if view is None:
        raise ZipError(directories.failures.get(reader) or directories.first_failure())
    if directories.divergent:
        raise ZipError("zip readers list different entries in it")
    if not view.complete:
        raise ZipError(f"it has more than {max_entries} entries")
    return list(view.entries)


# --- zipfile -----------------------------------------------------------------------------------


def _u16(data: Data, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 2], "little")


def _u32(data: Data, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little")


def _u64(data: Data, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 8], "little")


def _zipfile_end(data: Data, *, fixed: bool) -> _EndRecord:
    """zipfile's _EndRecData and _EndRecData64, then the directory start _RealGetContents uses."""
    size = len(data)
    if size < _EOCD_SIZE:
        raise ZipError("File is not a zip file")
    last = size - _EOCD_SIZE
    if data[last : last + 4] == _EOCD and data[size - 2 : size] == b"\0\0":
        eocd = last
    else:
        eocd = data.rfind(_EOCD, max(size - _MAX_COMMENT - _EOCD_SIZE, 0))
        if eocd < 0 or eocd + _EOCD_SIZE > size:
            raise ZipError("File is not a zip file")
    cd_size, cd_offset = _u32(data, eocd + 12), _u32(data, eocd + 16)
    location = eocd
    zip64 = _zipfile_zip64(data, eocd, fixed=fixed)
    if zip64 is not None:
        cd_size, cd_offset, location = zip64
    shift = location - cd_size - cd_offset
    if shift + cd_offset < 0:
        raise ZipError("Bad offset for central directory")
    return _EndRecord(eocd, cd_offset + shift, cd_size, None, shift)


def _zipfile_zip64(data: Data, eocd: int, *, fixed: bool) -> tuple[int, int, int] | None:
    """(directory size, directory offset, location) from a zip64 end record, or None."""
    locator = eocd - _LOCATOR_SIZE
    if locator < 0 or data[locator : locator + 4] != _EOCD64_LOCATOR:
        return None
    disk, reloff, disks = _u32(data, locator + 4), _u64(data, locator + 8), _u32(data, locator + 16)
    if disk != 0 or disks > 1:
        raise ZipError("zipfiles that span multiple disks are not supported")
    record = locator - _EOCD64_SIZE
    if not fixed:  # the record is assumed to sit right before the locator; unchecked
        if record < 0:
            raise ZipError("File is not a zip file")
        if data[record : record + 4] != _EOCD64:
            return None
        return _u64(data, record + 40), _u64(data, record + 48), eocd - _EOCD64_SIZE - _LOCATOR_SIZE
    if reloff > record:
        raise ZipError("Corrupt zip64 end of central directory locator")
    found, extra = reloff, record - reloff
    if data[found : found + 4] != _EOCD64 and reloff != record:
        found, extra = record, 0  # perhaps data prepended to the archive
    if found < 0 or data[found : found + 4] != _EOCD64:
        raise ZipError("Zip64 end of central directory record not found")
    cd_size, cd_offset = _u64(data, found + 40), _u64(data, found + 48)
    if cd_offset + cd_size != reloff or _u64(data, found + 4) + 12 != _EOCD64_SIZE + extra:
        raise ZipError("Corrupt zip64 end of central directory record")
    return cd_size, cd_offset, record - extra


def _parse_zipfile(data: Data, end: _EndRecord, max_entries: int) -> tuple[list[ZipEntry], bool]:
    """_RealGetContents: records read one after another until `size` bytes are consumed."""
    stop = min(end.start + end.size, len(data))
    pos = end.start
    entries: list[ZipEntry] = []
    while pos < end.start + end.size:
        if len(entries) >= max_entries:
            return entries, False
        header = _Header.read(data, pos, stop)
        if header is None:
            raise ZipError("Truncated central directory")
        if header.signature != _CENTRAL:
            raise ZipError("Bad magic number for central directory")
        if header.extract > _MAX_EXTRACT_VERSION:
            raise ZipError(f"zip file version {header.extract / 10:.1f}")
        extra = bytes(data[header.extra_start : min(header.extra_start + header.xlen, stop)])
        usize, csize, offset = _zipfile_zip64_extra(extra, header.usize, header.csize, header.offset)
        raw_name = bytes(data[pos + _CENTRAL_SIZE : min(pos + _CENTRAL_SIZE + header.nlen, stop)])
        name = decode_name(raw_name, header.flags, strict=True)
        entries.append(header.entry(name, csize, usize, offset + end.shift))
        pos += header.total
    return entries, True


@dataclass(frozen=True)
class _Header:
    """One central directory record's fixed part."""

    signature: bytes
    made_by: int
    extract: int
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    nlen: int
    xlen: int
    clen: int
    disk_start: int
    attrs: int
    offset: int
    extra_start: int
    total: int  # bytes of the whole record (fixed part, name, extra, comment)

    @classmethod
    def read(cls, data: Data, pos: int, stop: int) -> _Header | None:
        raw = data[pos : pos + _CENTRAL_SIZE]
        if len(raw) != _CENTRAL_SIZE or pos + _CENTRAL_SIZE > stop:
            return None
        (
            sig,
            made_by,
            extract,
            flags,
            method,
            _,
            _,
            crc,
            csize,
            usize,
            nlen,
            xlen,
            clen,
            disk,
            _,
            attrs,
            offset,
        ) = _CENTRAL_HEADER.unpack(raw)
        return cls(
            sig, made_by, extract, flags, method, crc, csize, usize, nlen, xlen, clen, disk, attrs, offset,
            extra_start=pos + _CENTRAL_SIZE + nlen, total=_CENTRAL_SIZE + nlen + xlen + clen,
        )  # fmt: skip

    def entry(self, name: str, csize: int, usize: int, offset: int) -> ZipEntry:
        return ZipEntry(
            name=name,
            method=self.method,
            flags=self.flags,
            crc=self.crc,
            compressed_size=csize,
            size=usize,
            header_offset=offset,
            is_dir=name.endswith("/"),
            unix_mode=self.attrs >> 16 if self.made_by >> 8 == UNIX else 0,
        )


def _zipfile_zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """ZipInfo._decodeExtra: every 0x0001 field replaces the values that are still 0xFFFFFFFF.
    Read by position (zipfile slices off each field, so 65,535 bytes of empty fields cost it
    half a gigabyte of copying per entry)."""
    pos = 0
    while len(extra) - pos >= 4:
        tag, length = struct.unpack_from("<HH", extra, pos)
        if length + 4 > len(extra) - pos:
            raise ZipError(f"Corrupt extra field {tag:04x} (size={length})")
        if tag == 0x0001:
            at, stop = pos + 4, pos + 4 + length
            for wanted in ("usize", "csize", "offset"):
                current = {"usize": usize, "csize": csize, "offset": offset}[wanted]
                if current == _U32 or (wanted == "usize" and current == 0xFFFF_FFFF_FFFF_FFFF):
                    if stop - at < 8:
                        raise ZipError("Corrupt zip64 extra field")
                    (value,) = struct.unpack_from("<Q", extra, at)
                    at += 8
                    if wanted == "usize":
                        usize = value
                    elif wanted == "csize":
                        csize = value
                    else:
                        offset = value
        pos += length + 4
    return usize, csize, offset


# --- miniz -------------------------------------------------------------------------------------


def _miniz_end(data: Data) -> _EndRecord:
    """mz_zip_reader_locate_header_sig and mz_zip_reader_read_central_dir (miniz 3.0.2, as
    PyTorch vendors it)."""
    size = len(data)
    if size < _EOCD_SIZE:
        raise ZipError("not an archive")
    low = max(size - _MINIZ_BLOCK, 0)
    while low and size - low < _MAX_COMMENT + _EOCD_SIZE:
        low = max(low - (_MINIZ_BLOCK - 3), 0)
    eocd = data.rfind(_EOCD, low, size - _EOCD_SIZE + 4)
    if eocd < 0:
        raise ZipError("failed finding central directory")
    count, on_disk = _u16(data, eocd + 10), _u16(data, eocd + 8)
    disk, cd_disk = _u16(data, eocd + 4), _u16(data, eocd + 6)
    cd_size, cd_offset = _u32(data, eocd + 12), _u32(data, eocd + 16)
    locator = eocd - _LOCATOR_SIZE
    if eocd >= _LOCATOR_SIZE + _EOCD64_SIZE and data[locator : locator + 4] == _EOCD64_LOCATOR:
        record = _u64(data, locator + 8)
        if record > size - _EOCD64_SIZE:
            raise ZipError("not an archive (zip64 end record past the end)")
        if data[record : record + 4] == _EOCD64:
            if _u64(data, record + 4) < _EOCD64_SIZE - 12:
                raise ZipError("invalid zip64 end record")
            if _u32(data, locator + 16) != 1:
                raise ZipError("unsupported multidisk archive")
            count, on_disk = _u64(data, record + 32), _u64(data, record + 24)
            cd_size = _u64(data, record + 40)
            if count > _U32 or on_disk > _U32 or cd_size > _U32:
                raise ZipError("too many files or too large a central directory")
            disk, cd_disk = _u32(data, record + 16), _u32(data, record + 20)
            cd_offset = _u64(data, record + 48)
    if count != on_disk or ((disk | cd_disk) != 0 and (disk != 1 or cd_disk != 1)):
        raise ZipError("unsupported multidisk archive")
    if cd_size < count * _CENTRAL_SIZE or cd_offset + cd_size > size:
        raise ZipError("invalid header or corrupted archive")
    return _EndRecord(eocd, cd_offset, cd_size, count, 0, disk)


def _parse_miniz(data: Data, end: _EndRecord, max_entries: int) -> tuple[list[ZipEntry], bool]:
    size = len(data)
    stop = end.start + end.size  # within the file: _miniz_end checked it
    pos = end.start
    entries: list[ZipEntry] = []
    for _ in range(end.count or 0):
        if len(entries) >= max_entries:
            return entries, False
        header = _Header.read(data, pos, stop)
        if header is None or header.signature != _CENTRAL:
            raise ZipError("invalid header or corrupted archive")
        usize, csize, offset = header.usize, header.csize, header.offset
        if header.xlen and _U32 in (csize, usize, offset):
            extra = bytes(data[header.extra_start : min(header.extra_start + header.xlen, stop)])
            usize, csize, offset = _miniz_zip64_extra(extra, usize, csize, offset)
        if (
            csize != _U32
            and usize != _U32
            and ((header.method == 0 and usize != csize) or (usize and not csize))
        ):
            raise ZipError("invalid header or corrupted archive (sizes)")
        if header.disk_start == 0xFFFF or header.disk_start not in (end.disk, 1):
            raise ZipError("unsupported multidisk archive")
        if csize != _U32 and offset + _LOCAL_SIZE + csize > size:
            raise ZipError("invalid header or corrupted archive (member past the end)")
        if header.flags & _MASKED_LOCAL_HEADERS:
            raise ZipError("unsupported encryption (masked local headers)")
        if header.total > stop - pos:
            raise ZipError("invalid header or corrupted archive")
        name = decode_name(bytes(data[pos + _CENTRAL_SIZE : pos + _CENTRAL_SIZE + header.nlen]), header.flags)
        entries.append(header.entry(name, csize, usize, offset))
        pos += header.total
    return entries, True


def _miniz_zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """The first 0x0001 field's values, in miniz's order; a malformed extra refuses the archive."""
    pos = 0
    while True:
        if len(extra) - pos < 4:
            raise ZipError("invalid header or corrupted archive (extra field)")
        tag, length = struct.unpack("<HH", extra[pos : pos + 4])
        if length + 4 > len(extra) - pos:
            raise ZipError("invalid header or corrupted archive (extra field)")
        if tag == 0x0001:
            break
        pos += 4 + length
        if pos == len(extra):
            return usize, csize, offset
    values = extra[pos + 4 :]  # miniz reads on past the field's own length, to the end of the extra
    for wanted in ("usize", "csize", "offset"):
        current = {"usize": usize, "csize": csize, "offset": offset}[wanted]
        if current == _U32 and len(values) >= 8:
            value = struct.unpack("<Q", values[:8])[0]
            values = values[8:]
            if wanted == "usize":
                usize = value
            elif wanted == "csize":
                csize = value
            else:
                offset = value
    return usize, csize, offset


def describe(directories: Directories) -> Iterator[str]:
    """One line per view: which readers see how many entries, and where they found the end record."""
    for view in directories.views:
        names = ", ".join(sorted({e.name for e in view.entries})[:5])
        yield (
            f"{' and '.join(view.readers)}: {counted(len(view.entries), 'entry', 'entries')} ({names}) "
            "from the end record "
            f"at offset {view.eocd}"
        )
    for reader, why in directories.failures.items():
        yield f"{reader}: cannot open it ({why})"
