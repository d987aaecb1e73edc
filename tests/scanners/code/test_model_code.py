"""Code that ships with a model: every loader path that imports it is found and named, the code is
judged from its syntax tree (and by bandit), never imported; benign custom code is medium, payloads
are high or critical with the line and the call; transformers proves the payloads run."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from aisbom.bom.build import BomOptions, build_bom
from aisbom.limits import Limits
from aisbom.pipeline import ScanReport, scan_target
from aisbom.severity import ExitCode, Severity

REPO = Path(__file__).resolve().parents[3]
BUILDER = REPO / "fixtures" / "builders" / "model_code.py"
FIXTURES = REPO / "fixtures" / "model_code"
MARKER = "aisbom-marker"


def _builder():
    spec = importlib.util.spec_from_file_location("model_code_builder", BUILDER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # our own fixture builder
    return module


def findings(report: ScanReport) -> list[tuple[str, str, str]]:
    """(file, rule, severity) of every finding, in order."""
    return [(f.path, f.rule, f.severity.label) for f in report.findings]


def evidence(report: ScanReport, rule: str) -> dict[str, str]:
    [finding] = [f for f in report.findings if f.rule == rule]
    return dict(finding.evidence)


def test_fixtures_are_what_the_builder_writes(tmp_path):
    written = _builder().generate(tmp_path / "model_code")
    assert sorted(written) == sorted(
        p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*") if p.is_file()
    )
    for name in written:
        assert (tmp_path / "model_code" / name).read_bytes() == (FIXTURES / name).read_bytes(), name


# --- benign: only the medium "ships code" finding, naming the loader, the option and the files ---
BENIGN = {
    "hf-custom-architecture": ("config.json", "transformers", "configuration_tiny.py, modeling_tiny.py"),
    "hf-custom-tokenizer": ("tokenizer_config.json", "transformers", "tokenization_tiny.py"),
    "sentence-transformers": ("modules.json", "sentence-transformers", "custom_pooling.py"),
    "diffusers-custom-component": ("model_index.json", "diffusers", "pipeline_tiny.py, unet/unet_tiny.py"),
    "inference-endpoints-handler": ("handler.py", "Inference Endpoints", "handler.py"),
    "mlflow-pyfunc": (
        "MLmodel",
        "MLflow",
        "tiny_flavor (loader_module of python_function), code (code of python_function)",
    ),
}


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_benign_custom_code_is_only_the_medium_ships_code_finding(name):
    where, loader, files = BENIGN[name]
    report = scan_target(FIXTURES / "benign" / name)
    assert findings(report) == [(where, "model-ships-code", "medium")]
    found = evidence(report, "model-ships-code")
    assert (found["loader"], found["files"]) == (loader, files)
    assert report.exit_code is ExitCode.CLEAN  # medium: the user must opt in to run it


def test_a_keras_custom_objects_module_shipped_beside_the_model_is_shipped_code():
    """The config's custom object names the module custom_layers; custom_layers.py is a file of
    the target: the model ships code, judged like the rest (the payload variant: critical)."""
    report = scan_target(FIXTURES / "benign" / "keras-custom-objects")
    assert findings(report) == [
        ("tiny.keras", "keras-custom-object", "medium"),
        ("tiny.keras", "model-ships-code", "medium"),
    ]
    found = evidence(report, "model-ships-code")
    assert (found["loader"], found["files"]) == ("Keras", "custom_layers.py")
    assert report.exit_code is ExitCode.CLEAN
    evil = scan_target(FIXTURES / "malicious" / "keras-custom-objects-payload")
    assert ("custom_layers.py", "code-dangerous-call", "critical") in findings(evil)
    # Without the module in the target, only the reference remains.
    alone = scan_target(FIXTURES / "benign" / "keras-custom-objects" / "tiny.keras")
    assert findings(alone) == [("tiny.keras", "keras-custom-object", "medium")]


def test_transformers_finding_names_the_option_and_the_classes():
    report = scan_target(FIXTURES / "benign" / "hf-custom-architecture")
    [finding] = report.findings
    assert "trust_remote_code=True" in finding.message
    assert "auto_map.AutoModel = modeling_tiny.TinyModel" in finding.message


def test_torchserve_archive_names_handler_and_model_file_inside_the_mar():
    report = scan_target(FIXTURES / "benign" / "torchserve")
    [finding] = report.findings
    assert (finding.rule, finding.member) == ("model-ships-code", "MAR-INF/MANIFEST.json")
    assert dict(finding.evidence)["files"] == "handler.py, model.py"
    assert report.exit_code is ExitCode.CLEAN


def test_real_modeling_code_from_the_transformers_package_raises_nothing(tmp_path):
    """Real architectures' modeling and configuration files, shipped as custom code."""
    transformers = Path(importlib.util.find_spec("transformers").origin).parent  # type: ignore[union-attr]
    for model in ("bert", "llama", "gpt2", "whisper", "mamba"):
        for source in (transformers / "models" / model).glob("*.py"):
            (tmp_path / f"{model}_{source.name}").write_bytes(source.read_bytes())
    (tmp_path / "config.json").write_text(
        json.dumps({"auto_map": {"AutoModel": "llama_modeling_llama.LlamaModel"}})
    )
    report = scan_target(tmp_path)
    assert findings(report) == [("config.json", "model-ships-code", "medium")]
    assert len([f for f in report.files if f.path.endswith(".py")]) >= 15


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        pytest.skip(f"{package} is not installed (pip install aisbom[test])")
    return Path(spec.origin).parent / relative


