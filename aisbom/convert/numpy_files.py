"""NumPy `.npy` and `.npz` files: the header as numpy reads it (the scanner's reader), then the
array's bytes in place. Arrays of numbers only: an object array is a pickle (needs code), and
strings, records and dates have no safetensors type."""

from __future__ import annotations

from aisbom.convert.dtypes import from_numpy
from aisbom.convert.errors import ConversionError, NeedsCode
from aisbom.convert.layout import Storage, TensorView, contiguous_strides, make_view
from aisbom.limits import Limits
from aisbom.scanners.frame.context import Data
from aisbom.scanners.pickles.numpy_arrays import read_header
from aisbom.scanners.readers import zip_directory, zip_reader


def read_npy(
    data: Data,
    name: str,
    *,
    start: int = 0,
    size: int | None = None,
    max_header: int = Limits().max_npy_header,
) -> TensorView:
    """The array of the .npy held in data[start:start + size] (default: all of data)."""
    size = len(data) - start if size is None else min(size, len(data) - start)
    try:
        offset, shape, descr, fortran = read_header(
            data[start : start + min(size, max_header + 16)], max_header
        )
    except ValueError as exc:
        raise ConversionError(str(exc)) from None
    parsed = from_numpy(descr) if isinstance(descr, str) else None
    if parsed is None:
        if "O" in repr(descr):
            raise NeedsCode(
                f"array {name!r} holds Python objects (dtype {descr!r}): loading it unpickles them"
            )
        raise ConversionError(
            f"array {name!r} has dtype {descr!r}: not numbers, so safetensors cannot hold it"
        )
    element, big = parsed
    nbytes = element.itemsize
    for n in shape:
        nbytes *= n
    if size - offset < nbytes:
        raise ConversionError(
            f"array {name!r} is truncated: shape {shape} of {descr} needs {nbytes} bytes, "
            f"{size - offset} follow the header"
        )
    storage = Storage(name, element, nbytes, data, start + offset, big_endian=big)
    stride = contiguous_strides(shape[::-1])[::-1] if fortran else contiguous_strides(shape)
    return make_view(storage, element, 0, shape, stride, what=f"array {name!r}")


def read_npz(data: Data, limits: Limits) -> dict[str, TensorView]:
    """Every member, named as np.load names them (the member name without `.npy`); stored
    members are read in place, compressed ones inflated within the member size limit."""
    try:
        entries = zip_directory.entries_read_by(data, zip_directory.ZIPFILE, max_entries=limits.max_members)
    except zip_reader.ZipError as exc:
        raise ConversionError(f"not a readable .npz: {exc}") from None
    arrays: dict[str, TensorView] = {}
    for entry in entries:
        if entry.is_dir:
            continue
        name = entry.name[:-4] if entry.name.endswith(".npy") else entry.name
        if name in arrays:
            raise ConversionError(f"member {entry.name!r} appears twice")
        try:
            if entry.method == 0:
                start = zip_reader.data_offset(data, entry)
                arrays[name] = read_npy(
                    data, name, start=start, size=entry.compressed_size, max_header=limits.max_npy_header
                )
                continue
            got = zip_reader.read_member(data, entry, max_size=limits.max_member_size)
        except zip_reader.ZipError as exc:
            raise ConversionError(f"member {entry.name!r} cannot be read: {exc}") from None
        if got.truncated:
            raise ConversionError(f"member {entry.name!r} is larger than {limits.max_member_size} bytes")
        arrays[name] = read_npy(got.data, name, max_header=limits.max_npy_header)
    if not arrays:
        raise ConversionError("the .npz holds no arrays")
    return arrays
