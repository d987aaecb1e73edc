"""TensorFlow Lite models (`.tflite`), read without TensorFlow or the TFLite runtime.

A TFLite model cannot import Python, and its builtin operators compute on tensors only. Two
kinds of operator reach further, both named in the model's operator codes:

- Flex ops (custom code ``Flex<TFOp>``) run a TensorFlow op through the Select TF ops delegate,
  with the loading process's file and network access: FlexReadFile, FlexWriteFile, FlexPyFunc
  ... They are judged with the TensorFlow scanner's op tables and reported with its rules. The
  delegate runs the NodeDef kept in each operator's custom options (a FlexBuffer vector
  ``[op name, NodeDef bytes]``), so the op names found there are judged too: a custom code that
  says ``FlexAdd`` cannot hide a WriteFile.
- Other custom ops run a native kernel that the user registers in the op resolver (medium, like
  ONNX custom domains).

Buffers that live outside the FlatBuffer (models over 2 GB: ``offset``/``size``) must lie inside
the file, and metadata buffers that hold another model, a pickle or an archive are scanned as
nested members.

Why a FlatBuffer reader by hand: the ``tflite`` package's classes (and those ``flatc``
generates for the ``flatbuffers`` runtime) follow every offset as given, without the
verifier the C++ runtime has, and need the generated schema code for the whole model; we read
a few fields. Here every offset, vtable, vector length and string is checked against the buffer
before it is used, the number of tables read is bounded (``max_tflite_tables``), and the reader
only follows the fixed schema path Model -> SubGraph -> Operator (plus a FlexBuffer one level
deep), never a path the data chooses, so its depth is bounded by construction. Nothing is
copied except the short strings and option blobs asked for.

Field numbers are those of tensorflow/lite/schema/schema.fbs; the tests check the fixtures
against the ``tflite`` package's generated classes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.frame.sniff import sniff
from aisbom.scanners.readers.protobuf_wire import Message, WireError
from aisbom.scanners.tensorflow.ops import PATH_OPS, judge_op, read_node_def
from aisbom.severity import Severity
from aisbom.wording import counted

# --- schema.fbs field indices ----------------------------------------------------------------
# Model
_M_OPERATOR_CODES, _M_SUBGRAPHS, _M_BUFFERS, _M_METADATA = 1, 2, 4, 6
# OperatorCode
_OC_DEPRECATED_BUILTIN, _OC_CUSTOM_CODE, _OC_BUILTIN = 0, 1, 3
# SubGraph
_SG_OPERATORS, _SG_NAME = 3, 4
# Operator
_OP_OPCODE_INDEX, _OP_CUSTOM_OPTIONS, _OP_LARGE_OPTIONS_OFFSET, _OP_LARGE_OPTIONS_SIZE = 0, 5, 9, 10
# Buffer
_B_DATA, _B_OFFSET, _B_SIZE = 0, 1, 2
# Metadata
_MD_NAME, _MD_BUFFER = 0, 1

_CUSTOM = 32  # BuiltinOperator.CUSTOM
_FLEX_PREFIX = "Flex"
_MAX_STRING = 1024  # bytes kept of a name
_MAX_OPTIONS = 1 << 20  # bytes of a Flex op's custom options read (a NodeDef is small)
_MAX_SHOWN = 5  # places listed per finding
_TIME_CHECK = 4096  # tables read between two looks at the clock
# Formats a metadata buffer holds in real models (version strings, Support metadata, which is a
# FlatBuffer): not scanned further. Anything else that sniffs as a format is.
_PLAIN_FORMATS = frozenset({"data", "text", "empty", "json"})


class FlatBufferError(ValueError):
    """The bytes are not a valid FlatBuffer for the TFLite schema."""

    def __init__(self, message: str, offset: int):
        super().__init__(f"{message} at offset {offset}")
        self.offset = offset


class FlatBufferLimitError(FlatBufferError):
    def __init__(self, message: str, offset: int, limit: str):
        super().__init__(message, offset)
        self.limit = limit


class _OutOfTime(Exception):
    pass


# --- the reader ------------------------------------------------------------------------------


class _Reader:
    """Bounds-checked little-endian reads over `buf`, and a count of the tables visited."""

    def __init__(self, buf: Data, ctx: ScanContext):
        self.buf = buf
        self.size = len(buf)
        self.ctx = ctx
        self.max_tables = ctx.limits.max_tflite_tables
        self.tables = 0
        # Strings by position: tables may share one string (a 1 KiB name named by millions of
        # metadata entries would otherwise be decoded, and kept, once per entry).
        self.strings: dict[int, str] = {}

    def need(self, pos: int, length: int, what: str) -> None:
        if pos < 0 or length < 0 or pos + length > self.size:
            raise FlatBufferError(
                f"{what} ({counted(length, 'byte')}) lies outside the file of {counted(self.size, 'byte')}",
                pos,
            )

    def uint(self, pos: int, width: int, what: str) -> int:
        self.need(pos, width, what)
        return int.from_bytes(self.buf[pos : pos + width], "little")

    def u32(self, pos: int, what: str) -> int:
        self.need(pos, 4, what)
        return int(struct.unpack_from("<I", self.buf, pos)[0])

    def table(self, pos: int, what: str) -> _Table:
        self.tables += 1
        if self.tables > self.max_tables:
            raise FlatBufferLimitError(
                f"more than {self.max_tables} FlatBuffer tables", pos, "max_tflite_tables"
            )
        if self.tables % _TIME_CHECK == 0 and self.ctx.out_of_time():
            raise _OutOfTime
        self.need(pos, 4, f"{what} table")
        (soffset,) = struct.unpack_from("<i", self.buf, pos)
        vtable = pos - soffset
        self.need(vtable, 4, f"vtable of {what}")
        vt_size, table_size = struct.unpack_from("<HH", self.buf, vtable)
        if vt_size < 4 or vt_size % 2:
            raise FlatBufferError(f"vtable of {what} has an invalid size {vt_size}", vtable)
        self.need(vtable, vt_size, f"vtable of {what}")
        if table_size < 4:
            raise FlatBufferError(f"{what} table has an invalid size {table_size}", pos)
        self.need(pos, table_size, f"{what} table")
        return _Table(self, pos, vtable, vt_size, table_size, what)

    def root(self) -> _Table:
        return self.table(self.u32(0, "root offset"), "Model")


@dataclass(frozen=True)
class _Table:
    reader: _Reader
    pos: int
    vtable: int
    vt_size: int
    size: int
    what: str

    def _field(self, index: int, width: int) -> int | None:
        """Where field `index` of `width` bytes is, or None when absent (its default)."""
        slot = 4 + 2 * index
        if slot + 2 > self.vt_size:
            return None
        (offset,) = struct.unpack_from("<H", self.reader.buf, self.vtable + slot)
        if offset == 0:
            return None
        if offset + width > self.size:
            raise FlatBufferError(f"field {index} of {self.what} runs past its table", self.pos)
        return self.pos + offset

    def uint(self, index: int, width: int, default: int = 0) -> int:
        at = self._field(index, width)
        return default if at is None else self.reader.uint(at, width, f"field {index} of {self.what}")

    def _target(self, index: int) -> int | None:
        """The position an offset field points at (forward, as FlatBuffers offsets are)."""
        at = self._field(index, 4)
        if at is None:
            return None
        target = at + self.reader.u32(at, f"field {index} of {self.what}")
        if target >= self.reader.size:
            raise FlatBufferError(f"field {index} of {self.what} points past the end of the file", at)
        return target

    def vector(self, index: int, width: int, what: str) -> tuple[int, int] | None:
        """(first element's position, length) of a vector field, checked to fit the file."""
        start = self._target(index)
        if start is None:
            return None
        length = self.reader.u32(start, f"length of {what}")
        self.reader.need(start + 4, length * width, what)
        return start + 4, length

    def tables(self, index: int, what: str) -> Iterator[tuple[int, _Table]]:
        vector = self.vector(index, 4, what)
        if vector is None:
            return
        start, length = vector
        for i in range(length):
            at = start + 4 * i
            yield i, self.reader.table(at + self.reader.u32(at, what), f"{what}[{i}]")

    def string(self, index: int, what: str) -> str | None:
        """A string; the NUL terminator FlatBuffers requires is checked. Undecodable bytes are
        kept visible as escapes."""
        vector = self.vector(index, 1, what)
        if vector is None:
            return None
        start, length = vector
        self.reader.need(start + length, 1, f"terminator of {what}")
        if self.reader.buf[start + length] != 0:
            raise FlatBufferError(f"{what} is not NUL-terminated", start + length)
        text = self.reader.strings.get(start)
        if text is None:
            raw = bytes(self.reader.buf[start : start + min(length, _MAX_STRING)])
            text = self.reader.strings[start] = raw.decode("utf-8", "backslashreplace")
        return text


# --- FlexBuffers (a Flex op's custom options) --------------------------------------------------

_FBT_STRING, _FBT_VECTOR = 5, 10


def _flex_strings(raw: bytes) -> list[bytes]:
    """The first strings of a FlexBuffer whose root is a vector: a Flex op's custom options are
    ``[TF op name, serialized NodeDef]``. Raises ValueError when the bytes are not that shape."""

    def uint(pos: int, width: int) -> int:
        if pos < 0 or pos + width > len(raw):
            raise ValueError(f"FlexBuffer read at {pos} outside its {counted(len(raw), 'byte')}")
        return int.from_bytes(raw[pos : pos + width], "little")

    if len(raw) < 3:
        raise ValueError("FlexBuffer shorter than 3 bytes")
    root_width, packed = raw[-1], raw[-2]
    if root_width not in (1, 2, 4, 8) or packed >> 2 != _FBT_VECTOR:
        raise ValueError("FlexBuffer root is not a vector")
    root = len(raw) - 2 - root_width
    width = 1 << (packed & 3)
    vector = root - uint(root, root_width)
    length = uint(vector - width, width)
    if vector < 0 or vector + length * (width + 1) > len(raw):
        raise ValueError("FlexBuffer vector runs outside its bytes")
    out = []
    for i in range(min(length, 2)):
        element = vector + i * width
        element_type = raw[vector + length * width + i]
        if element_type >> 2 != _FBT_STRING:
            raise ValueError(f"FlexBuffer element {i} is not a string")
        string = element - uint(element, width)
        size = uint(string - (1 << (element_type & 3)), 1 << (element_type & 3))
        if string < 0 or string + size > len(raw):
            raise ValueError(f"FlexBuffer string {i} runs outside its bytes")
        out.append(raw[string : string + size])
    return out


# --- what a scan collects --------------------------------------------------------------------


@dataclass
class _Code:
    """One OperatorCode that is CUSTOM."""

    index: int
    name: str
    offset: int
    tf_ops: dict[str, str] = field(default_factory=dict)  # TF op -> where it was named
    attrs: dict[str, list[str]] = field(default_factory=dict)  # string attributes of its NodeDefs
    places: list[str] = field(default_factory=list)
    uses: int = 0
    unreadable_options: str = ""

    @property
    def flex(self) -> bool:
        return self.name.startswith(_FLEX_PREFIX)


@dataclass
class _Scan:
    ctx: ScanContext
    reader: _Reader
    codes: int = 0
    custom: dict[int, _Code] = field(default_factory=dict)
    metadata: list[tuple[str, int, int]] = field(default_factory=list)  # name, buffer, offset
    # Vectors are found by offset, so many tables can point at one vector, or at overlapping
    # ones. What is read of custom options and metadata buffers is remembered by position and
    # counted: past the file's size (plus one option blob), the rest is not read again.
    read: set[tuple[int, ...]] = field(default_factory=set)
    bytes_read: int = 0
    over_budget: bool = False

    def first_read(self, key: tuple[int, ...], size: int, what: str) -> bool:
        """Whether the vector at `key` should be read now (not read before, and within the
        budget); the first refusal on budget is reported."""
        if key in self.read:
            return False
        self.read.add(key)
        self.bytes_read += size
        if self.bytes_read <= self.reader.size + _MAX_OPTIONS:
            return True
        if not self.over_budget:
            self.over_budget = True
            self.ctx.report(
                "scan-limit",
                f"TFLite tables share or overlap {what}: reading them all would read more than "
                f"the file's {counted(self.reader.size, 'byte')} again; the rest was not analysed",
                evidence={
                    "limit": "tflite_reread_bytes",
                    "limit_value": str(self.reader.size + _MAX_OPTIONS),
                },
            )
        return False


# --- entry point -----------------------------------------------------------------------------


def scan_tflite(data: Data, ctx: ScanContext) -> None:
    scan = _Scan(ctx, _Reader(data, ctx))
    problem: tuple[str, str, int, str | None] | None = None
    try:
        _read_model(scan)
    except FlatBufferLimitError as exc:
        problem = ("scan-limit", f"TFLite model not fully analysed: {exc}", exc.offset, exc.limit)
    except FlatBufferError as exc:
        problem = ("scan-error", f"TFLite FlatBuffer is malformed: {exc}", exc.offset, None)
    except _OutOfTime:
        problem = (
            "scan-limit",
            f"time limit of {ctx.limits.max_seconds_per_file:g}s per file reached; TFLite model "
            "not fully analysed",
            0,
            "max_seconds_per_file",
        )
    # What was read before a problem is still reported.
    _report_ops(scan)
    if problem is not None:
        rule, message, offset, limit = problem
        ctx.report(rule, message, offset=offset, evidence={"limit": limit} if limit else None)


def _read_model(scan: _Scan) -> None:
    model = scan.reader.root()
    for index, code in model.tables(_M_OPERATOR_CODES, "operator_codes"):
        scan.codes += 1
        builtin = max(code.uint(_OC_BUILTIN, 4), code.uint(_OC_DEPRECATED_BUILTIN, 1))
        if builtin == _CUSTOM:  # TFLite's GetBuiltinCode: the larger of the two fields
            name = code.string(_OC_CUSTOM_CODE, f"custom_code of operator code {index}") or ""
            scan.custom[index] = _Code(index, name, code.pos)
    for index, subgraph in model.tables(_M_SUBGRAPHS, "subgraphs"):
        _read_subgraph(scan, index, subgraph)
    for index, entry in model.tables(_M_METADATA, "metadata"):
        name = entry.string(_MD_NAME, f"name of metadata {index}") or ""
        scan.metadata.append((name, entry.uint(_MD_BUFFER, 4), entry.pos))
    _read_buffers(scan, model)


def _read_subgraph(scan: _Scan, index: int, subgraph: _Table) -> None:
    name = subgraph.string(_SG_NAME, f"name of subgraph {index}")
    where = f"subgraph {index}" + (f" ({name})" if name else "")
    for number, operator in subgraph.tables(_SG_OPERATORS, f"operators of subgraph {index}"):
        opcode = operator.uint(_OP_OPCODE_INDEX, 4)
        if opcode >= scan.codes:
            raise FlatBufferError(
                f"operator {number} of {where} uses operator code {opcode}, but the model has {scan.codes}",
                operator.pos,
            )
        code = scan.custom.get(opcode)
        if code is None:
            continue
        code.uses += 1
        if len(code.places) < _MAX_SHOWN:
            code.places.append(f"{where}, operator {number}")
        if code.flex:
            _read_flex_options(scan, code, operator, f"{where}, operator {number}")


def _read_flex_options(scan: _Scan, code: _Code, operator: _Table, where: str) -> None:
    vector = operator.vector(_OP_CUSTOM_OPTIONS, 1, f"custom_options of {where}")
    if vector is None:  # a model over 2 GB keeps them after the FlatBuffer
        offset = operator.uint(_OP_LARGE_OPTIONS_OFFSET, 8)
        size = operator.uint(_OP_LARGE_OPTIONS_SIZE, 8)
        if offset > 1 and size:
            scan.reader.need(offset, size, f"large custom options of {where}")
            vector = (offset, size)
    if vector is None or not vector[1]:
        return
    start, length = vector[0], min(vector[1], _MAX_OPTIONS)
    if not scan.first_read((code.index, start, length), length, "the custom options of Flex operators"):
        return  # the same options of the same operator code tell nothing new
    options = bytes(scan.reader.buf[start : start + length])
    try:
        strings = _flex_strings(options)
        names = [strings[0].decode("utf-8", "backslashreplace")] if strings else []
        if len(strings) > 1:
            limit = scan.ctx.limits.max_proto_fields
            _, op, attrs = read_node_def(Message.parse(strings[1], max_fields=limit))
            names.append(op)
            for key, values in attrs.items():
                code.attrs.setdefault(key, []).extend(values)
    except (ValueError, WireError) as exc:  # WireError is a ValueError; named for the reader
        code.unreadable_options = f"{where}: {exc}"
        return
    for name in names:
        if name:
            code.tf_ops.setdefault(name, f"custom options of {where}")


def _read_buffers(scan: _Scan, model: _Table) -> None:
    """Every buffer's data lies inside the file; metadata buffers are sniffed and scanned."""
    wanted: dict[int, list[str]] = {}
    for name, buffer_index, _ in scan.metadata:
        wanted.setdefault(buffer_index, []).append(name)
    count = 0
    ctx = scan.ctx
    for index, buffer in model.tables(_M_BUFFERS, "buffers"):
        count += 1
        payload = buffer.vector(_B_DATA, 1, f"data of buffer {index}")
        offset, size = buffer.uint(_B_OFFSET, 8), buffer.uint(_B_SIZE, 8)
        if payload is None and offset > 1 and size:  # TFLite's test for data outside the FlatBuffer
            scan.reader.need(offset, size, f"data of buffer {index} (offset {offset}, size {size})")
            payload = (offset, size)
        if index not in wanted or payload is None:
            continue
        start, length = payload
        if not scan.first_read((start, length), length, "metadata buffers"):
            continue  # scanned already, or over the budget (reported)
        names = wanted[index]
        member = f"metadata {', '.join(repr(n) for n in names[:_MAX_SHOWN])}"
        if len(names) > _MAX_SHOWN:
            member += f" and {len(names) - _MAX_SHOWN} more"
        if length > ctx.limits.max_in_memory:
            ctx.report(
                "scan-limit",
                f"{member} buffer of {length} bytes exceeds {ctx.limits.max_in_memory} bytes; not analysed",
                offset=start,
                evidence={"limit": "max_in_memory"},
            )
            continue
        blob = bytes(scan.reader.buf[start : start + length])
        if sniff(blob) not in _PLAIN_FORMATS:
            ctx.scan_nested(blob, member)
    for name, buffer_index, offset in scan.metadata:
        if buffer_index >= count:
            raise FlatBufferError(
                f"metadata {name!r} names buffer {buffer_index}, but the model has {count}", offset
            )


# --- verdicts --------------------------------------------------------------------------------


def _report_ops(scan: _Scan) -> None:
    """One finding per (rule, op name, severity), listing the first few places."""
    for code in scan.custom.values():
        places = "; ".join(code.places) if code.places else "no operator uses it"
        evidence = {
            "custom_code": code.name,
            "operator_code": str(code.index),
            "where": places,
            "count": str(code.uses),
        }
        if code.unreadable_options:
            evidence["unreadable_options"] = code.unreadable_options
        if not code.flex:
            what = f"TFLite custom operator {code.name!r} needs a native kernel the user registers"
            scan.ctx.report("tflite-custom-op", f"{what}: {places}", offset=code.offset, evidence=evidence)
            continue
        tf_ops = {code.name[len(_FLEX_PREFIX) :]: "its custom code"}
        for op, named in code.tf_ops.items():
            tf_ops.setdefault(op, named)
        attrs = {
            f"attr.{k}": ", ".join(repr(v) for v in vs[:_MAX_SHOWN]) for k, vs in code.attrs.items() if vs
        }
        judged = False
        verdicts: dict[str, tuple[str, Severity, str] | None] = {}
        for op, named in tf_ops.items():
            # judge_op reads the attribute values only for PrintV2 and Debug* ops, and judges
            # every Debug* op by the same ones: judged once, not once per name (a file can name
            # thousands of ops and hold thousands of values, which made this quadratic).
            family = "Debug" if op.startswith("Debug") else op
            if family not in verdicts:
                verdicts[family] = judge_op(op, code.attrs)
            verdict = verdicts[family]
            if verdict is None and op in PATH_OPS:
                writes = PATH_OPS[op][1]
                verb = "writes" if writes else "reads"
                severity = Severity.HIGH if writes else Severity.MEDIUM
                verdict = (
                    "tf-file-op",
                    severity,
                    f"{verb} checkpoint or vocabulary files at a path from a tensor",
                )
            if verdict is None:
                continue
            judged = True
            rule, severity, what = verdict
            message = (
                f"TFLite Flex op {code.name!r} runs TensorFlow op {op} (named in {named}), which "
                f"{what}: {places}"
            )
            scan.ctx.report(
                rule, message, severity=severity, offset=code.offset, evidence={**evidence, **attrs, "op": op}
            )
        if not judged:
            ops = ", ".join(sorted(tf_ops))
            scan.ctx.report(
                "tflite-custom-op",
                f"TFLite Flex op {code.name!r} ({ops}) needs the Select TF ops delegate, i.e. the "
                f"TensorFlow runtime: {places}",
                severity=Severity.LOW,
                offset=code.offset,
                evidence=evidence,
            )
