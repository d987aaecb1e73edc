"""NumPy `.npy` arrays (alone, or as members of an `.npz`).

The header is parsed here by hand, the way numpy's own reader does it (magic, version, length,
then `ast.literal_eval` of a dict literal: never `eval`). numpy is deliberately not imported:
it is a test-only dependency of aisbom, its reader would be just as safe but importing it costs
more start-up time than scanning thousands of small arrays, and the scan must not depend on
which numpy version happens to be installed.

Only one thing in an `.npy` file can run code: an array whose dtype holds Python objects
(`hasobject`), whose payload is a pickle that `np.load` unpickles when pickles are allowed. That
pickle is scanned with the pickle engine. Any other array is plain bytes, checked only for size.
"""

from __future__ import annotations

import ast
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.wording import counted

MAGIC = b"\x93NUMPY"
# version -> (length field format, header encoding), as numpy writes them.
_VERSIONS = {(1, 0): ("<H", "latin1"), (2, 0): ("<I", "latin1"), (3, 0): ("<I", "utf8")}
_KEYS = {"descr", "fortran_order", "shape"}

# '<f4', '|b1', '<U10', '<M8[ns]', '|O', 'O8' ...: byte order, kind, size, datetime unit.
_TYPESTR = re.compile(r"^([<>|=!]?)([A-Za-z?])(\d*)(\[\w+\])?$")
# Size in bytes per unit of the size digits (U counts 4-byte code points).
_SIZED = {"b": 1, "i": 1, "u": 1, "f": 1, "c": 1, "S": 1, "a": 1, "V": 1, "U": 4}
_VALID_SIZES = {
    "b": {1},
    "i": {1, 2, 4, 8},
    "u": {1, 2, 4, 8},
    "f": {2, 4, 8, 12, 16},
    "c": {8, 16, 24, 32},
    "M": {8},
    "m": {8},
    "O": {4, 8},
}
# One-character type codes without a size. 'l', 'g', 'p' are platform-dependent in numpy;
# these are the 64-bit Linux/macOS values (numpy itself always writes explicit sizes).
_CODES = {
    "?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "q": 8, "Q": 8,
    "p": 8, "P": 8, "n": 8, "N": 8, "e": 2, "f": 4, "d": 8, "g": 16, "F": 8, "D": 16, "G": 32,
    "S": 0, "a": 0, "U": 0, "V": 0, "c": 1, "M": 8, "m": 8,
}  # fmt: skip
_NAMES = {
    "bool": 1, "bool_": 1, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4,
    "uint32": 4, "int64": 8, "uint64": 8, "float16": 2, "float32": 4, "float64": 8,
    "complex64": 8, "complex128": 16, "half": 2, "single": 4, "double": 8, "float": 8,
    "int": 8, "complex": 16, "byte": 1, "ubyte": 1, "short": 2, "ushort": 2, "intc": 4,
    "uintc": 4, "longlong": 8, "ulonglong": 8, "intp": 8, "uintp": 8,
}  # fmt: skip
_OBJECT_NAMES = {"object", "object_", "O"}


_HUGE = 1 << 64  # no dtype is this large; past it, sizes are only "too big"


class _BadHeader(Exception):
    pass


@dataclass(frozen=True)
class _Dtype:
    """What a dtype string says about an array's items."""

    itemsize: int | None  # None: not understood
    objects: bool | None  # holds Python objects; None: not understood


def scan_npy(data: Data, ctx: ScanContext) -> None:
    try:
        header_end, header = _read_header(data, ctx.limits.max_npy_header)
        shape, dtype = _check_header(header)
    except _HeaderTooLarge as exc:
        ctx.report(
            "scan-limit",
            f".npy header of {exc.size} bytes exceeds {ctx.limits.max_npy_header} "
            "(max_npy_header); the array was not analysed",
            evidence={"limit": "max_npy_header", "header_size": str(exc.size)},
        )
        return
    except _BadHeader as exc:
        ctx.report("scan-error", f"malformed .npy header: {exc}", evidence={"format": "numpy"})
        return

    descr, dims = _short(header["descr"]), _short(shape)
    objects = dtype.objects
    if objects is None and _pickle_follows(data, header_end):
        objects = True  # a descr we do not know, followed by a pickle: assume numpy unpickles it
    if objects:
        ctx.report(
            "numpy-object-array",
            f"array of Python objects (dtype {descr}, shape {dims}): np.load unpickles its "
            "payload when allow_pickle is set",
            evidence={"descr": descr, "shape": dims},
        )
        from aisbom.scanners.pickles.stream import scan_pickle_stream  # late: the engine is large

        end = scan_pickle_stream(data, ctx, start=header_end, max_pickles=1)
        if end is not None and end < len(data):
            ctx.report(
                "pickle-trailing-data",
                f"{counted(len(data) - end, 'byte')} after the pickled array at offset {end}; np.load "
                "ignores what follows the array",
                offset=end,
            )
        return
    if dtype.itemsize is None:
        # numpy never writes such a descriptor; if it means objects to numpy, the payload is
        # unpickled (and a pickle with trailing bytes can escape the check above).
        ctx.report(
            "scan-error",
            f"dtype descriptor {descr} not understood, so the array was not checked; its "
            "payload does not start like a pickle",
            evidence={"descr": descr},
        )
        return
    actual = len(data) - header_end
    expected = _product([*shape, dtype.itemsize], bound=actual)
    if actual != expected and not (actual < expected and "cut" in ctx.hints):
        what = "truncated" if actual < expected else "oversized"
        ctx.report(
            "scan-error",
            f"{what} array data: {actual} bytes after the header, but shape {dims} of dtype "
            f"{descr} needs {'more' if expected > actual else expected}",
            offset=header_end,
            evidence={"expected": str(expected), "actual": str(actual), "descr": descr},
        )


