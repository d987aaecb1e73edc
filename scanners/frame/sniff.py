"""Identify a file's format from its bytes, never from its name.

Misleading extensions are a classic bypass (a pickle called `weights.safetensors`), so the
name plays no part here. Order matters: strong magic numbers first (the registry lists them),
then structural checks, then the pickle heuristic (protocol 0/1 pickles are plain ASCII), then
the formats that recognise themselves (each a strict test of its own structure), then the
protobuf guesses of TensorFlow and ONNX, which read only the first bytes, then text.
"""

from __future__ import annotations

import lzma
import struct
import zlib
from collections.abc import Callable

from aisbom.scanners.frame.context import Data
from aisbom.scanners.frame.registry import FORMATS, load
from aisbom.scanners.readers import zip_reader

# PyTorch's legacy (non-zip) format starts with a pickle of this magic number.
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_TORCH_LEGACY_LONG1 = b"\x8a\x0a" + _TORCH_LEGACY_MAGIC.to_bytes(10, "little")
_TORCH_LEGACY_TEXT = b"L" + str(_TORCH_LEGACY_MAGIC).encode() + b"L\n."  # protocols 0 and 1

# (offset, magic, format) of every format with a magic number, in the registry's order.
_MAGIC = [(offset, magic, name) for name, fmt in FORMATS.items() for offset, magic in fmt.magic]
# Formats that recognise themselves, asked after the containers and pickles, before the guesses
# by first bytes (TensorFlow, ONNX) and before "text" or "data".
_RECOGNISERS = [(name, fmt.recognise) for name, fmt in FORMATS.items() if fmt.recognise]


def sniff(data: Data) -> str:
    head = data[:512]
    for offset, magic, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    if hdf5_superblock(data) is not None:  # after a user block (h5py, Keras and libhdf5 read it)
        return "hdf5"
    if head[:3] == b"BZh" and head[3:4].isdigit():
        return "bzip2"
    if _looks_like_lzma_alone(head):
        return "lzma"
    starts_as_pickle = head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5
    # A zip with data in front is still a zip to zipfile, but torch.load and numpy.load check
    # for the local header magic at offset 0 and otherwise unpickle from the start: a pickle
    # (of any protocol) followed by a zip is a pickle (its trailing zip is scanned too).
    if zip_reader.looks_like_zip(data) and not starts_as_pickle:
        if head[:4] == b"PK\x03\x04" or not _pickle_heuristic()(data):
            return _zip_kind(data)
        return "pickle"
    if _looks_like_safetensors(data):
        return "safetensors"
    if starts_as_pickle or head.startswith(_TORCH_LEGACY_TEXT):
        if _TORCH_LEGACY_LONG1 in head[:16] or head.startswith(_TORCH_LEGACY_TEXT):
            return "pytorch-legacy"
        return "joblib" if _looks_like_joblib(data) else "pickle"
    if joblib_zfile_start(head) is not None or _looks_like_zlib(head):
        return "zlib"
    if _pickle_heuristic()(data):
        return "joblib" if _looks_like_joblib(data) else "pickle"
    for name, recognise in _RECOGNISERS:  # strict tests of structure, before the guesses below
        if load(recognise)(data):
            return name
    if head[:1] in (b"\x08", b"\x0a", b"\x12"):
        # TF protos share ONNX's first bytes (`08 01 12`): checked structurally, first.
        from aisbom.scanners.tensorflow.sniffing import sniff_tensorflow  # late: only protobuf-like heads

        tf_format = sniff_tensorflow(data)
        if tf_format is not None:
            return tf_format
    if head[:1] in (b"\x08", b"\x0a", b"\x12", b"\x18", b'"', b"*"):
        # Fields in another order than TensorFlow writes them: still loaded by TensorFlow.
        from aisbom.scanners.tensorflow.sniffing import sniff_tensorflow_structural

        tf_format = sniff_tensorflow_structural(data)
        if tf_format is not None:
            return tf_format
    if _looks_like_onnx(head):
        return "onnx"
    return _text_or_data(head)


HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def hdf5_superblock(data: Data) -> int | None:
    """Where the HDF5 superblock starts: at 0, or after a user block of 512, 1024, 2048 ...
    bytes (the places libhdf5 searches), whatever the user block holds; None if nowhere."""
    offset = 0
    while offset + len(HDF5_MAGIC) <= len(data):
        if data[offset : offset + len(HDF5_MAGIC)] == HDF5_MAGIC:
            return offset
        offset = offset * 2 if offset else 512
    return None


