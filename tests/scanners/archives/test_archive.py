"""Zip, tar and 7z scanning: real archives built here, scanned from bytes, never extracted."""

from __future__ import annotations

import io
import mmap
import os
import re
import struct
import tarfile
import time
import warnings
import zipfile
import zlib
from dataclasses import dataclass

import pytest
from payloads import BENIGN, EVIL, EVIL2, MiB, evidence, rules, scan, where  # noqa: E402

from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.archives import zip_archive
from aisbom.scanners.frame.dispatch import context_for_file, scan_blob
from aisbom.severity import Severity


def make_zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


@dataclass
class Raw:
    """One member of a hand-built zip, for the inconsistencies zipfile refuses to write."""

    name: str
    data: bytes
    deflate: bool = False
    flags: int = 0
    local_name: str | None = None
    central_crc: int | None = None


def raw_zip(members: list[Raw], *, aliases: list[tuple[str, int]] = ()) -> bytes:
    """Local records, then a central directory (plus `aliases`: (name, index of the member
    whose local header they reuse)), then the end record."""
    out = bytearray()
    central = bytearray()
    records = []
    for m in members:
        if m.deflate:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            packed = packer.compress(m.data) + packer.flush()
        else:
            packed = m.data
        method = 8 if m.deflate else 0
        crc = zlib.crc32(m.data)
        local_name = (m.local_name or m.name).encode()
        offset = len(out)
        out += struct.pack(
            "<4sHHHHHIIIHH", b"PK\x03\x04", 20, m.flags, method, 0, 0, crc, len(packed),
            len(m.data), len(local_name), 0,
        )  # fmt: skip
        out += local_name + packed
        records.append((m.name, m.flags, method, m.central_crc if m.central_crc is not None else crc,
                        len(packed), len(m.data), offset))  # fmt: skip
    for name, index in aliases:
        records.append((name, *records[index][1:]))
    for name, flags, method, crc, csize, usize, offset in records:
        raw = name.encode()
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, method, 0, 0, crc, csize,
            usize, len(raw), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += raw
    cd_offset = len(out)
    out += central
    out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(records), len(records),
                       len(central), cd_offset, 0)  # fmt: skip
    return bytes(out)


def make_tar(members: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as t:
        for item in members:
            if isinstance(item, tarfile.TarInfo):
                t.addfile(item)
            else:
                info = tarfile.TarInfo(item[0])
                info.size = len(item[1])
                t.addfile(info, io.BytesIO(item[1]))
    return buffer.getvalue()


def tar_link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def make_7z(members: dict[str, bytes], **kwargs: object) -> bytes:
    import py7zr

    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w", **kwargs) as z:
        for name, data in members.items():
            z.writestr(data, name)
    return buffer.getvalue()


def rename_in_7z(data: bytes, old: str, new: str) -> bytes:
    """py7zr refuses to write escaping names: write a same-length placeholder with a plain
    (not encoded) header, then patch the name and both header CRCs."""
    out = bytearray(data)
    was, now = old.encode("utf-16-le"), new.encode("utf-16-le")
    assert len(was) == len(now) and out.count(was) == 1
    at = out.index(was)
    out[at : at + len(was)] = now
    offset, size = struct.unpack("<QQ", out[12:28])
    out[28:32] = struct.pack("<I", zlib.crc32(out[32 + offset : 32 + offset + size]))
    out[8:12] = struct.pack("<I", zlib.crc32(out[12:32]))
    return bytes(out)


def make_7z_with_escaping_name() -> bytes:
    import py7zr

    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as z:
        z.set_encoded_header_mode(False)
        z.writestr(EVIL, "fine.pkl")
        z.writestr(EVIL, "xx/evil.pkl")
    return rename_in_7z(buffer.getvalue(), "xx/evil.pkl", "../evil.pkl")


# --- zip -----------------------------------------------------------------------------------


def test_zip_benign_members_are_clean() -> None:
    fmt, findings = scan(make_zip({"a.pkl": BENIGN, "notes.txt": b"hello"}))
    assert fmt == "zip"
    assert not [f for f in findings if f.severity >= Severity.MEDIUM], findings


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_zip_malicious_member_found_under_its_name(method: int) -> None:
    _, findings = scan(make_zip({"ok.pkl": BENIGN, "dir/model.pkl": EVIL}, method))
    assert where(findings, "pickle-dangerous-global") == [("dir/model.pkl",)]
    assert "scan-error" not in rules(findings)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../evil.pkl", "'..' segment"),
        ("ok/../../evil.pkl", "'..' segment"),
        ("/etc/evil.pkl", "absolute path"),
        ("C:\\Windows\\evil.pkl", "Windows drive letter"),
        ("c:evil.pkl", "Windows drive letter"),
        ("a\\..\\..\\evil.pkl", "'..' segment"),
        ("\\\\server\\share\\evil.pkl", "absolute path"),
        ("a/.. /evil.pkl", "'..' segment"),
    ],
)
def test_zip_path_traversal(name: str, problem: str) -> None:
    _, findings = scan(make_zip({"fine.txt": b"x", name: EVIL}))
    traversal = [f for f in findings if f.rule == "archive-path-traversal"]
    assert [f.members for f in traversal] == [(name,)]
    assert traversal[0].severity == Severity.HIGH
    assert evidence(traversal[0])["problem"] == problem
    # The content is scanned all the same.
    assert where(findings, "pickle-dangerous-global") == [(name,)]


