"""PyTorch checkpoints read as `torch.load` reads them, without torch: the pickle through the
engine (`Rebuilder`), storages from where torch finds them.

- zip (torch.save since 1.6): the archive's name is the first central-directory entry's folder
  (PyTorchStreamReader); `NAME/data.pkl` is the pickle, `NAME/data/KEY` each storage's bytes
  (stored members are used in place; compressed ones, which miniz also accepts, are inflated).
  `NAME/byteorder` says "big" when the file was written on a big-endian machine: torch then swaps
  each storage by the element size of the storage type its persistent id names (an
  UntypedStorage, which `_rebuild_tensor_v3` tensors use, is bytes and is not swapped).
- legacy (`_use_new_zipfile_serialization=False`): five pickles (magic number, protocol, system
  info, the object, the storage keys), then for each key in that list an 8-byte little-endian
  element count and the storage's bytes. torch writes them little-endian on every machine and
  ignores the system info when reading; so does this.

A storage's element type is fixed by the first persistent id that names its key (torch's
`loaded_storages` cache); its size by that id's element count.
"""

from __future__ import annotations

import struct

from aisbom.convert.dtypes import DTYPES, STORAGE_CLASSES, DType
from aisbom.convert.errors import ConversionError, NeedsCode, Unsupported
from aisbom.convert.layout import Storage
from aisbom.convert.rebuild import Rebuilder
from aisbom.limits import Limits
from aisbom.scanners.frame.context import Data
from aisbom.scanners.pickles.engine import Global, PickleRun, PList, describe, memory_budget, run_pickle
from aisbom.scanners.readers import zip_directory, zip_reader
from aisbom.wording import counted

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001


def read_zip(data: Data, limits: Limits) -> object:
    """The checkpoint's object, with TensorViews where its tensors are."""
    try:
        entries = zip_directory.entries_read_by(data, zip_directory.MINIZ, max_entries=limits.max_members)
    except zip_reader.ZipError as exc:
        raise ConversionError(f"not a readable zip: {exc}") from None
    if not entries or "/" not in entries[0].name:
        raise ConversionError("the first member of the archive is not in a folder, as torch requires")
    prefix = entries[0].name.split("/", 1)[0] + "/"
    members: dict[str, zip_reader.ZipEntry | None] = {}
    for entry in entries:  # a name listed twice: which copy miniz finds depends on its search
        members[entry.name] = None if entry.name in members else entry
    pickle_bytes = _member(data, members, prefix + "data.pkl", limits.max_in_memory)
    byteorder = b"little"
    if prefix + "byteorder" in members:
        byteorder = _member(data, members, prefix + "byteorder", 16)
        if byteorder not in (b"little", b"big"):
            raise ConversionError(f"unknown byte order {byteorder[:16]!r}")
    run = _run(pickle_bytes, 0, limits, "data.pkl")
    storages: dict[str, Storage] = {}

    def storage(pid: object) -> Storage:
        dtype, key, numel = _persistent_id(pid, legacy=False)
        if key in storages:
            return storages[key]
        entry = _entry(members, f"{prefix}data/{key}")
        nbytes = numel * dtype.itemsize
        held = _storage_bytes(data, entry, nbytes)
        storages[key] = Storage(key, dtype, nbytes, held[0], held[1], big_endian=byteorder == b"big")
        return storages[key]

    return Rebuilder(run, pickle_bytes, storages=storage).tree()


def read_legacy(data: Data, limits: Limits) -> object:
    runs: list[PickleRun] = []
    pos = 0
    for what in ("magic number", "protocol version", "system info", "object", "storage keys"):
        run = _run(data, pos, limits, f"the {what} pickle")
        runs.append(run)
        assert run.end is not None
        pos = run.end
    if runs[0].result != LEGACY_MAGIC or runs[1].result != LEGACY_PROTOCOL:
        raise Unsupported("not a torch.save file this reads: wrong magic number or protocol version")
    storages: dict[str, Storage] = {}

    def storage(pid: object) -> Storage:
        dtype, key, numel = _persistent_id(pid, legacy=True)
        if key not in storages:  # where its bytes are is known once every key is: start -1 for now
            storages[key] = Storage(key, dtype, numel * dtype.itemsize, data, -1)
        return storages[key]

    tree = Rebuilder(runs[3], data, storages=storage).tree()
    keys = runs[4].result
    key_list = keys.items if isinstance(keys, PList) else None
    if key_list is None or not all(isinstance(k, str) for k in key_list):
        raise ConversionError(f"the storage key list is not a list of names: {describe(keys)}")
    for key in key_list:
        found = storages.get(key)
        if found is None:
            raise ConversionError(f"storage {key!r} has data but no tensor names it")
        head = data[pos : pos + 8]
        if len(head) < 8:
            raise ConversionError(f"storage {key!r} is truncated: the file ends at byte {len(data)}")
        (count,) = struct.unpack("<q", head)
        if count * found.dtype.itemsize != found.nbytes:
            raise ConversionError(
                f"storage {key!r} holds {count} elements in the file, {found.nbytes // found.dtype.itemsize} "
                "in the pickle"
            )
        found.start = pos + 8
        pos = found.start + found.nbytes
        if pos > len(data):
            raise ConversionError(
                f"storage {key!r} is truncated: it needs {found.nbytes} bytes from byte {found.start}, "
                f"the file has {len(data)}"
            )
    missing = sorted(k for k, s in storages.items() if s.start < 0)
    if missing:
        raise ConversionError(f"storage {missing[0]!r} is named by a tensor but the file has no data for it")
    return tree


