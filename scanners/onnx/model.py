"""ONNX models, parsed with the `onnx` package's protobuf classes and never run.

An ONNX file cannot hide Python code the way a pickle can; what it can do at load time is:

- **external data**: a tensor names a file (`external_data` `location`) that the loader reads
  into the tensor. An absolute path, a `..` segment, a drive letter or a URL reads files outside
  the model directory (/etc/passwd, ~/.ssh/id_rsa) into a tensor whose values the model may
  echo back (CVE-2022-25882, CVE-2024-27318). onnx >= 1.16 and current onnxruntime refuse such
  paths; older loaders and other runtimes do not.
- **custom operators**: a node outside the standard domains needs a native library the user
  registers, and some domains dispatch to Python (onnxruntime's PyOp imports a module named in
  the node).
- **inconsistent tensors**: a payload whose size disagrees with its shape, negative or
  overflowing dimensions, unknown element types. Runtimes have read out of bounds on these,
  and loaders that disagree on them see different weights.

Memory: `ModelProto.ParseFromString` needs the whole file as one buffer and would double a 2 GB
model in memory. So a cheap wire-level pass first copies the model into a *skeleton* without
the large tensor payloads (raw_data and the typed *_data fields of TensorProto, wherever a
tensor sits: initializers, sparse initializers, node attributes, subgraphs, functions,
training graphs), recording each stripped payload's size inside the stripped tensor (a
metadata_props entry under a per-scan random key, so no file can forge it). Only the skeleton
is parsed by protobuf. Messages smaller than _SMALL are copied whole.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.readers import protobuf_wire as wire
from aisbom.scanners.readers.dimensions import product_up_to
from aisbom.severity import Severity

if TYPE_CHECKING:
    from aisbom.scanners.onnx.library import OnnxLibrary

# Messages up to this size are copied into the skeleton whole: nothing in them is big enough
# to be worth stripping, and copying is far cheaper than walking their fields in Python.
_SMALL = 64 * 1024
_CHUNK = 1024 * 1024

# Message kinds on the path from ModelProto to TensorProto, and the fields that lead there
# (field numbers from onnx.proto). Every other field is copied verbatim.
_MODEL, _GRAPH, _NODE, _ATTRIBUTE, _TENSOR, _SPARSE, _FUNCTION, _TRAINING = range(8)
_CHILDREN: dict[int, dict[int, int]] = {
    _MODEL: {7: _GRAPH, 20: _TRAINING, 25: _FUNCTION},
    _TRAINING: {1: _GRAPH, 2: _GRAPH},
    _GRAPH: {1: _NODE, 5: _TENSOR, 15: _SPARSE},
    _NODE: {5: _ATTRIBUTE},
    _FUNCTION: {7: _NODE, 11: _ATTRIBUTE},
    _ATTRIBUTE: {5: _TENSOR, 6: _GRAPH, 10: _TENSOR, 11: _GRAPH, 22: _SPARSE, 23: _SPARSE},
    _SPARSE: {1: _TENSOR, 2: _TENSOR},
    _TENSOR: {},
}
# TensorProto payload fields: how each one's elements are stored on the wire.
_RAW, _FLOAT, _INT32, _STRING, _INT64, _DOUBLE, _UINT64 = 9, 4, 5, 6, 7, 10, 11
_FIXED_WIDTH = {_FLOAT: 4, _DOUBLE: 8}
_VARINTS = {_INT32, _INT64, _UINT64}
_PAYLOAD_FIELDS = {_RAW, _FLOAT, _INT32, _STRING, _INT64, _DOUBLE, _UINT64}
_FIELD_NAMES = {
    _RAW: "raw_data", _FLOAT: "float_data", _INT32: "int32_data", _STRING: "string_data",
    _INT64: "int64_data", _DOUBLE: "double_data", _UINT64: "uint64_data",
}  # fmt: skip
_HIGH_BYTES = bytes(range(0x80, 0x100))  # varint continuation bytes

# data_type name -> (bits per element in raw_data, typed field, typed values per element as
# (numerator, denominator)): from the TensorProto comments in onnx.proto. Names, not numbers,
# so a type the installed onnx does not know is simply absent.
_DTYPES: dict[str, tuple[int | None, int, tuple[int, int]]] = {
    "FLOAT": (32, _FLOAT, (1, 1)), "UINT8": (8, _INT32, (1, 1)), "INT8": (8, _INT32, (1, 1)),
    "UINT16": (16, _INT32, (1, 1)), "INT16": (16, _INT32, (1, 1)), "INT32": (32, _INT32, (1, 1)),
    "INT64": (64, _INT64, (1, 1)), "STRING": (None, _STRING, (1, 1)), "BOOL": (8, _INT32, (1, 1)),
    "FLOAT16": (16, _INT32, (1, 1)), "DOUBLE": (64, _DOUBLE, (1, 1)), "UINT32": (32, _UINT64, (1, 1)),
    "UINT64": (64, _UINT64, (1, 1)), "COMPLEX64": (64, _FLOAT, (2, 1)),
    "COMPLEX128": (128, _DOUBLE, (2, 1)), "BFLOAT16": (16, _INT32, (1, 1)),
    "FLOAT8E4M3FN": (8, _INT32, (1, 1)), "FLOAT8E4M3FNUZ": (8, _INT32, (1, 1)),
    "FLOAT8E5M2": (8, _INT32, (1, 1)), "FLOAT8E5M2FNUZ": (8, _INT32, (1, 1)),
    "UINT4": (4, _INT32, (1, 2)), "INT4": (4, _INT32, (1, 2)), "FLOAT4E2M1": (4, _INT32, (1, 2)),
    "FLOAT8E8M0": (8, _INT32, (1, 1)), "UINT2": (2, _INT32, (1, 4)), "INT2": (2, _INT32, (1, 4)),
    "FLOAT6E2M3": (6, _INT32, (1, 1)), "FLOAT6E3M2": (6, _INT32, (1, 1)),
}  # fmt: skip

# Operator domains every ONNX runtime understands, plus onnxruntime's own contrib domains:
# ORT-exported and ORT-optimised models (transformers optimizer, quantization) use them.
STANDARD_DOMAINS = frozenset({
    "", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training",
    "com.microsoft", "com.microsoft.nchwc", "com.microsoft.experimental",
})  # fmt: skip
# Domains whose operator schemas the onnx package ships (ai.onnx.training has none).
_ONNX_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training"})
# onnxruntime-extensions' domain: mostly native tokenizer/string ops, plus any Python function the
# host process registered by name. The model cannot bring that code, so it is a custom domain
# (medium) like any other, not a Python operator; the message says what the domain is.
_EXTENSIONS_DOMAIN = "ai.onnx.contrib"
# onnxruntime's language-interop PyOp imports the module and class the node names; ORT
# training's PythonOp/PythonOpGrad call registered torch.autograd.Function classes by name.
PYTHON_OPS = frozenset({"PyOp", "PythonOp", "PythonOpGrad"})

_EXTERNAL_KEYS = frozenset({"location", "offset", "length", "checksum", "basepath"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_MAX_LISTED = 8


class _Limit(Exception):
    def __init__(self, message: str, limit: str):
        super().__init__(message)
        self.limit = limit


def scan_onnx(data: Data, ctx: ScanContext) -> None:
    stats_key = "aisbom.payload." + secrets.token_hex(8)
    try:
        skeleton = _Skeleton(data, ctx, stats_key).build()
    except _Limit as exc:
        ctx.report("scan-limit", f"ONNX model not analysed: {exc}", evidence={"limit": exc.limit})
        return
    except wire.WireLimitError as exc:
        ctx.report("scan-limit", f"ONNX model not analysed: {exc}", evidence={"limit": exc.limit})
        return
    except wire.WireError as exc:
        ctx.report(
            "scan-error",
            f"not a valid ONNX model (protobuf): {exc}",
            offset=exc.offset,
            evidence={"format": "onnx"},
        )
        return

    from google.protobuf.message import DecodeError

    from aisbom.scanners.onnx.library import onnx_library  # late: only when an ONNX file is found

    onnx = onnx_library()
    model = onnx.proto.ModelProto()
    try:
        model.ParseFromString(skeleton)
    except (DecodeError, RecursionError, ValueError) as exc:
        ctx.report(
            "scan-error",
            f"not a valid ONNX model: protobuf cannot parse it ({exc or type(exc).__name__})",
            evidence={"format": "onnx"},
        )
        return
    del skeleton
    _ModelCheck(onnx, model, ctx, stats_key).run()


# --- the skeleton ---------------------------------------------------------------------------


# ModelProto fields (graph, opset_import, metadata_props, training_info, functions) that no
# TensorFlow root message defines: TF readers skip them, onnx.load reads the file as a model.
_ONNX_ONLY_FIELDS = frozenset({7, 8, 14, 20, 25})


def scan_tensorflow_polyglot(data: Data, ctx: ScanContext) -> None:
    """A polyglot: ONNX's `08 01 12` start is also a SavedModel's, so a file can be both. When
    the root of a file sniffed as TensorFlow holds ONNX-only fields, it is scanned as ONNX too."""
    try:
        numbers = {f.number for f in wire.Message.parse(data, max_fields=ctx.limits.max_proto_fields)}
    except wire.WireError:
        return  # reported by the TensorFlow scan, which read the same fields
    if numbers & _ONNX_ONLY_FIELDS:
        scan_onnx(data, ctx)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len_field(number: int, payload: bytes | bytearray) -> bytes:
    return _varint(number << 3 | wire.LEN) + _varint(len(payload)) + payload


class _Skeleton:
    """The model's bytes with large tensor payloads cut out and their sizes noted."""

    def __init__(self, data: Data, ctx: ScanContext, stats_key: str):
        self.data = data
        self.ctx = ctx
        self.stats_key = stats_key.encode()
        self.size = 0
        self.bounds = wire.Bounds(max_fields=ctx.limits.max_proto_fields)

    def build(self) -> bytes:
        return bytes(self._message(_MODEL, 0, len(self.data), graph_depth=0))

    def _copy(self, start: int, end: int) -> bytes:
        self.size += end - start
        if self.size > self.ctx.limits.max_onnx_skeleton:
            raise _Limit(
                f"its structure without tensor payloads exceeds {self.ctx.limits.max_onnx_skeleton} bytes",
                "max_onnx_skeleton",
            )
        return self.data[start:end]

    def _message(self, kind: int, start: int, end: int, graph_depth: int) -> bytearray:
        if kind == _GRAPH:
            graph_depth += 1
            if graph_depth > self.ctx.limits.max_onnx_graph_depth:
                raise _Limit(
                    f"subgraphs nested deeper than {self.ctx.limits.max_onnx_graph_depth}",
                    "max_onnx_graph_depth",
                )
        if self.ctx.out_of_time():
            raise _Limit(
                f"time limit of {self.ctx.limits.max_seconds_per_file:g}s reached", "max_seconds_per_file"
            )
        children = _CHILDREN[kind]
        out = bytearray()
        stats: dict[str, list[int]] = {}
        pos = start  # fields are contiguous: each starts where the previous one ended
        for f in wire.iter_fields(self.data, start, end, self.bounds):
            field_start, pos = pos, f.end
            if kind == _TENSOR and f.number in _PAYLOAD_FIELDS:
                self._measure(f, stats)
                continue
            child = children.get(f.number)
            if child is not None and f.wire_type == wire.LEN and f.end - f.start > _SMALL:
                out += _len_field(f.number, self._message(child, f.start, f.end, graph_depth))
            else:
                out += self._copy(field_start, f.end)
        if kind == _TENSOR and stats:
            # metadata_props (16) entry {key: 1, value: 2}: the sizes of what was cut out.
            entry = _len_field(1, self.stats_key) + _len_field(2, json.dumps(stats).encode())
            out += _len_field(16, entry)
        return out

    def _measure(self, f: wire.Field, stats: dict[str, list[int]]) -> None:
        """Record [elements, bytes, malformed] of a payload field without copying it."""
        key = str(f.number)
        if f.number == _RAW:
            stats[key] = [f.end - f.start, f.end - f.start, 0]  # a bytes field: the last one wins
            return
        count, size, bad = stats.get(key, [0, 0, 0])
        if f.wire_type != wire.LEN or f.number == _STRING:  # one unpacked element
            count, size = count + 1, size + f.end - f.start
        elif f.number in _FIXED_WIDTH:
            width = _FIXED_WIDTH[f.number]
            count += (f.end - f.start) // width
            size += f.end - f.start
            bad |= (f.end - f.start) % width != 0
        else:  # packed varints: one element per byte without the continuation bit
            for at in range(f.start, f.end, _CHUNK):
                count += len(self.data[at : min(f.end, at + _CHUNK)].translate(None, _HIGH_BYTES))
            size += f.end - f.start
            bad |= f.end > f.start and self.data[f.end - 1] & 0x80 != 0
        stats[key] = [count, size, int(bad)]


