"""safetensors files: the 8-byte header length, the JSON header, and the tensors' byte layout.

A safetensors file cannot run code; its risks are files that readers interpret differently
and bytes that no tensor accounts for. The header is parsed here by hand (it is one JSON
object), not with the `safetensors` library, because:

- the library stops at the first problem with one message; the scan should name every
  problem, with a severity, and keep going (hidden bytes are scanned as a file of their own);
- the library accepts some ambiguous headers silently: duplicate tensor names and duplicate
  `__metadata__` keys (serde keeps the last entry and never validates the first), leading
  whitespace and non-space padding, unknown fields in tensor entries;
- the scan must not depend on the library (a test dependency), and works on bytes inside
  archives as well as on memory-mapped files, reading only the header.

What the library's validation (safetensors/src/tensor.rs, `read_metadata` and `validate`)
already refuses is checked here too, so every file it refuses gets a finding: header length
over 100 MB or past the end, non-UTF-8 or non-JSON header, unknown dtype, non-integer shape
or offsets, __metadata__ values that are not strings, a byte range that is not
shape x dtype size (including sub-byte dtypes that do not end on a byte), ranges that do not
tile the data buffer exactly (overlaps, gaps, bytes after the last tensor). Tests compare
the two on every fixture.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.readers.dimensions import product_up_to
from aisbom.wording import counted

# Bits per element, from the safetensors Dtype enum (tensor.rs `bitsize`).
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8,
    "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64,
}  # fmt: skip
_FIELDS = ("dtype", "shape", "data_offsets")
# What `aisbom convert` records in the __metadata__ of what it writes: the source file's name,
# its SHA-256, and how it was read ("static" or "sandboxed").
SOURCE_KEY = "aisbom.source"
SOURCE_SHA256_KEY = "aisbom.source_sha256"
METHOD_KEY = "aisbom.conversion"
_JSON_SPACE = " \t\n\r"
_MAX_LISTED = 8
_U64 = 1 << 64


class _Pairs(list):
    """A JSON object as its (key, value) pairs in file order, so duplicate keys stay visible."""

    def last(self) -> dict:
        return dict(self)

    def duplicates(self) -> list[str]:
        seen: set[str] = set()
        repeated: set[str] = set()
        for key, _ in self:
            (repeated if key in seen else seen).add(key)
        return sorted(repeated)


class _NotJson(ValueError):
    pass


def _reject_constant(name: str) -> None:
    raise _NotJson(f"{name} is not JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_Pairs, parse_constant=_reject_constant)


@dataclass(frozen=True)
class _Tensor:
    """One tensor of the header: its name and the bytes its offsets give."""

    name: str
    begin: int
    end: int


def scan_safetensors(data: Data, ctx: ScanContext) -> None:
    size = len(data)
    if size < 8:
        _invalid(ctx, f"file of {size} bytes is shorter than the 8-byte header length")
        return
    (header_len,) = struct.unpack("<Q", data[:8])
    limit = ctx.limits.max_safetensors_header
    if header_len > limit:
        _invalid(ctx, f"header length {header_len} exceeds {limit} bytes (max_safetensors_header)", offset=0)
        return
    if 8 + header_len > size:
        _invalid(ctx, f"header length {header_len} runs past the end of the {size}-byte file", offset=0)
        return
    header = _parse_header(bytes(data[8 : 8 + header_len]), ctx)
    if header is None:
        return
    buffer_start = 8 + header_len
    tensors = _check_entries(header, size - buffer_start, ctx)
    _check_layout(tensors, data, buffer_start, ctx)


def _invalid(ctx: ScanContext, message: str, **kwargs) -> None:
    ctx.report("safetensors-header-invalid", message, **kwargs)


def _parse_header(raw: bytes, ctx: ScanContext) -> _Pairs | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        _invalid(ctx, f"header is not UTF-8 ({exc.reason} at header byte {exc.start})", offset=8 + exc.start)
        return None
    start = len(text) - len(text.lstrip(_JSON_SPACE))
    try:
        header, end = _DECODER.raw_decode(text, start)
    except (json.JSONDecodeError, _NotJson, ValueError, RecursionError) as exc:
        _invalid(ctx, f"header is not valid JSON: {str(exc)[:200] or type(exc).__name__}", offset=8)
        return None
    rest = text[end:]
    if rest.strip(_JSON_SPACE):
        _invalid(
            ctx,
            f"{counted(len(rest.encode()), 'byte')} after the JSON object inside the header; the library "
            "refuses such a header, readers that stop at the object's end accept it",
            offset=8 + len(text[:end].encode()),
        )
    if not isinstance(header, _Pairs):
        _invalid(ctx, f"header is a JSON {type(header).__name__}, not an object", offset=8)
        return None
    unusual = []
    if start:
        unusual.append(f"starts with {start} whitespace characters")
    if rest.strip(" ") and not rest.strip(_JSON_SPACE):
        unusual.append("is padded with whitespace other than spaces")
    if unusual:
        ctx.report("safetensors-header-unusual", f"the JSON header {' and '.join(unusual)}", offset=8)
    return header


def _check_entries(header: _Pairs, buffer_len: int, ctx: ScanContext) -> list[_Tensor]:
    """Validate every entry; returns the tensors whose offsets are usable, last entry per name
    (what the safetensors library and Python see; earlier duplicates are reported, not placed)."""
    duplicates = header.duplicates()
    if duplicates:
        listed = ", ".join(repr(d) for d in duplicates[:_MAX_LISTED])
        ctx.report(
            "safetensors-duplicate-key",
            f"header repeats key(s) {listed}: JSON readers disagree on which entry counts (Python "
            "and, for tensor names, the safetensors library keep the last one and never check the "
            "others; other readers keep the first)",
            evidence={"keys": ",".join(duplicates[:_MAX_LISTED])},
        )
    tensors: dict[str, _Tensor] = {}
    extra_fields: set[str] = set()
    odd_names: list[str] = []
    for name, entry in header:
        if name == "__metadata__":
            _check_metadata(entry, ctx)
            continue
        if any(ord(c) < 0x20 or c == "\x7f" for c in name):
            odd_names.append(name)
        tensor = _check_entry(name, entry, buffer_len, ctx, extra_fields)
        tensors.pop(name, None)
        if tensor is not None:
            tensors[name] = tensor
    unusual = []
    if extra_fields:
        fields = sorted(extra_fields)[:_MAX_LISTED]
        unusual.append(f"tensor entries have fields besides dtype/shape/data_offsets: {fields}")
    if odd_names:
        unusual.append(f"tensor names contain control characters: {odd_names[:_MAX_LISTED]}")
    for message in unusual:
        ctx.report("safetensors-header-unusual", message)
    return list(tensors.values())


def _check_metadata(entry: object, ctx: ScanContext) -> None:
    if entry is None:
        return  # the library reads null as "no metadata"
    if not isinstance(entry, _Pairs):
        _invalid(ctx, f"__metadata__ is a JSON {_kind(entry)}, not an object of strings")
        return
    duplicates = entry.duplicates()
    if duplicates:
        ctx.report(
            "safetensors-duplicate-key",
            f"__metadata__ repeats key(s) {duplicates[:_MAX_LISTED]}: readers disagree on which value counts",
            evidence={"keys": ",".join(duplicates[:_MAX_LISTED])},
        )
    bad = [key for key, value in entry if not isinstance(value, str)]
    if bad:
        _invalid(
            ctx,
            f"__metadata__ values of {bad[:_MAX_LISTED]} are not strings",
            evidence={"keys": ",".join(bad[:_MAX_LISTED])},
        )
    _report_conversion(entry.last(), ctx)


def _report_conversion(metadata: dict, ctx: ScanContext) -> None:
    """The conversion record `aisbom convert` writes, for the report and the BOM."""
    digest, source, method = (metadata.get(k) for k in (SOURCE_SHA256_KEY, SOURCE_KEY, METHOD_KEY))
    if not (isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        return
    if not (isinstance(source, str) and isinstance(method, str)):
        return
    ctx.report(
        "safetensors-converted",
        f"converted by aisbom ({method[:20]}) from {source[:200]!r}, sha256:{digest}",
        evidence={"source": source[:200], "source_sha256": digest, "method": method[:20]},
    )


def _kind(value: object) -> str:
    if isinstance(value, _Pairs):
        return "object"
    return {str: "string", bool: "boolean", int: "integer", float: "number", list: "array"}.get(
        type(value), "null"
    )


def _is_uint(value: object) -> bool:
    return type(value) is int and 0 <= value < _U64


def _check_entry(
    name: str, entry: object, buffer_len: int, ctx: ScanContext, extra_fields: set[str]
) -> _Tensor | None:
    label = f"tensor {name!r}"
    if not isinstance(entry, _Pairs):
        _invalid(ctx, f"{label}: entry is a JSON {_kind(entry)}, not an object", evidence={"tensor": name})
        return None
    duplicates = entry.duplicates()
    if duplicates:
        ctx.report(
            "safetensors-duplicate-key",
            f"{label}: entry repeats field(s) {duplicates}: the library refuses it, lenient readers keep one",
            evidence={"tensor": name, "keys": ",".join(duplicates)},
        )
    fields = entry.last()
    extra_fields.update(k for k in fields if k not in _FIELDS)
    missing = [k for k in _FIELDS if k not in fields]
    if missing:
        _invalid(ctx, f"{label}: entry lacks {missing}", evidence={"tensor": name})
        return None
    dtype, shape, offsets = fields["dtype"], fields["shape"], fields["data_offsets"]
    problems = []
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        problems.append(f"unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_is_uint(d) for d in shape):
        problems.append(f"shape {_short(shape)} is not a list of non-negative integers")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_uint(o) for o in offsets)) or (
        offsets[0] > offsets[1]
    ):
        problems.append(f"data_offsets {_short(offsets)} is not [begin, end] with 0 <= begin <= end")
        offsets = None
    if problems:
        _invalid(ctx, f"{label}: {'; '.join(problems)}", evidence={"tensor": name})
        if offsets is None:
            return None
        return _Tensor(name, offsets[0], offsets[1])  # still placed in the layout
    begin, end = offsets
    bits = product_up_to(shape, _U64) * DTYPE_BITS[dtype]
    if bits >= _U64:
        _invalid(
            ctx,
            f"{label}: shape {_short(shape)} of {dtype} overflows a 64-bit size",
            evidence={"tensor": name},
        )
    elif bits % 8:
        _invalid(
            ctx,
            f"{label}: shape {_short(shape)} of {dtype} does not end on a byte boundary",
            evidence={"tensor": name},
        )
    elif end - begin != bits // 8:
        ctx.report(
            "safetensors-offsets-invalid",
            f"{label}: byte range [{begin}, {end}) holds {counted(end - begin, 'byte')} but shape "
            f"{_short(shape)} of {dtype} needs {bits // 8}",
            evidence={"tensor": name},
        )
    if end > buffer_len:
        ctx.report(
            "safetensors-offsets-invalid",
            f"{label}: byte range [{begin}, {end}) runs past the {buffer_len}-byte data buffer",
            evidence={"tensor": name},
        )
    return _Tensor(name, begin, end)


def _short(value: object) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, _Pairs) else "{...}"
    return text if len(text) <= 80 else text[:77] + "..."


def _check_layout(tensors: list[_Tensor], data: Data, buffer_start: int, ctx: ScanContext) -> None:
    """The ranges must tile the data buffer: no overlap, no gap, nothing after the last one."""
    buffer_len = len(data) - buffer_start
    cursor = 0
    previous: _Tensor | None = None
    hidden: list[tuple[int, int]] = []
    for tensor in sorted(tensors, key=lambda t: (t.begin, t.end)):
        if tensor.begin < cursor and previous is not None:
            ctx.report(
                "safetensors-offsets-invalid",
                f"tensor {tensor.name!r} [{tensor.begin}, {tensor.end}) overlaps tensor {previous.name!r} "
                f"which ends at {cursor}: both read the same bytes",
                evidence={"tensor": tensor.name, "other": previous.name},
            )
        elif tensor.begin > cursor:
            hidden.append((cursor, min(tensor.begin, buffer_len)))
        if tensor.end > cursor:
            cursor, previous = tensor.end, tensor
    if cursor < buffer_len:
        hidden.append((cursor, buffer_len))
    for begin, end in hidden:
        if begin >= end:
            continue
        where = "after the last tensor" if end == buffer_len else "between tensors"
        ctx.report(
            "safetensors-hidden-data",
            f"{counted(end - begin, 'byte')} at data offset {begin} ({where}), part of no tensor",
            offset=buffer_start + begin,
            evidence={"begin": str(begin), "end": str(end)},
        )
        _scan_hidden(data, buffer_start + begin, buffer_start + end, ctx)


def _scan_hidden(data: Data, start: int, end: int, ctx: ScanContext) -> None:
    member = f"hidden bytes {start}-{end}"
    if end - start > ctx.limits.max_in_memory:
        ctx.report(
            "scan-limit",
            f"{end - start} hidden bytes exceed max_in_memory and were not scanned",
            offset=start,
            evidence={"limit": "max_in_memory"},
        )
        return
    ctx.scan_nested(bytes(data[start:end]), member)