def holds_no_objects(head: bytes) -> bool:
    """True when `head` starts an .npy file whose dtype is known to hold no Python objects:
    its data is plain numbers that cannot carry a pickle (so no compression-ratio limit is
    needed to read it safely)."""
    if head[:6] != MAGIC:
        return False
    try:
        _, header = _read_header(head, len(head))
        _, dtype = _check_header(header)
    except (_BadHeader, _HeaderTooLarge):
        return False
    return dtype.objects is False and dtype.itemsize is not None


class _HeaderTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _read_header(data: Data, max_header: int) -> tuple[int, dict[str, object]]:
    """(offset of the array data, header dict), as numpy's _read_array_header reads them."""
    prefix = bytes(data[:12])
    if prefix[:6] != MAGIC or len(prefix) < 10:
        raise _BadHeader("too short")
    version = (prefix[6], prefix[7])
    if version not in _VERSIONS:
        raise _BadHeader(f"unknown format version {version[0]}.{version[1]}")
    length_format, encoding = _VERSIONS[version]
    start = 6 + 2 + struct.calcsize(length_format)
    if len(prefix) < start:
        raise _BadHeader("truncated header length")
    (length,) = struct.unpack(length_format, prefix[8:start])
    if length > max_header:
        raise _HeaderTooLarge(length)
    raw = data[start : start + length]
    if len(raw) < length:
        raise _BadHeader(f"header of {length} bytes truncated to {len(raw)}")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _BadHeader(f"header is not {encoding}: {exc.reason}") from None
    try:
        header = _literal(text)
    except SyntaxError:
        if version > (2, 0):
            raise _BadHeader("header is not a Python literal") from None
        # Python 2 wrote long integers with an 'L' suffix; numpy filters them out and retries.
        try:
            header = _literal(re.sub(r"\b(\d+)[lL]\b", r"\1", text))
        except SyntaxError:
            raise _BadHeader("header is not a Python literal") from None
    if not isinstance(header, dict):
        raise _BadHeader("header is not a dict")
    return start + length, header


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except SyntaxError:
        raise
    except (ValueError, TypeError, MemoryError, RecursionError) as exc:
        # Not a literal (a name, a call ...), or one too deep / too large to build.
        raise _BadHeader(f"header is not a plain literal ({type(exc).__name__})") from None


def _check_header(header: dict[str, object]) -> tuple[tuple[int, ...], _Dtype]:
    if set(header) != _KEYS:
        raise _BadHeader(f"keys are {sorted(map(str, header))}, expected {sorted(_KEYS)}")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(_is_int(n) and n >= 0 for n in shape):
        raise _BadHeader(f"shape is not a tuple of sizes: {_short(shape)}")
    if not isinstance(header["fortran_order"], bool):
        raise _BadHeader(f"fortran_order is not a bool: {_short(header['fortran_order'])}")
    return shape, _dtype(header["descr"], depth=0)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _dtype(descr: object, depth: int) -> _Dtype:
    """Item size and object-ness of a dtype descriptor, mirroring numpy's descr_to_dtype."""
    if depth > 32:
        raise _BadHeader("dtype descriptor nested too deeply")
    if isinstance(descr, str):
        return _typestr(descr)
    if isinstance(descr, tuple):  # (base, shape): a subarray
        if len(descr) != 2:
            raise _BadHeader(f"subarray descriptor is not (dtype, shape): {_short(descr)}")
        base = _dtype(descr[0], depth + 1)
        count = _count(descr[1])
        return _Dtype(None if base.itemsize is None else base.itemsize * count, base.objects)
    if isinstance(descr, list):  # structured: [(name, dtype[, shape]), ...]
        size: int | None = 0
        flags: set[bool | None] = set()
        for field in descr:
            if not isinstance(field, (tuple, list)) or len(field) not in (2, 3):
                raise _BadHeader(f"structured field is not (name, dtype[, shape]): {_short(field)}")
            name = field[0]
            if not (isinstance(name, str) or (isinstance(name, tuple) and len(name) == 2)):
                raise _BadHeader(f"field name is not a string: {_short(name)}")
            sub = _dtype(field[1], depth + 1)
            count = _count(field[2]) if len(field) == 3 else 1
            size = None if size is None or sub.itemsize is None else size + sub.itemsize * count
            flags.add(sub.objects)
        objects = True if True in flags else (None if None in flags else False)
        return _Dtype(size, objects)
    if isinstance(descr, dict):
        return _Dtype(None, None)  # numpy iterates the keys as fields: too odd to model
    raise _BadHeader(f"descr is not a dtype descriptor: {_short(descr)}")


