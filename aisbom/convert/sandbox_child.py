"""The jailed child of `aisbom convert --sandbox`: the ONE place in aisbom that calls a natural
loader (torch.load, torch.jit.load, pickle/joblib.load, np.load with pickles) on a file.

It only ever runs inside the bubblewrap jail that `sandbox.py` builds (no network, read-only
system, the input read-only, one writable output directory, CPU-time and memory limits, its own
PID namespace), started as `python -I -m aisbom.convert.sandbox_child REQUEST` with REQUEST a
JSON object {"input", "output", "format", "allow_code", "stem", "metadata"}. It loads the input
with the safe loader first (torch.load weights_only=True; np.load without pickles), and with the
file's own code only when allow_code is set; then writes the tensors it got to `output` as
safetensors, with the metadata it was given, and nothing else. It answers on stdout with JSON
lines: {"started": true} once it runs, then {"tensors": [...], ...} or {"error": ..., "refused": bool}.

The parent trusts nothing it says: it checks the output file itself and moves only that file out.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from aisbom.convert.dtypes import DTYPES, from_numpy
from aisbom.convert.flatten import as_json
from aisbom.convert.safetensors_file import OutTensor, write_safetensors


class Refused(Exception):
    """The safe loader refused the file and code may not run."""


def load(path: str, fmt: str, allow_code: bool) -> tuple[Any, str]:
    """(the loaded object, which loader produced it). Every loader call below is this child's
    reason to exist: it runs only in the jail."""
    if fmt in ("pytorch-zip", "pytorch-legacy", "torchscript"):
        import torch

        if fmt == "torchscript":
            if not allow_code:
                raise Refused("a TorchScript archive runs its own code when it loads")
            module = torch.jit.load(path, map_location="cpu")  # safe: the jailed child; code allowed
            return module.state_dict(), "torch.jit.load"
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)  # safe: the jailed child
            return obj, "torch.load with weights_only=True"
        except Exception as exc:  # torch raises UnpicklingError, RuntimeError ... for what it will not load
            if not allow_code:
                raise Refused(f"torch.load with weights_only=True refused it: {_reason(exc)}") from None
        obj = torch.load(path, map_location="cpu", weights_only=False)  # safe: the jailed child; code allowed
        return obj, "torch.load with weights_only=False"
    if fmt in ("numpy", "numpy-npz"):
        import numpy as np

        try:
            loaded = np.load(path, allow_pickle=False)
            return (dict(loaded) if fmt == "numpy-npz" else loaded), "numpy.load"
        except ValueError as exc:
            if not allow_code:
                raise Refused(f"numpy.load without pickles refused it: {exc}") from None
        loaded = np.load(path, allow_pickle=True)  # safe: the jailed child; code allowed
        return (dict(loaded) if fmt == "numpy-npz" else loaded), "numpy.load with pickles"
    if fmt == "hdf5":  # datasets are data: h5py decompresses what the static path does not read
        import h5py

        arrays: dict[str, Any] = {}
        with h5py.File(path, "r") as handle:
            handle.visititems(
                lambda name, obj: arrays.__setitem__(name, obj[()]) if hasattr(obj, "dtype") else None
            )
        return arrays, "h5py"
    if not allow_code:
        raise Refused(f"a {fmt} file can only be loaded by running its pickle")
    try:
        import joblib

        return joblib.load(path), "joblib.load"  # safe: the jailed child; code allowed
    except ImportError:
        import pickle

        with open(path, "rb") as handle:
            return pickle.load(handle), "pickle.load"  # safe: the jailed child; code allowed


def _reason(exc: Exception) -> str:
    """The part of torch's long refusal that names what it refused."""
    paragraphs = [p.strip() for p in str(exc).split("\n\n") if p.strip()]
    named = [p for p in paragraphs if "GLOBAL" in p or "WeightsUnpickler" in p]
    return " ".join((named or paragraphs or [type(exc).__name__])[0].split())[:300]


