"""Darknet networks (YOLO up to v4, and what OpenCV's readNetFromDarknet reads): the `.cfg` file,
INI-like sections opening with `[net]` (or `[network]`), then layers such as
`[convolutional]`, `[yolo]` or `[route]`; the weights are a `.weights` file of raw floats
behind a short header, recognisable by nothing of their own."""

from __future__ import annotations

import re

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.unanalysed.finding import Unanalysed, report_not_analysed
from aisbom.wording import counted

DARKNET = Unanalysed(
    "Darknet network configuration",
    "Darknet (or OpenCV's readNetFromDarknet) builds every layer from its section with its own C "
    "code and reads the weights from a .weights file; no layer runs code of the file's choosing",
)
# The first section, after blank lines and # or ; comments, is the network's.
# One line per repetition (horizontal space, maybe a comment, a newline): nested \s* over
# newlines backtracked exponentially on a run of blank lines.
_FIRST_SECTION = re.compile(
    rb"\A(?:\xef\xbb\xbf)?(?:[ \t\r\f\v]*(?:[#;][^\n]*)?\n)*"
    rb"[ \t\r\f\v]*\[(?:net|network)\][ \t\r\f\v]*$",
    re.M,
)
_LAYER_SECTION = re.compile(
    rb"^[ \t\r\f\v]*\[(convolutional|connected|maxpool|avgpool|route|shortcut|upsample|yolo|region|dropout|"
    rb"softmax|deconvolutional|local|crnn|rnn|gru|lstm|reorg|batchnorm|cost|detection)\][ \t\r\f\v]*$",
    re.MULTILINE,
)
_HEAD = 64 * 1024


def layer_sections(data: Data) -> int | None:
    head = bytes(data[:_HEAD])
    if not _FIRST_SECTION.match(head):
        return None
    layers = len(_LAYER_SECTION.findall(head))
    return layers or None


def is_darknet(data: Data) -> bool:
    return layer_sections(data) is not None


def scan_darknet(data: Data, ctx: ScanContext) -> None:
    layers = layer_sections(data)
    report_not_analysed(ctx, DARKNET, counted(layers, "layer section") if layers else "")
