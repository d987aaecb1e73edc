"""Pick scanners by sniffed content. Adding a format is one module and one line here."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.frame.sniff import sniff

Scanner = Callable[[Data, ScanContext], None]

# format -> "module:function". Imported on first use, so start-up stays fast.
SCANNERS: dict[str, str] = {
    "pickle": "aisbom.scanners.pickles.pickle_file:scan_pickle",
    "pytorch-legacy": "aisbom.scanners.pickles.pytorch:scan_pytorch_legacy",
    "pytorch-zip": "aisbom.scanners.pickles.pytorch:scan_pytorch_zip",
    "torchscript": "aisbom.scanners.pickles.pytorch:scan_torchscript",
    "joblib": "aisbom.scanners.pickles.pickle_file:scan_pickle",
    "numpy": "aisbom.scanners.pickles.numpy_arrays:scan_npy",
    "numpy-npz": "aisbom.scanners.archives.zip_archive:scan_zip",
    "zip": "aisbom.scanners.archives.zip_archive:scan_zip",
    "keras": "aisbom.scanners.keras.model_files:scan_keras_zip",
    "hdf5": "aisbom.scanners.keras.model_files:scan_hdf5",
    "tar": "aisbom.scanners.archives.tar_archive:scan_tar",
    "7z": "aisbom.scanners.archives.sevenzip_archive:scan_7z",
    "gzip": "aisbom.scanners.archives.compressed:scan_compressed",
    "bzip2": "aisbom.scanners.archives.compressed:scan_compressed",
    "xz": "aisbom.scanners.archives.compressed:scan_compressed",
    "lzma": "aisbom.scanners.archives.compressed:scan_compressed",
    "lz4": "aisbom.scanners.archives.compressed:scan_compressed",
    "zlib": "aisbom.scanners.archives.compressed:scan_compressed",
    "zstd": "aisbom.scanners.archives.compressed:scan_compressed",
    "gguf": "aisbom.scanners.gguf.header:scan_gguf",
    # Chat templates in tokenizer_config.json / chat_template.json / chat_template.jinja, and
    # Keras model configs (config.json of unpacked .keras directories, model.json).
    "json": "aisbom.scanners.json_scanner:scan_json",
    "text": "aisbom.scanners.templates.template_files:scan_text",
    "onnx": "aisbom.scanners.onnx.model:scan_onnx",
    "safetensors": "aisbom.scanners.safetensors.header:scan_safetensors",
    "tf-saved-model": "aisbom.scanners.tensorflow.graph:scan_saved_model",
    "tf-graph-def": "aisbom.scanners.tensorflow.graph:scan_graph_def",
    "keras-metadata": "aisbom.scanners.tensorflow.graph:scan_keras_metadata",
    "tflite": "aisbom.scanners.tensorflow.tflite:scan_tflite",
}

_loaded: dict[str, Scanner] = {}


def scanner_for(fmt: str) -> Scanner | None:
    target = SCANNERS.get(fmt)
    if target is None:
        return None
    if target not in _loaded:
        module_name, _, function = target.partition(":")
        module = importlib.import_module(module_name)  # safe: our own modules, from the table
        _loaded[target] = getattr(module, function)
    return _loaded[target]


def scan_blob(data: Data, ctx: ScanContext) -> str:
    """Sniff `data`, run its scanner, and return the format name."""
    fmt = sniff(data)
    scanner = scanner_for(fmt)
    if scanner is not None:
        if ctx.out_of_time():
            ctx.report(
                "scan-limit",
                f"time limit of {ctx.limits.max_seconds_per_file:g}s per file reached; not analysed",
                evidence={"limit": "max_seconds_per_file"},
            )
        else:
            scanner(data, ctx)
    return fmt