@pytest.mark.parametrize("name", ["a..b/c.pkl", "..hidden", "x/...y", "dots../f"])
def test_zip_names_with_dots_are_not_traversal(name: str) -> None:
    _, findings = scan(make_zip({name: b"x"}))
    assert "archive-path-traversal" not in rules(findings)


def test_zip_member_count_limit() -> None:
    members = {f"m{i}.txt": b"x" for i in range(5)}
    members["last.pkl"] = EVIL
    _, findings = scan(make_zip(members), Limits(max_members=3))
    limit = [f for f in findings if f.rule == "scan-limit"]
    assert len(limit) == 1 and evidence(limit[0])["limit"] == "max_members"
    assert limit[0].members == ()
    assert "pickle-dangerous-global" not in rules(findings)  # the 6th member was not read


def test_zip_member_size_limit_scans_the_prefix() -> None:
    big = EVIL2 + b"\x00" * 5000
    _, findings = scan(make_zip({"big.pkl": big}, zipfile.ZIP_STORED), Limits(max_member_size=1000))
    limit = [f for f in findings if f.rule == "scan-limit"]
    assert [f.members for f in limit] == [("big.pkl",)]
    assert evidence(limit[0])["limit"] == "max_member_size"
    assert "'big.pkl'" in limit[0].message
    assert where(findings, "pickle-dangerous-global") == [("big.pkl",)]


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """One member of 200 MB of zeros, deflated to under 1 MB, built a megabyte at a time."""
    buffer = io.BytesIO()
    chunk = bytes(MiB)
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z,
        z.open("zeros.bin", "w", force_zip64=True) as f,
    ):
        for _ in range(200):
            f.write(chunk)
    return buffer.getvalue()


def test_zip_bomb_stops_at_the_ratio_limit(zip_bomb: bytes) -> None:
    started = time.monotonic()
    _, findings = scan(zip_bomb, Limits(max_ratio=20, ratio_floor=MiB))
    assert time.monotonic() - started < 5
    limit = [f for f in findings if f.rule == "scan-limit"]
    assert [f.members for f in limit] == [("zeros.bin",)]
    info = evidence(limit[0])
    assert info["limit"] == "max_ratio"
    assert int(info["bytes_analysed"]) == 20 * int(info["compressed_size"]) < 200 * MiB


def test_zip_total_budget_is_shared_by_members() -> None:
    members = {f"m{i}.bin": bytes(600 * 1024) for i in range(4)}
    limits = Limits(max_total_unpacked=1 * MiB)
    _, findings = scan(make_zip(members), limits)
    limit = [f for f in findings if f.rule == "scan-limit"]
    assert limit and all(evidence(f)["limit"] == "max_total_unpacked" for f in limit)
    assert any(f.members == () and "2 compressed members" in f.message for f in limit)


def test_zip_small_members_are_not_judged_by_ratio() -> None:
    # 512 KiB of zeros compresses ~1000:1, but stays under the ratio floor.
    _, findings = scan(make_zip({"zeros.bin": bytes(512 * 1024)}), Limits(max_ratio=2, ratio_floor=MiB))
    assert "scan-limit" not in rules(findings)


