"""Caffe networks: trained weights as a binary protobuf `NetParameter` (`.caffemodel`) and the
network definition as protobuf text (`deploy.prototxt`). The binary message holds a name (1)
and layers (100, `LayerParameter`: name 1, type 2 ...; or the deprecated field 2), recognised
by that structure over the whole top-level message; the text by its `layer {` blocks with a
`type` and their `bottom`/`top` blobs."""

from __future__ import annotations

import re

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.unanalysed.finding import Unanalysed, report_not_analysed
from aisbom.wording import counted

CAFFE = Unanalysed(
    "Caffe network",
    "Caffe (or OpenCV's readNetFromCaffe) creates every layer by its type; a Python layer makes "
    "Caffe import the module its python_param names and instantiate the class named there",
)
_LAYER, _V1_LAYER = 100, 2
_IDENTIFIER = rb"[A-Za-z][A-Za-z0-9_]*\Z"
_MAX_LAYERS = 1_000_000
# Indentation is horizontal space only: `^\s*` under MULTILINE spans every following blank
# line from every line start, quadratic in a run of newlines (22 s for 64 KiB of them). These
# patterns are compiled on first use (re caches them): few files have the words they need.
_TEXT_LAYER = rb"^[ \t\r\f\v]*layers?\s*\{"
_TEXT_TYPE = rb"^[ \t\r\f\v]*type\s*:\s*\"?[A-Za-z_]+"
_TEXT_BLOB = rb"^[ \t\r\f\v]*(?:top|bottom)\s*:\s*\""
_TEXT_HEAD = 64 * 1024


def layer_count(data: Data) -> int | None:
    """How many layers the NetParameter in `data` has, or None if it is not one."""
    if len(data) < 8 or data[0] not in (0x0A, 0x12, 0xA2):
        return None
    # Imported here: is_prototxt brings this module to nearly every scan, and few files start so.
    from aisbom.scanners.readers.protobuf_wire import LEN, VARINT, Bounds, WireError, iter_fields

    # NetParameter: name, layers (V1), input, input_dim, force_backward, state, debug_info,
    # input_shape, layer.
    net_fields = {1: LEN, 2: LEN, 3: LEN, 4: VARINT, 5: VARINT, 6: LEN, 7: VARINT, 8: LEN, 100: LEN}
    layers = []
    try:
        for field in iter_fields(data, 0, len(data), Bounds(max_fields=_MAX_LAYERS)):
            expected = net_fields.get(field.number)
            if expected != field.wire_type and not (field.number == 4 and field.wire_type == LEN):
                return None  # (input_dim may be packed)
            if field.number in (_LAYER, _V1_LAYER):
                layers.append(field)
        if not layers or not _is_layer(data, layers[0].start, layers[0].end, v1=layers[0].number == 2):
            return None
    except WireError:
        return None
    return len(layers)


def _is_layer(data: Data, start: int, end: int, *, v1: bool) -> bool:
    """A LayerParameter whose type (2) is a name (V1: name 4, type an enum, 5)."""
    from aisbom.scanners.readers.protobuf_wire import LEN, VARINT, Bounds, iter_fields

    name_field, type_field, type_wire = (4, 5, VARINT) if v1 else (1, 2, LEN)
    seen = {}
    for field in iter_fields(data, start, end, Bounds(max_fields=_MAX_LAYERS)):
        if field.number in (name_field, type_field):
            seen[field.number] = field
    kind = seen.get(type_field)
    if name_field not in seen or kind is None or kind.wire_type != type_wire:
        return False
    return v1 or bool(re.match(_IDENTIFIER, bytes(data[kind.start : kind.end])))


def is_caffe(data: Data) -> bool:
    return layer_count(data) is not None


def scan_caffe(data: Data, ctx: ScanContext) -> None:
    layers = layer_count(data)
    report_not_analysed(ctx, CAFFE, f"binary, {counted(layers, 'layer')}" if layers else "binary")


def is_prototxt(data: Data) -> bool:
    head = bytes(data[:_TEXT_HEAD])
    # The words every pattern needs, found at C speed first: the line-anchored searches cost a
    # step per byte, and almost no file (binary data above all) has these words.
    if b"layer" not in head or b"type" not in head or (b"top" not in head and b"bottom" not in head):
        return False
    return all(re.search(pattern, head, re.MULTILINE) for pattern in (_TEXT_LAYER, _TEXT_TYPE, _TEXT_BLOB))


def scan_prototxt(data: Data, ctx: ScanContext) -> None:
    report_not_analysed(ctx, CAFFE, "prototxt")
