"""ncnn (Tencent) networks: the `.param` file, as text opening with the magic line `7767517` or
as binary (`.param.bin`) opening with that number as a 32-bit little-endian integer; the
weights are a `.bin` file beside it, raw, recognisable by nothing of their own."""

from __future__ import annotations

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.unanalysed.finding import Unanalysed, report_not_analysed
from aisbom.wording import counted

NCNN = Unanalysed(
    "ncnn network",
    "ncnn creates every layer by its type name; a type that is not built in must be a custom "
    "layer the application registers (Net.register_custom_layer)",
)
TEXT_MAGICS = (b"7767517\n", b"7767517\r\n")
BINARY_MAGIC = (7767517).to_bytes(4, "little")


def is_ncnn(data: Data) -> bool:
    head = bytes(data[:9])
    return head.startswith(TEXT_MAGICS) or head.startswith(BINARY_MAGIC)


def scan_ncnn(data: Data, ctx: ScanContext) -> None:
    head = bytes(data[:64])
    if head.startswith(BINARY_MAGIC):
        report_not_analysed(ctx, NCNN, "binary param")
        return
    counts = head.splitlines()[1].split() if len(head.splitlines()) > 1 else []
    detail = counted(int(counts[0]), "layer") if counts and counts[0].isdigit() else ""
    report_not_analysed(ctx, NCNN, detail)