def test_zip_duplicate_names_are_tampering_and_both_copies_scanned() -> None:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("model.pkl", BENIGN)
            z.writestr("model.pkl", EVIL)
    _, findings = scan(buffer.getvalue())
    tampered = [f for f in findings if f.rule == "archive-tampered"]
    assert len(tampered) == 1 and evidence(tampered[0])["copies"] == "2"
    assert where(findings, "pickle-dangerous-global") == [("model.pkl",)]


def test_zip_local_and_central_names_differ() -> None:
    data = raw_zip([Raw("weights.bin", EVIL, local_name="evil.pkl")])
    _, findings = scan(data)
    tampered = [f for f in findings if f.rule == "archive-tampered"]
    assert [f.members for f in tampered] == [("weights.bin",)]
    assert "'evil.pkl'" in tampered[0].message
    # Read under the central name, as PyTorch and zipfile do.
    assert where(findings, "pickle-dangerous-global") == [("weights.bin",)]


def test_zip_bad_crc_is_reported_and_content_scanned() -> None:
    data = raw_zip([Raw("model.pkl", EVIL, deflate=True, central_crc=0x12345678)])
    _, findings = scan(data)
    tampered = [f for f in findings if f.rule == "archive-tampered"]
    assert any("CRC" in f.message for f in tampered)
    assert where(findings, "pickle-dangerous-global") == [("model.pkl",)]


def test_zip_directory_entry_with_data() -> None:
    _, findings = scan(raw_zip([Raw("weights/", EVIL)]))
    assert [f.members for f in findings if f.rule == "archive-tampered"] == [("weights/",)]
    assert where(findings, "pickle-dangerous-global") == [("weights/",)]


def test_jar_style_deflated_empty_directory_entries_are_not_data() -> None:
    # Java's ZipOutputStream (every .jar, gradle-wrapper.jar) deflates a directory entry to
    # the 2-byte empty stream 03 00, with size 0.
    data = raw_zip([Raw("META-INF/", b"", deflate=True), Raw("META-INF/MANIFEST.MF", b"x", deflate=True)])
    assert scan(data)[1] == []
    walked = data[: data.index(b"PK\x01\x02")]  # no central directory: walked
    assert "directory entry" not in " ".join(f.message for f in scan(walked)[1])
    _, findings = scan(raw_zip([Raw("weights/", EVIL, deflate=True)]))
    assert [f.members for f in findings if f.rule == "archive-tampered"] == [("weights/",)]


def test_zip_odd_flags_and_encryption() -> None:
    data = raw_zip([Raw("a.pkl", EVIL, flags=0x2000), Raw("b.pkl", BENIGN, flags=0x0001)])
    _, findings = scan(data)
    tampered = [f for f in findings if f.rule == "archive-tampered"]
    assert [f.members for f in tampered] == [("a.pkl",)] and "0x2000" in tampered[0].message
    errors = [f for f in findings if f.rule == "scan-error"]
    assert [f.members for f in errors] == [("b.pkl",)] and "encrypted" in errors[0].message
    assert where(findings, "pickle-dangerous-global") == [("a.pkl",)]


def test_zip_entries_sharing_one_local_header_are_read_once() -> None:
    # The 'full overlap' construction: many central entries, one local file.
    aliases = [(f"copy{i}.pkl", 0) for i in range(500)]
    data = raw_zip([Raw("model.pkl", EVIL, deflate=True)], aliases=aliases)
    _, findings = scan(data)
    assert where(findings, "pickle-dangerous-global") == [("model.pkl",)]
    tampered = [f for f in findings if f.rule == "archive-tampered"]
    assert len(tampered) == 1 and evidence(tampered[0])["entries"] == "500"
    # Same bytes, same decoding: nothing unanalysed, so no scan-limit.
    assert "scan-limit" not in rules(findings)


