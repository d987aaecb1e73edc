"""Differential check of the sniffer: run it under two checkouts and compare the output.

    python benchmarks/sniff_table.py fixtures > A.tsv   # in each checkout, then: cmp A.tsv B.tsv

Print a table: one line per input, the sniffed format. Inputs: every file under fixtures/,
and 20,000 seeded random and structured byte strings (magic-number prefixes, near-misses)."""

import hashlib
import pathlib
import random
import sys

from aisbom.scanners.frame.sniff import _MAGIC, sniff

root = pathlib.Path(sys.argv[1])
rng = random.Random(16)
prefixes = [m for _o, m, _n in _MAGIC] + [
    b"\x80\x02",
    b"\x80\x04\x95",
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"BZh9",
    b"\x5d\x00\x00\x80\x00",
    b"\x78\x9c",
    b"ZF0x10",
    b"\x08\x07\x12",
    b"\x08\x01\x12\x04",
    b'{"',
    b"\xef\xbb\xbf{",
    b"\x89HDF\r\n\x1a\n",
    b"(dp0\n",
    b"cos\nsystem\n",
    b"layer {",
    b"name: ",
    b"[net]",
    b"\x00\x00\x00\x00",
    b"\xff\xfe{\x00",
    b"7767517",
    b"lmgg",
    b"ggjt",
]
inputs = []
for p in sorted(root.rglob("*")):
    if p.is_file() and "__pycache__" not in p.parts:
        inputs.append((str(p.relative_to(root)), p.read_bytes()))
for i in range(20000):
    kind = i % 5
    n = rng.choice([0, 1, 2, 5, 9, 13, 31, 64, 200, 511, 512, 513, 1024, 4096, 5000])
    body = bytes(rng.getrandbits(8) for _ in range(n)) if n < 600 else rng.randbytes(n)
    if kind == 1:
        body = rng.choice(prefixes) + body
    elif kind == 2:
        body = rng.choice(prefixes)[: rng.randint(0, 8)] + body[: rng.randint(0, 64)]
    elif kind == 3:
        body = bytes(rng.choice(b' \t\r\n{}[]":,abc0123456789-.etruflsn') for _ in range(n))
    elif kind == 4:
        body = rng.choice(prefixes) + bytes(rng.choice(b"abcdefgh \n=:{}") for _ in range(n))
    inputs.append((f"gen{i}", body))
out = []
for name, data in inputs:
    try:
        fmt = sniff(data)
    except Exception as exc:
        fmt = f"raised {type(exc).__name__}"
    out.append(f"{name}\t{hashlib.sha256(data).hexdigest()[:16]}\t{fmt}")
print("\n".join(out))
