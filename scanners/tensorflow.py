"""TensorFlow SavedModel (`saved_model.pb`), frozen GraphDef (`.pb`) and Keras SavedModel
metadata (`keras_metadata.pb`), read without TensorFlow.

A TF graph cannot import Python, but some of its ops reach outside the graph when the model
runs: PyFunc calls back into the loading process's Python, ReadFile/WriteFile/MatchingFiles
read, write and list any path, PrintV2 appends to a file, debug ops stream tensors to files or
gRPC servers. Every op in the main graph and in every function of the library is checked,
reachable or not (TF2 keeps model code in library functions called through
StatefulPartitionedCall). Checkpoint ops (SaveV2, RestoreV2, MergeV2Checkpoints ...) are in
every SavedModel's saver; they are reported only when a constant path sends them outside the
model directory.

Keras metadata (layer configs as JSON, where Lambda layers keep marshalled Python code) is
handed to the Keras config checks.

Field numbers are those of TensorFlow's .proto files (saved_model.proto, meta_graph.proto,
graph.proto, node_def.proto, function.proto, attr_value.proto, tensor.proto,
saved_object_graph.proto) and tf-keras's saved_metadata.proto; the tests check the fixtures
against the compiled copies that tensorboard ships.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.readers.protobuf_wire import (
    LEN,
    VARINT,
    Bounds,
    Field,
    Message,
    WireError,
    WireLimitError,
    iter_fields,
    read_varint,
)
from aisbom.severity import Severity

# --- the ops ---------------------------------------------------------------------------------

# Run a Python function registered in the loading process, by token.
PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})

# op -> (severity, what it does). Reported wherever they appear.
FILE_OPS: dict[str, tuple[Severity, str]] = {
    "ReadFile": (Severity.HIGH, "reads any file named at run time"),
    "WriteFile": (Severity.HIGH, "writes any file with any contents"),
    "MatchingFiles": (Severity.HIGH, "lists the files matching a glob pattern"),
    "WholeFileReader": (Severity.HIGH, "reads whole files named by a queue"),
    "WholeFileReaderV2": (Severity.HIGH, "reads whole files named by a queue"),
    "SaveDataset": (Severity.HIGH, "writes a dataset to a directory"),
    "SaveDatasetV2": (Severity.HIGH, "writes a dataset to a directory"),
    "DatasetToTFRecord": (Severity.HIGH, "writes a dataset to a TFRecord file"),
    "ExperimentalDatasetToTFRecord": (Severity.HIGH, "writes a dataset to a TFRecord file"),
    "SnapshotDataset": (Severity.HIGH, "writes dataset snapshots to a directory"),
    "SnapshotDatasetV2": (Severity.HIGH, "writes dataset snapshots to a directory"),
    "ImmutableConst": (Severity.MEDIUM, "memory-maps a file named in its attributes"),
    "CreateSummaryFileWriter": (Severity.MEDIUM, "creates event files in a directory"),
    "CreateSummaryDbWriter": (Severity.MEDIUM, "opens an SQLite database file"),
    **{
        op: (Severity.MEDIUM, "reads files named at run time (input pipeline)")
        for op in (
            "TFRecordDataset", "TFRecordDatasetV2", "TextLineDataset", "FixedLengthRecordDataset",
            "FixedLengthRecordDatasetV2", "CSVDataset", "CSVDatasetV2", "ExperimentalCSVDataset",
            "LMDBDataset", "ExperimentalLMDBDataset", "SqlDataset", "ExperimentalSqlDataset",
            "LoadDataset", "MatchingFilesDataset", "ExperimentalMatchingFilesDataset",
            "TextLineReader", "TextLineReaderV2", "TFRecordReader", "TFRecordReaderV2",
            "FixedLengthRecordReader", "FixedLengthRecordReaderV2", "LMDBReader",
        )
    },
}  # fmt: skip

NETWORK_OPS: dict[str, tuple[Severity, str]] = {
    # tf.distribute.experimental.rpc (TF >= 2.8) and tf.contrib.rpc (TF 1.x)
    **{
        op: (Severity.HIGH, "talks to a gRPC server at an address given at run time")
        for op in ("RpcClient", "RpcCall", "Rpc", "TryRpc")
    },
    **{op: (Severity.HIGH, "starts a gRPC server") for op in ("RpcServer", "RpcServerStart")},
    **{
        op: (Severity.MEDIUM, "reads data from a tf.data service at a network address")
        for op in ("DataServiceDataset", "DataServiceDatasetV2", "DataServiceDatasetV3",
                   "DataServiceDatasetV4")
    },
}  # fmt: skip

# Checkpoint and vocabulary ops: in every SavedModel's saver or lookup tables, with paths given
# by the loader. op -> (indices of path inputs, writes?). Reported only for constant paths
# that leave the model directory.
PATH_OPS: dict[str, tuple[tuple[int, ...], bool]] = {
    "Save": ((0,), True),
    "SaveSlices": ((0,), True),
    "SaveV2": ((0,), True),
    "MergeV2Checkpoints": ((0, 1), True),
    "Restore": ((0,), False),
    "RestoreSlice": ((0,), False),
    "RestoreV2": ((0,), False),
    "InitializeTableFromTextFile": ((1,), False),
    "InitializeTableFromTextFileV2": ((1,), False),
    "LoadAndRemapMatrix": ((0,), False),
}
# Path inputs shown as evidence for the always-reported ops.
_EVIDENCE_INPUTS = {"ReadFile": (0,), "WriteFile": (0,), "MatchingFiles": (0,)}
# Ops that pass their first input through: followed when resolving a constant path.
_FORWARDING_OPS = frozenset({"Identity", "PlaceholderWithDefault", "Snapshot", "StopGradient"})
# Attributes worth showing (and the ones that decide PrintV2/Debug* verdicts).
_ATTRS = {"token", "output_stream", "debug_urls", "memory_region_name", "value", "dump_root"}

_STRING_DTYPE = 7  # DataType.DT_STRING
_MAX_SHOWN = 5  # places and paths listed per finding
_MAX_STRING = 1024  # bytes kept of a string attribute or constant
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


# --- what a scan collects --------------------------------------------------------------------


@dataclass
class _Node:
    name: str
    op: str
    offset: int
    inputs: list[str] = field(default_factory=list)
    attrs: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Scope:
    """One graph or function body: the interesting nodes and what resolving paths needs."""

    where: str
    flagged: list[_Node] = field(default_factory=list)
    strings: dict[str, list[str]] = field(default_factory=dict)  # Const node -> its strings
    forwards: dict[str, str] = field(default_factory=dict)  # Identity-like node -> its input


@dataclass
class _Hit:
    rule: str
    op: str
    severity: Severity
    what: str
    where: str
    node: str
    offset: int
    paths: list[str]
    detail: dict[str, str]


@dataclass
class _Scan:
    ctx: ScanContext
    scopes: list[_Scope] = field(default_factory=list)
    exempt: set[str] = field(default_factory=set)  # asset tensors, re-pointed by the loader
    # Keras metadata JSON: (source, node, JSON text, offset)
    keras: list[tuple[str, str, str, int]] = field(default_factory=list)


# --- entry points ----------------------------------------------------------------------------


def scan_saved_model(data: Data, ctx: ScanContext) -> None:
    """saved_model.pb: SavedModel{meta_graphs(2): MetaGraphDef}."""
    _run(data, ctx, "SavedModel", _read_saved_model)
    _check_as_graph_def(data, ctx)


def _check_as_graph_def(data: Data, ctx: ScanContext) -> None:
    """A SavedModel without its schema version (field 1) is also a GraphDef: field 2 is a
    SavedModel's meta graph and a GraphDef's function library, so a frozen-graph loader runs
    library functions this reading never saw. Read it that way too; errors are not reported,
    since the SavedModel reading reported what is malformed."""
    try:
        if any(f.number == 1 for f in Message.parse(data, max_fields=ctx.limits.max_proto_fields)):
            return
    except WireError:
        return
    scan = _Scan(ctx)
    with contextlib.suppress(WireError, _OutOfTime):
        _read_graph(
            Message.parse(data, max_fields=ctx.limits.max_proto_fields), scan, "file read as a GraphDef"
        )
    _report_ops(scan)


def scan_graph_def(data: Data, ctx: ScanContext) -> None:
    """A frozen graph: a bare GraphDef."""
    _run(data, ctx, "GraphDef", lambda root, scan: _read_graph(root, scan, "graph"))


def scan_keras_metadata(data: Data, ctx: ScanContext) -> None:
    """keras_metadata.pb: SavedMetadata{nodes(1): SavedObject{node_path(3), metadata(5): JSON}}."""
    _run(data, ctx, "Keras SavedMetadata", _read_keras_metadata)


def _run(data: Data, ctx: ScanContext, kind: str, read) -> None:
    scan = _Scan(ctx)
    root = Message.parse(data, max_fields=ctx.limits.max_proto_fields)
    problem: tuple[str, str, int, str | None] | None = None
    try:
        read(root, scan)
    except WireLimitError as exc:
        problem = ("scan-limit", f"{kind} not fully analysed: {exc}", exc.offset, exc.limit)
    except WireError as exc:
        problem = ("scan-error", f"{kind} protobuf is malformed: {exc}", exc.offset, None)
    except _OutOfTime:
        problem = (
            "scan-limit",
            f"time limit of {ctx.limits.max_seconds_per_file:g}s per file reached; {kind} not fully analysed",
            0,
            "max_seconds_per_file",
        )
    # What was read before a problem is still reported: the loader would have read it too.
    _report_ops(scan)
    _check_keras(scan)
    if problem is not None:
        rule, message, offset, limit = problem
        ctx.report(rule, message, offset=offset, evidence={"limit": limit} if limit else None)
    _check_as_onnx(data, ctx)


# ModelProto fields (graph, opset_import, metadata_props, training_info, functions) that no
# TensorFlow root message defines: TF readers skip them, onnx.load reads the file as a model.
_ONNX_ONLY_FIELDS = frozenset({7, 8, 14, 20, 25})


def _check_as_onnx(data: Data, ctx: ScanContext) -> None:
    """A polyglot: ONNX's `08 01 12` start is also a SavedModel's, so a file can be both. When
    its root holds ONNX-only fields it is scanned as ONNX too (external data, Python ops)."""
    try:
        numbers = {f.number for f in Message.parse(data, max_fields=ctx.limits.max_proto_fields)}
    except WireError:
        return  # reported by the TensorFlow scan, which read the same fields
    if numbers & _ONNX_ONLY_FIELDS:
        from aisbom.scanners.onnx_scanner import scan_onnx  # late: only for such polyglots

        scan_onnx(data, ctx)


class _OutOfTime(Exception):
    pass


# --- walking the messages --------------------------------------------------------------------


def _read_saved_model(root: Message, scan: _Scan) -> None:
    index = 0
    for f in root:
        if f.number == 2 and f.wire_type == LEN:
            _read_meta_graph(root.sub(f), scan, index)
            index += 1


def _read_meta_graph(meta: Message, scan: _Scan, index: int) -> None:
    prefix = f"meta graph {index}"
    for f in meta:
        if f.wire_type != LEN:
            continue
        if f.number == 2:  # graph_def
            _read_graph(meta.sub(f), scan, prefix)
        elif f.number == 6:  # asset_file_def: AssetFileDef{tensor_info(1): TensorInfo{name(1)}}
            for info in _subs(meta.sub(f), 1):
                for name in _strings(info, 1):
                    scan.exempt.add(_node_of(name))
        elif f.number == 7:  # object_graph_def: SavedObjectGraph{nodes(1): SavedObject}
            _read_object_graph(meta.sub(f), scan, prefix)


def _read_graph(graph: Message, scan: _Scan, where: str) -> None:
    """GraphDef{node(1): NodeDef, library(2): FunctionDefLibrary{function(1): FunctionDef}}."""
    scope = _Scope(where)
    scan.scopes.append(scope)
    for f in graph:
        if f.wire_type != LEN:
            continue
        if f.number == 1:
            _read_node(graph.sub(f), scope, scan)
        elif f.number == 2:
            for function in _subs(graph.sub(f), 1):
                _read_function(function, scan, where)


def _read_function(function: Message, scan: _Scan, where: str) -> None:
    """FunctionDef{signature(1): OpDef{name(1)}, node_def(3): NodeDef}."""
    scope = _Scope(f"{where}, function ?")
    scan.scopes.append(scope)
    for f in function:
        if f.wire_type != LEN:
            continue
        if f.number == 1:
            for name in _strings(function.sub(f), 1):
                scope.where = f"{where}, function {name}"
        elif f.number == 3:
            _read_node(function.sub(f), scope, scan)


def _read_node(node: Message, scope: _Scope, scan: _Scan) -> None:
    """NodeDef{name(1), op(2), input(3), attr(5): map<string, AttrValue>}."""
    if scan.ctx.out_of_time():
        raise _OutOfTime
    name_field = None
    op = ""
    inputs: list[Field] = []
    attrs: list[Field] = []
    for f in node:
        if f.wire_type != LEN:
            continue
        if f.number == 1:
            name_field = f
        elif f.number == 2:
            op = node.text(f, _MAX_STRING)
        elif f.number == 3:
            inputs.append(f)
        elif f.number == 5:
            attrs.append(f)
    forwards = op in _FORWARDING_OPS and inputs
    interesting = op in PYTHON_OPS or op in FILE_OPS or op in NETWORK_OPS or op in PATH_OPS
    interesting |= op in ("PrintV2", "Const") or op.startswith("Debug")
    if not (interesting or forwards):
        return  # most nodes: decoded no further
    name = node.text(name_field, _MAX_STRING) if name_field is not None else ""
    if forwards:
        scope.forwards[name] = _node_of(node.text(inputs[0], _MAX_STRING))
        return
    parsed = _Node(name, op, node.start, attrs=_read_attrs(node, attrs))
    if op == "Const":
        if "value" in parsed.attrs:
            scope.strings[name] = parsed.attrs["value"]
        return
    parsed.inputs = [node.text(f, _MAX_STRING) for f in inputs]
    scope.flagged.append(parsed)


def _read_attrs(node: Message, entries: list[Field]) -> dict[str, list[str]]:
    """The string values of the attributes in _ATTRS (`value`: a constant string tensor)."""
    out: dict[str, list[str]] = {}
    for entry_field in entries:
        entry = node.sub(entry_field)
        key = next(iter(_strings(entry, 1)), "")
        if key not in _ATTRS:
            continue
        for value in _subs(entry, 2):  # AttrValue
            for f in value:
                if f.number == 2 and f.wire_type == LEN:  # s
                    out.setdefault(key, []).append(value.text(f, _MAX_STRING))
                elif f.number == 1 and f.wire_type == LEN:  # list: ListValue{s(2)}
                    out.setdefault(key, []).extend(_strings(value.sub(f), 2, _MAX_SHOWN))
                elif f.number == 8 and f.wire_type == LEN:  # tensor
                    strings = _tensor_strings(value.sub(f))
                    if strings is not None:
                        out.setdefault(key, []).extend(strings)
    return out


def _tensor_strings(tensor: Message) -> list[str] | None:
    """TensorProto{dtype(1), string_val(8)}: the strings of a DT_STRING tensor, else None."""
    dtype = None
    strings: list[str] = []
    for f in tensor:
        if f.number == 1 and f.wire_type == VARINT:
            dtype = f.value
        elif f.number == 8 and f.wire_type == LEN and len(strings) < _MAX_SHOWN:
            strings.append(tensor.text(f, _MAX_STRING))
    return strings if dtype == _STRING_DTYPE else None


def _read_object_graph(graph: Message, scan: _Scan, where: str) -> None:
    """SavedObject.user_object(4): SavedUserObject{identifier(1), metadata(3)}: TF <= 2.4 kept
    Keras layer configs here, before keras_metadata.pb existed."""
    for index, node in enumerate(_subs(graph, 1)):
        for user in _subs(node, 4):
            identifier = metadata = None
            for f in user:
                if f.wire_type == LEN and f.number == 1:
                    identifier = user.text(f, _MAX_STRING)
                elif f.wire_type == LEN and f.number == 3 and f.value:
                    metadata = f
            if metadata is not None and _keras_json_fits(scan, metadata):
                scan.keras.append(
                    (
                        f"SavedModel object graph ({where})",
                        f"{index} ({identifier})",
                        user.text(metadata),
                        metadata.start,
                    )
                )


def _read_keras_metadata(root: Message, scan: _Scan) -> None:
    for node in _subs(root, 1):
        path, metadata = "?", None
        for f in node:
            if f.wire_type == LEN and f.number == 3:
                path = node.text(f, _MAX_STRING)
            elif f.wire_type == LEN and f.number == 5 and f.value:
                metadata = f
        if metadata is not None and _keras_json_fits(scan, metadata):
            scan.keras.append(("keras_metadata.pb", path, node.text(metadata), metadata.start))


def _keras_json_fits(scan: _Scan, f: Field) -> bool:
    limit = scan.ctx.limits.max_in_memory
    if f.value > limit:
        scan.ctx.report(
            "scan-limit",
            f"Keras metadata of {f.value} bytes exceeds {limit} bytes; not analysed",
            offset=f.start,
            evidence={"limit": "max_in_memory"},
        )
        return False
    return True


# --- small readers ---------------------------------------------------------------------------


def _subs(message: Message, number: int) -> Iterator[Message]:
    for f in message:
        if f.number == number and f.wire_type == LEN:
            yield message.sub(f)


def _strings(message: Message, number: int, most: int | None = None) -> Iterator[str]:
    count = 0
    for f in message:
        if f.number == number and f.wire_type == LEN:
            if most is not None and count >= most:
                return
            count += 1
            yield message.text(f, _MAX_STRING)


def _node_of(tensor: str) -> str:
    """'^ctrl', 'node:1', 'node:output:0' -> the node (or function argument) name."""
    return tensor.lstrip("^").split(":", 1)[0]


# --- verdicts --------------------------------------------------------------------------------


def _constant_paths(scope: _Scope, tensor: str, exempt: set[str]) -> list[str]:
    """The strings of the Const behind `tensor` (through Identity-like nodes), if any. Asset
    path constants are exempt: the loader feeds the real asset path in their place."""
    name = _node_of(tensor)
    for _ in range(8):  # a chain of Identity nodes, bounded
        if name in exempt:
            return []
        if name in scope.strings:
            return scope.strings[name]
        if name not in scope.forwards:
            break
        name = scope.forwards[name]
    return []


def _leaves_model_dir(path: str) -> bool:
    if path.startswith(("/", "\\", "~")) or _URL.match(path) or _WINDOWS_DRIVE.match(path):
        return True
    return ".." in re.split(r"[\\/]", path)


def _hits(scan: _Scan) -> Iterator[_Hit]:
    for scope in scan.scopes:
        for node in scope.flagged:
            verdict = _classify(node, scope, scan.exempt)
            if verdict is not None:
                rule, severity, what, paths = verdict
                detail = {k: ", ".join(repr(v) for v in vs[:_MAX_SHOWN]) for k, vs in node.attrs.items()}
                yield _Hit(rule, node.op, severity, what, scope.where, node.name, node.offset, paths, detail)


def judge_op(op: str, attrs: Mapping[str, list[str]]) -> tuple[str, Severity, str] | None:
    """(rule, severity, what it does) for an op that reaches outside the graph whatever its
    inputs, judged by its name and string attributes alone (`attrs` as `read_node_def` gives
    them); None otherwise. Checkpoint and vocabulary ops (PATH_OPS) depend on their inputs and
    are left to the caller. Also used for TFLite's Flex ops, which run TensorFlow ops."""
    if op in PYTHON_OPS:
        return "tf-python-op", Severity.CRITICAL, "calls a Python function of the loading process"
    if op in FILE_OPS:
        severity, what = FILE_OPS[op]
        return "tf-file-op", severity, what
    if op in NETWORK_OPS:
        severity, what = NETWORK_OPS[op]
        return "tf-network-op", severity, what
    if op == "PrintV2":
        if any(s.startswith("file://") for s in attrs.get("output_stream", [])):
            return "tf-file-op", Severity.HIGH, "appends its output to a file"
        return None
    if op.startswith("Debug"):
        urls = [*attrs.get("debug_urls", []), *attrs.get("dump_root", [])]
        if any(u.startswith("grpc://") for u in urls):
            return "tf-network-op", Severity.HIGH, "streams tensors to a gRPC debug server"
        if any(urls):
            return "tf-file-op", Severity.HIGH, "dumps tensors to files"
    return None


