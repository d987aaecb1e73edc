"""A zip whose central directory lists one stored member many times: every entry points at the
same local header and bytes, and entries differ only by the CRC they claim (so a reader that
keys on the entry sees each as new). Hostile-input tests use it to prove a member is read once."""

from __future__ import annotations

import struct
import zlib


def aliased_zip(name: bytes, data: bytes, entries: int) -> bytes:
    crc = zlib.crc32(data)
    local = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, len(data), len(data), len(name), 0
    )
    central = b"".join(
        struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            20,
            20,
            0,
            0,
            0,
            0,
            crc + i,
            len(data),
            len(data),
            len(name),
            0,
            0,
            0,
            0,
            0,
            0,
        )  # fmt: skip
        + name
        for i in range(entries)
    )
    body = local + name + data
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, entries, entries, len(central), len(body), 0)
    return body + central + end
