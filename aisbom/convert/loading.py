"""`aisbom.load_tensors`: a third-party checkpoint's tensors, handed over without running it.

The same path as `aisbom convert`: the file is scanned (refused unless clean at the default
policy), then read statically. The arrays are views of a private (copy-on-write) mapping of the
file wherever the bytes allow it (stored in place, little-endian, aligned): nothing is copied
until written, and writes never reach the file. Tensors tied under two names share memory, as
torch.load returns them; views keep their checkpoint's strides.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import Any

from aisbom.convert.errors import ConversionError
from aisbom.convert.layout import TensorView, byteswapped
from aisbom.convert.source import scanned
from aisbom.convert.static import read_static
from aisbom.errors import UsageError
from aisbom.limits import Limits

FORMATS = ("numpy", "torch")


def load_tensors(path: str | os.PathLike[str], *, format: str = "numpy") -> dict[str, Any]:
    """Every tensor of the checkpoint at `path`, by name (as `aisbom convert` names them): NumPy
    arrays, or torch tensors with format="torch" (torch must be installed; it is never asked to
    unpickle anything). Raises UnsafeInput when the scan is not clean, NeedsCode when rebuilding
    the file would need code to run, ConversionError when it is malformed."""
    if format not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    limits = Limits()
    with scanned(Path(path), limits, private=True) as source:
        flat = read_static(source, limits)
    make = _torch_tensor if format == "torch" else _numpy_array
    bases: dict[Any, Any] = {}  # per storage: its copy when it cannot be used in place
    return {name: make(name, view, bases) for name, view in flat.tensors.items()}


def _base(view: TensorView, bases: dict[int, bytearray]) -> tuple[Any, int]:
    """(buffer, offset) holding the view's storage: the mapped file in place when its bytes are
    little-endian and aligned for the view's type, else one aligned, byte-swapped copy of the
    storage, shared by every view of it (so tied tensors still share memory)."""
    storage = view.storage
    swap = storage.dtype.swap_unit if storage.big_endian else 1
    if isinstance(storage.data, mmap.mmap) and swap == 1 and storage.start % view.dtype.itemsize == 0:
        return storage.data, storage.start
    if id(storage) not in bases:
        bases[id(storage)] = bytearray(byteswapped(storage.read(0, storage.nbytes), swap))
    return bases[id(storage)], 0


def _numpy_array(name: str, view: TensorView, bases: dict[int, Any]) -> Any:
    import numpy as np

    if view.dtype.numpy is None:
        raise ConversionError(
            f"tensor {name!r} is {view.dtype.name}, which NumPy has no type for; use format='torch'"
        )
    size = view.dtype.itemsize
    buffer, start = _base(view, bases)
    return np.ndarray(
        view.shape,
        dtype=np.dtype(view.dtype.numpy),
        buffer=buffer,
        offset=start + view.offset * size,
        strides=tuple(s * size for s in view.stride),
    )


def _torch_tensor(name: str, view: TensorView, bases: dict[int, Any]) -> Any:
    import torch

    dtype = getattr(torch, view.dtype.name)
    size = view.dtype.itemsize
    buffer, start = _base(view, bases)
    usable = view.storage.nbytes - view.storage.nbytes % size
    if usable == 0:
        return torch.empty(view.shape, dtype=dtype)
    key = (id(buffer), start, view.dtype.name)
    if key not in bases:  # one tensor per storage and type: views of it share memory
        bases[key] = torch.frombuffer(buffer, dtype=torch.uint8, count=usable, offset=start).view(dtype)  # type: ignore[index]
    return bases[key].as_strided(view.shape, view.stride, view.offset)  # type: ignore[index]