# --- checks on the parsed skeleton -----------------------------------------------------------


@dataclass
class _Payload:
    """What a tensor carries inline: per payload field, element count and byte size."""

    fields: dict[int, tuple[int, int]] = field(default_factory=dict)
    malformed: list[str] = field(default_factory=list)


class _ModelCheck:
    def __init__(self, onnx: OnnxLibrary, model, ctx: ScanContext, stats_key: str):
        self.onnx = onnx
        self.TensorProto = onnx.proto.TensorProto
        self.model = model
        self.ctx = ctx
        self.stats_key = stats_key
        self.nodes = 0
        self.stopped = False
        self.known_types = dict(self.TensorProto.DataType.items())
        self.type_names = {v: k for k, v in self.known_types.items()}
        self.custom: dict[str, dict[str, int]] = {}  # domain -> op_type -> count
        self.unknown_standard: dict[tuple[str, str], int] = {}
        self.python_ops: dict[tuple[str, str, str], list] = {}  # (domain, op, code) -> [count, where]
        self.has_schema: dict[tuple[str, str], bool] = {}
        self.local_functions = {(f.domain, f.name, f.overload) for f in model.functions}

    def run(self) -> None:
        m = self.model
        self._graph(m.graph, f"graph {_quoted(m.graph.name)}", depth=1)
        for i, info in enumerate(m.training_info):
            self._graph(info.initialization, f"training_info[{i}].initialization", depth=1)
            self._graph(info.algorithm, f"training_info[{i}].algorithm", depth=1)
        for function in m.functions:
            where = f"function {_clip(_text(function.domain))}.{_clip(_text(function.name))}"
            for attr in function.attribute_proto:
                self._attribute(attr, f"{where} default attribute {_quoted(attr.name)}", depth=1)
            self._nodes(function.node, where, depth=1)
        self._report_ops()

    # -- traversal

    def _graph(self, graph, where: str, depth: int) -> None:
        if self.stopped:
            return
        if depth > self.ctx.limits.max_onnx_graph_depth:
            self._stop(
                f"subgraphs nested deeper than {self.ctx.limits.max_onnx_graph_depth}", "max_onnx_graph_depth"
            )
            return
        for tensor in graph.initializer:
            self._tensor(tensor, f"{where} initializer {_quoted(tensor.name)}")
        for sparse in graph.sparse_initializer:
            self._sparse(sparse, f"{where} sparse initializer {_quoted(sparse.values.name)}")
        self._nodes(graph.node, where, depth)

    def _nodes(self, nodes: Iterable, where: str, depth: int) -> None:
        for node in nodes:
            if self.stopped:
                return
            self.nodes += 1
            if self.nodes > self.ctx.limits.max_onnx_nodes:
                self._stop(f"more than {self.ctx.limits.max_onnx_nodes} nodes", "max_onnx_nodes")
                return
            if self.nodes % 10_000 == 0 and self.ctx.out_of_time():
                self._stop(
                    f"time limit of {self.ctx.limits.max_seconds_per_file:g}s reached", "max_seconds_per_file"
                )
                return
            label = f"{where} > node {_quoted(node.name or node.op_type)} ({_clip(_text(node.op_type))})"
            self._operator(node, label)
            for attr in node.attribute:
                self._attribute(attr, f"{label} attribute {_quoted(attr.name)}", depth)

    def _attribute(self, attr, where: str, depth: int) -> None:
        if attr.HasField("t"):
            self._tensor(attr.t, where)
        for tensor in attr.tensors:
            self._tensor(tensor, where)
        if attr.HasField("sparse_tensor"):
            self._sparse(attr.sparse_tensor, where)
        for sparse in attr.sparse_tensors:
            self._sparse(sparse, where)
        if attr.HasField("g"):
            self._graph(attr.g, f"{where} > graph {_quoted(attr.g.name)}", depth + 1)
        for graph in attr.graphs:
            self._graph(graph, f"{where} > graph {_quoted(graph.name)}", depth + 1)

    def _stop(self, message: str, limit: str) -> None:
        self.stopped = True
        self.ctx.report("scan-limit", f"ONNX model not fully analysed: {message}", evidence={"limit": limit})

    # -- operators

    def _operator(self, node, where: str) -> None:
        domain, op = _text(node.domain), _text(node.op_type)
        if (domain, op, node.overload) in self.local_functions:
            return  # a function defined in the model itself, made of other nodes
        if op in PYTHON_OPS:
            attrs = {a.name: a.s.decode("utf-8", "backslashreplace") for a in node.attribute if a.s}
            named = ".".join(x for x in (attrs.get("module"), attrs.get("class_name")) if x)
            self.python_ops.setdefault((domain, op, named), [0, where])[0] += 1
            return
        if domain not in STANDARD_DOMAINS:
            ops = self.custom.setdefault(domain, {})
            ops[op] = ops.get(op, 0) + 1
        elif domain in _ONNX_DOMAINS:
            key = (domain, op)
            if key not in self.has_schema:
                try:
                    self.has_schema[key] = self.onnx.has_schema(op, "" if domain == "ai.onnx" else domain)
                except TypeError:  # a name that is not valid UTF-8 (onnx's C++ refuses it): no op has it
                    self.has_schema[key] = False
            if not self.has_schema[key]:
                self.unknown_standard[key] = self.unknown_standard.get(key, 0) + 1

    def _report_ops(self) -> None:
        for (domain, op, named), (count, where) in sorted(self.python_ops.items()):
            self.ctx.report(
                "onnx-python-op",
                f"{where}: operator {domain or 'ai.onnx'}::{op} dispatches to Python code"
                + (f" ({named})" if named else "")
                + (f"; {count - 1} more node(s) like it" if count > 1 else ""),
                evidence={"domain": domain, "op_type": op, **({"python": named} if named else {})},
            )
        for domain, ops in sorted(self.custom.items()):
            names = sorted(ops)
            listed = ", ".join(names[:_MAX_LISTED]) + (" ..." if len(names) > _MAX_LISTED else "")
            self.ctx.report(
                "onnx-custom-op",
                f"{sum(ops.values())} node(s) use custom operator domain {domain!r} ({listed}): "
                "running the model needs a native operator library for it"
                + (
                    " (onnxruntime-extensions; its ops may also call Python functions the host registered)"
                    if domain == _EXTENSIONS_DOMAIN
                    else ""
                ),
                evidence={"domain": domain, "op_types": ",".join(names[:_MAX_LISTED])},
            )
        for (domain, op), count in sorted(self.unknown_standard.items()):
            self.ctx.report(
                "onnx-custom-op",
                f"{count} node(s) use operator {op!r}, which is not in the standard domain "
                f"{domain or 'ai.onnx'!r} as known to onnx {self.onnx.version}: a runtime runs it "
                "only if a custom library registers it (or it is newer than this onnx)",
                severity=Severity.LOW,
                evidence={"domain": domain, "op_type": op},
            )

    # -- tensors

    def _sparse(self, sparse, where: str) -> None:
        self._tensor(sparse.values, f"{where} values")
        self._tensor(sparse.indices, f"{where} indices")
        values, indices = list(sparse.values.dims), list(sparse.indices.dims)
        problem = None
        if any(d < 0 for d in sparse.dims):
            problem = f"negative dense dimension in {list(sparse.dims)}"
        elif len(values) != 1:
            problem = f"values must be 1-D, have dims {values}"
        elif not indices or indices[0] != values[0]:
            problem = f"{values[0]} values but indices have dims {indices}"
        elif len(indices) == 2 and indices[1] != len(sparse.dims):
            problem = f"indices of rank {indices[1]} for a dense shape of rank {len(sparse.dims)}"
        elif len(indices) > 2:
            problem = f"indices have dims {indices}"
        if problem:
            self._inconsistent(where, sparse.values.name, f"sparse tensor: {problem}")

    def _payload(self, tensor) -> _Payload:
        payload = _Payload()
        for entry in tensor.metadata_props:
            if entry.key == self.stats_key:  # sizes of what the skeleton cut out
                for number, (count, size, bad) in json.loads(entry.value).items():
                    payload.fields[int(number)] = (count, size)
                    if bad:
                        payload.malformed.append(_FIELD_NAMES[int(number)])
        if tensor.HasField("raw_data"):
            payload.fields[_RAW] = (len(tensor.raw_data), len(tensor.raw_data))
        for number, values in (
            (_FLOAT, tensor.float_data), (_INT32, tensor.int32_data), (_STRING, tensor.string_data),
            (_INT64, tensor.int64_data), (_DOUBLE, tensor.double_data), (_UINT64, tensor.uint64_data),
        ):  # fmt: skip
            if len(values):
                payload.fields[number] = (len(values), 0)
        return payload

    def _tensor(self, tensor, where: str) -> None:
        name = tensor.name
        external = tensor.data_location == self.TensorProto.EXTERNAL
        if external or len(tensor.external_data):
            self._external(tensor, where, active=external)
        payload = self._payload(tensor)
        if payload.malformed:
            self._inconsistent(where, name, f"{', '.join(payload.malformed)} is truncated mid-element")
        dims = list(tensor.dims)
        if any(d < 0 for d in dims):
            self._inconsistent(where, name, f"negative dimension in {dims}")
            return
        elements = product_up_to(dims, 1 << 63)
        type_name = self.type_names.get(tensor.data_type)
        if type_name is None or type_name == "UNDEFINED":
            if type_name is None or payload.fields or external:
                self._inconsistent(where, name, f"unknown data_type {tensor.data_type}")
            return
        spec = _DTYPES.get(type_name)
        if spec is None:
            return  # a type this scanner does not size yet
        bits, typed_field, (num, den) = spec
        declared = None if bits is None else -(-elements * bits // 8)
        if elements >= 1 << 63 or (declared is not None and declared >= 1 << 63):
            self._inconsistent(where, name, f"dims {dims} overflow a 64-bit size")
            return
        if declared is not None and declared > self.ctx.limits.max_onnx_tensor_bytes:
            self._inconsistent(
                where,
                name,
                f"declares {declared} bytes (dims {dims}, {type_name}), more than "
                f"max_onnx_tensor_bytes={self.ctx.limits.max_onnx_tensor_bytes}: loading it exhausts memory",
                severity=Severity.MEDIUM,
            )
        present = sorted(payload.fields)
        if external:
            if present:
                fields = ", ".join(_FIELD_NAMES[n] for n in present)
                # onnx replaces the inline bytes with the file's: nothing runs, loaders only
                # disagree on the values. Medium.
                self._inconsistent(
                    where,
                    name,
                    f"EXTERNAL tensor also carries inline data ({fields})",
                    severity=Severity.MEDIUM,
                )
            length = _external_int(tensor, "length")
            if declared is not None and isinstance(length, int) and length != declared:
                self._inconsistent(
                    where,
                    name,
                    f"external data length {length} but dims {dims} of {type_name} need {declared} bytes",
                )
            return
        if len(present) > 1:
            fields = ", ".join(_FIELD_NAMES[n] for n in present)
            self._inconsistent(where, name, f"data stored twice ({fields}): loaders pick different ones")
            return
        if not present:
            if elements:
                self._inconsistent(where, name, f"dims {dims} but no data at all")
            return
        (number,) = present
        count, _ = payload.fields[number]
        if number == _RAW:
            if bits is None:
                self._inconsistent(where, name, f"raw_data is not allowed for {type_name}")
            elif count != declared:
                self._inconsistent(
                    where,
                    name,
                    f"raw_data has {count} bytes but dims {dims} of {type_name} need {declared}",
                )
            return
        if number != typed_field:
            self._inconsistent(where, name, f"{_FIELD_NAMES[number]} cannot hold {type_name} values")
            return
        expected = -(-elements * num // den)
        if count != expected:
            self._inconsistent(
                where,
                name,
                f"{_FIELD_NAMES[number]} has {count} values but dims {dims} of {type_name} need {expected}",
            )

    def _inconsistent(self, where: str, name: str, problem: str, severity: Severity | None = None) -> None:
        self.ctx.report(
            "onnx-tensor-inconsistent",
            f"tensor {name!r} ({where}): {problem}",
            severity=severity,
            evidence={"tensor": name},
        )

    def _external(self, tensor, where: str, *, active: bool) -> None:
        name = tensor.name
        entries = [(_text(e.key), _text(e.value)) for e in tensor.external_data]
        locations = [value for key, value in entries if key == "location"]
        state = "" if active else " (data_location is not EXTERNAL, so current loaders ignore it)"
        if active and not locations:
            self._inconsistent(where, name, "EXTERNAL tensor without a location")
        if len(locations) > 1:
            self._inconsistent(
                where, name, f"{len(locations)} external data locations: loaders pick different ones"
            )
        for key, value in entries:
            if key not in ("location", "basepath"):
                continue
            for reason in path_problems(value):
                self.ctx.report(
                    "onnx-external-data-traversal",
                    f"tensor {name!r} ({where}): external data {key} {value!r} {reason}; loading the "
                    f"model reads that file into the tensor{state}",
                    severity=Severity.MEDIUM if reason == STAYS_INSIDE else None,
                    evidence={"tensor": name, key: value, "reason": reason},
                )
        for key in ("offset", "length"):
            number = _external_int(tensor, key)
            if isinstance(number, str):
                self._inconsistent(
                    where, name, f"external data {key} {number!r} is not a non-negative integer"
                )
        unknown = sorted({key for key, _ in entries} - _EXTERNAL_KEYS)
        if unknown:
            self._inconsistent(
                where, name, f"unknown external data keys {unknown[:_MAX_LISTED]}", severity=Severity.LOW
            )


def _external_int(tensor, key: str) -> int | str | None:
    """The last `key` entry as an int; the raw text if it is not a non-negative integer."""
    value = None
    for entry in tensor.external_data:
        if _text(entry.key) == key:
            value = _text(entry.value)
    if value is None:
        return None
    return int(value) if value.isascii() and value.isdigit() else value


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _quoted(name: object) -> str:
    """A name from the file, quoted and shortened, for the place a finding names. Every node's
    place repeats the names of the graphs around it: unshortened, a graph name of 8 MB made
    labelling 50,000 nodes copy 400 GB."""
    return _clip(repr(name))


def _text(value: str | bytes) -> str:
    """A string field as text: protobuf hands back bytes when a string is not valid UTF-8."""
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value


def path_problems(location: str) -> Iterator[str]:
    """Why an external-data path could resolve outside the model directory (nothing if not)."""
    if not location:
        yield "is empty (the model directory itself)"
        return
    if "\x00" in location:
        yield "contains a NUL byte (C loaders cut the path there)"
    if location.startswith(("/", "\\")):
        yield "is an absolute path"
    elif _DRIVE.match(location):
        yield "starts with a drive letter"
    elif "://" in location or _SCHEME.match(location):
        yield "is a URL or has a scheme"
    if location.startswith("~"):
        yield "starts with '~' (a home directory)"
    if "\\" in location:
        yield "contains a backslash (a path separator on Windows)"
    segments = re.split(r"[/\\]", location)
    if ".." in segments:
        yield _CLIMBS_OUT if _climbs_out(segments) else STAYS_INSIDE


# A '..' that normalises inside the model directory (sub/../w.bin): onnx reads w.bin, a file the
# model directory holds, so nothing outside it is reached: reported at medium.
STAYS_INSIDE = "has a '..' segment (it resolves inside the model directory)"
_CLIMBS_OUT = "has a '..' segment that climbs out of the model directory"


def _climbs_out(segments: list[str]) -> bool:
    depth = 0
    for segment in segments:
        if segment == "..":
            depth -= 1
            if depth < 0:
                return True
        elif segment not in ("", "."):
            depth += 1
    return False