def test_real_code_of_the_other_loaders_shipped_as_custom_code_raises_only_ships_code(tmp_path):
    """Real module, pipeline and handler code from the loaders' own PyPI packages, laid out as
    models that ship it (as Hub repositories copy such files): only the medium finding each."""
    st = tmp_path / "sentence-transformers"
    st.mkdir()
    pooling = _package_file("sentence_transformers", "sentence_transformer/modules/pooling.py")
    (st / "custom_pooling.py").write_bytes(pooling.read_bytes())
    (st / "modules.json").write_text(
        json.dumps([{"idx": 0, "name": "0", "path": "", "type": "custom_pooling.Pooling"}])
    )
    pipeline = tmp_path / "diffusers"
    pipeline.mkdir()
    ddpm = _package_file("diffusers", "pipelines/ddpm/pipeline_ddpm.py")
    (pipeline / "pipeline_ddpm.py").write_bytes(ddpm.read_bytes())
    (pipeline / "model_index.json").write_text(json.dumps({"_class_name": ["pipeline_ddpm", "DDPMPipeline"]}))
    mar = tmp_path / "torchserve"
    handler = _package_file("ts", "torch_handler/image_classifier.py")
    model = _package_file("ts", "torch_handler/unit_tests/models/base_model.py")
    _package_file("model_archiver", "model_packaging.py")  # torch-model-archiver writes the .mar
    subprocess.run(
        [sys.executable, "-m", "model_archiver.model_packaging", "--model-name", "real",
         "--version", "1.0", "--model-file", str(model), "--handler", str(handler),
         "--export-path", str(mar.parent)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    mar.mkdir()
    (mar.parent / "real.mar").rename(mar / "real.mar")
    for target, where in ((st, "modules.json"), (pipeline, "model_index.json"), (mar, "real.mar")):
        report = scan_target(target)
        assert findings(report) == [(where, "model-ships-code", "medium")], target.name
        assert report.exit_code is ExitCode.CLEAN


# --- malicious: high or critical, with the line and the call ---------------------------------
MALICIOUS = {
    # fixture: (file, rule, severity, call, when)
    "import-time-payload": ("modeling_tiny.py", "code-dangerous-call", "critical", "os.system", "import"),
    "init-payload": ("modeling_tiny.py", "code-dangerous-call", "critical", "subprocess.run", "load"),
    "obfuscated-payload": ("modeling_tiny.py", "code-obfuscated", "critical", "builtins.exec", "load"),
    "relative-import-payload": (
        "utils_tiny.py",
        "code-obfuscated",
        "critical",
        "getattr(a computed module, ...)",
        "call",
    ),
    "inference-endpoints-handler": (
        "handler.py",
        "code-dangerous-call",
        "critical",
        "socket.create_connection",
        "load",
    ),
}


@pytest.mark.parametrize("name", sorted(MALICIOUS))
def test_payloads_are_found_with_line_and_call(name):
    path, rule, severity, call, when = MALICIOUS[name]
    report = scan_target(FIXTURES / "malicious" / name)
    assert report.exit_code is ExitCode.UNSAFE
    [finding] = [f for f in report.findings if f.path == path and dict(f.evidence).get("call") == call]
    assert (finding.rule, finding.severity.label) == (rule, severity)
    found = dict(finding.evidence)
    assert found["when"] == when
    line = (FIXTURES / "malicious" / name / path).read_text().splitlines()[int(found["line"]) - 1]
    assert found["source"] == line.strip() and f"line {found['line']}:" in finding.message


def test_init_payload_names_the_constructor():
    report = scan_target(FIXTURES / "malicious" / "init-payload")
    assert evidence(report, "code-dangerous-call")["scope"] == "TinyModel.__init__"


def test_cross_repo_auto_map_is_a_supply_chain_edge():
    report = scan_target(FIXTURES / "malicious" / "cross-repo-auto-map")
    found = evidence(report, "model-code-elsewhere")
    assert (found["repository"], found["reference"]) == (
        "aisbom-fixtures/shared-code",
        "modeling_tiny.TinyModel",
    )
    assert report.exit_code is ExitCode.UNSAFE


@pytest.mark.parametrize(
    ("name", "key"),
    [("auto-map-outside", "auto_map.AutoModel"), ("auto-map-not-string", "auto_map.AutoModel")],
)
def test_auto_map_outside_the_model_or_not_a_string_is_one_finding(name, key):
    report = scan_target(FIXTURES / "malicious" / name)
    assert findings(report) == [
        ("config.json", "model-code-reference-invalid", "high"),
        ("config.json", "model-ships-code", "medium"),
    ]
    assert evidence(report, "model-code-reference-invalid")["key"] == key


# --- the proof: transformers runs every payload with trust_remote_code=True ----------------------
LOADER = """
import json, os, sys, tempfile
from transformers import AutoModel
results = {}
for directory in json.loads(sys.argv[1]):
    os.chdir(tempfile.mkdtemp(dir=sys.argv[2]))
    try:
        AutoModel.from_pretrained(directory, trust_remote_code=True)
        outcome = "loaded"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}"[:300]
    results[directory] = [outcome, os.path.exists("aisbom-marker")]
print(json.dumps(results))
"""


def test_transformers_runs_the_payloads_and_not_the_benign_code(tmp_path):
    pytest.importorskip("transformers")
    # The other repository of the cross-repository auto_map, in an offline Hub cache.
    snapshot = tmp_path / "hf" / "hub" / "models--aisbom-fixtures--shared-code"
    commit = "0" * 40
    (snapshot / "refs").mkdir(parents=True)
    (snapshot / "refs" / "main").write_text(commit)
    (snapshot / "snapshots" / commit).mkdir(parents=True)
    for other in (FIXTURES / "malicious" / "cross-repo-auto-map.other-repo").iterdir():
        (snapshot / "snapshots" / commit / other.name).write_bytes(other.read_bytes())
    expected = {
        FIXTURES / "benign" / "hf-custom-architecture": False,
        **{
            FIXTURES / "malicious" / name: True
            for name in (
                "import-time-payload",
                "init-payload",
                "obfuscated-payload",
                "relative-import-payload",
                "cross-repo-auto-map",
            )
        },
    }
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "TRANSFORMERS_VERBOSITY": "error",
    }
    work = tmp_path / "work"
    work.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", LOADER, json.dumps([str(p) for p in expected]), str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    for path, marker in expected.items():
        outcome, created = loaded[str(path)]
        assert (outcome, created) == ("loaded", marker), path.name


# --- bad input: one finding each, never a crash; unanalysable makes the scan incomplete ----------
BAD_SOURCES = {
    "syntax-error.py": b"def broken(:\n    pass\n",
    "python2.py": b"print 'hello'\n",
    "null-bytes.py": b"import os\x00\n",
    "wrong-encoding.py": b"# -*- coding: ascii -*-\nname = '\xe9t\xe9'\n",
    "unknown-encoding.py": b"# -*- coding: no-such-codec -*-\nx = 1\n",
    "binary-named-py.py": b"\x00\x01\x02\xff" * 10,
    "deep-parentheses.py": b"x = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n",
    "deep-unary.py": b"x = " + b"-" * 100_000 + b"1\n",
    "long-attribute-chain.py": b"import os\nx = os" + b".path" * 2500 + b"\n",
}


@pytest.mark.parametrize("name", sorted(BAD_SOURCES))
def test_unparsable_python_is_one_finding_and_an_incomplete_scan(tmp_path, name):
    (tmp_path / name).write_bytes(BAD_SOURCES[name])
    report = scan_target(tmp_path)
    assert findings(report) == [(name, "code-unanalysable", "high")]
    assert report.incomplete and report.exit_code is ExitCode.UNSAFE


def test_huge_and_deep_sources_hit_their_limits(tmp_path):
    (tmp_path / "huge.py").write_bytes(b"x = 1\n" * 2000)
    (tmp_path / "deep.py").write_bytes(b"x = " + b"[" * 60 + b"]" * 60 + b"\n")
    report = scan_target(tmp_path, limits=Limits(max_code_bytes=10_000, max_code_depth=50))
    assert sorted((f.path, f.rule, dict(f.evidence).get("limit")) for f in report.findings) == [
        ("deep.py", "code-unanalysable", "max_code_depth"),
        ("huge.py", "code-unanalysable", "max_code_bytes"),
    ]
    assert report.incomplete


def test_a_latin1_module_that_declares_it_is_analysed(tmp_path):
    (tmp_path / "modeling_x.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nimport os\nname = '\xe9'\nos.system(name)\n"
    )
    report = scan_target(tmp_path)
    assert [(f.rule, f.severity) for f in report.findings] == [("code-dangerous-call", Severity.CRITICAL)]


def test_constants_and_exceptions_of_hazardous_modules_run_nothing(tmp_path):
    """subprocess.PIPE or `except subprocess.CalledProcessError` is not a process; the call is,
    and so is a reference to a loader whose name is in capitals (ctypes.CDLL)."""
    (tmp_path / "modeling_x.py").write_text(
        "import ctypes\nimport socket\nimport subprocess\n\n\ndef run():\n    try:\n"
        "        subprocess.run(['ls'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)\n"
        "    except (subprocess.CalledProcessError, socket.timeout):\n        pass\n"
        "    family = socket.AF_INET\n    loader = ctypes.CDLL\n    return family, loader\n"
    )
    report = scan_target(tmp_path)
    assert {dict(f.evidence)["call"] for f in report.findings} == {"ctypes.CDLL", "subprocess.run"}


def test_nosec_comments_of_shipped_code_are_ignored(tmp_path):
    (tmp_path / "modeling_x.py").write_bytes(
        b"import torch\n\n\ndef load(path):\n    return torch.load(path)  # nosec\n"
    )
    report = scan_target(tmp_path)
    assert [(f.rule, dict(f.evidence)["bandit_test"]) for f in report.findings] == [("code-bandit", "B614")]


def test_auto_map_values_that_are_not_module_class_references(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps({"auto_map": {"AutoModel": "a.b.C", "AutoConfig": 3, "AutoTokenizer": ["..\\x.T", None]}})
    )
    report = scan_target(tmp_path)
    assert [dict(f.evidence)["key"] for f in report.findings] == [
        "auto_map.AutoModel",
        "auto_map.AutoConfig",
        "auto_map.AutoTokenizer",
    ]
    assert {f.rule for f in report.findings} == {"model-code-reference-invalid"}


def test_a_payload_hidden_in_a_zip_member_named_py_is_found(tmp_path):
    with zipfile.ZipFile(tmp_path / "bundle.zip", "w") as archive:
        archive.writestr("code/handler.py", "import os\nos.system('id')\n")
    report = scan_target(tmp_path)
    assert ("code-dangerous-call", "code/handler.py") in [(f.rule, f.member) for f in report.findings]


# --- the BOM: code files marked, the model needing remote code ---------------------------------
def test_bom_marks_code_files_and_the_model_as_needing_remote_code():
    target = FIXTURES / "malicious" / "cross-repo-auto-map"
    doc = build_bom(scan_target(target), target, BomOptions(reproducible=True)).doc
    [model] = [c for c in doc["components"] if c["type"] == "machine-learning-model"]
    props = {(p["name"], p["value"]) for p in model["properties"]}
    assert ("aisbom:requires_remote_code", "true") in props
    assert ("aisbom:code_from_repository", "aisbom-fixtures/shared-code") in props
    gaps = dict(props)["aisbom:documentation_gaps"].split(",")
    assert "ships-code" in gaps  # EN 304 223 5.2.3-2: a component to justify
    code = {
        c["name"]
        for c in model["components"]
        if {"name": "aisbom:code", "value": "python"} in c.get("properties", [])
    }
    assert code == {"configuration_tiny.py", "modeling_tiny.py"}
    assert all(c["hashes"][0]["alg"] == "SHA-256" for c in model["components"])


_GUARDED = "import os\n\n\ndef main():\n    os.system('touch {marker}')\n\n\n"


@pytest.mark.parametrize(
    ("prelude", "guard", "runs_on_import"),
    [
        ("", 'if __name__ == "__main__":\n    main()\n', False),
        ("", 'if "__main__" == __name__:\n    main()\nelse:\n    main()\n', True),  # else runs on import
        ('__name__ = "__main__"\n', 'if __name__ == "__main__":\n    main()\n', True),
        ('globals()["__name__"] = "__main__"\n', 'if __name__ == "__main__":\n    main()\n', True),
        (
            "import sys\nsys.modules[__name__].__name__ = '__main__'\n",
            'if __name__ == "__main__":\n    main()\n',
            True,
        ),
    ],
    ids=["guarded", "else-branch", "renamed", "renamed-by-globals", "renamed-by-module"],
)
def test_a_main_block_runs_only_as_a_script_unless_the_module_renames_itself(
    tmp_path, prelude, guard, runs_on_import
):
    """What a loader's import runs is critical; a `__main__` block runs only when the file is
    run as a script: high. Proved by importing each module in a child process."""
    model = tmp_path / "model"
    model.mkdir()
    marker = tmp_path / MARKER
    (model / "modeling_x.py").write_text(prelude + _GUARDED.format(marker=marker) + guard)
    subprocess.run([sys.executable, "-c", "import modeling_x"], cwd=model, check=True, timeout=60)
    assert marker.exists() == runs_on_import
    [finding] = [f for f in scan_target(model).findings if dict(f.evidence).get("call") == "os.system"]
    assert finding.severity == (Severity.CRITICAL if runs_on_import else Severity.HIGH)
    if not runs_on_import:
        assert "runs when main is called" in finding.message


def test_a_payload_in_the_main_block_itself_says_it_runs_as_a_script(tmp_path):
    (tmp_path / "modeling_x.py").write_text('import os\n\nif __name__ == "__main__":\n    os.system("id")\n')
    [finding] = scan_target(tmp_path).findings
    assert finding.severity == Severity.HIGH
    assert "runs only when the file is run as a script" in finding.message
