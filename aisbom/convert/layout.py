"""Tensors as a checkpoint lays them out: a storage (raw bytes somewhere in the file) and a view
of it (element type, offset, shape, stride), as torch's `set_` takes them. Checked against the
storage's size the way torch checks them, then copied out in C order, byte-swapped where the
file's byte order is not little-endian.

The copy uses memoryview casts and strided slices (no NumPy: it is not a dependency), looping in
Python over all axes but the longest, which is copied by one strided slice.
"""

from __future__ import annotations

import array
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aisbom.convert.dtypes import DType
from aisbom.convert.errors import ConversionError
from aisbom.scanners.frame.context import Data

_CHUNK = 16 * 1024 * 1024  # bytes copied out of a mapped file at a time
_CAST: dict[int, Any] = {1: "B", 2: "H", 4: "I", 8: "Q"}  # memoryview formats by item size


@dataclass(eq=False)
class Storage:
    """The bytes of one storage: `data[start:start + nbytes]`."""

    key: str
    dtype: DType  # what the storage holds; torch swaps byte order by its element size
    nbytes: int
    data: Data
    start: int
    big_endian: bool = False

    def read(self, begin: int, end: int) -> bytes:
        return self.data[self.start + begin : self.start + end]


@dataclass(frozen=True)
class TensorView:
    storage: Storage
    dtype: DType
    offset: int  # in elements of dtype, from the start of the storage
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize

    def byte_span(self) -> tuple[int, int]:
        """The bytes of the storage this view touches: [first, end)."""
        if self.numel == 0:
            return (self.offset * self.dtype.itemsize,) * 2
        last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride, strict=True))
        return self.offset * self.dtype.itemsize, (last + 1) * self.dtype.itemsize

    def is_contiguous(self) -> bool:
        return self.numel == 0 or all(
            n == 1 or s == expected
            for n, s, expected in zip(self.shape, self.stride, contiguous_strides(self.shape), strict=True)
        )


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def make_view(
    storage: Storage, dtype: DType, offset: object, shape: object, stride: object, *, what: str
) -> TensorView:
    """A view checked as torch's `set_` checks it: non-negative integers, and every element it
    touches inside the storage. Raises ConversionError naming `what`."""
    if not _ints(offset) or not isinstance(shape, tuple) or not isinstance(stride, tuple):
        raise ConversionError(f"{what}: offset, shape or stride is not made of integers")
    if not (_ints(*shape) and _ints(*stride)) or len(shape) != len(stride):
        raise ConversionError(f"{what}: shape {shape!r} and stride {stride!r} do not match")
    view = TensorView(storage, dtype, offset, shape, stride)  # type: ignore[arg-type]
    # No storage has 2**62 of anything: past that a crafted shape is refused before the span
    # below turns into arithmetic on huge integers.
    if any(n.bit_length() > 62 for n in (*shape, *stride, offset)):  # type: ignore[union-attr]
        raise ConversionError(f"{what}: shape {shape!r} is larger than any storage")
    first, end = view.byte_span()
    if view.numel and end > storage.nbytes:
        raise ConversionError(
            f"{what}: shape {shape!r}, stride {stride!r} at offset {offset} reaches byte {end} "
            f"of a storage of {storage.nbytes} bytes"
        )
    if first > storage.nbytes:
        raise ConversionError(f"{what}: offset {offset} is past the end of its storage")
    return view


def _ints(*values: object) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values)


def tensor_bytes(view: TensorView) -> Iterator[bytes | bytearray]:
    """The view's elements in C order, little-endian, in chunks."""
    storage = view.storage
    swap = storage.dtype.swap_unit if storage.big_endian else 1
    if view.is_contiguous():
        first, end = view.byte_span()
        step = _CHUNK - _CHUNK % 16
        for pos in range(first, end, step):
            yield byteswapped(storage.read(pos, min(end, pos + step)), swap)
        return
    first, end = view.byte_span()
    window = storage.read(first, end)  # the bytes the view touches, once
    rebased = TensorView(storage, view.dtype, 0, view.shape, view.stride)
    yield byteswapped(_gather(window, rebased), swap)


def byteswapped(chunk: bytes | bytearray, unit: int) -> bytes | bytearray:
    """`chunk` with the order of each `unit` bytes reversed (unit 1: unchanged)."""
    if unit == 1:
        return chunk
    words = array.array(_CAST[unit])
    if words.itemsize != unit:  # no such C type on this platform: reverse slice by slice
        return b"".join(chunk[i : i + unit][::-1] for i in range(0, len(chunk), unit))
    words.frombytes(chunk)
    words.byteswap()
    return words.tobytes()


def _gather(window: bytes, view: TensorView) -> bytearray:
    """Copy a strided view (offset 0 into `window`) out in C order."""
    size = view.dtype.itemsize
    lanes, unit = (2, 8) if size == 16 else (1, size)
    shape, stride = view.shape, view.stride
    out = bytearray(view.nbytes)
    if not shape:  # a scalar
        out[:] = window[:size]
        return out
    # Copy along the longest axis with one strided slice; loop over the others.
    axis = max(range(len(shape)), key=lambda i: shape[i])
    length = shape[axis]
    out_strides = contiguous_strides(shape)
    src = memoryview(window[: len(window) - len(window) % unit]).cast(_CAST[unit])
    dst = memoryview(out).cast(_CAST[unit])
    others = [i for i in range(len(shape)) if i != axis]
    src_step, dst_step = stride[axis] * lanes, out_strides[axis] * lanes
    for index in itertools.product(*(range(shape[i]) for i in others)):
        s = sum(index[k] * stride[i] for k, i in enumerate(others)) * lanes
        d = sum(index[k] * out_strides[i] for k, i in enumerate(others)) * lanes
        for lane in range(lanes):
            d_slice = slice(d + lane, d + lane + (length - 1) * dst_step + 1, dst_step)
            if src_step == 0:  # a broadcast axis: one element repeated
                dst[d_slice] = memoryview(bytes(src[s + lane : s + lane + 1]) * length).cast(_CAST[unit])
            else:
                dst[d_slice] = src[s + lane : s + lane + (length - 1) * src_step + 1 : src_step]
    return out