def test_zip_overlapping_entries_are_not_decompressed_again() -> None:
    # The 'quoted overlap' construction: each entry's data runs over the headers after it.
    parts = [Raw(f"f{i}.bin", bytes([65 + i]) * 100) for i in range(20)]
    base = raw_zip(parts)
    end_of_locals = base.index(b"PK\x01\x02")
    offsets = [m.start() for m in re.finditer(b"PK\x03\x04", base[:end_of_locals])]
    central = bytearray()
    for i, offset in enumerate(offsets):
        body = offset + 30 + len(f"f{i}.bin")
        content = base[body:end_of_locals]
        name = f"f{i}.bin".encode()
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, zlib.crc32(content),
            len(content), len(content), len(name), 0, 0, 0, 0, 0, offset,
        ) + name  # fmt: skip
    data = (
        base[:end_of_locals]
        + central
        + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 20, 20, len(central), end_of_locals, 0)
    )
    _, findings = scan(data)
    limit = [f for f in findings if f.rule == "scan-limit"]
    assert len(limit) == 1 and evidence(limit[0])["members"] == "19"
    assert any(f.rule == "archive-tampered" and "overlap" in f.message for f in findings)


def test_zip_without_central_directory_is_walked() -> None:
    whole = make_zip({"a.txt": b"hello", "model.pkl": EVIL})
    data = whole[: whole.index(b"PK\x01\x02")]  # cut before the central directory
    fmt, findings = scan(data)
    assert fmt == "zip"
    assert where(findings, "pickle-dangerous-global") == [("model.pkl",)]
    tampered = [f for f in findings if f.rule == "archive-tampered"]
    assert len(tampered) == 1 and "central directory unreadable" in tampered[0].message


def test_zip_nothing_readable_is_a_scan_error() -> None:
    _, findings = scan(b"PK\x03\x04" + b"\xff" * 10)
    assert [f.rule for f in findings] == ["scan-error"]


def test_zip_truncated_member() -> None:
    whole = make_zip({"model.pkl": EVIL2 + b"(" * 4000}, zipfile.ZIP_STORED)
    data = whole[:200]  # the member's data is cut; no central directory left
    _, findings = scan(data)
    assert ("model.pkl",) in where(findings, "scan-error")
    assert where(findings, "pickle-dangerous-global") == [("model.pkl",)]


def test_zip_hidden_local_entry_in_front_is_found() -> None:
    # Two archives glued together: zip readers see the second, streaming readers the first.
    data = make_zip({"evil.pkl": EVIL}) + make_zip({"fine.txt": b"x"})
    _, findings = scan(data)
    assert where(findings, "pickle-dangerous-global") == [("evil.pkl",)]
    assert any(
        f.rule == "archive-tampered" and "not listed in the central directory" in f.message for f in findings
    )


def test_npz_object_array_member() -> None:
    np = pytest.importorskip("numpy")
    buffer = io.BytesIO()
    np.savez(buffer, plain=np.arange(4), objects=np.array([{"a": 1}, None], dtype=object))
    fmt, findings = scan(buffer.getvalue())
    assert fmt == "numpy-npz"
    assert where(findings, "numpy-object-array") == [("objects.npy",)]
    assert "scan-error" not in rules(findings)


def test_npz_with_malicious_object_payload() -> None:
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (117 - len(header)) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + EVIL
    fmt, findings = scan(make_zip({"fine.npy": _float_npy(), "evil.npy": npy}))
    assert fmt == "numpy-npz"
    assert where(findings, "pickle-dangerous-global") == [("evil.npy",)]
    assert where(findings, "numpy-object-array") == [("evil.npy",)]


def _float_npy() -> bytes:
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    header += b" " * (117 - len(header)) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(8)


def test_deep_zip_nesting_hits_the_depth_limit() -> None:
    data = make_zip({"model.pkl": EVIL})
    for level in range(12):
        data = make_zip({f"level{level}.zip": data})
    _, findings = scan(data)
    limit = [f for f in findings if f.rule == "scan-limit"]
    assert len(limit) == 1 and evidence(limit[0])["limit"] == "max_depth"
    assert len(limit[0].members) == Limits().max_depth
    assert "pickle-dangerous-global" not in rules(findings)


def test_shallow_nesting_reports_the_member_chain() -> None:
    data = make_zip({"inner.zip": make_zip({"deep/model.pkl": EVIL})})
    _, findings = scan(data)
    assert where(findings, "pickle-dangerous-global") == [("inner.zip", "deep/model.pkl")]


def test_zip_time_limit_is_a_finding() -> None:
    ctx = context_for_file("x", Limits(), Policy())
    ctx.budget.deadline = 0.0  # already over
    zip_archive.scan_zip(make_zip({"a.pkl": EVIL, "b.txt": b"x"}), ctx)
    assert [(f.rule, evidence(f)["limit"]) for f in ctx.sink] == [("scan-limit", "max_seconds_per_file")]