def read_node_def(node: Message) -> tuple[str, str, dict[str, list[str]]]:
    """A NodeDef's name, op and the string values of the attributes that judge_op reads."""
    name = op = ""
    attrs: list[Field] = []
    for f in node:
        if f.wire_type != LEN:
            continue
        if f.number == 1:
            name = node.text(f, _MAX_STRING)
        elif f.number == 2:
            op = node.text(f, _MAX_STRING)
        elif f.number == 5:
            attrs.append(f)
    return name, op, _read_attrs(node, attrs)


def _classify(node: _Node, scope: _Scope, exempt: set[str]) -> tuple[str, Severity, str, list[str]] | None:
    op = node.op
    data_inputs = [i for i in node.inputs if not i.startswith("^")]

    def paths(indices: tuple[int, ...]) -> list[str]:
        return [
            p for i in indices if i < len(data_inputs) for p in _constant_paths(scope, data_inputs[i], exempt)
        ]

    verdict = judge_op(op, node.attrs)
    if verdict is not None:
        rule, severity, what = verdict
        evidence = _EVIDENCE_INPUTS.get(op, ()) if op in FILE_OPS else (0,) if op in NETWORK_OPS else ()
        return rule, severity, what, paths(evidence)
    if op in PATH_OPS:
        indices, writes = PATH_OPS[op]
        outside = [p for p in paths(indices) if _leaves_model_dir(p)]
        if outside:
            severity = Severity.HIGH if writes else Severity.MEDIUM
            verb = "writes" if writes else "reads"
            return "tf-file-op", severity, f"{verb} a fixed path outside the model directory", outside
    return None


