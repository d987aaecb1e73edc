"""Identify a file's format from its bytes, never from its name.

Misleading extensions are a classic bypass (a pickle called `weights.safetensors`), so the
name plays no part here. Order matters: strong magic numbers first (the registry lists them),
then structural checks, then the pickle heuristic (protocol 0/1 pickles are plain ASCII), then
the formats that recognise themselves (each a strict test of its own structure, asked only of
files whose first bytes it could claim: the registry's `needs`), then the protobuf guesses of
TensorFlow and ONNX, then text.

A format is claimed only on strong evidence: a magic number of three bytes or more, or
structure that parses (a zip directory a reader finds, a compressed stream whose first 4 KiB
inflate, a protobuf whose top-level fields span the file). What a weak guess alone would
claim (two magic bytes, an end-of-directory signature in the tail, a plausible first field)
stays unrecognised data: datasets hold millions of binary files, and a format claimed on a
guess that then does not parse would fail their scans.
"""

from __future__ import annotations

import lzma
import re
import struct
import zlib
from collections.abc import Callable

from aisbom.scanners.frame.context import Data
from aisbom.scanners.frame.registry import FORMATS, LOOKS_LIKE_PICKLE, load
from aisbom.scanners.readers import json_document, zip_reader

# PyTorch's legacy (non-zip) format starts with a pickle of this magic number.
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_TORCH_LEGACY_LONG1 = b"\x8a\x0a" + _TORCH_LEGACY_MAGIC.to_bytes(10, "little")
_TORCH_LEGACY_TEXT = b"L" + str(_TORCH_LEGACY_MAGIC).encode() + b"L\n."  # protocols 0 and 1

# (offset, magic, format) of every format with a magic number, in the registry's order.
_MAGIC = [(offset, magic, name) for name, fmt in FORMATS.items() for offset, magic in fmt.magic]
# The same magic numbers by offset: most files match none, which one startswith per offset says.
_MAGIC_AT = {offset: tuple(magic for at, magic, _name in _MAGIC if at == offset) for offset, _m, _n in _MAGIC}
_MAGIC_AT_ITEMS = tuple(_MAGIC_AT.items())
# Formats that recognise themselves, asked after the containers and pickles, before the guesses
# by first bytes (TensorFlow, ONNX) and before "text" or "data".
_RECOGNISERS = [(name, fmt.recognise) for name, fmt in FORMATS.items() if fmt.recognise]


def _needs_tables() -> tuple[int, tuple[tuple[int, tuple[int, ...]], ...]]:
    """The recognisers (bit i: the i-th) asked of every file, and for each offset the registry's
    `needs` name, the recognisers each value of the byte there admits."""
    always = 0
    tables: dict[int, list[int]] = {}
    for bit, (name, _recognise) in enumerate(_RECOGNISERS):
        needs = FORMATS[name].needs
        if not needs:
            always |= 1 << bit
        for offset, values in needs:
            table = tables.setdefault(offset, [0] * 256)
            for value in values:
                table[value] |= 1 << bit
    return always, tuple((offset, tuple(table)) for offset, table in sorted(tables.items()))


# A recogniser whose `needs` a file's first bytes do not meet would refuse it by its own first
# test: it is not asked (on random bytes, one or two of the sixteen are).
_ASKED_ALWAYS, _ADMITTED_AT = _needs_tables()
# Mask of recognisers -> those recognisers, imported, in the registry's order (`registry.load`
# on every file cost ~8 us of a 4 KiB file's ~35 us sniff).
_asked: dict[int, list[tuple[str, Callable[[Data], bool]]]] = {}


