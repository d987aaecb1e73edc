"""ONNX models written to make the reader do worse than linear work."""

from __future__ import annotations

import time

import onnx
from onnx import TensorProto, helper
from payloads import rules, scan


def _model(graph: onnx.GraphProto) -> bytes:
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_a_tensor_of_many_huge_dimensions_is_sized_in_linear_time():
    # Before: math.prod over 80,000 dimensions of 2**60 (30 s).
    tensor = TensorProto(name="t", data_type=TensorProto.FLOAT, dims=[2**60] * 80_000, raw_data=b"")
    data = _model(helper.make_graph([], "g", [], [], initializer=[tensor]))
    started = time.process_time()
    _, findings = scan(data)
    assert time.process_time() - started < 5
    assert any("overflow a 64-bit size" in f.message for f in findings), rules(findings)


def test_a_huge_graph_name_is_not_copied_into_every_node_label():
    # Before: every node's place repeated the graph's name whole (8 MB x 50,000 nodes).
    nodes = [helper.make_node("Relu", ["x"], ["x"]) for _ in range(50_000)]
    nodes.append(helper.make_node("Run", ["x"], ["y"], domain="evil.ops"))
    data = _model(helper.make_graph(nodes, "g" * 8_000_000, [], []))
    started = time.process_time()
    _, findings = scan(data)
    assert time.process_time() - started < 10
    custom = [f for f in findings if f.rule == "onnx-custom-op"]
    assert custom and len(custom[0].message) < 1000