def collect(obj: Any, stem: str) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(name -> tensor or array, name -> JSON value, names of values that are neither)."""
    tensors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    skipped: list[str] = []

    def is_array(node: Any) -> bool:
        return (
            type(node).__module__.startswith(("torch", "numpy"))
            and hasattr(node, "shape")
            and hasattr(node, "dtype")
        )

    def holds(node: Any, depth: int = 0) -> bool:
        if is_array(node) or hasattr(node, "state_dict"):
            return True
        if depth > 100:
            return False
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, (list, tuple)) else ()
        )
        return any(holds(child, depth + 1) for child in children)

    def walk(node: Any, name: str) -> None:
        if is_array(node):
            tensors[name or stem] = node
        elif hasattr(node, "state_dict") and callable(node.state_dict):  # an nn.Module: its weights
            walk(node.state_dict(), name)
        elif isinstance(node, (dict, list, tuple)) and holds(node):
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                walk(child, f"{name}.{key}" if name else str(key))
        else:
            try:
                values[name] = as_json(node)
            except Exception:
                skipped.append(name)

    walk(obj, "")
    return tensors, values, skipped


def out_tensor(name: str, value: Any) -> OutTensor:
    if type(value).__module__.startswith("numpy"):
        import numpy as np

        parsed = from_numpy(value.dtype.str)
        if parsed is None:
            raise ValueError(f"array {name!r} has dtype {value.dtype}, which safetensors has no type for")
        dtype = parsed[0]
        data = np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<"), copy=False)
        shape = tuple(value.shape)
        raw = data.reshape(-1).view(np.uint8)
    else:
        import torch

        dtype = DTYPES.get(str(value.dtype).removeprefix("torch."))  # type: ignore[assignment]
        if dtype is None or dtype.safetensors is None:
            raise ValueError(f"tensor {name!r} is {value.dtype}, which safetensors has no type for")
        tensor = value.detach().to("cpu").contiguous()
        shape = tuple(tensor.shape)
        raw = tensor.reshape(-1).view(torch.uint8).numpy()
    if dtype.safetensors == "F4":
        shape = (*shape[:-1], shape[-1] * 2) if shape else (2,)
    assert dtype.safetensors is not None
    return OutTensor(name, dtype.safetensors, shape, raw.nbytes, dtype.itemsize, lambda: [memoryview(raw)])  # type: ignore[arg-type]


def deduplicate(tensors: dict[str, Any]) -> dict[str, str]:
    """Tied torch tensors (the same view of the same memory) -> {dropped: kept}; other overlaps
    in one storage are refused, as in the static path."""
    seen: dict[tuple, str] = {}
    aliases: dict[str, str] = {}
    spans: dict[int, list[tuple[int, int, str]]] = {}
    for name in sorted(tensors):
        t = tensors[name]
        if not hasattr(t, "untyped_storage") or t.numel() == 0:
            continue
        key = (t.untyped_storage().data_ptr(), t.data_ptr(), tuple(t.shape), tuple(t.stride()), t.dtype)
        if key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        end = (
            t.data_ptr()
            + (sum((n - 1) * s for n, s in zip(t.shape, t.stride(), strict=True)) + 1) * t.element_size()
        )
        spans.setdefault(key[0], []).append((t.data_ptr(), end, name))
    for group in spans.values():
        group.sort()
        for (_, end_a, a), (start_b, _, b) in zip(group, group[1:], strict=False):
            if start_b < end_a:
                raise ValueError(f"tensors {a!r} and {b!r} are different views of the same bytes")
    return aliases


def main(argv: list[str]) -> int:
    print(json.dumps({"started": True}), flush=True)
    request = json.loads(argv[1])
    try:
        obj, loader = load(request["input"], request["format"], request["allow_code"])
        tensors, values, skipped = collect(obj, request["stem"])
        if not tensors:
            raise ValueError("the loaded object holds no tensors or arrays")
        aliases = deduplicate(tensors)
        metadata = dict(request["metadata"])
        if request["format"].startswith(("pytorch", "torchscript")):
            metadata["format"] = "pt"
        metadata.update(aliases)
        if values:
            metadata["aisbom.values"] = json.dumps(values, ensure_ascii=False, sort_keys=True)
        out = [out_tensor(name, t) for name, t in tensors.items() if name not in aliases]
        with open(request["output"], "wb") as handle:
            write_safetensors(handle, out, metadata)
    except Refused as exc:
        print(json.dumps({"error": str(exc), "refused": True}), flush=True)
        return 1
    except Exception as exc:  # the loader's or the payload's: reported, the parent decides
        print(json.dumps({"error": f"{type(exc).__name__}: {str(exc)[:500]}", "refused": False}), flush=True)
        return 1
    answer = {
        "tensors": [t.name for t in out],
        "aliases": aliases,
        "values": sorted(values),
        "skipped": skipped,
    }
    print(json.dumps({**answer, "loader": loader}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
