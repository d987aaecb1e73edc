"""The central directory as zipfile and miniz find it (readers/zip_directory.py), checked against
the real readers: CPython's zipfile and torch's PyTorchFileReader (miniz), on archives whose end
records were tampered with in every way the two read differently."""

from __future__ import annotations

import io
import random
import struct
import sys
import zipfile

import pytest
from builders.zip_views import (
    signature_in_end_record,
    signature_in_short_comment,
    two_directories,
    zero_local_sizes,
)

from aisbom.scanners.readers import zip_directory
from aisbom.scanners.readers.zip_reader import ZipEntry

# CPython releases with the 2025 zip64 end-record check (gh-139700).
_FIXED = {(3, 9): 24, (3, 10): 19, (3, 11): 14, (3, 12): 12, (3, 13): 9}
_RUNNING_ZIPFILE = (
    zip_directory.ZIPFILE
    if sys.version_info[:2] >= (3, 14) or sys.version_info[2] >= _FIXED.get(sys.version_info[:2], 99)
    else zip_directory.ZIPFILE_BEFORE_2025
)
_EOCD = b"PK\x05\x06"


def archive(members: int = 3, *, zip64: bool = False, comment: bytes = b"") -> bytes:
    """A zip torch's reader accepts (everything under one folder, with a version record)."""
    buf = io.BytesIO()
    limit = zipfile.ZIP_FILECOUNT_LIMIT
    if zip64:
        zipfile.ZIP_FILECOUNT_LIMIT = 1  # zipfile then writes zip64 end records
    try:
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(zipfile.ZipInfo("a/version", (1980, 1, 1, 0, 0, 0)), b"3\n")
            for i in range(members):
                zf.writestr(zipfile.ZipInfo(f"a/data/{i}", (1980, 1, 1, 0, 0, 0)), bytes([i]) * (i + 1))
            zf.comment = comment
    finally:
        zipfile.ZIP_FILECOUNT_LIMIT = limit
    return buf.getvalue()


def zipfile_view(data: bytes) -> list[tuple[str, int]] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [(info.filename, info.header_offset) for info in zf.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, UnicodeDecodeError):
        return None


def miniz_view(data: bytes) -> list[tuple[str, int]] | None:
    import torch

    try:
        reader = torch._C.PyTorchFileReader(io.BytesIO(data))
    except RuntimeError:
        return None
    return sorted((f"a/{name}", reader.get_record_header_offset(name)) for name in reader.get_all_records())


def ours(data: bytes, reader: str, *, zipfile_names: bool = False) -> list[tuple[str, int]] | None:
    view = zip_directory.read_directories(data, max_entries=1000).view_of(reader)
    if view is None:
        return None
    pairs = [(e.zipfile_name if zipfile_names else e.name, e.header_offset) for e in view.entries]
    return pairs if zipfile_names else sorted(pairs)


def _tamper(data: bytes, rng: random.Random) -> bytes:
    """One random change to the end of the archive of the kind the two readers disagree on."""
    eocd = data.rfind(_EOCD, 0, len(data) - 18)  # the last signature that leaves a whole record
    choice = rng.randrange(8)
    if choice == 0:  # PK\5\6 spelled somewhere inside the end record's fields
        at = eocd + rng.randrange(4, 19)
        return data[:at] + _EOCD + data[at + 4 :]
    if choice == 1:  # a comment holding a signature, its length field true or not
        comment = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        cut = rng.randrange(len(comment) + 1)
        comment = comment[:cut] + _EOCD + comment[cut:]
        length = len(comment) if rng.random() < 0.5 else rng.randrange(0, 64)
        return data[: eocd + 20] + struct.pack("<H", length) + comment
    if choice == 2:  # data prepended
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))) + data
    if choice == 3:  # a whole fake end record after the real one, inside a comment
        fake = struct.pack(
            "<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, rng.randrange(0, 200), rng.randrange(0, 200), 0
        )
        tail = bytes(rng.randrange(4))
        comment = fake + tail
        return data[: eocd + 20] + struct.pack("<H", len(comment)) + comment
    if choice == 4:  # a count or disk number changed
        field = rng.choice((4, 6, 8, 10))
        return data[: eocd + field] + struct.pack("<H", rng.randrange(0, 4)) + data[eocd + field + 2 :]
    if choice == 5:  # the directory size or offset changed
        field = rng.choice((12, 16))
        (value,) = struct.unpack_from("<I", data, eocd + field)
        value = max(0, value + rng.randrange(-60, 60))
        return data[: eocd + field] + struct.pack("<I", value) + data[eocd + field + 4 :]
    if choice == 6:  # trailing bytes after the end record
        return data + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30)))
    locator = data.rfind(b"PK\x06\x07")  # a zip64 locator's offset changed
    if locator < 0:
        return data
    (offset,) = struct.unpack_from("<Q", data, locator + 8)
    offset = max(0, offset + rng.choice((-56, -1, 1, 8, 56)))
    return data[: locator + 8] + struct.pack("<Q", offset) + data[locator + 16 :]


