"""GGUF (llama.cpp) model files: a bounded header parser, and the chat templates it carries.

Parsed by hand because the `gguf` package's reader memory-maps the file, builds a numpy view
of every tensor and trusts every count it reads; this parser checks each length against the
bytes left before using it, never touches tensor data, and reads string values only for the
keys it needs (templates, alignment).

Layout (all little-endian, or all big-endian for files converted for big-endian hosts):
magic "GGUF", version (1: 32-bit counts and lengths; 2, 3: 64-bit), tensor count, key/value
count, the key/values (key string, value type, value), the tensor infos (name, dimensions,
ggml type, offset into the data section), padding to `general.alignment`, the tensor data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.templates.jinja_analysis import check_template
from aisbom.scanners.templates.markers import looks_like_jinja
from aisbom.severity import Severity
from aisbom.wording import counted

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4  # GGML_MAX_DIMS: ggml tensors have a fixed array of 4 dimensions
MAX_NAME = 64  # GGML_MAX_NAME, terminating NUL included

_STRING, _ARRAY = 8, 9
# Value type -> size in bytes of the fixed-size ones (uint8 .. float64, bool).
_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_UINT32 = 4
# ggml type -> (elements per block, bytes per block), as in ggml's type traits.
GGML_TYPES = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 40), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
    15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
    21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8),
    28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17),
    40: (64, 36), 41: (128, 18),
}  # fmt: skip
_TIME_CHECK_EVERY = 1 << 16


class _Stop(Exception):
    """The header cannot be read further; the finding has been reported."""


@dataclass
class _TensorInfo:
    """One tensor's entry in the GGUF tensor-info table."""

    name: str
    dims: tuple[int, ...]
    ggml_type: int
    offset: int
    info_offset: int


class _Reader:
    def __init__(self, data: Data, ctx: ScanContext, byte_order: str, version: int) -> None:
        self.data = data
        self.ctx = ctx
        self.end = len(data)
        self.pos = 8
        self.u32 = struct.Struct(byte_order + "I")
        self.u64 = struct.Struct(byte_order + "Q")
        # Version 1 wrote counts, string lengths and dimensions as 32 bits.
        self.count = self.u32 if version == 1 else self.u64

    def fail(self, message: str, *, offset: int | None = None, severity: Severity = Severity.HIGH) -> _Stop:
        self.ctx.report(
            "gguf-header-invalid", message, severity=severity, offset=self.pos if offset is None else offset
        )
        return _Stop()

    def need(self, size: int, what: str) -> None:
        if size > self.end - self.pos:
            raise self.fail(
                f"{what} needs {size} bytes at offset {self.pos} but only "
                f"{self.end - self.pos} remain: the header is truncated or lies"
            )

    def read(self, fmt: struct.Struct, what: str) -> int:
        self.need(fmt.size, what)
        (value,) = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return int(value)

    def string_length(self, what: str) -> int:
        start = self.pos
        length = self.read(self.count, what)
        if length > self.end - self.pos:
            raise self.fail(
                f"{what} claims {length} bytes at offset {start} but only "
                f"{self.end - self.pos} remain: a lying length makes readers overread",
                offset=start,
            )
        if length > self.ctx.limits.max_gguf_string:
            self.ctx.report(
                "scan-limit",
                f"{what} of {length} bytes exceeds the limit of "
                f"{self.ctx.limits.max_gguf_string}; rest of the header not analysed",
                offset=start,
                evidence={"limit": "max_gguf_string"},
            )
            raise _Stop()
        return length

    def string(self, what: str) -> str:
        length = self.string_length(what)
        raw = bytes(self.data[self.pos : self.pos + length])
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def skip_string(self, what: str) -> tuple[int, int]:
        length = self.string_length(what)
        start = self.pos
        self.pos += length
        return start, length


def scan_gguf(data: Data, ctx: ScanContext) -> None:
    if len(data) < 8 or data[:4] != MAGIC:
        ctx.report("gguf-header-invalid", "file is shorter than the GGUF magic and version", offset=0)
        return
    byte_order = "<"
    (version,) = struct.unpack_from("<I", data, 4)
    if version not in (1, 2, 3):
        (swapped,) = struct.unpack_from(">I", data, 4)
        if swapped in (1, 2, 3):
            byte_order, version = ">", swapped  # written for a big-endian host
        else:
            ctx.report(
                "gguf-header-invalid",
                f"GGUF version {version} is unknown; the header was not analysed",
                offset=4,
            )
            return
    reader = _Reader(data, ctx, byte_order, version)
    try:
        _scan_header(reader, ctx)
    except _Stop:
        return


