"""A file named like a model format whose content is another format, or none.

The name never decides how a file is read, nor lowers a severity: the content does (`sniff`).
But loaders pick a reader by name (safetensors' `load_file` for `model.safetensors`, torch's
loader for `x.pt`, numpy's for `x.npy`), so a model-format name on other content means a loader
will refuse the file or read it as something it did not expect: a pickle named `.safetensors`, a
broken header, a Git LFS pointer left by a clone without `git lfs pull`. That gets one finding
naming the mismatch.

`.bin` holds many formats (PyTorch pickles and zips, safetensors, GGML, raw tensors of ONNX and
OpenVINO external data): only text or nothing at all is a mismatch there, and a low one.
"""

from __future__ import annotations

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.severity import Severity

_PYTORCH = frozenset({"pytorch-zip", "pytorch-legacy", "torchscript", "pickle", "joblib"})
_COMPRESSED = frozenset({"gzip", "bzip2", "xz", "lzma", "zlib", "lz4", "zstd"})
_NOT_BINARY = frozenset({"empty", "text", "json"})
_TENSORFLOW = frozenset({"tf-saved-model", "tf-graph-def", "tf-meta-graph", "keras-metadata"})

# suffix -> (what the name claims, the sniffed formats its loaders read)
_EXPECTED: dict[str, tuple[str, frozenset[str]]] = {
    ".safetensors": ("safetensors", frozenset({"safetensors"})),
    ".onnx": ("ONNX", frozenset({"onnx"}) | _TENSORFLOW),
    ".gguf": ("GGUF", frozenset({"gguf"})),
    ".pt": ("PyTorch", _PYTORCH),
    ".pth": ("PyTorch", _PYTORCH),
    ".keras": ("Keras", frozenset({"keras"})),
    ".h5": ("HDF5", frozenset({"hdf5"})),
    ".hdf5": ("HDF5", frozenset({"hdf5"})),
    ".npy": ("NumPy .npy", frozenset({"numpy"})),
    ".npz": ("NumPy .npz", frozenset({"numpy-npz", "zip"})),
    ".pkl": ("pickle", _PYTORCH | _COMPRESSED),
    ".pickle": ("pickle", _PYTORCH | _COMPRESSED),
    ".joblib": ("joblib", frozenset({"joblib", "pickle"}) | _COMPRESSED),
}
_LFS_POINTER = b"version https://git-lfs.github.com/spec/"


def check_name(fmt: str, data: Data, ctx: ScanContext) -> None:
    """Report a model-format name on content of another format (`fmt`, as sniffed)."""
    name = ctx.name.lower()
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix == ".bin":
        if fmt in _NOT_BINARY:
            _report(ctx, "a model or tensor file", fmt, data, Severity.LOW)
        return
    expected = _EXPECTED.get(suffix)
    if expected is not None and fmt not in expected[1]:
        _report(ctx, f"a {expected[0]} file", fmt, data, None)


def _report(ctx: ScanContext, claimed: str, fmt: str, data: Data, severity: Severity | None) -> None:
    held = {"data": "no format aisbom recognises", "empty": "nothing (it is empty)"}.get(
        fmt, f"{fmt} content"
    )
    why = "its loader will refuse it or read it as something else"
    if bytes(data[: len(_LFS_POINTER)]) == _LFS_POINTER:
        held, why = "a Git LFS pointer", "the model itself was never downloaded (run `git lfs pull`)"
    ctx.report(
        "format-name-mismatch",
        f"{ctx.name!r} is named like {claimed} but holds {held}: {why}",
        severity=severity,
        evidence={"format": fmt, "name": ctx.name},
    )