def _report_ops(scan: _Scan) -> None:
    """One finding per (rule, op, severity), listing the first few places."""
    groups: dict[tuple[str, str, Severity], list[_Hit]] = {}
    for hit in _hits(scan):
        groups.setdefault((hit.rule, hit.op, hit.severity), []).append(hit)
    for (rule, op, severity), hits in groups.items():
        first = hits[0]
        places = "; ".join(f"{h.where}, node {h.node!r}" for h in hits[:_MAX_SHOWN])
        paths = sorted({p for h in hits for p in h.paths})[:_MAX_SHOWN]
        more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
        message = f"TensorFlow op {op} {first.what}: {first.where}, node {first.node!r}{more}"
        if paths:
            message += "; path " + ", ".join(repr(p) for p in paths)
        evidence = {"op": op, "where": places, "count": str(len(hits))}
        if paths:
            evidence["paths"] = ", ".join(repr(p) for p in paths)
        evidence.update({f"attr.{k}": v for k, v in first.detail.items() if v})
        scan.ctx.report(rule, message, severity=severity, offset=first.offset, evidence=evidence)


def _check_keras(scan: _Scan) -> None:
    """All metadata JSON of one file goes to the Keras checks in one call, so a Lambda that
    both its layer's node and the model's node describe is one finding."""
    configs: dict[str, list[object]] = {}
    for source, node, text, offset in scan.keras:
        try:
            config = json.loads(text)  # safe: JSON data, read as data
        except (ValueError, RecursionError) as exc:
            scan.ctx.report(
                "scan-error",
                f"Keras metadata JSON of {source} node {node} does not parse: {exc}",
                offset=offset,
            )
            continue
        configs.setdefault(source, []).append(config)
    if not configs:
        return
    from aisbom.scanners.keras_config import check_keras_config  # late: only Keras files need it

    for source, found in configs.items():
        check_keras_config(found, scan.ctx, where=source)


# --- sniffing --------------------------------------------------------------------------------

_NODE_NAME = re.compile(r"[A-Za-z0-9._][A-Za-z0-9_.\-/>]*")
_OP_NAME = re.compile(r"_?[A-Za-z][A-Za-z0-9_>]*")
# MetaInfoDef keys: meta_graph_version(1) ... function_aliases(8), as (number << 3 | wire type).
_META_INFO_KEYS = frozenset({0x0A, 0x12, 0x1A, 0x22, 0x2A, 0x32, 0x38, 0x42})
_SNIFF_WINDOW = 4096


def sniff_tensorflow(data: Data) -> str | None:
    """'tf-saved-model', 'tf-graph-def', 'keras-metadata' or None, from the first bytes.

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
    """'tf-saved-model' or 'tf-graph-def' for a protobuf whose fields come in any order.

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
    return None


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
