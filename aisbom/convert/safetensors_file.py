"""Write a safetensors file: an 8-byte little-endian header length, a JSON header, the tensors'
bytes. Written by hand rather than with the `safetensors` package, whose writers take torch or
NumPy arrays already in memory: this one streams each tensor's bytes from the mapped checkpoint,
needs neither library (the static path imports no torch and no NumPy), and is the same code in
the sandboxed child. Laid out as the library lays it out: tensors ordered by element size, largest
first, then by name (so every tensor starts at a multiple of its element size), and the header
padded with spaces to a multiple of 8 bytes.

Written to a temporary file beside the target and renamed over it at the end: a failure leaves
no partial output.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aisbom.convert.errors import ConversionError

_ALIGN = 8


@dataclass(frozen=True)
class OutTensor:
    name: str
    dtype: str  # safetensors dtype code
    shape: tuple[int, ...]
    nbytes: int
    itemsize: int
    chunks: Callable[[], Iterable[bytes | bytearray | memoryview]]  # its bytes, produced when written
    # Where its bytes already lie, as they are, in the input: (the input's mapping, offset). Then
    # the kernel copies them file to file (copy_file_range), never through this process's memory.
    span: tuple[object, int] | None = None


@dataclass(frozen=True)
class Source:
    """The input file: its mapping (what spans refer to) and an open descriptor of it."""

    data: object
    fd: int


def header_bytes(tensors: list[OutTensor], metadata: Mapping[str, str]) -> bytes:
    """The length prefix and JSON header for `tensors`, which must already be in file order."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    offset = 0
    for tensor in tensors:
        header[tensor.name] = {
            "dtype": tensor.dtype,
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + tensor.nbytes],
        }
        offset += tensor.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % _ALIGN)
    return struct.pack("<Q", len(text)) + text


def file_order(tensors: Iterable[OutTensor]) -> list[OutTensor]:
    return sorted(tensors, key=lambda t: (-t.itemsize, t.name))


def write_safetensors(
    handle: BinaryIO, tensors: Iterable[OutTensor], metadata: Mapping[str, str], source: Source | None = None
) -> int:
    """Write the file to `handle` (a StagedFile's); returns its size. Raises ConversionError."""
    ordered = file_order(tensors)
    names = [t.name for t in ordered]
    if len(set(names)) != len(names):
        raise ConversionError("two tensors have the same name")
    handle.write(header_bytes(ordered, metadata))
    for tensor in ordered:
        in_source = source is not None and tensor.span is not None and tensor.span[0] is source.data
        if in_source and _copy_range(handle, source.fd, tensor.span[1], tensor.nbytes):  # type: ignore[union-attr,index]
            continue
        written = 0
        for chunk in tensor.chunks():
            handle.write(chunk)
            written += len(chunk)
        if written != tensor.nbytes:  # a reader bug, never the file's bytes: refuse the output
            raise ConversionError(f"tensor {tensor.name!r}: wrote {written} bytes, expected {tensor.nbytes}")
    return handle.tell()


def _copy_range(handle: BinaryIO, fd: int, offset: int, count: int) -> bool:
    """Append `count` bytes of `fd` from `offset` to `handle` inside the kernel. False (nothing
    written) where copy_file_range is not available for these files; the caller then copies."""
    copy = getattr(os, "copy_file_range", None)
    if copy is None or count == 0:
        return count == 0
    handle.flush()
    start = handle.tell()
    done = 0
    try:
        while done < count:
            moved = copy(fd, handle.fileno(), count - done, offset + done, start + done)
            if moved == 0:
                raise ConversionError(f"the input ended {count - done} bytes early")
            done += moved
    except OSError:  # EXDEV, ENOSYS, EINVAL ...: fall back to copying through memory
        handle.seek(start)
        handle.truncate()
        return False
    handle.seek(start + count)
    return True


class StagedFile:
    """A file written under a temporary name in its target's directory: `commit` renames it over
    the target, `discard` removes it. Several can be committed together (a sharded model) once
    all of them are written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            fd, self.temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        except OSError as exc:
            raise ConversionError(f"cannot write {path}: {exc.strerror or exc}") from None
        self.handle: BinaryIO = os.fdopen(fd, "wb")

    def commit(self) -> None:
        try:
            if not self.handle.closed:  # closed: a file adopted whole (the sandbox's output)
                self.handle.flush()
                os.fsync(self.handle.fileno())
                self.handle.close()
            os.chmod(self.temp, 0o644)
            os.replace(self.temp, self.path)
        except OSError as exc:
            self.discard()
            raise ConversionError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def discard(self) -> None:
        self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp)


class Staging:
    """Files staged together: all committed when the block ends without error, else all removed."""

    def __init__(self) -> None:
        self.files: list[StagedFile] = []

    def stage(self, path: Path) -> StagedFile:
        staged = StagedFile(path)
        self.files.append(staged)
        return staged

    def adopt(self, produced: Path, path: Path) -> None:
        """Stage a file written elsewhere on the same file system (moved, not copied)."""
        staged = self.stage(path)
        staged.handle.close()
        os.replace(produced, staged.temp)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind, value, traceback) -> None:  # type: ignore[no-untyped-def]
        if kind is not None:
            for staged in self.files:
                staged.discard()
            if isinstance(value, OSError):
                raise ConversionError(f"cannot write the output: {value.strerror or value}") from None
            return
        for staged in self.files:
            staged.commit()
