"""OpenVINO IR: the model's graph as XML (`model.xml`, root element `<net name=… version=…>`
holding `<layers>` and `<edges>`), its weights in a `.bin` file beside it (raw tensors at the
offsets the XML gives, recognisable by nothing of their own)."""

from __future__ import annotations

import re

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.unanalysed.finding import Unanalysed, report_not_analysed

OPENVINO_IR = Unanalysed(
    "OpenVINO IR model",
    "OpenVINO builds the graph and reads its weights from the .bin file; an operation outside "
    "OpenVINO's opsets needs an extension library the application loads (Core.add_extension)",
)
# An XML declaration and comments may come first; then the root element.
_ROOT = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<net\b[^>]*?\bversion\s*=\s*[\"'](\d+)[\"']",
    re.DOTALL,
)
_HEAD = 4096


def ir_version(data: Data) -> int | None:
    match = _ROOT.match(bytes(data[:_HEAD]))
    if match is None or data.find(b"<layers") < 0:
        return None
    return int(match.group(1))


def is_openvino(data: Data) -> bool:
    return ir_version(data) is not None


def scan_openvino(data: Data, ctx: ScanContext) -> None:
    version = ir_version(data)
    report_not_analysed(ctx, OPENVINO_IR, f"IR version {version}" if version is not None else "")
