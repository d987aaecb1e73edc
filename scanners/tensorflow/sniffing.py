"""Which protobuf files are TensorFlow's: SavedModel, frozen GraphDef, TF1 checkpoint graph
(MetaGraphDef, `model.ckpt.meta`) and Keras SavedModel metadata, recognised by their structure
(they share their first bytes with ONNX and with every other message whose field 1 is a
message)."""

from __future__ import annotations

import re

from aisbom.scanners.frame.context import Data
from aisbom.scanners.readers.protobuf_wire import (
    LEN,
    VARINT,
    Bounds,
    Field,
    WireError,
    WireLimitError,
    iter_fields,
    read_varint,
)

_NODE_NAME = re.compile(r"[A-Za-z0-9._][A-Za-z0-9_.\-/>]*")
_OP_NAME = re.compile(r"_?[A-Za-z][A-Za-z0-9_>]*")
# MetaInfoDef keys: meta_graph_version(1) ... function_aliases(8), as (number << 3 | wire type).
_META_INFO_KEYS = frozenset({0x0A, 0x12, 0x1A, 0x22, 0x2A, 0x32, 0x38, 0x42})
_SNIFF_WINDOW = 4096


def sniff_tensorflow(data: Data) -> str | None:
    """'tf-saved-model', 'tf-graph-def', 'tf-meta-graph', 'keras-metadata' or None, from the
    first bytes.

    Structural, because these protos share their first bytes with ONNX (`08 01 12`) and with
    every other message whose field 1 is a message (`0a`). Only the head is checked, so a
    truncated file is still claimed (and then reported as malformed)."""
    head = bytes(data[:_SNIFF_WINDOW])
    if not head or head[0] not in (0x08, 0x0A, 0x12):
        return None
    try:
        if head[0] == 0x0A:
            if _is_keras_metadata(head):
                return "keras-metadata"
            return "tf-graph-def" if _is_graph_def(head, 0) else None
        return "tf-saved-model" if _is_saved_model(head) else None
    except WireError:
        return None


# Field numbers and wire types each TF root message defines, for the order-free check below.
_SAVED_MODEL_FIELDS = {1: VARINT, 2: LEN}
_META_GRAPH_FIELDS = {n: LEN for n in range(1, 9)}
_GRAPH_DEF_FIELDS = {1: LEN, 2: LEN, 3: VARINT, 4: LEN, 5: LEN}
_NODE_DEF_FIELDS = {n: LEN for n in range(1, 10)}
_STRUCTURAL_FIELDS = 4096  # top-level fields read before a conforming prefix is believed


def _conforms(data: Data, start: int, end: int, schema: dict[int, int], budget: int) -> list[Field] | None:
    """The fields of data[start:end] if every one is a field `schema` defines with its wire
    type and they end exactly at `end` (up to `budget` fields); None otherwise."""
    fields: list[Field] = []
    try:
        for f in iter_fields(data, start, end, Bounds(max_fields=budget)):
            if schema.get(f.number) != f.wire_type or f.end > end:
                return None
            fields.append(f)
    except WireLimitError:
        return fields  # a long conforming prefix: believed
    except WireError:
        return None
    return fields


def sniff_tensorflow_structural(data: Data) -> str | None:
    """'tf-saved-model', 'tf-graph-def' or 'tf-meta-graph' for a protobuf whose fields come in
    any order.

    Protobuf parsers accept fields in any order, and a hand-written SavedModel can put its
    saver_def before its graph_def, or a GraphDef its versions before its nodes: TensorFlow
    loads them, while the first-bytes check above does not recognise them (and they sniff as
    ONNX, text or data). Checked over the whole message, two levels deep, so that text and
    other data never conform by chance."""
    if len(data) < 4 or data[0] not in (0x08, 0x0A, 0x12, 0x18, 0x22, 0x2A):
        return None
    end = len(data)
    top = _conforms(data, 0, end, _SAVED_MODEL_FIELDS, _STRUCTURAL_FIELDS)
    if top and any(f.number == 2 for f in top):
        graphs = 0
        for meta in (f for f in top if f.number == 2):
            inner = _conforms(data, meta.start, meta.end, _META_GRAPH_FIELDS, _STRUCTURAL_FIELDS)
            if inner is None:
                break
            for graph in (f for f in inner if f.number == 2):
                if _graph_def_conforms(data, graph.start, graph.end):
                    graphs += 1
        else:
            if graphs:
                return "tf-saved-model"
    if _graph_def_conforms(data, 0, end):
        return "tf-graph-def"
    if meta_graph_conforms(data):
        return "tf-meta-graph"
    return None