def _count(shape: object) -> int:
    if isinstance(shape, int) and not isinstance(shape, bool) and shape >= 0:
        return min(shape, _HUGE)
    if isinstance(shape, tuple) and all(_is_int(n) and n >= 0 for n in shape):
        return _product(shape, bound=_HUGE)
    raise _BadHeader(f"subarray shape is not a tuple of sizes: {_short(shape)}")


def _product(values: Iterable[int], bound: int) -> int:
    """The product of `values`, or `bound + 1` as soon as it exceeds `bound`: a header full of
    huge dimensions must not turn into a multi-million-digit multiplication."""
    numbers = list(values)
    if 0 in numbers:
        return 0
    total = 1
    for n in numbers:
        total *= n
        if total > bound:
            return bound + 1
    return total


def _typestr(text: str) -> _Dtype:
    name = text.strip()
    if name in _OBJECT_NAMES:
        return _Dtype(8, True)
    if name in _NAMES:
        return _Dtype(_NAMES[name], False)
    match = _TYPESTR.match(name)
    if match:
        kind, digits = match.group(2), match.group(3)
        if kind == "O" and (not digits or int(digits) in _VALID_SIZES["O"]):
            return _Dtype(8, True)
        if kind == "T" and not digits:  # numpy 2's StringDType: np.save pickles it
            return _Dtype(16, True)
        if not digits and kind in _CODES:
            return _Dtype(_CODES[kind], False)
        if digits:
            size = int(digits)
            if kind in ("M", "m") and size in _VALID_SIZES[kind]:
                return _Dtype(8, False)
            if kind in _SIZED and size in _VALID_SIZES.get(kind, {size}):
                return _Dtype(size * _SIZED[kind], False)
    # Anything else numpy may still accept ('i4,O', '(2,)O', 'object0' ...). An 'O' or
    # 'object' in it means objects as far as we can tell; otherwise we do not know.
    if "O" in name or "object" in name:
        return _Dtype(None, True)
    return _Dtype(None, None)


_FLEXIBLE = re.compile(r"^[<>|=!]?[SUVa]\d*$|^(str_?|unicode_?|bytes_?|string_?|void\d*)$")


def pickled_itemsize(typestr: str, elsize: object) -> int | None:
    """Bytes per item of numpy.dtype(typestr, align, copy) after __setstate__ with the state's
    `elsize`, as numpy resolves them: the name's own size ('float64' and 'f8' are 8 bytes), and
    the state's size only for flexible types (bytes, str, void), whose size it is; None if the
    name is not understood."""
    name = typestr.strip()
    if _FLEXIBLE.match(name) and isinstance(elsize, int) and not isinstance(elsize, bool) and elsize > 0:
        return elsize
    itemsize = _typestr(name).itemsize
    return itemsize if itemsize else None


def _pickle_follows(data: Data, start: int) -> bool:
    head = data[start : start + 2]
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return True
    from aisbom.scanners.pickles.engine import looks_like_pickle  # late: the engine is large

    return looks_like_pickle(data[start : start + 65536])


def _short(value: object, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_header(data: Data, max_header: int) -> tuple[int, tuple[int, ...], object, bool]:
    """(offset of the array data, shape, descr, fortran_order) of an .npy file, read and checked
    as above; for readers of the array data (aisbom convert). Raises ValueError."""
    try:
        offset, header = _read_header(data, max_header)
        shape, _dtype_info = _check_header(header)
    except _HeaderTooLarge as exc:
        raise ValueError(f".npy header of {exc.size} bytes exceeds {max_header}") from None
    except _BadHeader as exc:
        raise ValueError(f"malformed .npy header: {exc}") from None
    return offset, shape, header["descr"], bool(header["fortran_order"])
