"""Keras HDF5 weights (`model.save_weights(...h5)`, `model.save(...h5)`): every dataset, read in
place. libhdf5 only tells where each dataset's bytes are, from a child process (the scanner's
HDF5 reader, which a crafted file can crash without taking aisbom down); the bytes themselves are
read here from the mapped file. Datasets stored in chunks or through filters (compression) are
not read statically: `--sandbox` can load those."""

from __future__ import annotations

import math
from pathlib import Path

from aisbom.convert.dtypes import from_numpy
from aisbom.convert.errors import ConversionError, Unsupported
from aisbom.convert.layout import Storage, TensorView, contiguous_strides, make_view
from aisbom.limits import Limits
from aisbom.scanners.frame.context import Data
from aisbom.scanners.keras.model_files import HDF5_CHILD
from aisbom.scanners.readers.child_process import Failure, ask

_MAX_DATASETS = 1_000_000


def read_hdf5(path: Path, data: Data, limits: Limits) -> dict[str, TensorView]:
    """Every dataset, named by its path in the file (`model_weights/dense/dense/kernel:0`)."""
    request = {"datasets": True, "path": str(path), "size": len(data), "max_datasets": _MAX_DATASETS}
    answer = ask(HDF5_CHILD, request, None, timeout=limits.max_hdf5_seconds, memory=limits.max_hdf5_memory)
    if isinstance(answer, Failure):
        raise ConversionError(f"the HDF5 reader failed: {answer.detail}")
    if answer.get("error") or not isinstance(answer.get("datasets"), list):
        raise ConversionError(f"the HDF5 reader failed: {answer.get('error')}")
    tensors: dict[str, TensorView] = {}
    for name, typestr, shape, offset, stored in answer["datasets"]:
        parsed = from_numpy(typestr) if isinstance(typestr, str) else None
        if parsed is None:
            raise ConversionError(f"dataset {name!r} has type {typestr!r}: not numbers")
        element, big = parsed
        shape = tuple(shape)
        nbytes = math.prod(shape) * element.itemsize
        if nbytes and offset is None:
            raise Unsupported(f"dataset {name!r} is chunked or compressed: only --sandbox reads it")
        if nbytes and (stored != nbytes or offset + nbytes > len(data)):
            raise ConversionError(
                f"dataset {name!r} says {stored} bytes at {offset}; its shape needs {nbytes}"
            )
        storage = Storage(name, element, nbytes, data, offset or 0, big_endian=big)
        tensors[name] = make_view(
            storage, element, 0, shape, contiguous_strides(shape), what=f"dataset {name!r}"
        )
    if not tensors:
        raise ConversionError("the HDF5 file holds no datasets")
    return tensors
