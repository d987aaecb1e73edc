"""The formats aisbom knows and the checks each one gets: the one table to extend.

A format is recognised by its bytes, never by a file name (`sniff`): by a magic number listed here,
by one of sniff's structural tests for the formats that have none, or by a `recognise` function of
its own module. Every check listed for the format then runs on the same bytes and context, in
order: a format that two loaders read (JSON: transformers' chat templates and Keras model configs)
gets a check for each, and a file that is also another format (a TensorFlow protobuf carrying
ONNX's fields) gets that format's check too. A check never calls another format's check itself.

Adding a format is one new module with its check, and one line here. Checks are imported on first
use, so start-up stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aisbom.scanners.frame.context import Check, Data


@dataclass(frozen=True)
class Format:
    """A sniffed format: its checks, magic numbers and structural recogniser."""

    checks: tuple[str, ...]  # "module:function", each called as function(data, ctx), in this order
    magic: tuple[tuple[int, bytes], ...] = ()  # (offset, bytes) that identify it, tried first
    # "module:function": called with the bytes when no magic number matched and they are not a
    # container, safetensors or a pickle; before sniff's guesses by first bytes (TensorFlow, ONNX)
    # and before they are called text or data. True claims them for this format.
    recognise: str | None = None
    # What `recognise` needs of the first bytes, so that sniff asks it only of the files that have
    # it (most binary files have none): (offset, values) pairs, of which one must hold, i.e. the
    # byte at `offset` is one of `values`. Each restates a test the recogniser makes itself (its
    # line below says which); empty: asked of every file. tests/scanners/frame/
    # test_sniff_shortcuts.py holds each recogniser to it.
    needs: tuple[tuple[int, bytes], ...] = ()


_COMPRESSED = "aisbom.scanners.archives.compressed:scan_compressed"
_ZIP = "aisbom.scanners.archives.zip_archive:scan_zip"
_PICKLE = "aisbom.scanners.pickles.pickle_file:scan_pickle"
_PYTORCH = "aisbom.scanners.pickles.pytorch"
_TF_GRAPH = "aisbom.scanners.tensorflow.graph"
# ONNX's `08 01 12` start is also a SavedModel's: a TensorFlow protobuf with ONNX-only fields is
# read as ONNX too (external data, Python ops).
_ALSO_ONNX = "aisbom.scanners.onnx.model:scan_tensorflow_polyglot"
# tf.compat.v1.train.import_meta_graph reads any file as a MetaGraphDef (model.ckpt.meta).
_ALSO_META = f"{_TF_GRAPH}:scan_as_meta_graph"
# What any JSON or text file gets (chat templates, Keras configs): also what a text-based format
# gets, since transformers reads a template file by its name, whatever else it parses as.
_JSON = ("aisbom.scanners.templates.template_files:scan_json", "aisbom.scanners.keras.model_files:scan_json")
_TEXT = ("aisbom.scanners.templates.template_files:scan_text",)
# Formats recognised and not analysed: one finding each, which makes the scan incomplete.
_U = "aisbom.scanners.unanalysed"
# Code shipped with a model: the files that make a loader import it (auto_map, modules.json,
# model_index.json, TorchServe manifests, MLmodel), read by name, and the Python files themselves.
_CODE = "aisbom.scanners.code"
# What \\s matches in a bytes pattern (the `needs` of recognisers whose patterns skip it).
_REGEX_SPACE = b" \t\n\r\x0b\x0c"

FORMATS: dict[str, Format] = {
    # Formats with a magic number, tried in this order (the first that matches wins).
    "numpy": Format(("aisbom.scanners.pickles.numpy_arrays:scan_npy",), magic=((0, b"\x93NUMPY"),)),
    "gzip": Format((_COMPRESSED,), magic=((0, b"\x1f\x8b\x08"),)),  # 08: deflate, the only method
    "xz": Format((_COMPRESSED,), magic=((0, b"\xfd7zXZ\x00"),)),
    "lz4": Format((_COMPRESSED,), magic=((0, b"\x04\x22\x4d\x18"),)),
    "7z": Format(("aisbom.scanners.archives.sevenzip_archive:scan_7z",), magic=((0, b"7z\xbc\xaf\x27\x1c"),)),
    "zstd": Format((_COMPRESSED,), magic=((0, b"\x28\xb5\x2f\xfd"),)),
    "gguf": Format(("aisbom.scanners.gguf.header:scan_gguf",), magic=((0, b"GGUF"),)),
    "hdf5": Format(("aisbom.scanners.keras.model_files:scan_hdf5",), magic=((0, b"\x89HDF\r\n\x1a\n"),)),
    "tflite": Format(("aisbom.scanners.tensorflow.tflite:scan_tflite",), magic=((4, b"TFL3"),)),
    "tar": Format(("aisbom.scanners.archives.tar_archive:scan_tar",), magic=((257, b"ustar"),)),
    # Recognised and not analysed, by a magic number strong enough to go first.
    "java-serialized": Format((f"{_U}.java:scan_java_serialized",), magic=((0, b"\xac\xed\x00\x05"),)),
    # Formats that sniff recognises by their structure.
    "bzip2": Format((_COMPRESSED,)),
    "lzma": Format((_COMPRESSED,)),
    "zlib": Format((_COMPRESSED,)),
    "zip": Format((_ZIP,)),
    "numpy-npz": Format((_ZIP,)),
    "keras": Format((_ZIP, "aisbom.scanners.keras.model_files:scan_keras_zip")),
    "pytorch-zip": Format((f"{_PYTORCH}:scan_pytorch_zip",)),
    "torchscript": Format((f"{_PYTORCH}:scan_torchscript",)),
    "pytorch-legacy": Format((f"{_PYTORCH}:scan_pytorch_legacy",)),
    # Protocol 0 and 1 pickles are printable: a text file whose first bytes run as a pickle
    # is both, and gets the text check too.
    "pickle": Format((_PICKLE, *_TEXT)),
    "joblib": Format((_PICKLE,)),
    # aisbom's own reader, then the safetensors library's as a second reading (in that order).
    "safetensors": Format(
        (
            "aisbom.scanners.safetensors.header:scan_safetensors",
            "aisbom.scanners.safetensors.library_check:scan_with_library",
        )
    ),
    "tf-saved-model": Format(
        (
            f"{_TF_GRAPH}:scan_saved_model",
            _ALSO_ONNX,
            f"{_TF_GRAPH}:scan_saved_model_as_graph_def",
            _ALSO_META,
        )
    ),
    "tf-graph-def": Format((f"{_TF_GRAPH}:scan_graph_def", _ALSO_ONNX, _ALSO_META)),
    "tf-meta-graph": Format((f"{_TF_GRAPH}:scan_meta_graph", _ALSO_ONNX)),
    "keras-metadata": Format((f"{_TF_GRAPH}:scan_keras_metadata", _ALSO_ONNX, _ALSO_META)),
    "onnx": Format(("aisbom.scanners.onnx.model:scan_onnx",)),
    # Formats that recognise themselves, asked in this order after the magic numbers, containers and
    # pickles, before TensorFlow's and ONNX's protobuf guesses (a Core ML model starts as ONNX does).
    "coreml": Format(  # model_type: its first field is 1 (varint) or 2 (bytes)
        (f"{_U}.coreml:scan_coreml",), recognise=f"{_U}.coreml:is_coreml", needs=((0, b"\x08\x12"),)
    ),
    "coreml-weights": Format(  # is_weights: version 2 as a 32-bit little-endian integer at 4
        (f"{_U}.coreml:scan_weights",), recognise=f"{_U}.coreml:is_weights", needs=((4, b"\x02"),)
    ),
    "tensorrt": Format(  # plan_offset: an ftrt or ptrt tag first, or a length and then "{"
        (f"{_U}.tensorrt:scan_tensorrt",),
        recognise=f"{_U}.tensorrt:is_tensorrt",
        needs=((0, b"fp"), (4, b"{")),
    ),
    "openvino-ir": Format(  # _ROOT: a BOM, whitespace or the first "<"
        (*_TEXT, f"{_U}.openvino:scan_openvino"),
        recognise=f"{_U}.openvino:is_openvino",
        needs=((0, b"\xef<" + _REGEX_SPACE),),
    ),
    "paddle-program": Format(  # block_count: field 1 (blocks) first
        (f"{_U}.paddle:scan_paddle",), recognise=f"{_U}.paddle:is_paddle", needs=((0, b"\x0a"),)
    ),
    "mxnet-symbol": Format(  # _SYMBOL_HEAD: whitespace or the "{"
        (*_JSON, f"{_U}.mxnet:scan_symbol"),
        recognise=f"{_U}.mxnet:is_symbol",
        needs=((0, b"{" + _REGEX_SPACE),),
    ),
    "mxnet-params": Format(  # PARAMS_MAGIC starts 0x12
        (f"{_U}.mxnet:scan_params",), recognise=f"{_U}.mxnet:is_params", needs=((0, b"\x12"),)
    ),
    "ncnn": Format(  # TEXT_MAGICS start "7", BINARY_MAGIC 0xdd
        (*_TEXT, f"{_U}.ncnn:scan_ncnn"), recognise=f"{_U}.ncnn:is_ncnn", needs=((0, b"7\xdd"),)
    ),
    "caffe": Format(  # layer_count: its first byte test
        (f"{_U}.caffe:scan_caffe",), recognise=f"{_U}.caffe:is_caffe", needs=((0, b"\x0a\x12\xa2"),)
    ),
    # Its words may stand anywhere in the first 64 KiB: asked of every file.
    "caffe-prototxt": Format((*_TEXT, f"{_U}.caffe:scan_prototxt"), recognise=f"{_U}.caffe:is_prototxt"),
    "darknet-cfg": Format(  # _FIRST_SECTION: a BOM, whitespace, a comment or the "["
        (*_TEXT, f"{_U}.darknet:scan_darknet"),
        recognise=f"{_U}.darknet:is_darknet",
        needs=((0, b"\xef#;[" + _REGEX_SPACE),),
    ),
    "ggml": Format(  # MAGICS start l, f, t or a
        (f"{_U}.ggml:scan_ggml",), recognise=f"{_U}.ggml:is_ggml", needs=((0, b"lfta"),)
    ),
    "executorch": Format(  # is_executorch: "ET" at 4
        (f"{_U}.executorch:scan_executorch",), recognise=f"{_U}.executorch:is_executorch", needs=((4, b"E"),)
    ),
    "ort": Format(  # is_ort: "ORTM" at 4
        (f"{_U}.onnxruntime:scan_ort",), recognise=f"{_U}.onnxruntime:is_ort", needs=((4, b"O"),)
    ),
    # Python code objects (.pyc files, marshal.dumps(code)): identified, not executed.
    "marshal": Format(
        ("aisbom.scanners.pickles.marshal_file:scan_marshal",),
        recognise="aisbom.scanners.pickles.marshal_file:looks_like_marshal",
        needs=((0, b"\x63\xe3"), (2, b"\r")),  # _code_start: a code type byte first, or a .pyc header
    ),
    # Chat templates (tokenizer_config.json, chat_template.json) and Keras model configs
    # (config.json of unpacked .keras directories, model.json); template files.
    "json": Format((*_JSON, f"{_CODE}.references:scan_json")),
    "text": Format((*_TEXT, f"{_CODE}.references:scan_text")),
}

# pickle.load, numpy.load, joblib.load and legacy torch.load unpickle any file that is not
# one of the few formats they check for by its first bytes: a file that is another format
# (a tar whose first member name holds a pickle, a zip after a pickle) and whose first bytes
# run as a pickle is also checked as one. (recognise, check, formats already read that way),
# asked after the format's own checks.
LOOKS_LIKE_PICKLE = "aisbom.scanners.pickles.engine:looks_like_pickle"  # (sniff asks it too)
ALSO: tuple[tuple[str, str, frozenset[str]], ...] = (
    (
        LOOKS_LIKE_PICKLE,
        _PICKLE,
        frozenset({"pickle", "joblib", "pytorch-legacy"}),
    ),
)

# Checks a file gets because of its name, whatever its bytes sniff as, because its loader finds
# it by name: Python modules shipped with a model are imported as `<name>.py` (auto_map,
# handler.py, custom pipelines), and a file that sniffs as data, a pickle or a zip is still
# imported, or run, by that name.
BY_NAME_SUFFIX: dict[str, tuple[str, ...]] = {".py": (f"{_CODE}.python_source:scan_python",)}

_loaded: dict[str, Callable[..., Any]] = {}


def load(target: str) -> Callable[..., Any]:
    """The function a "module:function" entry of the table names, imported on first use."""
    function = _loaded.get(target)
    if function is None:
        module_name, _, name = target.partition(":")
        module = importlib.import_module(module_name)  # safe: our own modules, from the table above
        function = _loaded[target] = getattr(module, name)
    return function


def preload(formats: tuple[str, ...]) -> None:
    """Import the checks of `formats` now: processes forked afterwards (aisbom.forked) find them
    imported, rather than each importing them again."""
    for fmt in formats:
        checks_for(fmt)


def checks_for(fmt: str) -> tuple[Check, ...]:
    """The checks of a sniffed format, in order (none for text-less data, empty files ...)."""
    entry = FORMATS.get(fmt)
    return () if entry is None else tuple(load(target) for target in entry.checks)


def also_checks(fmt: str, data: Data, answered: dict[str, bool] | None = None) -> tuple[Check, ...]:
    """Checks of formats that a loader would also take `data` for (see ALSO). `answered`: what
    the recognisers already said of `data` (the sniffer's), by their "module:function"."""
    return tuple(
        load(check) for recognise, check, read in ALSO if fmt not in read and _says(recognise, data, answered)
    )


def _says(recognise: str, data: Data, answered: dict[str, bool] | None) -> bool:
    held = answered.get(recognise) if answered else None
    return bool(load(recognise)(data)) if held is None else held


def checks_for_name(name: str) -> tuple[Check, ...]:
    """The checks an object gets by its file name (BY_NAME_SUFFIX), after its format's."""
    return tuple(
        load(target)
        for suffix, targets in BY_NAME_SUFFIX.items()
        if name.endswith(suffix)
        for target in targets
    )
