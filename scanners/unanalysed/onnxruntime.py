"""ONNX Runtime's ORT format (`.ort`, for mobile and minimal builds): a FlatBuffer whose file
identifier, at offset 4, is `ORTM`."""

from __future__ import annotations

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.unanalysed.finding import Unanalysed, report_not_analysed

ORT = Unanalysed(
    "ONNX Runtime ORT model",
    "ONNX Runtime runs the kernels its graph names; an operator of a custom domain needs a library "
    "the application registers (SessionOptions.register_custom_ops_library)",
)


def is_ort(data: Data) -> bool:
    return len(data) >= 16 and bytes(data[4:8]) == b"ORTM"


def scan_ort(data: Data, ctx: ScanContext) -> None:
    report_not_analysed(ctx, ORT)
