"""Formats aisbom recognises and does not analyse: each is reported as itself, not analysed, with
what loading it can do; never guessed as another format; never part of a clean scan."""

from __future__ import annotations

import importlib.util
import io
import os
import zipfile
from pathlib import Path

import pytest
from catalog import FIXTURES_DIR, UNANALYSED
from payloads import EVIL, scan

from aisbom.pipeline import scan_target
from aisbom.policy import Policy
from aisbom.scanners.frame.sniff import sniff
from aisbom.severity import ExitCode, Severity

# Each fixture's format, as sniffed from its bytes (the file names play no part).
EXPECTED = {
    "unanalysed/coreml/model.mlmodel": "coreml",  # starts as ONNX does: 08 04 12
    "unanalysed/coreml/spec_v1.mlmodel": "coreml",  # starts as a SavedModel does: 08 01 12
    "unanalysed/coreml/weight.bin": "coreml-weights",
    "unanalysed/tensorrt/model.plan": "tensorrt",
    "unanalysed/tensorrt/yolo.engine": "tensorrt",
    "unanalysed/openvino/model.xml": "openvino-ir",
    "unanalysed/paddle/inference.pdmodel": "paddle-program",
    "unanalysed/mxnet/model-symbol.json": "mxnet-symbol",
    "unanalysed/mxnet/model-0000.params": "mxnet-params",
    "unanalysed/ncnn/model.param": "ncnn",
    "unanalysed/ncnn/model.param.bin": "ncnn",
    "unanalysed/caffe/model.caffemodel": "caffe",
    "unanalysed/caffe/deploy.prototxt": "caffe-prototxt",
    "unanalysed/darknet/tiny.cfg": "darknet-cfg",
    "unanalysed/ggml/ggml-tiny.bin": "ggml",
    "unanalysed/executorch/model.pte": "executorch",
    "unanalysed/ort/model.ort": "ort",
}


def test_every_unanalysed_fixture_has_an_expected_format():
    assert {f.path for f in UNANALYSED} == set(EXPECTED)


@pytest.mark.parametrize("fixture", UNANALYSED, ids=lambda f: f.id)
@pytest.mark.parametrize("fail_on", ["high", "critical"])
def test_reported_as_its_format_and_never_clean(fixture, fail_on):
    report = scan_target(fixture.abspath, policy=Policy(fail_on=Severity.parse(fail_on)))
    [file] = report.files
    assert file.format == EXPECTED[fixture.path]
    [finding] = file.findings
    assert finding.rule == "format-not-analysed"
    assert "recognised, not analysed by aisbom" in finding.message
    assert dict(finding.evidence)["format"] in finding.message
    # An unanalysed format is no way around the scan, whatever --fail-on says.
    assert report.incomplete and report.exit_code is ExitCode.UNSAFE


def test_severity_says_what_loading_can_do():
    """Medium (the rule's), high for a TensorRT plan, which can carry native code."""
    for fixture in UNANALYSED:
        [finding] = scan_target(fixture.abspath).findings
        expected = Severity.HIGH if "/tensorrt/" in fixture.path else Severity.MEDIUM
        assert finding.severity is expected, fixture.path
        if expected is Severity.HIGH:
            assert "plugin libraries" in finding.message


def test_the_structure_decides_not_the_name(tmp_path: Path):
    """Renamed, each file is still its format; named like one, other bytes are not."""
    for fixture in UNANALYSED:
        renamed = tmp_path / f"{Path(fixture.path).stem}.onnx"
        renamed.write_bytes(fixture.abspath.read_bytes())
        assert [f.format for f in scan_target(renamed).files] == [EXPECTED[fixture.path]]
    impostor = tmp_path / "model.mlmodel"
    impostor.write_bytes(EVIL)
    [file] = scan_target(impostor).files
    assert file.format == "pickle" and "pickle-dangerous-global" in {f.rule for f in file.findings}


def test_cut_files_are_never_guessed_as_another_unanalysed_format():
    """Every prefix of every fixture sniffs without error, as its own format or none of these."""
    for fixture in UNANALYSED:
        data = fixture.abspath.read_bytes()
        for cut in range(len(data)):
            fmt = sniff(data[:cut])
            assert fmt == EXPECTED[fixture.path] or fmt not in set(EXPECTED.values()), (fixture.path, cut)


def test_nested_in_an_archive_it_is_reported_on_its_member():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("models/model.mlmodel", (FIXTURES_DIR / "unanalysed/coreml/model.mlmodel").read_bytes())
    fmt, findings = scan(buffer.getvalue())
    assert fmt == "zip"
    [finding] = [f for f in findings if f.rule == "format-not-analysed"]
    assert finding.members == ("models/model.mlmodel",)


def test_a_text_format_keeps_the_template_checks(tmp_path: Path):
    """transformers renders chat_template.jinja whatever else it parses as: a template escape
    in a file that is also a Caffe prototxt is still found."""
    path = tmp_path / "chat_template.jinja"
    path.write_text(
        (FIXTURES_DIR / "unanalysed/caffe/deploy.prototxt").read_text()
        + "# {{ cycler.__init__.__globals__.os.popen('id').read() }}\n"
    )
    [file] = scan_target(path).files
    assert file.format == "caffe-prototxt"
    assert {"format-not-analysed", "template-injection"} <= {f.rule for f in file.findings}


def test_basic_pitch_core_ml_model_is_core_ml_not_onnx():
    """basic-pitch ships a Core ML package; its model.mlmodel starts as an ONNX model does and
    was reported `ok [onnx]` before this format was recognised."""
    spec = importlib.util.find_spec("basic_pitch")
    if spec is None or not spec.submodule_search_locations:
        if os.environ.get("CI"):
            pytest.fail("basic_pitch is not installed; .ci/run installs it")
        pytest.skip("basic_pitch is not installed")
    package = Path(next(iter(spec.submodule_search_locations))) / "saved_models/icassp_2022/nmp.mlpackage"
    report = scan_target(package)
    formats = {f.path: f.format for f in report.files}
    assert formats == {
        "Data/com.apple.CoreML/model.mlmodel": "coreml",
        "Data/com.apple.CoreML/weights/weight.bin": "coreml-weights",
        "Manifest.json": "json",
    }
    model = next(f for f in report.files if f.format == "coreml")
    [finding] = model.findings
    assert finding.rule == "format-not-analysed"
    assert dict(finding.evidence)["detail"] == "specification version 6, ML program"
    assert report.exit_code is ExitCode.UNSAFE and report.incomplete