def sniff(data: Data, answered: dict[str, bool] | None = None) -> str:
    """The format of `data`. `answered`, when given, is told what the recognisers that a check
    would ask again said of it (the pickle test: registry.ALSO), by their "module:function"."""
    head = data[:512]
    for offset, magics in _MAGIC_AT_ITEMS:
        if head.startswith(magics, offset):
            for at, magic, name in _MAGIC:  # the first in the registry's order
                if head[at : at + len(magic)] == magic:
                    return name
    if hdf5_superblock(data) is not None:  # after a user block (h5py, Keras and libhdf5 read it)
        return "hdf5"
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] in _BZIP2_BLOCKS:
        return "bzip2"
    # The test needs this first byte (0x5d), as _looks_like_zlib needs 0x78: the 4 KiB copy is
    # made only for files that have it.
    if head[:1] == b"\x5d" and _looks_like_lzma_alone(data[:_TRIAL]):
        return "lzma"
    starts_as_pickle = head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5
    # A zip with data in front is still a zip to zipfile, but torch.load and numpy.load check
    # for the local header magic at offset 0 and otherwise unpickle from the start: a pickle
    # (of any protocol) followed by a zip is a pickle (its trailing zip is scanned too).
    zip_kind = None if starts_as_pickle else _zip_kind(data)
    if zip_kind is not None:
        if head[:4] == b"PK\x03\x04" or not _runs_as_pickle(data, answered):
            return zip_kind
        return "pickle"
    if _looks_like_safetensors(data):
        return "safetensors"
    if starts_as_pickle or head.startswith(_TORCH_LEGACY_TEXT):
        if _TORCH_LEGACY_LONG1 in head[:16] or head.startswith(_TORCH_LEGACY_TEXT):
            return "pytorch-legacy"
        return "joblib" if _looks_like_joblib(data) else "pickle"
    if joblib_zfile_start(head) is not None or (head[:1] == b"\x78" and _looks_like_zlib(data[:_TRIAL])):
        return "zlib"
    if _runs_as_pickle(data, answered):
        return "joblib" if _looks_like_joblib(data) else "pickle"
    for name, recognise in _recognisers_for(head):  # strict tests of structure
        if recognise(data):
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
    if _looks_like_onnx(data):
        return "onnx"
    return _text_or_data(data)


HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def hdf5_superblock(data: Data) -> int | None:
    """Where the HDF5 superblock starts: at 0, or after a user block of 512, 1024, 2048 ...
    bytes (the places libhdf5 searches), whatever the user block holds; None if nowhere."""
    offset, end = 0, len(data) - len(HDF5_MAGIC)
    while offset <= end:
        # (Its first byte first: no slice copied at the offsets of nearly every file.)
        if data[offset] == 0x89 and data[offset : offset + len(HDF5_MAGIC)] == HDF5_MAGIC:
            return offset
        offset = offset * 2 if offset else 512
    return None


def _zip_kind(data: Data) -> str | None:
    """Which zip `data` is, or None. A local header at offset 0 makes a zip (a broken one if no
    reader finds its directory); an end record in the tail alone is a guess, and makes a zip only
    if zipfile or miniz reads a directory from it."""
    local = zip_reader.starts_as_zip(data)
    if not local and not zip_reader.has_end_record(data):
        return None
    from aisbom.scanners.readers import zip_directory  # late: most files are no zip (~3 ms of start-up)

    directories = zip_directory.read_directories(data, max_entries=100_000)
    if not directories.readable:
        return "zip" if local else None
    entries = directories.entries()
    names = [entry.name for entry in entries]  # as miniz (PyTorch) reads them
    zipfile_names = [entry.zipfile_name for entry in entries]  # as numpy and Keras read them
    # A mobile archive's bytecode.pkl is what the lite interpreter runs, with or without code/.
    if any(n.endswith("/constants.pkl") or n == "constants.pkl" for n in names) and any(
        "/code/" in n or n.startswith("code/") or n.rsplit("/", 1)[-1] == "bytecode.pkl" for n in names
    ):
        return "torchscript"
    if any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
        return "pytorch-zip"
    if zipfile_names and all(n.endswith(".npy") for n in zipfile_names):
        return "numpy-npz"
    if "config.json" in zipfile_names:
        # keras.saving.load_model builds the model from a root config.json before it looks at
        # anything else (metadata.json is optional), so any such zip gets the Keras checks.
        return "keras"
    return "zip"


_JSON_SPACE = re.compile(rb"[ \t\r\n]*")


def _looks_like_safetensors(data: Data) -> bool:
    if len(data) < 10:
        return False
    (header_len,) = struct.unpack("<Q", data[:8])
    # A header length past the end of the file (up to the library's 100 MB cap) is still a
    # safetensors file, a broken one.
    if not 2 <= header_len <= max(len(data) - 8, 100_000_000):
        return False
    # The library accepts any amount of JSON whitespace before the '{' (and a UTF-8 BOM is
    # taken for a header it refuses).
    skip = _JSON_SPACE.match(data, 8, 8 + header_len)  # type: ignore[call-overload]
    start = skip.end() if skip else 8
    return data[start : start + 1] == b"{" or data[start : start + 4] == b"\xef\xbb\xbf{"


