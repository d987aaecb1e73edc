"""Read a scanned file's tensors without loading it: dispatch on the format the scan sniffed."""

from __future__ import annotations

from aisbom.convert import numpy_files, torch_checkpoint
from aisbom.convert.errors import ConversionError, NeedsCode, Unsupported
from aisbom.convert.flatten import Flat, flatten
from aisbom.convert.rebuild import JoblibSpans, Rebuilder
from aisbom.convert.source import ScannedFile
from aisbom.limits import Limits
from aisbom.scanners.pickles.engine import memory_budget, run_pickle

# safetensors' "format" metadata, which transformers checks, for the formats that have one.
FRAMEWORKS = {"pytorch-zip": "pt", "pytorch-legacy": "pt"}
STATIC_FORMATS = ("pytorch-zip", "pytorch-legacy", "numpy", "numpy-npz", "pickle", "joblib", "hdf5")


def read_static(source: ScannedFile, limits: Limits) -> Flat:
    """The file's tensors and other values. Raises NeedsCode or ConversionError."""
    fmt, data, stem = source.format, source.data, stem_of(source.path.name)
    if fmt == "pytorch-zip":
        return flatten(torch_checkpoint.read_zip(data, limits), stem)
    if fmt == "pytorch-legacy":
        return flatten(torch_checkpoint.read_legacy(data, limits), stem)
    if fmt == "numpy":
        return Flat({stem: numpy_files.read_npy(data, stem)}, {})
    if fmt == "numpy-npz":
        return Flat(numpy_files.read_npz(data, limits), {})
    if fmt in ("pickle", "joblib"):
        return flatten(_read_pickle(data, limits), stem)
    if fmt == "hdf5":
        from aisbom.convert import hdf5_weights  # late: starts a child process

        return Flat(hdf5_weights.read_hdf5(source.path, data, limits), {})
    if fmt == "torchscript":
        raise NeedsCode(
            "a TorchScript archive is a program (its code/ runs when it loads); convert it with "
            "--sandbox --allow-code if you trust it"
        )
    if fmt == "safetensors":
        raise ConversionError("it is already a safetensors file")
    raise Unsupported(
        f"it is {fmt}, not a checkpoint this command reads (PyTorch, NumPy, joblib/pickle arrays, Keras HDF5)"
    )


def _read_pickle(data, limits: Limits) -> object:  # type: ignore[no-untyped-def]
    spans = JoblibSpans(data)
    run = run_pickle(
        data,
        max_opcodes=limits.max_pickle_opcodes,
        build_hook=spans,
        max_memory=memory_budget(limits, len(data)),
        max_marks=limits.max_pickle_marks,
    )
    if spans.problem:
        raise NeedsCode(spans.problem)
    if run.end is None:
        raise ConversionError(f"the pickle is malformed: {run.limit or run.error}")
    return Rebuilder(run, data, inline=spans).tree()


def stem_of(name: str) -> str:
    """The name a lone tensor or array gets: its file's name without the extension."""
    for suffix in (".safetensors", ".npy", ".pt", ".pth", ".bin", ".ckpt", ".pkl", ".joblib", ".h5", ".hdf5"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name