# --- tar -----------------------------------------------------------------------------------


def test_tar_members_scanned() -> None:
    fmt, findings = scan(make_tar([("ok.pkl", BENIGN), ("sub/model.pkl", EVIL)]))
    assert fmt == "tar"
    assert where(findings, "pickle-dangerous-global") == [("sub/model.pkl",)]
    assert not [f for f in findings if f.rule.startswith("archive") or f.rule.startswith("scan")]


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        (("../evil.pkl", EVIL), "member name '../evil.pkl'"),
        (("/abs/evil.pkl", EVIL), "member name '/abs/evil.pkl'"),
        (tar_link("link", "/etc/passwd"), "symlink 'link'"),
        (tar_link("a/b/link", "../../../x"), "symlink 'a/b/link'"),
        (tar_link("hard", "../outside", tarfile.LNKTYPE), "hard link 'hard'"),
    ],
)
def test_tar_traversal(item: object, fragment: str) -> None:
    _, findings = scan(make_tar([("fine.txt", b"x"), item]))  # type: ignore[list-item]
    traversal = [f for f in findings if f.rule == "archive-path-traversal"]
    assert len(traversal) == 1 and fragment in traversal[0].message


def test_tar_links_inside_are_fine() -> None:
    data = make_tar([("a/real.txt", b"x"), tar_link("a/b/link", "../real.txt"),
                     tar_link("a/hard", "a/real.txt", tarfile.LNKTYPE)])  # fmt: skip
    _, findings = scan(data)
    assert "archive-path-traversal" not in rules(findings)