def meta_graph_conforms(data: Data) -> bool:
    """A MetaGraphDef over the whole message (fields of its schema only, in any order) whose
    graph_def(2) is a conforming GraphDef: what tf.compat.v1.train.import_meta_graph reads."""
    if len(data) < 4 or data[0] not in (0x0A, 0x12, 0x1A, 0x22, 0x2A, 0x32, 0x3A, 0x42):
        return False
    fields = _conforms(data, 0, len(data), _META_GRAPH_FIELDS, _STRUCTURAL_FIELDS)
    graphs = [f for f in fields or () if f.number == 2]
    return bool(graphs) and all(_graph_def_conforms(data, g.start, g.end) for g in graphs[:4])


def _graph_def_conforms(data: Data, start: int, end: int) -> bool:
    fields = _conforms(data, start, end, _GRAPH_DEF_FIELDS, _STRUCTURAL_FIELDS)
    nodes = [f for f in fields or () if f.number == 1]
    if not nodes:
        return False
    for node in nodes[:16]:
        inner = _conforms(data, node.start, node.end, _NODE_DEF_FIELDS, 4096)
        numbers = {f.number for f in inner or ()}
        if inner is None or not {1, 2} <= numbers:
            return False
    return True


def _key_and_length(head: bytes, pos: int) -> tuple[int, int, int]:
    key, pos = read_varint(head, pos, len(head))
    length = 0
    if key & 7 == LEN:
        length, pos = read_varint(head, pos, len(head))
    elif key & 7 == VARINT:
        length, pos = read_varint(head, pos, len(head))  # the value, for callers that check it
    return key, length, pos


def _is_saved_model(head: bytes) -> bool:
    key, value, pos = _key_and_length(head, 0)
    if key == 0x08:  # saved_model_schema_version: 1 since SavedModel exists
        if value != 1:
            return False
        key, value, pos = _key_and_length(head, pos)
    if key != 0x12 or value < 2:  # meta_graphs
        return False
    key, length, inner = _key_and_length(head, pos)  # MetaGraphDef's first field
    if key == 0x0A:  # meta_info_def, which holds the tags every loader matches on
        return length >= 2 and _key_and_length(head, inner)[0] in _META_INFO_KEYS
    if key == 0x12:  # graph_def
        return _is_graph_def(head, inner)
    return False


def _is_graph_def(head: bytes, pos: int) -> bool:
    """GraphDef at `pos` whose first NodeDef has a valid name(1) and op(2)."""
    key, length, pos = _key_and_length(head, pos)
    if key != 0x0A or length < 4:
        return False
    strings = []
    for expected in (0x0A, 0x12):
        key, size, pos = _key_and_length(head, pos)
        if key != expected or not 0 < size <= 1024 or pos + size > len(head):
            return False
        strings.append(head[pos : pos + size])
        pos += size
    try:
        name, op = (s.decode("ascii") for s in strings)
    except UnicodeDecodeError:
        return False
    return bool(_NODE_NAME.fullmatch(name) and _OP_NAME.fullmatch(op))


def _is_keras_metadata(head: bytes) -> bool:
    """SavedMetadata whose first SavedObject carries a `_tf_keras_*` identifier(4)."""
    _, length, pos = _key_and_length(head, 0)
    end = min(pos + length, len(head))
    while pos < end:
        key, size, pos = _key_and_length(head, pos)
        if key == 0x10:  # node_id (a varint: `size` is its value)
            continue
        if key not in (0x1A, 0x22) or pos + size > len(head):
            return False
        if key == 0x22:
            return head[pos : pos + size].startswith(b"_tf_keras_")
        pos += size
    return False