def _cases() -> list[bytes]:
    rng = random.Random(1202)
    bases = [archive(), archive(zip64=True), archive(5, comment=b"made by hand")]
    cases = [
        signature_in_end_record(bases[0]),
        signature_in_short_comment(bases[0]),
        zero_local_sizes(bases[1]),
    ]
    for _ in range(400):
        data = rng.choice(bases)
        for _ in range(rng.randrange(1, 3)):
            data = _tamper(data, rng)
        cases.append(data)
    return cases


def test_every_reading_matches_the_reader_it_mirrors():
    """400 tampered archives: zipfile's view is what zipfile lists, miniz's what torch reads."""
    disagreements = []
    opened = {"zipfile": 0, "miniz": 0}
    for number, data in enumerate(_cases()):
        expected_zipfile = zipfile_view(data)
        expected_miniz = miniz_view(data)
        opened["zipfile"] += expected_zipfile is not None
        opened["miniz"] += expected_miniz is not None
        got_zipfile = ours(data, _RUNNING_ZIPFILE, zipfile_names=True)
        got_miniz = ours(data, zip_directory.MINIZ)
        if expected_zipfile != got_zipfile:
            disagreements.append((number, "zipfile", expected_zipfile, got_zipfile))
        # torch refuses archives without a version record or a folder: compare where it reads one
        if expected_miniz is not None and expected_miniz != got_miniz:
            disagreements.append((number, "miniz", expected_miniz, got_miniz))
        if expected_miniz is None and got_miniz is not None:
            names = {name for name, _ in got_miniz}
            assert "a/version" not in names or len({n.split("/")[0] for n in names}) > 1, (number, got_miniz)
    assert disagreements == []
    assert min(opened.values()) > 100  # the mutations leave plenty of readable archives


def test_a_signature_inside_the_end_record_is_not_an_end_record():
    data = signature_in_end_record(archive())
    directories = zip_directory.read_directories(data, max_entries=100)
    view = directories.view_of(zip_directory.ZIPFILE)
    assert view is not None and [e.name for e in view.entries] == [n for n, _ in zipfile_view(data)]
    assert zip_directory.MINIZ in directories.failures  # the counts no longer agree for miniz


def test_a_short_comment_with_a_signature_leaves_miniz_its_record():
    data = signature_in_short_comment(archive())
    directories = zip_directory.read_directories(data, max_entries=100)
    assert zipfile_view(data) is None and zip_directory.ZIPFILE in directories.failures
    assert ours(data, zip_directory.MINIZ) == miniz_view(data) is not None


def test_two_directories_are_both_read_and_reported_divergent():
    first = [{"name": "a/version", "data": b"3\n"}, {"name": "a/data.pkl", "data": b"one"}]
    second = [{"name": "a/version", "data": b"3\n"}, {"name": "a/data.pkl", "data": b"two"}]
    data = two_directories(first, second)
    directories = zip_directory.read_directories(data, max_entries=100)
    assert directories.divergent
    assert ours(data, zip_directory.MINIZ) == miniz_view(data)
    assert ours(data, _RUNNING_ZIPFILE, zipfile_names=True) == zipfile_view(data)
    assert len(directories.entries()) == 4 and directories.repeated_names() == []


def test_zipfile_cuts_names_at_nul_and_miniz_does_not():
    entry = ZipEntry("config.json\x00.txt", 0, 0, 0, 0, 0, 0, False)
    assert entry.zipfile_name == "config.json" and entry.name == "config.json\x00.txt"


@pytest.mark.parametrize("size", [0, 5, 21])
def test_too_short_for_an_end_record(size):
    directories = zip_directory.read_directories(
        b"PK\x05\x06"[:size] + bytes(max(0, size - 4)), max_entries=9
    )
    assert not directories.readable