def zip_with_symlink(name: str, target: str) -> bytes:
    """A zip as Info-ZIP `zip -y` writes a symlink: Unix host, S_IFLNK mode, the target as data."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fine.txt", b"x")
        link = zipfile.ZipInfo(name)
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        archive.writestr(link, target)
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "target"), [("link", "/etc/passwd"), ("a/b/link", "../../../.ssh/id_rsa")])
def test_zip_symlink_leaving_the_archive_is_traversal(name: str, target: str) -> None:
    _, findings = scan(zip_with_symlink(name, target))
    (traversal,) = [f for f in findings if f.rule == "archive-path-traversal"]
    assert f"symlink {name!r} points to {target!r}" in traversal.message
    assert traversal.members == (name,)


def test_zip_symlink_inside_the_archive_is_fine_and_its_data_is_a_path_not_content() -> None:
    _, findings = scan(zip_with_symlink("a/link", "../fine.txt"))
    assert "archive-path-traversal" not in rules(findings)
    # A link's data is its target path, which unzip never runs or loads: even bytes that
    # would be a malicious pickle as a regular member are not sniffed as content.
    _, findings = scan(zip_with_symlink("odd-link", EVIL.decode()))
    assert not [f for f in findings if f.members == ("odd-link",)]


def test_tar_device_and_fifo_members() -> None:
    device = tarfile.TarInfo("dev/sda")
    device.type = tarfile.BLKTYPE
    fifo = tarfile.TarInfo("pipe")
    fifo.type = tarfile.FIFOTYPE
    _, findings = scan(make_tar([device, fifo]))
    tampered = [f for f in findings if f.rule == "archive-tampered"]
    assert sorted(f.members for f in tampered) == [("dev/sda",), ("pipe",)]
    assert all(f.severity == Severity.MEDIUM for f in tampered)


def test_tar_truncated_keeps_what_was_scanned() -> None:
    whole = make_tar([("first.pkl", EVIL), ("second.pkl", EVIL2 + b"(" * 3000)])
    data = whole[: 512 * 5]  # mid-way through the second member's data
    _, findings = scan(data)
    assert where(findings, "pickle-dangerous-global") == [("first.pkl",), ("second.pkl",)]
    assert ("second.pkl",) in where(findings, "scan-error")


def test_tar_garbage_header_hides_nothing() -> None:
    first = make_tar([("fine.txt", b"x")])
    second = make_tar([("model.pkl", EVIL)])
    # tarfile stops at the first end-of-archive marker; tar -i and we read on.
    _, findings = scan(first + second)
    assert where(findings, "pickle-dangerous-global") == [("model.pkl",)]
    assert any(f.rule == "archive-tampered" and "end-of-archive" in f.message for f in findings)
    # A non-header block between members: tarfile stops, GNU tar skips it.
    body = make_tar([("fine.txt", b"x"), ("model.pkl", EVIL)])
    data = body[:1024] + b"\xff" * 512 + body[1024:]
    _, findings = scan(data)
    assert where(findings, "pickle-dangerous-global") == [("model.pkl",)]
    assert any(f.rule == "archive-tampered" and "not a valid header" in f.message for f in findings)


def test_tar_member_count_limit() -> None:
    data = make_tar([(f"f{i}.txt", b"x") for i in range(10)])
    _, findings = scan(data, Limits(max_members=4))
    assert [evidence(f)["limit"] for f in findings if f.rule == "scan-limit"] == ["max_members"]


def test_tar_member_size_limit() -> None:
    _, findings = scan(make_tar([("big.pkl", EVIL2 + bytes(5000))]), Limits(max_member_size=2000))
    limit = [f for f in findings if f.rule == "scan-limit"]
    assert [f.members for f in limit] == [("big.pkl",)]
    assert where(findings, "pickle-dangerous-global") == [("big.pkl",)]


def test_tar_pax_global_header_is_not_a_gap() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT,
                      pax_headers={"comment": "x" * 600}) as t:  # fmt: skip
        info = tarfile.TarInfo("model.pkl")
        info.size = len(EVIL)
        t.addfile(info, io.BytesIO(EVIL))
    _, findings = scan(buffer.getvalue())
    assert [f.rule for f in findings] == ["pickle-dangerous-global"]


# --- 7z ------------------------------------------------------------------------------------


def test_7z_members_scanned() -> None:
    fmt, findings = scan(make_7z({"ok.pkl": BENIGN, "dir/model.pkl": EVIL}))
    assert fmt == "7z"
    assert where(findings, "pickle-dangerous-global") == [("dir/model.pkl",)]
    assert not [f for f in findings if f.rule.startswith(("archive", "scan"))]


def test_7z_traversal_name_is_reported() -> None:
    _, findings = scan(make_7z_with_escaping_name())
    assert where(findings, "archive-path-traversal") == [("../evil.pkl",)]
    assert where(findings, "pickle-dangerous-global") == [("fine.pkl",)]
    # py7zr refuses to extract it, so it is flagged as not analysed.
    assert where(findings, "scan-error") == [("../evil.pkl",)]


def test_7z_over_limit_member_is_refused_before_decompression() -> None:
    data = make_7z({"small.pkl": EVIL, "big.bin": bytes(8 * MiB)})
    ctx = context_for_file("x", Limits(max_member_size=1 * MiB), Policy())
    scan_blob(data, ctx)
    findings = ctx.sink
    assert ctx.budget.unpacked == len(EVIL)
    limit = [f for f in findings if f.rule == "scan-limit"]
    assert [f.members for f in limit] == [("big.bin",)]
    assert evidence(limit[0])["limit"] == "max_member_size"
    assert where(findings, "pickle-dangerous-global") == [("small.pkl",)]


def test_7z_ratio_limit() -> None:
    data = make_7z({"before.pkl": EVIL, "zeros.bin": bytes(8 * MiB)})
    _, findings = scan(data, Limits(max_ratio=10, ratio_floor=MiB))
    limit = [f for f in findings if f.rule == "scan-limit"]
    assert [f.members for f in limit] == [("zeros.bin",)]
    assert evidence(limit[0])["limit"] == "max_ratio"
    assert where(findings, "pickle-dangerous-global") == [("before.pkl",)]
    assert "scan-error" not in rules(findings)


def test_7z_solid_block_bomb_stops_extraction() -> None:
    # Reaching 'after.pkl' means decoding the refused 8 MiB first: py7zr's own bound stops it.
    data = make_7z({"zeros.bin": bytes(8 * MiB), "after.pkl": EVIL})
    started = time.monotonic()
    _, findings = scan(data, Limits(max_ratio=10, ratio_floor=MiB))
    assert time.monotonic() - started < 2
    assert where(findings, "scan-limit") == [("zeros.bin",)]
    assert where(findings, "scan-error") == [()]


def test_7z_duplicate_names_both_scanned() -> None:
    import py7zr

    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as z:
        z.writestr(BENIGN, "model.pkl")
        z.writestr(EVIL, "model.pkl")
        z.writestr(EVIL2, "model.pkl_0")  # the name py7zr gives the second copy
    _, findings = scan(buffer.getvalue())
    tampered = [f for f in findings if f.rule == "archive-tampered"]
    assert len(tampered) == 1 and evidence(tampered[0])["copies"] == "2"
    assert sorted(where(findings, "pickle-dangerous-global")) == [("model.pkl",), ("model.pkl_0",)]


@pytest.mark.parametrize("header_encryption", [False, True])
def test_7z_encrypted(header_encryption: bool) -> None:
    data = make_7z({"model.pkl": EVIL}, password="secret", header_encryption=header_encryption)
    _, findings = scan(data)
    errors = [f for f in findings if f.rule == "scan-error"]
    assert len(errors) == 1 and "encrypted" in errors[0].message
    assert errors[0].severity == Severity.HIGH


def test_7z_corrupt() -> None:
    data = bytearray(make_7z({"model.pkl": EVIL * 50}))
    data[40:60] = b"\xff" * 20
    _, findings = scan(bytes(data))
    assert "scan-error" in rules(findings)
    _, findings = scan(make_7z({"model.pkl": EVIL})[:40])
    assert [f.rule for f in findings] == ["scan-error"]


def test_7z_symlink_escaping(tmp_path: object) -> None:
    import py7zr

    root = tmp_path  # type: ignore[assignment]
    (root / "outside.txt").write_bytes(b"x")  # type: ignore[operator]
    (root / "inner").mkdir()  # type: ignore[operator]
    (root / "inner" / "link").symlink_to("../outside.txt")  # type: ignore[operator]
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as z:
        z.write(root / "inner" / "link", "link")  # type: ignore[operator]
        z.writestr(EVIL, "model.pkl")
    _, findings = scan(buffer.getvalue())
    assert where(findings, "archive-path-traversal") == [("link",)]
    assert where(findings, "pickle-dangerous-global") == [("model.pkl",)]


# --- large files arrive as a read-only mmap ----------------------------------------------


@pytest.mark.parametrize("kind", ["zip", "tar", "7z", "walked-zip"])
def test_mmap_input(kind: str, tmp_path: object) -> None:
    members = {"fine.txt": b"x", "model.pkl": EVIL}
    data = {
        "zip": lambda: make_zip(members),
        "tar": lambda: make_tar(list(members.items())),
        "7z": lambda: make_7z(members),
        "walked-zip": lambda: make_zip(members)[:-22],  # no end record: local headers walked
    }[kind]()
    path = tmp_path / "archive.bin"  # type: ignore[operator]
    path.write_bytes(data)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        ctx = context_for_file("x", Limits(), Policy())
        scan_blob(view, ctx)
        assert not view.closed
    assert [f.members for f in ctx.sink if f.rule == "pickle-dangerous-global"] == [("model.pkl",)]
    assert "scan-error" not in rules(ctx.sink)


def test_large_stored_member_is_not_copied_whole(tmp_path: object) -> None:
    import tracemalloc

    path = tmp_path / "big.zip"  # type: ignore[operator]
    chunk = EVIL2 + bytes(MiB - len(EVIL2))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z, z.open("big.pkl", "w") as f:
        for _ in range(32):
            f.write(chunk)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        ctx = context_for_file("x", Limits(max_member_size=2 * MiB), Policy())
        tracemalloc.start()
        try:
            scan_blob(view, ctx)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8 * MiB, f"peak {peak} bytes for a 32 MiB member capped at 2 MiB"
    assert [f.members for f in ctx.sink if f.rule == "scan-limit"] == [("big.pkl",)]
    assert [f.members for f in ctx.sink if f.rule == "pickle-dangerous-global"] == [("big.pkl",)]


# --- nothing touches the disk --------------------------------------------------------------


def test_scanning_archives_writes_nothing(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    samples = [
        make_zip({"../../evil.pkl": EVIL, "/abs.pkl": EVIL, "a/b.pkl": EVIL}),
        make_tar([("../evil.pkl", EVIL), tar_link("l", "/etc/passwd"), ("d/x.pkl", EVIL)]),
        make_7z_with_escaping_name(),
    ]
    for data in samples:
        _, findings = scan(data)
        assert "pickle-dangerous-global" in rules(findings)
    assert os.listdir(".") == []
    assert not os.path.exists(os.path.join("..", "evil.pkl"))