def _zip_kind(data: Data) -> str:
    try:
        names = [entry.name for entry in zip_reader.read_central_directory(data, max_entries=100_000)]
    except zip_reader.ZipError:
        return "zip"
    # A mobile archive's bytecode.pkl is what the lite interpreter runs, with or without code/.
    if any(n.endswith("/constants.pkl") or n == "constants.pkl" for n in names) and any(
        "/code/" in n or n.startswith("code/") or n.rsplit("/", 1)[-1] == "bytecode.pkl" for n in names
    ):
        return "torchscript"
    if any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
        return "pytorch-zip"
    if names and all(n.endswith(".npy") for n in names):
        return "numpy-npz"
    if "config.json" in names:
        # keras.saving.load_model builds the model from a root config.json before it looks at
        # anything else (metadata.json is optional), so any such zip gets the Keras checks.
        return "keras"
    return "zip"


def _looks_like_safetensors(data: Data) -> bool:
    if len(data) < 10:
        return False
    (header_len,) = struct.unpack("<Q", data[:8])
    # The library accepts JSON whitespace before the '{'. A header length past the end of the
    # file (up to the library's 100 MB cap) is still a safetensors file, a broken one.
    starts_json = data[8:72].lstrip(b" \t\r\n\xef\xbb\xbf")[:1] == b"{"  # (and a UTF-8 BOM)
    return starts_json and 2 <= header_len <= max(len(data) - 8, 100_000_000)


def _looks_like_lzma_alone(head: bytes) -> bool:
    # .lzma "alone" (joblib's lzma compressor): 0x5d (the default lc/lp/pb that every
    # encoder writes), a dictionary size, the size or -1; then a trial decode to be sure.
    if len(head) < 13 or head[0] != 0x5D or (head[5:13] != b"\xff" * 8 and head[12] != 0):
        return False
    try:
        lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(head, 64)
    except lzma.LZMAError:
        return False
    return True


def _pickle_heuristic() -> Callable[[Data], bool]:
    from aisbom.scanners.pickles.engine import looks_like_pickle  # late: the engine is large

    return looks_like_pickle


def _looks_like_joblib(data: Data) -> bool:
    # The marker is the first array's GLOBAL, which may follow a large header of metadata.
    window = data[:_JOBLIB_WINDOW]
    return window.find(b"joblib.numpy_pickle") >= 0 or window.find(b"NumpyArrayWrapper") >= 0


_JOBLIB_WINDOW = 1024 * 1024
_ZFILE_HEADER = 2 + 19  # b"ZF" + the length, as hex, left-justified in 19 characters


def joblib_zfile_start(head: bytes) -> int | None:
    """Where the zlib data of a joblib < 0.10 file starts, or None if it is not one. joblib
    reads any file starting with b"ZF" this way: the length is int(text, 16) (so "0x" is
    optional, and spaces are allowed), and one space may follow it."""
    if head[:2] != b"ZF" or len(head) < _ZFILE_HEADER + 2:
        return None
    try:
        int(head[2:_ZFILE_HEADER], 16)
    except ValueError:
        return None
    return _ZFILE_HEADER + (head[_ZFILE_HEADER : _ZFILE_HEADER + 1] == b" ")


def _looks_like_zlib(head: bytes) -> bool:
    # Every zlib writer we know (zlib.compress, joblib) uses a 32 KiB window: 0x78. Text that
    # starts with "80" also passes the header checksum, so the start must also inflate to
    # something, or be a stored block whose length and its complement agree (a stream may
    # start with empty stored blocks, which inflate to nothing).
    if len(head) < 8 or head[0] != 0x78 or (head[0] << 8 | head[1]) % 31 != 0:
        return False
    try:
        if zlib.decompressobj().decompress(head, 64):
            return True
    except zlib.error:
        return False
    stored = head[2] & 0b110 == 0  # BTYPE 00: LEN and NLEN follow at the next byte boundary
    length, complement = struct.unpack_from("<HH", head, 3)
    return stored and length ^ complement == 0xFFFF


def _looks_like_onnx(head: bytes) -> bool:
    # ModelProto starts with field 1 (ir_version, varint) in every exporter we know of.
    return len(head) > 4 and head[0] == 0x08 and head[1] < 0x20 and head[2] in b"\x12\x1a\x22\x2a\x3a\x42"


def _text_or_data(head: bytes) -> str:
    if not head:
        return "empty"
    if b"\x00" in head:
        return "data"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the window is fine
            return "data"
        text = head[: exc.start].decode("utf-8")
    stripped = text.lstrip()
    if stripped[:1] == "{" or (
        stripped[:1] == "[" and stripped[1:].lstrip()[:1] in tuple('{["-0123456789tfn]')
    ):
        return "json"
    return "text"
