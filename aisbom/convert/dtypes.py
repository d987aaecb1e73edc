"""Element types: how torch, NumPy and safetensors name each one, and its size in bytes.

One table, so the static reader, the loader and the sandboxed child agree on every type torch
writes (torch/_utils.py `_element_size`, torch/storage.py's storage classes) and on what
safetensors can hold (its Dtype enum, as `safetensors.torch` maps torch dtypes to it).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class DType:
    name: str  # torch's name: torch.<name>
    itemsize: int  # bytes per element
    safetensors: str | None  # safetensors' dtype code; None: it has no such type
    numpy: str | None  # NumPy type string, little-endian; None: NumPy has no such type

    @property
    def swap_unit(self) -> int:
        """Bytes swapped together to change byte order (torch swaps complex numbers by halves)."""
        return self.itemsize // 2 if self.name.startswith("complex") else self.itemsize


def _table(*rows: tuple[str, int, str | None, str | None]) -> dict[str, DType]:
    return {name: DType(name, size, code, np) for name, size, code, np in rows}


DTYPES: dict[str, DType] = _table(
    ("float64", 8, "F64", "<f8"),
    ("float32", 4, "F32", "<f4"),
    ("float16", 2, "F16", "<f2"),
    ("bfloat16", 2, "BF16", None),
    ("int64", 8, "I64", "<i8"),
    ("int32", 4, "I32", "<i4"),
    ("int16", 2, "I16", "<i2"),
    ("int8", 1, "I8", "|i1"),
    ("uint8", 1, "U8", "|u1"),
    ("uint16", 2, "U16", "<u2"),
    ("uint32", 4, "U32", "<u4"),
    ("uint64", 8, "U64", "<u8"),
    ("bool", 1, "BOOL", "|b1"),
    ("complex64", 8, "C64", "<c8"),
    ("complex128", 16, None, "<c16"),
    ("complex32", 4, None, None),
    ("float8_e4m3fn", 1, "F8_E4M3", None),
    ("float8_e5m2", 1, "F8_E5M2", None),
    ("float8_e4m3fnuz", 1, "F8_E4M3FNUZ", None),
    ("float8_e5m2fnuz", 1, "F8_E5M2FNUZ", None),
    ("float8_e8m0fnu", 1, "F8_E8M0", None),
    # Two 4-bit floats per byte; safetensors counts elements, so its last dimension is doubled.
    ("float4_e2m1fn_x2", 1, "F4", None),
    ("qint8", 1, None, None),
    ("quint8", 1, None, None),
    ("qint32", 4, None, None),
    ("quint4x2", 1, None, None),
    ("quint2x4", 1, None, None),
    ("bits8", 1, None, None),
    ("bits16", 2, None, None),
    ("bits1x8", 1, None, None),
    ("bits2x4", 1, None, None),
    ("bits4x2", 1, None, None),
)

# Storage classes named in torch's persistent ids (torch.FloatStorage ...; torch.cuda.* in GPU
# checkpoints), and the element type each one holds. UntypedStorage holds bytes.
STORAGE_CLASSES: dict[str, str] = {
    "DoubleStorage": "float64",
    "FloatStorage": "float32",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexDoubleStorage": "complex128",
    "ComplexFloatStorage": "complex64",
    "QInt8Storage": "qint8",
    "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32",
    "QUInt4x2Storage": "quint4x2",
    "QUInt2x4Storage": "quint2x4",
    "UntypedStorage": "uint8",
}

# NumPy's (kind, itemsize) -> torch name, for .npy headers, joblib and pickled arrays.
_NUMPY_KINDS: dict[tuple[str, int], str] = {
    (dt.numpy[1], dt.itemsize): dt.name for dt in DTYPES.values() if dt.numpy is not None
}


def from_numpy(typestr: str) -> tuple[DType, bool] | None:
    """(element type, big-endian) of a NumPy type string such as '<f4', '>i8', '|b1'; None when
    it is not a plain numeric type (structured, strings, objects, datetimes ...)."""
    if len(typestr) < 3 or typestr[0] not in "<>|=" or not typestr[2:].isdigit():
        return None
    name = _NUMPY_KINDS.get((typestr[1], int(typestr[2:])))
    if name is None:
        return None
    big = typestr[0] == ">" or (typestr[0] == "=" and sys.byteorder == "big")
    return DTYPES[name], big
