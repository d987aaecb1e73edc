"""TensorFlow SavedModel / GraphDef / keras_metadata.pb scanning, and the protobuf wire reader.

TensorFlow is not installed: tensorboard's compiled copies of TF's protos are the reference. They
build graphs here, and every TF fixture is parsed with them to show it is what TF would read.
"""

from __future__ import annotations

import mmap
import random
from pathlib import Path

import pytest
from catalog import FIXTURES, FIXTURES_DIR, REAL_MODELS

from aisbom.limits import Limits
from aisbom.pipeline import scan_target
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file, scan_blob
from aisbom.scanners.frame.sniff import sniff
from aisbom.scanners.readers.protobuf_wire import (
    LEN,
    Message,
    WireError,
    WireLimitError,
    iter_fields,
    read_varint,
)
from aisbom.scanners.tensorflow.graph import scan_graph_def
from aisbom.scanners.tensorflow.sniffing import sniff_tensorflow, sniff_tensorflow_structural
from aisbom.severity import ExitCode, Severity

tb_proto = pytest.importorskip("tensorboard.compat.proto")
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: E402
from tensorboard.compat.proto import (  # noqa: E402
    attr_value_pb2,
    graph_pb2,
    meta_graph_pb2,
    node_def_pb2,
)

TF_FIXTURES = [f for f in FIXTURES if f.family == "tensorflow"]
DT_STRING = 7


def fixture_bytes(path: str) -> bytes:
    return (FIXTURES_DIR / path).read_bytes()


def scan(data: bytes, limits: Limits | None = None):
    ctx = context_for_file("x", limits or Limits(), Policy())
    fmt = scan_blob(data, ctx)
    return fmt, ctx.sink


# --- the two messages tensorboard does not ship, declared from TF's / tf-keras's .proto ----------


