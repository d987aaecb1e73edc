"""A node whose op_type is not valid UTF-8 (protobuf hands such a proto2 string back as bytes)
is reported with text evidence, and the JSON report is written."""

from __future__ import annotations

import json

from catalog import FIXTURES_DIR

from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file, scan_blob


def test_an_op_type_that_is_not_utf8_is_reported_as_text():
    data = (FIXTURES_DIR / "benign/onnx/tiny.onnx").read_bytes()
    ops = [data.find(name) for name in (b"MatMul", b"Gemm", b"Relu", b"Add")]
    at = max(ops)
    assert at > 0
    broken = data[: at + 2] + b"\xc3" + data[at + 3 :]  # one byte of the op type: invalid UTF-8
    ctx = context_for_file("tiny.onnx", Limits(), Policy())
    scan_blob(broken, ctx)
    custom = [f for f in ctx.sink if f.rule == "onnx-custom-op"]
    assert custom, ctx.sink
    for finding in ctx.sink:
        assert all(isinstance(v, str) for _, v in finding.evidence)
    json.dumps([dict(f.evidence) for f in ctx.sink])
