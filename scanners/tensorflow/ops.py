"""TensorFlow ops that reach outside the graph, and how a NodeDef names them.

The op tables and `judge_op` decide for every reader of TensorFlow ops: the graph scanner, TFLite's
Flex ops (which run TensorFlow ops) and Keras configs that name raw ops. `read_node_def` reads the
op, name and string attributes of a NodeDef (node_def.proto, attr_value.proto, tensor.proto).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from aisbom.scanners.readers.protobuf_wire import LEN, VARINT, Field, Message
from aisbom.severity import Severity

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
# Attributes worth showing (and the ones that decide PrintV2/Debug* verdicts).
_ATTRS = {"token", "output_stream", "debug_urls", "memory_region_name", "value", "dump_root"}

_STRING_DTYPE = 7  # DataType.DT_STRING
MAX_SHOWN = 5  # places and paths listed per finding
MAX_STRING = 1024  # bytes kept of a string attribute or constant


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
            name = node.text(f, MAX_STRING)
        elif f.number == 2:
            op = node.text(f, MAX_STRING)
        elif f.number == 5:
            attrs.append(f)
    return name, op, read_attrs(node, attrs)


def read_attrs(node: Message, entries: list[Field]) -> dict[str, list[str]]:
    """The string values of the attributes in _ATTRS (`value`: a constant string tensor)."""
    out: dict[str, list[str]] = {}
    for entry_field in entries:
        entry = node.sub(entry_field)
        key = next(iter(strings_at(entry, 1)), "")
        if key not in _ATTRS:
            continue
        for value in messages_at(entry, 2):  # AttrValue
            for f in value:
                if f.number == 2 and f.wire_type == LEN:  # s
                    out.setdefault(key, []).append(value.text(f, MAX_STRING))
                elif f.number == 1 and f.wire_type == LEN:  # list: ListValue{s(2)}
                    out.setdefault(key, []).extend(strings_at(value.sub(f), 2, MAX_SHOWN))
                elif f.number == 8 and f.wire_type == LEN:  # tensor
                    strings = _tensorstrings_at(value.sub(f))
                    if strings is not None:
                        out.setdefault(key, []).extend(strings)
    return out


def _tensorstrings_at(tensor: Message) -> list[str] | None:
    """TensorProto{dtype(1), string_val(8)}: the strings of a DT_STRING tensor, else None."""
    dtype = None
    strings: list[str] = []
    for f in tensor:
        if f.number == 1 and f.wire_type == VARINT:
            dtype = f.value
        elif f.number == 8 and f.wire_type == LEN and len(strings) < MAX_SHOWN:
            strings.append(tensor.text(f, MAX_STRING))
    return strings if dtype == _STRING_DTYPE else None


def messages_at(message: Message, number: int) -> Iterator[Message]:
    for f in message:
        if f.number == number and f.wire_type == LEN:
            yield message.sub(f)


def strings_at(message: Message, number: int, most: int | None = None) -> Iterator[str]:
    count = 0
    for f in message:
        if f.number == number and f.wire_type == LEN:
            if most is not None and count >= most:
                return
            count += 1
            yield message.text(f, MAX_STRING)