def _message_classes():
    pool = descriptor_pool.DescriptorPool()
    # SavedModel needs MetaGraphDef: copy tensorboard's file (and what it imports) into our pool.
    seen: set[str] = set()

    def add(file_descriptor):
        if file_descriptor.name in seen:
            return
        for dependency in file_descriptor.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        file_descriptor.CopyToProto(proto)
        pool.Add(proto)
        seen.add(file_descriptor.name)

    add(meta_graph_pb2.DESCRIPTOR)
    f = descriptor_pb2.FieldDescriptorProto
    wrapper = descriptor_pb2.FileDescriptorProto(
        name="aisbom_test_tf.proto",
        package="aisbom_test",
        syntax="proto3",
        dependency=[meta_graph_pb2.DESCRIPTOR.name],
    )
    saved_model = wrapper.message_type.add(name="SavedModel")
    saved_model.field.add(
        name="saved_model_schema_version", number=1, type=f.TYPE_INT64, label=f.LABEL_OPTIONAL
    )
    saved_model.field.add(
        name="meta_graphs",
        number=2,
        type=f.TYPE_MESSAGE,
        label=f.LABEL_REPEATED,
        type_name=".tensorboard.MetaGraphDef",
    )
    version = wrapper.message_type.add(name="VersionDef")
    version.field.add(name="producer", number=1, type=f.TYPE_INT32, label=f.LABEL_OPTIONAL)
    version.field.add(name="min_consumer", number=2, type=f.TYPE_INT32, label=f.LABEL_OPTIONAL)
    saved_object = wrapper.message_type.add(name="SavedObject")
    for name, number in (("node_path", 3), ("identifier", 4), ("metadata", 5)):
        saved_object.field.add(name=name, number=number, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
    saved_object.field.add(name="node_id", number=2, type=f.TYPE_INT32, label=f.LABEL_OPTIONAL)
    saved_object.field.add(
        name="version",
        number=6,
        type=f.TYPE_MESSAGE,
        label=f.LABEL_OPTIONAL,
        type_name=".aisbom_test.VersionDef",
    )
    saved_metadata = wrapper.message_type.add(name="SavedMetadata")
    saved_metadata.field.add(
        name="nodes",
        number=1,
        type=f.TYPE_MESSAGE,
        label=f.LABEL_REPEATED,
        type_name=".aisbom_test.SavedObject",
    )
    pool.Add(wrapper)
    get = message_factory.GetMessageClass
    return (
        get(pool.FindMessageTypeByName("aisbom_test.SavedModel")),
        get(pool.FindMessageTypeByName("aisbom_test.SavedMetadata")),
    )


SavedModel, SavedMetadata = _message_classes()


def parse_with_protobuf(fixture_path: str):
    data = fixture_bytes(fixture_path)
    fmt = sniff(data)
    kinds = {
        "tf-saved-model": SavedModel,
        "tf-graph-def": graph_pb2.GraphDef,
        "keras-metadata": SavedMetadata,
    }
    # A checkpoint graph is what import_meta_graph reads, whatever its first bytes resemble.
    cls = meta_graph_pb2.MetaGraphDef if fixture_path.endswith(".meta") else kinds[fmt]
    message = cls.FromString(data)
    # Nothing unknown to the schema, nothing lost: the file is exactly this message.
    assert message.SerializeToString(deterministic=True) == data
    return message


def graphs_of(message) -> list:
    if isinstance(message, graph_pb2.GraphDef):
        return [message]
    if isinstance(message, meta_graph_pb2.MetaGraphDef):
        return [message.graph_def]
    return [meta.graph_def for meta in getattr(message, "meta_graphs", [])]


# --- the wire reader ------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32, 2**63, 2**64 - 1])
def test_varints_round_trip_through_protobuf(value):
    node = attr_value_pb2.AttrValue(i=value - 2**64 if value >= 2**63 else value).SerializeToString()
    assert node[0] == 0x18  # field 3, varint
    decoded, end = read_varint(node, 1, len(node))
    assert (decoded, end) == (value, len(node))


def test_varint_errors_name_the_problem():
    with pytest.raises(WireError, match="truncated varint at offset 0"):
        read_varint(b"\x80\x80", 0, 2)
    with pytest.raises(WireError, match="longer than 10 bytes"):
        read_varint(b"\x80" * 10 + b"\x01", 0, 11)
    with pytest.raises(WireError, match="exceeds 64 bits"):
        read_varint(b"\xff" * 9 + b"\x7f", 0, 10)


def test_reader_reads_what_protobuf_wrote():
    node = node_def_pb2.NodeDef(
        name="layer/MatMul", op="MatMul", input=["x", "w:0", "^init"], device="/cpu:0"
    )
    node.attr["T"].type = 1
    data = node.SerializeToString(deterministic=True)
    message = Message.parse(data, max_fields=100)
    fields = list(message)
    assert [(f.number, f.wire_type) for f in fields] == [
        (1, LEN),
        (2, LEN),
        (3, LEN),
        (3, LEN),
        (3, LEN),
        (4, LEN),
        (5, LEN),
    ]
    assert [message.text(f) for f in fields[:6]] == ["layer/MatMul", "MatMul", "x", "w:0", "^init", "/cpu:0"]
    entry = message.sub(fields[6])
    key, value = list(entry)
    assert entry.text(key) == "T"
    assert [(f.number, f.value) for f in entry.sub(value)] == [(6, 1)]


def test_reader_works_on_mmap_and_memoryview_without_copying(tmp_path):
    path = tmp_path / "graph.pb"
    path.write_bytes(fixture_bytes("benign/tensorflow/frozen_graph.pb"))
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        from_mmap = [(f.number, f.start, f.end) for f in Message.parse(mapped, max_fields=1000)]
        view = memoryview(path.read_bytes())
        assert [(f.number, f.start, f.end) for f in Message.parse(view, max_fields=1000)] == from_mmap
        view.release()
    assert len(from_mmap) == 9  # seven nodes, library, versions


def test_truncated_message_yields_what_is_there_then_fails():
    data = graph_pb2.GraphDef(node=[node_def_pb2.NodeDef(name="a", op="ReadFile")]).SerializeToString()
    message = Message.parse(data[:-3], max_fields=100)
    seen = []
    with pytest.raises(WireError, match="runs past the end"):
        for f in message:
            seen.append((f.number, f.end))
    assert seen == [(1, len(data) - 3)]


def test_overlong_length_and_bad_wire_types_are_errors():
    with pytest.raises(WireError, match="field 1 runs past the end"):
        list(iter_fields(b"\x0a\xff\xff\xff\xff\x0f", 0, 6, Message.parse(b"", max_fields=9).bounds))
    with pytest.raises(WireError, match="unsupported wire type 3"):
        list(Message.parse(b"\x0b\x0c", max_fields=9))  # a proto2 group
    with pytest.raises(WireError, match="field number 0"):
        list(Message.parse(b"\x00\x01", max_fields=9))


def nested(depth: int) -> bytes:
    data = b"\x08\x01"
    for _ in range(depth):
        data = b"\x0a" + _varint(len(data)) + data
    return data


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def walk(message: Message) -> int:
    deepest = message.depth
    for f in message:
        if f.wire_type == LEN:
            deepest = max(deepest, walk(message.sub(f)))
    return deepest


def test_nesting_is_bounded():
    assert walk(Message.parse(nested(50), max_fields=10_000)) == 50
    with pytest.raises(WireLimitError, match="nested deeper than 100") as info:
        walk(Message.parse(nested(5000), max_fields=100_000))
    assert info.value.limit == "max_proto_depth"


def test_field_count_is_bounded():
    with pytest.raises(WireLimitError, match="more than 10 protobuf fields"):
        list(Message.parse(b"\x08\x01" * 11, max_fields=10))


# --- sniffing --------------------------------------------------------------------------------

EXPECTED_FORMATS = {
    "saved_model.pb": "tf-saved-model",
    "keras_metadata.pb": "keras-metadata",
    "frozen_graph.pb": "tf-graph-def",
    "matching_files.pb": "tf-graph-def",
}


@pytest.mark.parametrize(
    "fixture", [f for f in TF_FIXTURES if Path(f.path).name in EXPECTED_FORMATS], ids=lambda f: f.id
)
def test_tf_files_are_sniffed_by_content(fixture):
    assert sniff(fixture_bytes(fixture.path)) == EXPECTED_FORMATS[Path(fixture.path).name]


ONNX_MODELS = [FIXTURES_DIR / "benign/onnx/tiny.onnx"] + [
    Path(f.path) for f in REAL_MODELS if f.family == "onnx"
]


@pytest.mark.parametrize("path", ONNX_MODELS, ids=lambda p: p.name)
def test_onnx_models_stay_onnx(path):
    data = path.read_bytes()
    assert data[:1] == b"\x08"  # ModelProto.ir_version first, like SavedModel's schema version
    assert sniff_tensorflow(data) is None
    assert sniff(data) == "onnx"


def test_real_silero_onnx_model_is_present():
    # The disambiguation above must have been tried on a real exporter's output.
    if not any(f.family == "onnx" for f in REAL_MODELS):
        pytest.skip("silero-vad is not installed")
    assert len(ONNX_MODELS) >= 2


def test_no_other_fixture_or_real_model_is_claimed_as_tensorflow():
    others = [f for f in FIXTURES + REAL_MODELS if f.family != "tensorflow"]
    claimed = [f.path for f in others if sniff_tensorflow(f.abspath.read_bytes()) is not None]
    # A Core ML specification of version 1 starts as a SavedModel does (08 01 12); the Core ML
    # recogniser, asked before TensorFlow's guess, claims it (tests/scanners/unanalysed).
    assert claimed == ["unanalysed/coreml/spec_v1.mlmodel"]
    assert sniff(fixture_bytes(claimed[0])) == "coreml"
    assert sum(f.family == "onnx" for f in others) >= 2


def test_onnx_ir_version_1_with_savedmodel_like_first_bytes_is_not_tensorflow():
    onnx = pytest.importorskip("onnx")
    model = onnx.ModelProto(ir_version=1, producer_name="pytorch", producer_version="0.2")
    data = model.SerializeToString()
    assert data[:3] == b"\x08\x01\x12"  # the very bytes a SavedModel starts with
    assert sniff_tensorflow(data) is None
    assert sniff(data) == "onnx"


def test_fingerprint_and_other_protos_are_not_claimed():
    assert sniff(fixture_bytes("benign/tensorflow/saved_model/fingerprint.pb")) == "data"
    # A NodeDef-shaped start whose "op" is not an op name; text that starts with newlines.
    assert sniff_tensorflow(b"\x0a\x08\x0a\x01a\x12\x03a b") is None
    assert sniff(b"\n\nhello world\n") == "text"


def test_truncated_saved_model_is_still_claimed_and_reported():
    data = fixture_bytes("malicious/tensorflow/exfil/saved_model.pb")
    fmt, findings = scan(data[: len(data) * 3 // 4])
    assert fmt == "tf-saved-model"
    assert {(f.rule, f.severity) for f in findings} >= {("scan-error", Severity.HIGH)}
    # ReadFile comes before the cut and is still reported.
    assert any(f.rule == "tf-file-op" and dict(f.evidence)["op"] == "ReadFile" for f in findings)


# --- the fixtures ----------------------------------------------------------------------------

EXPECTED_OPS = {
    "malicious/tensorflow/pyfunc/saved_model.pb": {("tf-python-op", "PyFunc", Severity.CRITICAL)},
    "malicious/tensorflow/exfil/saved_model.pb": {
        ("tf-file-op", "ReadFile", Severity.HIGH),
        ("tf-file-op", "WriteFile", Severity.HIGH),
    },
    "malicious/tensorflow/function_writefile/saved_model.pb": {("tf-file-op", "WriteFile", Severity.HIGH)},
    "malicious/tensorflow/matching_files.pb": {
        ("tf-file-op", "MatchingFiles", Severity.HIGH),
        ("tf-file-op", "PrintV2", Severity.HIGH),
    },
}


@pytest.mark.parametrize("path", sorted(EXPECTED_OPS))
def test_malicious_graphs_report_their_ops(path):
    report = scan_target(FIXTURES_DIR / path)
    found = {(f.rule, dict(f.evidence)["op"], f.severity) for f in report.findings}
    assert found == EXPECTED_OPS[path]
    assert report.exit_code is ExitCode.UNSAFE


def test_findings_name_the_function_node_and_constant_path():
    report = scan_target(FIXTURES_DIR / "malicious/tensorflow/function_writefile/saved_model.pb")
    (finding,) = report.findings
    evidence = dict(finding.evidence)
    assert evidence["where"] == "meta graph 0, function __inference_signature_wrapper_57, node 'WriteFile'"
    assert evidence["paths"] == "'aisbom-marker'"
    assert finding.offset is not None
    pyfunc = scan_target(FIXTURES_DIR / "malicious/tensorflow/pyfunc/saved_model.pb").findings[0]
    assert dict(pyfunc.evidence)["attr.token"] == "'pyfunc_0'"


@pytest.mark.parametrize("fixture", [f for f in TF_FIXTURES if f.kind == "benign"], ids=lambda f: f.id)
def test_benign_tf_files_have_no_findings(fixture):
    report = scan_target(fixture.abspath)
    assert report.findings == [], [f.message for f in report.findings]


def test_benign_saved_model_directory_passes():
    report = scan_target(FIXTURES_DIR / "benign/tensorflow")
    assert report.exit_code is ExitCode.CLEAN
    assert {f.path: f.format for f in report.files} == {
        "frozen_graph.pb": "tf-graph-def",
        "saved_model/fingerprint.pb": "data",
        "saved_model/keras_metadata.pb": "keras-metadata",
        "saved_model/saved_model.pb": "tf-saved-model",
        "tf1_saved_model/saved_model.pb": "tf-saved-model",
    }


# (fingerprint.pb is only checked not to be claimed by the sniffer)
@pytest.mark.parametrize(
    "fixture", [f for f in TF_FIXTURES if not f.path.endswith("fingerprint.pb")], ids=lambda f: f.id
)
def test_fixtures_are_what_tensorflow_would_read(fixture):
    message = parse_with_protobuf(fixture.path)
    # The wire reader sees the same (scope, node, op) triples as protobuf does.
    expected = []
    for graph in graphs_of(message):
        expected += [("", n.name, n.op) for n in graph.node]
        for function in graph.library.function:
            expected += [(function.signature.name, n.name, n.op) for n in function.node_def]
    assert sorted(expected) == sorted(
        wire_nodes(fixture_bytes(fixture.path), meta=fixture.path.endswith(".meta"))
    )


def wire_nodes(data: bytes, *, meta: bool = False) -> list[tuple[str, str, str]]:
    """(function or "", node name, op) of every node, read with the wire reader alone."""
    root = Message.parse(data, max_fields=100_000)
    fmt = sniff(data)
    if fmt == "keras-metadata":
        return []
    graphs = (
        [root.sub(f) for f in root if f.number == 2]
        if meta
        else [root]
        if fmt == "tf-graph-def"
        else [
            meta.sub(f)
            for mg in root
            if mg.number == 2
            for meta in [root.sub(mg)]
            for f in meta
            if f.number == 2
        ]
    )
    out = []

    def node(msg, scope):
        fields = {f.number: msg.text(f) for f in msg if f.number in (1, 2)}
        out.append((scope, fields.get(1, ""), fields.get(2, "")))

    for graph in graphs:
        for f in graph:
            if f.number == 1:
                node(graph.sub(f), "")
            elif f.number == 2:
                for fn in graph.sub(f):
                    function = graph.sub(fn)
                    name = next(function.sub(s) for s in function if s.number == 1)
                    fname = next(name.text(x) for x in name if x.number == 1)
                    for x in function:
                        if x.number == 3:
                            node(function.sub(x), fname)
    return out


def test_keras_metadata_fixture_carries_a_lambda():
    metadata = parse_with_protobuf("malicious/tensorflow/keras_lambda/keras_metadata.pb")
    assert [n.identifier for n in metadata.nodes] == [
        "_tf_keras_sequential",
        "_tf_keras_layer",
        "_tf_keras_layer",
    ]
    assert '"class_name": "Lambda"' in metadata.nodes[1].metadata


@pytest.mark.parametrize(
    "path,where",
    [
        ("malicious/tensorflow/keras_lambda/keras_metadata.pb", "keras_metadata.pb"),
        ("malicious/tensorflow/keras_lambda_tf24/saved_model.pb", "SavedModel object graph (meta graph 0)"),
    ],
)
def test_keras_lambda_metadata_goes_to_the_keras_checks(path, where):
    # The model node and the layer node both describe the Lambda: one finding, one call.
    report = scan_target(FIXTURES_DIR / path)
    assert [(f.rule, f.severity) for f in report.findings] == [("keras-lambda", Severity.CRITICAL)]
    assert f"in {where} " in report.findings[0].message
    assert report.exit_code is ExitCode.UNSAFE


def test_unparseable_keras_metadata_json_is_a_scan_error():
    data = fixture_bytes("benign/tensorflow/saved_model/keras_metadata.pb")
    broken = data.replace(b'"units": 2', b'"units":,2', 1)  # same length: the framing stays valid
    assert broken != data
    fmt, findings = scan(broken)
    assert fmt == "keras-metadata"
    assert [f.rule for f in findings] == ["scan-error"]
    assert "keras_metadata.pb node root does not parse" in findings[0].message


def test_keras_metadata_is_held_to_the_keras_config_limit_as_a_whole():
    # All of a file's metadata JSON is parsed and walked together: it was held only to
    # max_in_memory (2 GiB) per node, so a file of 1 GB of JSON took ten times that as objects.
    data = fixture_bytes("malicious/tensorflow/keras_lambda/keras_metadata.pb")
    metadata = parse_with_protobuf("malicious/tensorflow/keras_lambda/keras_metadata.pb")
    sizes = [len(node.metadata.encode()) for node in metadata.nodes]
    _, findings = scan(data, Limits(max_keras_config=sizes[0] - 1))
    (cut,) = [f for f in findings if f.rule == "scan-limit"]
    assert dict(cut.evidence)["limit"] == "max_keras_config"
    assert "keras-lambda" not in {f.rule for f in findings}  # no node was read
    _, findings = scan(data, Limits(max_keras_config=sum(sizes)))
    assert [f.rule for f in findings] == ["keras-lambda"]


# --- ops built here: checkpoint paths, debug and network ops ---------------------------------


def const(name: str, value: str) -> node_def_pb2.NodeDef:
    node = node_def_pb2.NodeDef(name=name, op="Const")
    node.attr["dtype"].type = DT_STRING
    node.attr["value"].tensor.dtype = DT_STRING
    node.attr["value"].tensor.string_val.append(value.encode())
    return node


def graph_findings(*nodes: node_def_pb2.NodeDef):
    data = graph_pb2.GraphDef(node=list(nodes)).SerializeToString()
    fmt, findings = scan(data)
    assert fmt == "tf-graph-def"
    return {(f.rule, dict(f.evidence)["op"], f.severity) for f in findings}, findings


@pytest.mark.parametrize(
    "prefix,expected",
    [
        ("model", set()),
        ("_temp/part", set()),
        ("/etc/cron.d/job", {("tf-file-op", "SaveV2", Severity.HIGH)}),
        ("../../.bashrc", {("tf-file-op", "SaveV2", Severity.HIGH)}),
        ("gs://bucket/ckpt", {("tf-file-op", "SaveV2", Severity.HIGH)}),
        ("C:\\Users\\x\\ckpt", {("tf-file-op", "SaveV2", Severity.HIGH)}),
    ],
)
def test_checkpoint_ops_count_only_outside_the_model_directory(prefix, expected):
    found, _ = graph_findings(
        const("prefix", prefix),
        node_def_pb2.NodeDef(name="id", op="Identity", input=["prefix"]),  # followed
        node_def_pb2.NodeDef(name="save", op="SaveV2", input=["id:0", "names", "slices", "w"]),
    )
    assert found == expected


def test_reading_a_fixed_outside_path_is_medium():
    found, findings = graph_findings(
        const("vocab", "/home/alice/vocab.txt"),
        node_def_pb2.NodeDef(name="init", op="InitializeTableFromTextFileV2", input=["table", "vocab"]),
    )
    assert found == {("tf-file-op", "InitializeTableFromTextFileV2", Severity.MEDIUM)}
    assert "'/home/alice/vocab.txt'" in findings[0].message


def test_asset_path_constants_are_exempt():
    # benign/tensorflow/tf1_saved_model has this shape; without its asset_file_def it reads a
    # fixed absolute path.
    report = scan_target(FIXTURES_DIR / "benign/tensorflow/tf1_saved_model/saved_model.pb")
    assert report.findings == []
    message = parse_with_protobuf("benign/tensorflow/tf1_saved_model/saved_model.pb")
    del message.meta_graphs[0].asset_file_def[:]
    fmt, findings = scan(message.SerializeToString())
    assert [(f.rule, f.severity) for f in findings] == [("tf-file-op", Severity.MEDIUM)]


def debug_node(op: str, urls: list[str]) -> node_def_pb2.NodeDef:
    node = node_def_pb2.NodeDef(name="dbg", op=op, input=["x"])
    node.attr["debug_urls"].list.s.extend(u.encode() for u in urls)
    return node


def test_debug_and_print_ops_depend_on_where_they_send_data():
    assert graph_findings(debug_node("DebugIdentityV2", []))[0] == set()
    assert graph_findings(debug_node("DebugIdentityV2", ["file:///tmp/dump"]))[0] == {
        ("tf-file-op", "DebugIdentityV2", Severity.HIGH)
    }
    assert graph_findings(debug_node("DebugIdentity", ["grpc://evil:6064"]))[0] == {
        ("tf-network-op", "DebugIdentity", Severity.HIGH)
    }
    stderr = node_def_pb2.NodeDef(name="p", op="PrintV2", input=["x"])
    stderr.attr["output_stream"].s = b"stderr"
    assert graph_findings(stderr)[0] == set()


def test_network_and_input_pipeline_ops():
    found, findings = graph_findings(
        const("address", "evil.example:50051"),
        node_def_pb2.NodeDef(name="client", op="RpcClient", input=["address", "timeout"]),
        node_def_pb2.NodeDef(name="records", op="TFRecordDataset", input=["files", "c", "b"]),
    )
    assert found == {
        ("tf-network-op", "RpcClient", Severity.HIGH),
        ("tf-file-op", "TFRecordDataset", Severity.MEDIUM),
    }


def test_many_nodes_of_one_op_make_one_finding():
    nodes = [node_def_pb2.NodeDef(name=f"r{i}", op="ReadFile", input=["p"]) for i in range(50)]
    _, findings = graph_findings(*nodes)
    (finding,) = findings
    assert dict(finding.evidence)["count"] == "50"
    assert dict(finding.evidence)["where"].count("node") == 5


def test_field_limit_is_a_scan_limit_finding():
    data = fixture_bytes("benign/tensorflow/saved_model/saved_model.pb")
    _, findings = scan(data, Limits(max_proto_fields=50))
    assert [(f.rule, dict(f.evidence)["limit"]) for f in findings] == [("scan-limit", "max_proto_fields")]


def test_deadline_is_a_scan_limit_finding():
    ctx = context_for_file("x", Limits(max_seconds_per_file=0), Policy())
    scan_graph_def(fixture_bytes("benign/tensorflow/frozen_graph.pb"), ctx)
    assert [(f.rule, dict(f.evidence)["limit"]) for f in ctx.sink] == [("scan-limit", "max_seconds_per_file")]


def test_large_graph_is_read_through_a_memory_map(tmp_path):
    # Over the pipeline's in-memory threshold, so the scanner gets an mmap; the op sits at the end.
    weights = node_def_pb2.NodeDef(name="w", op="Const")
    weights.attr["value"].tensor.dtype = 1
    weights.attr["value"].tensor.tensor_content = bytes(3 * 1024 * 1024)
    nodes = [weights] + [
        node_def_pb2.NodeDef(name=f"n{i}", op="Relu", input=[f"n{i - 1}"]) for i in range(20_000)
    ]
    nodes.append(node_def_pb2.NodeDef(name="leak", op="ReadFile", input=["path"]))
    path = tmp_path / "frozen.pb"
    path.write_bytes(graph_pb2.GraphDef(node=nodes).SerializeToString())
    report = scan_target(path)
    assert report.files[0].format == "tf-graph-def"
    assert [(f.rule, dict(f.evidence)["where"]) for f in report.findings] == [
        ("tf-file-op", "graph, node 'leak'")
    ]


# --- damaged input ---------------------------------------------------------------------------


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        choice = rng.random()
        if choice < 0.5:
            out[rng.randrange(len(out))] = rng.randrange(256)
        elif choice < 0.7:
            start = rng.randrange(len(out))
            del out[start : start + rng.randint(1, 32)]
        elif choice < 0.85:
            out = out[: rng.randrange(1, len(out) + 1)]
        else:
            pos = rng.randrange(len(out) + 1)
            out[pos:pos] = rng.randbytes(rng.randint(1, 8))
        if not out:
            out = bytearray(b"\x08")
    return bytes(out)


def test_mutated_tf_fixtures_never_raise():
    rng = random.Random(3)
    corpus = [fixture_bytes(f.path) for f in TF_FIXTURES if not f.path.endswith("fingerprint.pb")]
    formats = set()
    for _ in range(1500):
        fmt, _ = scan(mutate(rng.choice(corpus), rng), Limits(max_seconds_per_file=10))
        formats.add(fmt)
    assert {"tf-saved-model", "tf-graph-def", "keras-metadata"} <= formats


# --- fields in another order, and polyglots (red team) ------------------------------------------


def _ld(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


_PYFUNC_NODE = _ld(1, b"evil") + _ld(2, b"PyFunc")
_GRAPH = _ld(1, _PYFUNC_NODE)

REORDERED = {
    # Protobuf parsers take fields in any order; TensorFlow loads each of these.
    "saved-model-saver-def-first": b"\x08\x01" + _ld(2, _ld(3, _ld(1, b"save/Const:0")) + _ld(2, _GRAPH)),
    "saved-model-collection-first-no-version": _ld(2, _ld(4, _ld(1, b"k") + _ld(2, b"")) + _ld(2, _GRAPH)),
    "graph-def-versions-first": _ld(4, b"\x08\x01") + _GRAPH,
    # Field 2 is a SavedModel's meta graph and a GraphDef's function library.
    "graph-def-library-only": _ld(2, _ld(1, _ld(1, _ld(1, b"f")) + _ld(3, _PYFUNC_NODE))),
}


@pytest.mark.parametrize("name", sorted(REORDERED))
def test_tensorflow_protos_with_fields_in_any_order_are_scanned(name):
    fmt, findings = scan(REORDERED[name])
    assert fmt.startswith("tf-"), fmt
    assert "tf-python-op" in {f.rule for f in findings}, findings


def test_a_saved_model_that_is_also_an_onnx_model_gets_the_onnx_checks():
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1], data_location=TensorProto.EXTERNAL)
    weight.external_data.add(key="location", value="../../../../etc/passwd")
    graph = helper.make_graph(
        [helper.make_node("Identity", ["w"], ["y"])],
        "g",
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        initializer=[weight],
    )
    model = helper.make_model(graph)
    model.ir_version = 1  # the SavedModel schema version
    body = model.SerializeToString()
    meta_graph = _ld(1, _ld(4, b"serve"))  # meta_info_def with a tag: a SavedModel to TensorFlow
    polyglot = b"\x08\x01" + _ld(2, meta_graph) + body[2:]  # ... and producer_name to onnx
    parsed = onnx.ModelProto()
    parsed.ParseFromString(polyglot)
    assert parsed.graph.initializer[0].external_data[0].value == "../../../../etc/passwd"
    fmt, findings = scan(polyglot)
    assert fmt == "tf-saved-model"
    assert "onnx-external-data-traversal" in {f.rule for f in findings}, findings


@pytest.mark.parametrize(
    "data",
    [
        b'"quoted" text file\n' * 20,
        b"* a markdown list\n* another item\n",
        b"\x12\x04abcd\x12\x02xy",  # conforms at the top, not below
        b"\n\x03abc\n\x02de",
    ],
)
def test_text_and_data_do_not_conform_as_tensorflow_by_chance(data):
    assert sniff_tensorflow_structural(data) is None


# --- TF1 checkpoint graphs (model.ckpt.meta) ---------------------------------------------------


@pytest.mark.parametrize(
    "path", ["malicious/tensorflow/checkpoint/model.ckpt.meta", "malicious/tensorflow/tiny.meta"]
)
def test_a_checkpoint_graph_is_read_as_import_meta_graph_reads_it(path):
    """A bare MetaGraphDef is what import_meta_graph rebuilds: its PyFunc is found, whatever the
    file's first bytes resemble (the 20-byte one starts like a SavedModel)."""
    data = fixture_bytes(path)
    fmt, findings = scan(data)
    assert fmt in ("tf-meta-graph", "tf-saved-model")
    (hit,) = [f for f in findings if f.rule == "tf-python-op"]
    assert hit.severity is Severity.CRITICAL and dict(hit.evidence)["op"] == "PyFunc"
    # the same graph as a frozen GraphDef is critical the same way
    graph = meta_graph_pb2.MetaGraphDef.FromString(data).graph_def.SerializeToString(deterministic=True)
    assert any(f.rule == "tf-python-op" for f in scan(graph)[1])


def test_real_graph_defs_are_not_also_read_as_meta_graphs():
    """A frozen graph or a SavedModel is no MetaGraphDef: one reading, one finding per op."""
    for path in ("malicious/tensorflow/matching_files.pb", "malicious/tensorflow/pyfunc/saved_model.pb"):
        _, findings = scan(fixture_bytes(path))
        assert not any("read as a MetaGraphDef" in f.message for f in findings), path