# A compressed stream without a magic number is believed when this much of it decodes.
_TRIAL = 4096
# A bzip2 stream's first block starts with the digits of pi; an empty stream with those of sqrt(pi).
_BZIP2_BLOCKS = (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")


def _looks_like_lzma_alone(head: bytes) -> bool:
    # .lzma "alone" (joblib's lzma compressor): 0x5d (the default lc/lp/pb that every
    # encoder writes), a dictionary size, the size or -1; then all of `head` must decode.
    if len(head) < 13 or head[0] != 0x5D or (head[5:13] != b"\xff" * 8 and head[12] != 0):
        return False
    try:
        lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(head, 1 << 20)
    except lzma.LZMAError:
        return False
    return True


def _recognisers_for(head: bytes) -> list[tuple[str, Callable[[Data], bool]]]:
    """The recognisers whose `needs` the first bytes meet, in order: the others cannot claim them."""
    mask = _ASKED_ALWAYS
    for offset, admitted in _ADMITTED_AT:
        if offset < len(head):
            mask |= admitted[head[offset]]
    asked = _asked.get(mask)
    if asked is None:
        # Only these are imported: the first bytes of most files admit one or two of the sixteen
        # (importing all of them cost ~8 ms of a small scan's CPU).
        asked = _asked[mask] = [
            (name, load(recognise)) for bit, (name, recognise) in enumerate(_RECOGNISERS) if mask >> bit & 1
        ]
    return asked


_looks_like_pickle: list[Callable[[Data], bool]] = []


def _runs_as_pickle(data: Data, answered: dict[str, bool] | None) -> bool:
    if not _looks_like_pickle:
        _looks_like_pickle.append(load(LOOKS_LIKE_PICKLE))  # late: the engine is large
    says = _looks_like_pickle[0](data)
    if answered is not None:
        answered[LOOKS_LIKE_PICKLE] = says
    return says


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
    # starts with "80" passes the header checksum, and random bytes often start a valid
    # fixed-Huffman block, so all of `head` must inflate (or the stream end within it); empty
    # stored blocks a stream may start with inflate to nothing, but the data after them counts.
    if len(head) < 8 or head[0] != 0x78 or (head[0] << 8 | head[1]) % 31 != 0:
        return False
    inflater = zlib.decompressobj()
    try:
        return bool(inflater.decompress(head, 1 << 20)) or inflater.eof
    except zlib.error:
        return False


# ModelProto's field numbers: ir_version, producer_name ... opset_import, metadata_props,
# training_info, functions, configuration.
_ONNX_FIELDS = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 25, 26})


def _looks_like_onnx(data: Data) -> bool:
    # ModelProto starts with field 1 (ir_version, varint) in every exporter we know of; three
    # bytes are a guess (one random file in 90,000 has them): its top-level fields must also
    # parse and end where the file does (4096 of them are enough to believe it). A file cut
    # short (a broken download) is still ONNX when two whole ModelProto fields precede the cut.
    if not (len(data) > 4 and data[0] == 0x08 and data[1] < 0x20 and data[2] in b"\x12\x1a\x22\x2a\x3a\x42"):
        return False
    from aisbom.scanners.readers import protobuf_wire  # here: only these first bytes need it

    whole: list[int] = []
    try:
        for field in protobuf_wire.iter_fields(data, 0, len(data), protobuf_wire.Bounds(max_fields=4096)):
            if field.wire_type != protobuf_wire.LEN or field.start + field.value == field.end:
                whole.append(field.number)  # (a cut-off last field is handed over short)
    except protobuf_wire.WireLimitError:
        return True
    except protobuf_wire.WireError:
        return len(whole) >= 2 and set(whole) <= _ONNX_FIELDS and whole == sorted(whole)
    return True


def _text_or_data(data: Data) -> str:
    head = data[:512]
    if not head:
        return "empty"
    # JSON as json.loads reads bytes: any leading whitespace, UTF-8 (BOM or not), UTF-16, UTF-32.
    if json_document.looks_like_json(data):
        return "json"
    if b"\x00" in head:
        return "data"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the window is fine
            return "data"
    return "text"
