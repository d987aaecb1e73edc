"""TensorFlow SavedModel (`saved_model.pb`), frozen GraphDef (`.pb`), TF1 checkpoint graph
(`model.ckpt.meta`, a bare MetaGraphDef that tf.compat.v1.train.import_meta_graph reads) and
Keras SavedModel metadata (`keras_metadata.pb`), read without TensorFlow.

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
from collections.abc import Iterator
from dataclasses import dataclass, field

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.keras.config import check_keras_config
from aisbom.scanners.readers.protobuf_wire import LEN, Field, Message, WireError, WireLimitError
from aisbom.scanners.tensorflow.ops import (
    FILE_OPS,
    MAX_SHOWN,
    MAX_STRING,
    NETWORK_OPS,
    PATH_OPS,
    PYTHON_OPS,
    judge_op,
    messages_at,
    read_attrs,
    strings_at,
)
from aisbom.scanners.tensorflow.sniffing import meta_graph_conforms
from aisbom.severity import Severity

_EVIDENCE_INPUTS = {"ReadFile": (0,), "WriteFile": (0,), "MatchingFiles": (0,)}
# Ops that pass their first input through: followed when resolving a constant path.
_FORWARDING_OPS = frozenset({"Identity", "PlaceholderWithDefault", "Snapshot", "StopGradient"})
# Attributes worth showing (and the ones that decide PrintV2/Debug* verdicts).
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
    # Keras metadata JSON: (source, node, JSON text, offset), its bytes, and whether some was cut
    keras: list[tuple[str, str, str, int]] = field(default_factory=list)
    keras_bytes: int = 0
    keras_cut: bool = False


# --- entry points ----------------------------------------------------------------------------


def scan_saved_model(data: Data, ctx: ScanContext) -> None:
    """saved_model.pb: SavedModel{meta_graphs(2): MetaGraphDef}."""
    _run(data, ctx, "SavedModel", _read_saved_model)


def scan_saved_model_as_graph_def(data: Data, ctx: ScanContext) -> None:
    """A SavedModel without its schema version (field 1) is also a GraphDef: field 2 is a
    SavedModel's meta graph and a GraphDef's function library, so a frozen-graph loader runs
    library functions the SavedModel reading never saw. Read it that way too; errors are not
    reported, since the SavedModel reading reported what is malformed."""
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


def scan_meta_graph(data: Data, ctx: ScanContext) -> None:
    """model.ckpt.meta: a bare MetaGraphDef{meta_info_def(1), graph_def(2), saver_def(3) ...}."""
    _run(data, ctx, "MetaGraphDef", lambda root, scan: _read_meta_graph(root, scan, 0, "meta graph"))


def scan_as_meta_graph(data: Data, ctx: ScanContext) -> None:
    """import_meta_graph reads any file as a MetaGraphDef: a TF protobuf of another kind that is
    also a well-formed MetaGraphDef is read that way too (errors are not reported: the reading
    as its own kind reported what is malformed)."""
    if not meta_graph_conforms(data):
        return
    scan = _Scan(ctx)
    with contextlib.suppress(WireError, _OutOfTime):
        root = Message.parse(data, max_fields=ctx.limits.max_proto_fields)
        _read_meta_graph(root, scan, 0, "file read as a MetaGraphDef")
    _report_ops(scan)
    _check_keras(scan)


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


class _OutOfTime(Exception):
    pass


# --- walking the messages --------------------------------------------------------------------


def _read_saved_model(root: Message, scan: _Scan) -> None:
    index = 0
    for f in root:
        if f.number == 2 and f.wire_type == LEN:
            _read_meta_graph(root.sub(f), scan, index)
            index += 1


def _read_meta_graph(meta: Message, scan: _Scan, index: int, prefix: str = "") -> None:
    prefix = prefix or f"meta graph {index}"
    for f in meta:
        if f.wire_type != LEN:
            continue
        if f.number == 2:  # graph_def
            _read_graph(meta.sub(f), scan, prefix)
        elif f.number == 6:  # asset_file_def: AssetFileDef{tensor_info(1): TensorInfo{name(1)}}
            for info in messages_at(meta.sub(f), 1):
                for name in strings_at(info, 1):
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
            for function in messages_at(graph.sub(f), 1):
                _read_function(function, scan, where)


def _read_function(function: Message, scan: _Scan, where: str) -> None:
    """FunctionDef{signature(1): OpDef{name(1)}, node_def(3): NodeDef}."""
    scope = _Scope(f"{where}, function ?")
    scan.scopes.append(scope)
    for f in function:
        if f.wire_type != LEN:
            continue
        if f.number == 1:
            for name in strings_at(function.sub(f), 1):
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
            op = node.text(f, MAX_STRING)
        elif f.number == 3:
            inputs.append(f)
        elif f.number == 5:
            attrs.append(f)
    forwards = op in _FORWARDING_OPS and inputs
    interesting = op in PYTHON_OPS or op in FILE_OPS or op in NETWORK_OPS or op in PATH_OPS
    interesting |= op in ("PrintV2", "Const") or op.startswith("Debug")
    if not (interesting or forwards):
        return  # most nodes: decoded no further
    name = node.text(name_field, MAX_STRING) if name_field is not None else ""
    if forwards:
        scope.forwards[name] = _node_of(node.text(inputs[0], MAX_STRING))
        return
    parsed = _Node(name, op, node.start, attrs=read_attrs(node, attrs))
    if op == "Const":
        if "value" in parsed.attrs:
            scope.strings[name] = parsed.attrs["value"]
        return
    parsed.inputs = [node.text(f, MAX_STRING) for f in inputs]
    scope.flagged.append(parsed)


def _read_object_graph(graph: Message, scan: _Scan, where: str) -> None:
    """SavedObject.user_object(4): SavedUserObject{identifier(1), metadata(3)}: TF <= 2.4 kept
    Keras layer configs here, before keras_metadata.pb existed."""
    for index, node in enumerate(messages_at(graph, 1)):
        for user in messages_at(node, 4):
            identifier = metadata = None
            for f in user:
                if f.wire_type == LEN and f.number == 1:
                    identifier = user.text(f, MAX_STRING)
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
    for node in messages_at(root, 1):
        path, metadata = "?", None
        for f in node:
            if f.wire_type == LEN and f.number == 3:
                path = node.text(f, MAX_STRING)
            elif f.wire_type == LEN and f.number == 5 and f.value:
                metadata = f
        if metadata is not None and _keras_json_fits(scan, metadata):
            scan.keras.append(("keras_metadata.pb", path, node.text(metadata), metadata.start))


def _keras_json_fits(scan: _Scan, f: Field) -> bool:
    """Whether the Keras metadata JSON in `f` is read: all of one file's metadata is parsed and
    walked together, so together it is held to the limit of one Keras config (as parsed
    objects it takes ten times its size)."""
    limit = scan.ctx.limits.max_keras_config
    if scan.keras_cut or scan.keras_bytes + f.value > limit:
        if not scan.keras_cut:
            scan.ctx.report(
                "scan-limit",
                f"Keras metadata of this file exceeds {limit} bytes (max_keras_config); the node at "
                f"offset {f.start} and any after it were not analysed",
                offset=f.start,
                evidence={"limit": "max_keras_config", "limit_value": str(limit)},
            )
        scan.keras_cut = True
        return False
    scan.keras_bytes += f.value
    return True


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
                detail = {k: ", ".join(repr(v) for v in vs[:MAX_SHOWN]) for k, vs in node.attrs.items()}
                yield _Hit(rule, node.op, severity, what, scope.where, node.name, node.offset, paths, detail)


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
        places = "; ".join(f"{h.where}, node {h.node!r}" for h in hits[:MAX_SHOWN])
        paths = sorted({p for h in hits for p in h.paths})[:MAX_SHOWN]
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
    for source, found in configs.items():
        check_keras_config(found, scan.ctx, where=source)