def _scan_header(reader: _Reader, ctx: ScanContext) -> None:
    limits = ctx.limits
    counts_at = reader.pos
    tensor_count = reader.read(reader.count, "tensor count")
    kv_count = reader.read(reader.count, "key/value count")
    for count, what, smallest in (
        (kv_count, "key/value", reader.count.size + 4 + 1),  # empty key, type, 1-byte value
        (tensor_count, "tensor info", reader.count.size + 4 + 4 + 8),  # empty name, 0 dims
    ):
        if count * smallest > reader.end - reader.pos:
            raise reader.fail(
                f"GGUF header declares {count} {what} entries, which cannot fit in "
                f"the {reader.end - reader.pos} bytes left: readers that allocate "
                "or loop by this count overrun",
                offset=counts_at,
            )
        if count > limits.max_gguf_entries:
            ctx.report(
                "scan-limit",
                f"GGUF header declares {count} {what} entries, over the limit "
                f"of {limits.max_gguf_entries}; not analysed",
                offset=counts_at,
                evidence={"limit": "max_gguf_entries"},
            )
            return

    alignment = DEFAULT_ALIGNMENT
    seen: set[str] = set()
    duplicates: list[str] = []
    for index in range(kv_count):
        if index % _TIME_CHECK_EVERY == 0 and _out_of_time(ctx, reader):
            return
        kv_at = reader.pos
        key = reader.string(f"key #{index}")
        if key in seen:
            duplicates.append(key)
        seen.add(key)
        value_type = reader.read(reader.u32, f"type of {key!r}")
        if key == "general.alignment" and value_type == _UINT32:
            alignment = reader.read(reader.u32, "general.alignment")
            if alignment == 0 or alignment & (alignment - 1):
                reader.fail(
                    f"general.alignment is {alignment}, not a power of two; llama.cpp "
                    "refuses the file and other readers compute different tensor offsets",
                    offset=kv_at,
                    severity=Severity.MEDIUM,
                )
                alignment = DEFAULT_ALIGNMENT
            continue
        if key == "general.alignment":
            reader.fail(
                f"general.alignment has value type {value_type}, not uint32: llama.cpp and gguf "
                "refuse the file, other readers fall back to 32",
                offset=kv_at,
                severity=Severity.MEDIUM,
            )
        _value(reader, ctx, key, value_type, depth=0, kv_at=kv_at)
    if duplicates:
        reader.fail(
            f"keys repeat ({', '.join(sorted(set(duplicates))[:5])}): readers disagree on "
            "which value counts (llama.cpp and gguf refuse the file)",
            offset=None,
            severity=Severity.MEDIUM,
        )

    tensors = _tensor_infos(reader, ctx, tensor_count)
    if tensors is None:
        return
    data_start = -(-reader.pos // alignment) * alignment
    _check_tensors(reader, ctx, tensors, data_start, alignment)


def _out_of_time(ctx: ScanContext, reader: _Reader) -> bool:
    if ctx.out_of_time():
        ctx.report(
            "scan-limit",
            f"time limit of {ctx.limits.max_seconds_per_file:g}s reached in the "
            "GGUF header; rest not analysed",
            offset=reader.pos,
            evidence={"limit": "max_seconds_per_file"},
        )
        return True
    return False


def _is_template_key(key: str) -> bool:
    return "chat_template" in key or "template" in key.lower()


def _value(reader: _Reader, ctx: ScanContext, key: str, value_type: int, *, depth: int, kv_at: int) -> None:
    if value_type in _SCALAR_SIZES:
        reader.need(_SCALAR_SIZES[value_type], f"value of {key!r}")
        reader.pos += _SCALAR_SIZES[value_type]
    elif value_type == _STRING:
        start, length = reader.skip_string(f"value of {key!r}")
        if _is_template_key(key):
            _template(reader, ctx, key, start, length)
    elif value_type == _ARRAY:
        _array(reader, ctx, key, depth=depth, kv_at=kv_at)
    else:
        raise reader.fail(
            f"{key!r} has value type {value_type}, which no GGUF version defines; "
            "its size is unknown, so nothing after it can be read",
            offset=kv_at,
        )


def _array(reader: _Reader, ctx: ScanContext, key: str, *, depth: int, kv_at: int) -> None:
    if depth >= ctx.limits.max_gguf_array_depth:
        ctx.report(
            "scan-limit",
            f"array {key!r} nests deeper than {ctx.limits.max_gguf_array_depth} "
            "arrays; rest of the header not analysed",
            offset=kv_at,
            evidence={"limit": "max_gguf_array_depth"},
        )
        raise _Stop()
    element_type = reader.read(reader.u32, f"element type of {key!r}")
    count_at = reader.pos
    count = reader.read(reader.count, f"length of {key!r}")
    if element_type in _SCALAR_SIZES:
        size = count * _SCALAR_SIZES[element_type]
        if size > reader.end - reader.pos:
            raise reader.fail(
                f"array {key!r} claims {count} elements ({size} bytes) but only "
                f"{reader.end - reader.pos} bytes remain",
                offset=count_at,
            )
        reader.pos += size
        return
    smallest = reader.count.size if element_type == _STRING else 4 + reader.count.size
    if element_type not in (_STRING, _ARRAY):
        raise reader.fail(
            f"array {key!r} has element type {element_type}, which no GGUF version defines",
            offset=count_at - 4,
        )
    if count * smallest > reader.end - reader.pos:
        raise reader.fail(
            f"array {key!r} claims {count} elements, which cannot fit in the "
            f"{reader.end - reader.pos} bytes left",
            offset=count_at,
        )
    templates = _is_template_key(key)
    if element_type == _STRING and not templates:
        _skip_strings(reader, ctx, key, count)
        return
    for index in range(count):
        if index % _TIME_CHECK_EVERY == 0 and index and ctx.out_of_time():
            _out_of_time(ctx, reader)
            raise _Stop()
        if element_type == _STRING:
            start, length = reader.skip_string(f"element {index} of {key!r}")
            _template(reader, ctx, f"{key}[{index}]", start, length, only_jinja=True)
        else:
            _array(reader, ctx, f"{key}[{index}]", depth=depth + 1, kv_at=kv_at)


def _skip_strings(reader: _Reader, ctx: ScanContext, key: str, count: int) -> None:
    """Vocabularies hold 100k+ strings: a tight loop over their lengths only."""
    unpack, width, data, end = reader.count.unpack_from, reader.count.size, reader.data, reader.end
    pos = reader.pos
    for index in range(count):
        if index % _TIME_CHECK_EVERY == 0 and index and ctx.out_of_time():
            reader.pos = pos
            _out_of_time(ctx, reader)
            raise _Stop()
        if pos + width > end:
            reader.pos = pos
            raise reader.fail(f"array {key!r} is cut off at element {index}")
        (length,) = unpack(data, pos)
        pos += width + length
        if pos > end:
            reader.pos = pos - length
            raise reader.fail(
                f"element {index} of {key!r} claims {length} bytes past the end of "
                "the file: a lying length makes readers overread"
            )
    reader.pos = pos


def _template(
    reader: _Reader, ctx: ScanContext, key: str, start: int, length: int, *, only_jinja: bool = False
) -> None:
    data = reader.data
    if "chat_template" not in key or only_jinja:
        # Other template-ish keys: only text that is Jinja at all.
        head = data[start : start + length] if length <= ctx.limits.max_template_chars * 4 else b""
        if not looks_like_jinja(head):
            return
    if length > ctx.limits.max_template_chars * 4:  # utf-8: up to 4 bytes a character
        ctx.report(
            "scan-limit",
            f"chat template {key!r} is {length} bytes, over the limit of "
            f"{ctx.limits.max_template_chars} characters; not analysed",
            offset=start,
            evidence={"key": key, "limit": "max_template_chars"},
        )
        return
    source = bytes(data[start : start + length]).decode("utf-8", errors="replace")
    check_template(source, ctx, key=key, offset=start)


def _tensor_infos(reader: _Reader, ctx: ScanContext, count: int) -> list[_TensorInfo] | None:
    tensors: list[_TensorInfo] = []
    names: set[str] = set()
    for index in range(count):
        if index % _TIME_CHECK_EVERY == 0 and _out_of_time(ctx, reader):
            return None
        info_at = reader.pos
        name = reader.string(f"name of tensor #{index}")
        n_dims = reader.read(reader.u32, f"dimension count of {name!r}")
        if n_dims > MAX_DIMS:
            raise reader.fail(
                f"tensor {name!r} claims {n_dims} dimensions; ggml has room for "
                f"{MAX_DIMS} (older loaders overflow their dimension array)",
                offset=info_at,
            )
        dims = tuple(reader.read(reader.count, f"dimensions of {name!r}") for _ in range(n_dims))
        ggml_type = reader.read(reader.u32, f"type of {name!r}")
        offset = reader.read(reader.u64, f"offset of {name!r}")
        if name in names:
            reader.fail(
                f"tensor name {name!r} repeats: readers disagree on which data it names",
                offset=info_at,
                severity=Severity.MEDIUM,
            )
        elif len(name.encode()) >= MAX_NAME:
            reader.fail(
                f"tensor name {name[:80]!r} is {counted(len(name.encode()), 'byte')}; llama.cpp refuses "
                f"names of {MAX_NAME} bytes or more",
                offset=info_at,
                severity=Severity.MEDIUM,
            )
        names.add(name)
        tensors.append(_TensorInfo(name, dims, ggml_type, offset, info_at))
    return tensors


def _check_tensors(
    reader: _Reader, ctx: ScanContext, tensors: list[_TensorInfo], data_start: int, alignment: int
) -> None:
    if tensors and data_start > reader.end:
        raise reader.fail(
            f"the tensor data section should start at {data_start}, past the end of "
            f"the {reader.end}-byte file: the file is truncated",
            offset=reader.pos,
        )
    spans: list[tuple[int, int, str]] = []
    for tensor in tensors:
        where = tensor.info_offset
        if tensor.ggml_type not in GGML_TYPES:
            reader.fail(
                f"tensor {tensor.name!r} has ggml type {tensor.ggml_type}, which this scanner "
                "does not know (llama.cpp refuses unknown types); its size is unchecked",
                offset=where,
                severity=Severity.MEDIUM,
            )
            continue
        block, block_bytes = GGML_TYPES[tensor.ggml_type]
        elements = 1
        for dim in tensor.dims:
            elements *= dim
        if elements >= 1 << 63:
            raise reader.fail(
                f"tensor {tensor.name!r} has dimensions {list(tensor.dims)} whose product "
                "overflows 64 bits: size computations wrap around",
                offset=where,
            )
        if tensor.dims and tensor.dims[0] % block:
            reader.fail(
                f"tensor {tensor.name!r}: first dimension {tensor.dims[0]} is not a multiple "
                f"of its type's block size {block} (llama.cpp refuses it)",
                offset=where,
                severity=Severity.MEDIUM,
            )
        size = elements // block * block_bytes
        if tensor.offset % alignment:
            reader.fail(
                f"tensor {tensor.name!r} starts at data offset {tensor.offset}, not a multiple "
                f"of the alignment {alignment} (llama.cpp refuses it)",
                offset=where,
                severity=Severity.MEDIUM,
            )
        start = data_start + tensor.offset
        if start + size > reader.end:
            reader.fail(
                f"tensor {tensor.name!r} spans bytes {start}..{start + size} of a "
                f"{reader.end}-byte file: loaders that map it read out of bounds (or the "
                "file is truncated)",
                offset=where,
            )
            continue
        if size:
            spans.append((start, start + size, tensor.name))
    spans.sort()
    overlapping: list[tuple[str, str]] = []
    furthest_end, furthest_name = 0, ""
    for start, end, name in spans:
        if start < furthest_end:
            overlapping.append((furthest_name, name))
        if end > furthest_end:
            furthest_end, furthest_name = end, name
    if overlapping:
        first, second = overlapping[0]
        reader.fail(
            f"{len(overlapping)} tensor(s) overlap others' data (first: {first!r} and "
            f"{second!r}): one write changes two tensors, and readers that check layout "
            "refuse the file",
            offset=None,
            severity=Severity.MEDIUM,
        )
