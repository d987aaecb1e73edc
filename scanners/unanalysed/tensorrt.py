"""TensorRT plans (`.engine`, `.plan`, TensorRT-LLM's `rank0.engine`): a serialised engine for
one GPU and one TensorRT version, opening with the magic tag `ftrt` (or `ptrt`). Ultralytics
writes its `.engine` files with a prefix: a 4-byte little-endian length and that many bytes of
JSON metadata, then the plan."""

from __future__ import annotations

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.unanalysed.finding import Unanalysed, report_not_analysed
from aisbom.severity import Severity

TENSORRT = Unanalysed(
    "TensorRT plan",
    "TensorRT deserialises it into an engine with its plugins: a version-compatible plan can carry "
    "plugin libraries and a lean runtime, native code the runtime loads when host code is allowed "
    "(IRuntime.engine_host_code_allowed); other plugins are looked up by name in libraries the "
    "application loads",
    # Native code can travel inside the file: as bad as an unknown call in a pickle.
    Severity.HIGH,
)
MAGIC_TAGS = (b"ftrt", b"ptrt")
_MAX_METADATA = 1 << 20


def plan_offset(data: Data) -> int | None:
    """Where the plan starts: 0, or after Ultralytics' JSON metadata; None if not a plan."""
    if bytes(data[:4]) in MAGIC_TAGS:
        return 0
    if len(data) < 8:
        return None
    length = int.from_bytes(bytes(data[:4]), "little")
    if not 2 <= length <= _MAX_METADATA or bytes(data[4:5]) != b"{":
        return None
    end = 4 + length
    if bytes(data[end - 1 : end]) != b"}" or bytes(data[end : end + 4]) not in MAGIC_TAGS:
        return None
    return end


def is_tensorrt(data: Data) -> bool:
    return plan_offset(data) is not None


def scan_tensorrt(data: Data, ctx: ScanContext) -> None:
    offset = plan_offset(data)
    detail = f"after {offset} bytes of Ultralytics metadata" if offset else ""
    report_not_analysed(ctx, TENSORRT, detail)
