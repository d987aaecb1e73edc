"""Archives written to make the readers do worse than linear work: every case here took from tens
of seconds to hours before its fix. CPU time is capped several times above what the fixed code
takes on a loaded machine, and far below what the quadratic code took, so the tests check the
bound, not the speed."""

from __future__ import annotations

import struct
import tarfile
import time

from payloads import EVIL, evidence, rules, scan, where

from aisbom.scanners.readers import zip_directory
from aisbom.scanners.readers.zip_reader import ZipEntry

MiB = 1024 * 1024


def _cpu(call):
    started = time.process_time()
    result = call()
    return result, time.process_time() - started


# --- zip ----------------------------------------------------------------------------------------


def _entry(name: str, offset: int) -> ZipEntry:
    return ZipEntry(
        name=name, method=0, flags=0, crc=0, compressed_size=0, size=0, header_offset=offset, is_dir=False
    )


def test_repeated_names_of_a_huge_directory_are_counted_in_linear_time():
    # Before: each name was searched for in the whole list (100,000 x 100,000 comparisons,
    # about a minute for any archive of that many members, repeated names or not).
    entries = tuple(_entry(f"m{i // 2 if i < 1000 else i}", i) for i in range(100_000))
    view = zip_directory.View((zip_directory.ZIPFILE,), entries, 0, True)
    directories = zip_directory.Directories((view,))
    repeated, cpu = _cpu(directories.repeated_names)
    assert repeated == sorted(f"m{i}" for i in range(500))
    assert cpu < 5


def _walked_headers(count: int, padding: int) -> bytes:
    """`count` local headers whose sizes are deferred to a data descriptor that never comes,
    and no central directory: a streaming walk guesses where each member's data ends."""
    header = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0x0008, 0, 0, 0, 0, 0, 0, 1, 0)
    return b"".join(header + b"a" for _ in range(count)) + b"\x00" * padding


def test_local_headers_without_descriptors_are_walked_in_linear_time():
    # Before: every header searched the rest of the file for a descriptor and a central
    # directory (2,000 headers x 64 MiB searched twice: over a minute).
    data = _walked_headers(2_000, 64 * MiB)
    (_, findings), cpu = _cpu(lambda: scan(data))
    assert "archive-tampered" in rules(findings)  # walked, as streaming extractors walk it
    assert cpu < 20


# --- tar ----------------------------------------------------------------------------------------


def _pax_then_member(pax_body: bytes, member: bytes = b"payload") -> bytes:
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type = tarfile.XHDTYPE
    pax.size = len(pax_body)
    out = pax.tobuf(format=tarfile.USTAR_FORMAT) + pax_body + b"\0" * (-len(pax_body) % 512)
    info = tarfile.TarInfo("member.bin")
    info.size = len(member)
    return out + info.tobuf() + member + b"\0" * (-len(member) % 512) + b"\0" * 1024


def test_a_pax_header_of_digits_is_refused_in_linear_time():
    # Python's tarfile before 3.11.10 backtracks over runs of digits in pax headers
    # (CVE-2024-6232): 200,000 digits took about 1 minute, 1 MB half an hour.
    data = _pax_then_member(b"1" * 200_000)
    (_, findings), cpu = _cpu(lambda: scan(data))
    assert cpu < 5
    gap = [f for f in findings if f.rule == "archive-tampered" and "not a valid header" in f.message]
    assert gap and "member.bin" in gap[0].message  # the member after it is still read and scanned


def test_well_formed_pax_headers_are_still_read():
    record = b" path=renamed.bin\n"
    size = len(record) + 2
    body = str(size).encode() + record
    assert len(body) == size
    _, findings = scan(_pax_then_member(body))
    assert not [f for f in findings if f.rule in ("archive-tampered", "scan-error")]


def _sparse_tar(segments: int, hole: int) -> bytes:
    """A pax 0.1 GNU sparse member: `segments` one-byte segments `hole` bytes apart."""
    pairs = ",".join(f"{i * hole},1" for i in range(segments))
    real = segments * hole
    records = b""
    for key, value in (
        ("GNU.sparse.map", pairs),
        ("GNU.sparse.size", str(real)),
        ("GNU.sparse.name", "sparse.bin"),
    ):
        text = f" {key}={value}\n".encode()
        length = len(text) + len(str(len(text)))
        length += len(str(length)) - len(str(len(text)))
        records += str(length).encode() + text
    return _pax_then_member(records, b"x" * segments)


def test_a_sparse_member_is_capped_like_compressed_data_and_built_in_linear_time():
    # tarfile's reader adds every segment and hole to a growing bytes object: 40,000 segments
    # of a 128 MiB member took minutes (and the holes were read up to max_in_memory, 2 GiB).
    data = _sparse_tar(40_000, 4096)
    (_, findings), cpu = _cpu(lambda: scan(data))
    assert cpu < 20
    cut = [f for f in findings if f.rule == "scan-limit"]
    assert [evidence(f)["limit"] for f in cut] == ["max_ratio"], [f.message for f in findings]
    assert "sparse member 'sparse.bin'" in cut[0].message


def test_a_small_sparse_member_is_rebuilt_with_its_holes():
    # The pickle is the first segment; a hole of zeros follows (pickle.load stops at STOP).
    records = b""
    for key, value in (
        (b"GNU.sparse.map", b"0,%d" % len(EVIL)),
        (b"GNU.sparse.size", b"%d" % (len(EVIL) + 4096)),
        (b"GNU.sparse.name", b"payload.pkl"),
    ):
        text = b" " + key + b"=" + value + b"\n"
        records += b"%d" % (len(text) + 2) + text
    _, findings = scan(_pax_then_member(records, EVIL))
    assert ("payload.pkl",) in where(findings, "pickle-dangerous-global")
    assert "scan-limit" not in rules(findings)


def test_zip64_extra_fields_are_read_by_position():
    # zipfile slices off each field: 16,383 empty fields before the zip64 one copied 512 MB per
    # entry (2.4 s per 100 entries); read by position they cost one pass.
    padding = struct.pack("<HH", 0x9999, 0) * 16_382
    zip64 = struct.pack("<HHQQ", 0x0001, 16, 5_000_000_000, 7)
    started = time.process_time()
    for _ in range(100):
        sizes = zip_directory._zipfile_zip64_extra(padding + zip64, 0xFFFFFFFF, 0xFFFFFFFF, 12)
    assert sizes == (5_000_000_000, 7, 12)
    assert time.process_time() - started < 5


def _cut_sparse_header(after: bytes = b"") -> bytes:
    """An old GNU sparse member ('S') that announces an extension block the file does not hold."""
    header = bytearray(tarfile.TarInfo("s").tobuf(format=tarfile.GNU_FORMAT))
    header[156:157] = tarfile.GNUTYPE_SPARSE
    header[482] = 1  # isextended
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return after + bytes(header)


def test_a_sparse_header_cut_off_in_its_extension_blocks_is_a_finding_not_a_traceback():
    # tarfile raised IndexError (from nti() on an empty block) out of archive.next().
    _, findings = scan(_cut_sparse_header())
    assert [f.rule for f in findings] == ["scan-error"]
    info = tarfile.TarInfo("first.bin")
    info.size = 3
    first = info.tobuf() + b"abc" + b"\0" * 509
    _, findings = scan(_cut_sparse_header(first))
    assert "archive-tampered" in rules(findings)  # the cut header after the member is reported
