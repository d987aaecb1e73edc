"""TFLite models written to make the reader do worse than linear work: FlatBuffer tables find
vectors by offset, so thousands of tables can point at one vector."""

from __future__ import annotations

import time

import pytest
from payloads import evidence, scan

pytest.importorskip("flatbuffers")

from builders.tensorflow_graphs import tf_node  # noqa: E402
from builders.tflite_models import TFL_CUSTOM, tfl_flex_options  # noqa: E402


def _operators_sharing_options(operators: int, options: bytes, codes: int = 1) -> bytes:
    import flatbuffers

    b = flatbuffers.Builder(len(options) + 64 * operators)

    def table(fields):  # [(slot, kind, value)]
        b.StartObject(max(slot for slot, _, _ in fields) + 1)
        for slot, kind, value in fields:
            if kind == "off":
                b.PrependUOffsetTRelativeSlot(slot, value, 0)
            else:
                getattr(
                    b, {"i8": "PrependInt8Slot", "i32": "PrependInt32Slot", "u32": "PrependUint32Slot"}[kind]
                )(slot, value, 0)
        return b.EndObject()

    def offsets(items):
        b.StartVector(4, len(items), 4)
        for item in reversed(items):
            b.PrependUOffsetTRelative(item)
        return b.EndVector()

    b.StartVector(1, len(options), 1)
    for byte in reversed(options):
        b.PrependUint8(byte)
    shared = b.EndVector()
    operator_tables = [table([(0, "u32", i % codes), (5, "off", shared)]) for i in range(operators)]
    subgraph = table([(3, "off", offsets(operator_tables))])
    name = b.CreateString("FlexAddV2")
    code_tables = [
        table([(0, "i8", TFL_CUSTOM), (1, "off", name), (3, "i32", TFL_CUSTOM)]) for _ in range(codes)
    ]
    empty_buffer = table([(2, "u32", 0)])
    model = table(
        [
            (0, "u32", 3),
            (1, "off", offsets(code_tables)),
            (2, "off", offsets([subgraph])),
            (4, "off", offsets([empty_buffer])),
        ]
    )
    b.Finish(model, file_identifier=b"TFL3")
    return bytes(b.Output())


def test_operators_sharing_one_large_custom_options_vector_read_it_once():
    # Before: every operator copied and parsed the same 400 KB NodeDef (50,000 inputs): 2,000
    # operators took minutes, and the deadline was looked at only every 4,096 tables.
    node = tf_node("AddV2", "AddV2", [f"i{k}" for k in range(50_000)])
    data = _operators_sharing_options(2_000, tfl_flex_options(node))
    started = time.process_time()
    _, findings = scan(data)
    assert time.process_time() - started < 10
    (op,) = [f for f in findings if f.rule == "tflite-custom-op"]
    assert evidence(op)["count"] == "2000"
    assert "scan-limit" not in {f.rule for f in findings}


def test_operator_codes_sharing_one_options_vector_stop_at_the_files_size():
    # Each operator code reads the shared options once; together they may not read more than
    # the file holds: the rest is a scan-limit naming the bound.
    node = tf_node("AddV2", "AddV2", [f"i{k}" for k in range(50_000)])
    data = _operators_sharing_options(400, tfl_flex_options(node), codes=200)
    started = time.process_time()
    _, findings = scan(data)
    assert time.process_time() - started < 10
    (limit,) = [f for f in findings if f.rule == "scan-limit"]
    assert evidence(limit)["limit"] == "tflite_reread_bytes"
    assert len([f for f in findings if f.rule == "tflite-custom-op"]) == 200
