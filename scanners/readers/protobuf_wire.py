"""A minimal, bounded reader of the protobuf wire format, for TensorFlow's files.

Why by hand: TensorFlow's message classes ship only with tensorflow (~500 MB) or tensorboard,
and the TF scanner needs a handful of fields (node op and name, function bodies, a few
attributes). The wire format is simple enough to walk directly, and walking it ourselves lets
every step be bounded: nesting depth, number of fields, lengths checked against the buffer.
ONNX files are read with the ``onnx`` package's own classes instead.

The reader works on anything indexable to ints and sliceable to bytes (``bytes``, ``mmap``,
``memoryview``) through offsets, so nothing is copied except the short strings asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
_MAX_VARINT_BYTES = 10
# protobuf's own parsers stop at 100 nested messages; TF's files nest a dozen deep.
DEFAULT_MAX_DEPTH = 100


class Buffer(Protocol):
    def __len__(self) -> int: ...
    def __getitem__(self, index, /): ...  # int -> int, slice -> bytes-like


class WireError(ValueError):
    """The bytes are not a valid protobuf message (truncated, overlong, bad wire type)."""

    def __init__(self, message: str, offset: int):
        super().__init__(f"{message} at offset {offset}")
        self.offset = offset


class WireLimitError(WireError):
    """A bound (nesting depth, number of fields) was reached: the message is not fully read."""

    def __init__(self, message: str, offset: int, limit: str):
        super().__init__(message, offset)
        self.limit = limit


@dataclass
class Bounds:
    """Shared by every message read from one buffer."""

    max_fields: int
    max_depth: int = DEFAULT_MAX_DEPTH
    fields_seen: int = 0


class Field(NamedTuple):
    number: int
    wire_type: int
    value: int  # VARINT/I64/I32: the value; LEN: the payload length
    start: int  # LEN: payload offset; otherwise the value's offset
    end: int  # offset just past the field


def read_varint(buf: Buffer, pos: int, end: int) -> tuple[int, int]:
    """Decode a varint at `pos`; returns (value, next position)."""
    result = 0
    shift = 0
    start = pos
    while True:
        if pos >= end:
            raise WireError("truncated varint", start)
        if pos - start >= _MAX_VARINT_BYTES:
            raise WireError("varint longer than 10 bytes", start)
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
    if result >> 64:
        raise WireError("varint exceeds 64 bits", start)
    return result, pos


def iter_fields(buf: Buffer, start: int, end: int, bounds: Bounds) -> Iterator[Field]:
    """The fields of the message occupying buf[start:end], in file order."""
    pos = start
    while pos < end:
        bounds.fields_seen += 1
        if bounds.fields_seen > bounds.max_fields:
            raise WireLimitError(f"more than {bounds.max_fields} protobuf fields", pos, "max_proto_fields")
        field_start = pos
        key = buf[pos]
        if key < 0x80:  # one-byte keys and lengths are the common case: skip the call
            pos += 1
        else:
            key, pos = read_varint(buf, pos, end)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0", field_start)
        if wire_type == VARINT:
            value, after = read_varint(buf, pos, end)
        elif wire_type == LEN:
            if pos < end and buf[pos] < 0x80:
                value, pos = buf[pos], pos + 1
            else:
                value, pos = read_varint(buf, pos, end)
            after = pos + value
        elif wire_type == I64:
            after = pos + 8
            value = int.from_bytes(buf[pos:after], "little") if after <= end else 0
        elif wire_type == I32:
            after = pos + 4
            value = int.from_bytes(buf[pos:after], "little") if after <= end else 0
        else:
            # Groups are proto2-only and absent from every TF message; skipping one means
            # parsing it, so refuse rather than guess.
            raise WireError(f"unsupported wire type {wire_type} (field {number})", field_start)
        if after > end:
            if wire_type == LEN:
                # A cut-off file: let the caller read what is there (a loader may act on it
                # too), then fail.
                yield Field(number, wire_type, value, pos, end)
            raise WireError(f"field {number} runs past the end of its message", field_start)
        yield Field(number, wire_type, value, pos, after)
        pos = after


@dataclass(frozen=True)
class Message:
    """A message inside `buf`, read lazily. `sub()` descends into a length-delimited field."""

    buf: Buffer
    start: int
    end: int
    bounds: Bounds
    depth: int = 0

    @classmethod
    def parse(cls, buf: Buffer, *, max_fields: int, max_depth: int = DEFAULT_MAX_DEPTH) -> Message:
        return cls(buf, 0, len(buf), Bounds(max_fields=max_fields, max_depth=max_depth))

    def __iter__(self) -> Iterator[Field]:
        return iter_fields(self.buf, self.start, self.end, self.bounds)

    def sub(self, field: Field) -> Message:
        if field.wire_type != LEN:
            raise WireError(
                f"field {field.number} should be a message, has wire type {field.wire_type}", field.start
            )
        if self.depth + 1 > self.bounds.max_depth:
            raise WireLimitError(
                f"messages nested deeper than {self.bounds.max_depth}", field.start, "max_proto_depth"
            )
        return Message(self.buf, field.start, field.end, self.bounds, self.depth + 1)

    def raw(self, field: Field, limit: int | None = None) -> bytes:
        """The payload of a length-delimited field (at most `limit` bytes of it)."""
        if field.wire_type != LEN:
            raise WireError(f"field {field.number} should be length-delimited", field.start)
        stop = field.end if limit is None else min(field.end, field.start + limit)
        return bytes(self.buf[field.start : stop])

    def text(self, field: Field, limit: int | None = None) -> str:
        """A string field; undecodable bytes are kept visible as escapes, never dropped."""
        return self.raw(field, limit).decode("utf-8", "backslashreplace")