def _run(data: Data, start: int, limits: Limits, what: str) -> PickleRun:
    run = run_pickle(
        data,
        start,
        max_opcodes=limits.max_pickle_opcodes,
        max_memory=memory_budget(limits, len(data) - start),
        max_marks=limits.max_pickle_marks,
    )
    if run.end is None:
        raise ConversionError(f"{what} is malformed: {run.limit or run.error}")
    return run


def _entry(members: dict[str, zip_reader.ZipEntry | None], name: str) -> zip_reader.ZipEntry:
    if name not in members:
        raise ConversionError(f"{name!r} is missing from the archive")
    entry = members[name]
    if entry is None:
        raise ConversionError(f"{name!r} appears twice in the archive; readers disagree on which counts")
    return entry


def _member(data: Data, members: dict[str, zip_reader.ZipEntry | None], name: str, cap: int) -> bytes:
    entry = _entry(members, name)
    try:
        got = zip_reader.read_member(data, entry, max_size=cap)
    except zip_reader.ZipError as exc:
        raise ConversionError(f"{name!r} cannot be read: {exc}") from None
    if got.truncated:
        raise ConversionError(f"{name!r} is larger than {cap} bytes")
    return got.data


def _storage_bytes(data: Data, entry: zip_reader.ZipEntry, nbytes: int) -> tuple[Data, int]:
    """(data, start) of a storage member's first `nbytes`: in place when stored, else inflated."""
    try:
        if entry.method == 0:
            start = zip_reader.data_offset(data, entry)
            have = min(entry.compressed_size, len(data) - start)
            if have < nbytes:
                raise ConversionError(
                    f"storage {entry.name!r} is truncated: {have} bytes where its tensor needs {nbytes}"
                )
            return data, start
        got = zip_reader.read_member(data, entry, max_size=nbytes)
    except zip_reader.ZipError as exc:
        raise ConversionError(f"storage {entry.name!r} cannot be read: {exc}") from None
    if len(got.data) < nbytes:
        have = counted(len(got.data), "byte")
        raise ConversionError(f"storage {entry.name!r} is truncated: {have} of {nbytes}")
    return got.data, 0


def _persistent_id(pid: object, *, legacy: bool) -> tuple[DType, str, int]:
    """(element type, key, element count) of ('storage', StorageClass, key, location, numel[, view])."""
    size = 6 if legacy else 5
    if not (isinstance(pid, tuple) and len(pid) == size and pid[0] == "storage"):
        if isinstance(pid, tuple) and pid and pid[0] == "module":
            raise NeedsCode("the checkpoint holds a module's source code (torch.save of a model)")
        raise ConversionError(f"unknown persistent id {describe(pid)}")
    storage_type, key, _location, numel = pid[1:5]
    if legacy and pid[5] is not None:
        raise Unsupported("storage views (PyTorch before 1.0) are not read statically; use --sandbox")
    if not (
        isinstance(storage_type, Global) and storage_type.module in ("torch", "torch.cuda", "torch.storage")
    ):
        raise ConversionError(f"unknown storage type {describe(storage_type)}")
    name = STORAGE_CLASSES.get(storage_type.name)
    if name is None or (storage_type.module == "torch.storage") != (storage_type.name == "UntypedStorage"):
        raise ConversionError(f"unknown storage type {storage_type.dotted}")
    if not isinstance(key, str) or not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
        raise ConversionError(f"malformed persistent id {describe(pid)}")
    if numel.bit_length() > 62:
        raise ConversionError(f"storage {key!r} claims {numel} elements")
    return DTYPES[name], key, numel
