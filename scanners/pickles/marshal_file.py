"""Python code objects: `.pyc` files and raw `marshal.dumps(code)` data.

Not a model format, and nothing a model loader reads; but a code object is code, which runs
as soon as a program executes it (an import of the `.pyc`, `exec` of what `marshal` rebuilds, a Keras
Lambda layer). It is identified by its header and reported with the names and strings it
holds, scraped without building the code object (marshal is not safe against crafted data).
"""

from __future__ import annotations

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.readers.marshal_code import scrape

_CODE = (0x63, 0xE3)  # TYPE_CODE, with and without FLAG_REF
_STRING_TYPES = (0x73, 0xF3)  # co_code is a bytes record ('s')
# Offsets of co_code's type byte after the code type byte: 4 int32 fields (Python 2.7),
# 5 (3.11+), 6 (3.8-3.10).
_CO_CODE_AT = (17, 21, 25)
# .pyc header sizes: 16 (3.7+: magic, flags, mtime or hash, size), 12 (3.3-3.6), 8 (2.x).
_PYC_HEADERS = (16, 12, 8)


def looks_like_marshal(data: Data) -> bool:
    return _code_start(data) is not None


def _code_start(data: Data) -> int | None:
    # (The registry's `needs` restate this: a .pyc header's b"\r" at 2, or a code type byte first.)
    head = bytes(data[:64])
    if len(head) > 4 and head[2:4] == b"\r\n":
        for size in _PYC_HEADERS:
            if _is_code(head, size):
                return size
    return 0 if _is_code(head, 0) else None


def _is_code(head: bytes, start: int) -> bool:
    if len(head) <= start + max(_CO_CODE_AT) or head[start] not in _CODE:
        return False
    return any(head[start + at] in _STRING_TYPES for at in _CO_CODE_AT)


def scan_marshal(data: Data, ctx: ScanContext) -> None:
    start = _code_start(data) or 0
    summary = scrape(bytes(data[start : start + 16 * 1024 * 1024]))
    names = ", ".join(summary.names[:40]) or "none found"
    kind = "compiled Python module (.pyc)" if start else "marshalled Python code object"
    ctx.report(
        "marshal-code",
        f"{kind}: code that runs when a program imports or executes it; not a model format, "
        f"not analysed as one (names it uses: {names})",
        evidence={"names": names[:500], "strings": "; ".join(summary.strings[:10])[:500]},
    )
