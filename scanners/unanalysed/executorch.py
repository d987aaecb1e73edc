"""ExecuTorch programs (`.pte`): a FlatBuffer whose file identifier, at offset 4, is `ET` and two
digits (the schema version, `ET12` today)."""

from __future__ import annotations

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.unanalysed.finding import Unanalysed, report_not_analysed

EXECUTORCH = Unanalysed(
    "ExecuTorch program",
    "the ExecuTorch runtime runs the kernels it names and hands its delegate blobs (XNNPACK, "
    "Core ML, QNN, Vulkan ...) to the backends compiled into the application",
)


def is_executorch(data: Data) -> bool:
    if len(data) < 16:
        return False
    head = bytes(data[:8])
    root = int.from_bytes(head[:4], "little")  # the offset of the root table
    return head[4:6] == b"ET" and head[6:8].isdigit() and 8 <= root < len(data)


def scan_executorch(data: Data, ctx: ScanContext) -> None:
    report_not_analysed(ctx, EXECUTORCH, f"schema {bytes(data[4:8]).decode('ascii')}")
