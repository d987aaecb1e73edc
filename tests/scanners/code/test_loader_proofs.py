"""The other loaders of shipped code run the fixtures' payloads, and aisbom flags exactly those:
sentence-transformers and diffusers with trust_remote_code=True, MLflow's pyfunc loader, Keras
with the custom objects' module the config names, and
TorchServe's model loader on a .mar that torch-model-archiver would write byte for byte but the
date. Each loader runs in a child process in a fresh directory; the payloads only create
`aisbom-marker` there. A loader that is not installed skips its test, saying which."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from aisbom.pipeline import scan_target
from aisbom.severity import Severity

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "fixtures" / "model_code"

# Each loader script reads a JSON list of model directories and a work directory, loads every
# model in a fresh directory under it and prints {model: [outcome, whether the marker appeared]}.
# The models' modules share names (handler, tiny_flavor): each model's own are imported afresh.
_RUNNER = """
import json, os, sys, tempfile
results = {{}}
for model in json.loads(sys.argv[1]):
    os.chdir(tempfile.mkdtemp(dir=sys.argv[2]))
    path, modules = list(sys.path), set(sys.modules)
    try:
{load}
        outcome = "loaded"
    except Exception as exc:
        outcome = f"{{type(exc).__name__}}: {{exc}}"[:300]
    results[model] = [outcome, os.path.exists("aisbom-marker")]
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith((model, sys.argv[2])):
            del sys.modules[name]
print(json.dumps(results))
"""

LOADERS = {
    "sentence_transformers": """\
        from sentence_transformers import SentenceTransformer
        SentenceTransformer(model, trust_remote_code=True, local_files_only=True)""",
    "diffusers": """\
        from diffusers import DiffusionPipeline
        DiffusionPipeline.from_pretrained(model, trust_remote_code=True, local_files_only=True)""",
    "mlflow": """\
        import mlflow.pyfunc
        assert mlflow.pyfunc.load_model(model).predict([1, 2]) == [2, 4]""",
    # Keras 3.9 and later import no custom module themselves: the program imports the module the
    # config names (as a model's instructions say), then loads; Keras < 3.9 imports it itself.
    "keras": """\
        import importlib, zipfile
        import keras
        sys.path.insert(0, model)
        config = json.loads(zipfile.ZipFile(os.path.join(model, "tiny.keras")).read("config.json"))
        importlib.import_module(config["config"]["layers"][1]["module"])
        loaded = keras.saving.load_model(os.path.join(model, "tiny.keras"))
        assert keras.ops.convert_to_numpy(loaded(keras.ops.ones((1, 4)))).tolist() == [[2.0] * 4]""",
    # What TorchServe's frontend and its Python worker do on registering a .mar: unpack it into
    # the model's directory, put that on sys.path and load the manifest's handler.
    "ts": """\
        import zipfile
        from ts.model_loader import ModelLoaderFactory
        unpacked = tempfile.mkdtemp(dir=sys.argv[2])
        zipfile.ZipFile(model).extractall(unpacked)
        sys.path.insert(0, unpacked)
        manifest = json.load(open(os.path.join(unpacked, "MAR-INF", "MANIFEST.json")))
        loader = ModelLoaderFactory.get_model_loader()
        loader.load(manifest["model"]["modelName"], unpacked, manifest["model"]["handler"])""",
}

# loader package: {fixture: whether its payload runs}; every fixture here ships code.
PROOFS = {
    "sentence_transformers": {
        "benign/sentence-transformers": False,
        "malicious/sentence-transformers-payload": True,
    },
    "diffusers": {
        "benign/diffusers-custom-component": False,
        "malicious/diffusers-component-payload": True,
    },
    "mlflow": {"benign/mlflow-pyfunc": False, "malicious/mlflow-loader-payload": True},
    "keras": {"benign/keras-custom-objects": False, "malicious/keras-custom-objects-payload": True},
    "ts": {"benign/torchserve/tiny.mar": False, "malicious/torchserve-handler-payload/tiny.mar": True},
}


def _load_in_child(package: str, models: list[Path], work: Path) -> dict[str, list[object]]:
    env = {
        **os.environ,
        "HF_HOME": str(work / "hf"),
        "HF_HUB_OFFLINE": "1",
        "HF_MODULES_CACHE": str(work / "modules"),
        "TRANSFORMERS_VERBOSITY": "error",
        "MLFLOW_TRACKING_URI": (work / "mlruns").as_uri(),
        "KERAS_BACKEND": "torch",
    }
    script = _RUNNER.format(load=LOADERS[package])
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps([str(m) for m in models]), str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("package", sorted(PROOFS))
def test_the_loader_runs_exactly_the_payloads_aisbom_flags(package, tmp_path):
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed: its loader proof needs it (pip install aisbom[test])")
    expected = PROOFS[package]
    loaded = _load_in_child(package, [FIXTURES / name for name in expected], tmp_path)
    for name, runs in expected.items():
        outcome, created = loaded[str(FIXTURES / name)]
        assert (outcome, created) == ("loaded", runs), name
        report = scan_target((FIXTURES / name).parent if name.endswith(".mar") else FIXTURES / name)
        flagged = [f for f in report.findings if f.severity >= Severity.HIGH]
        code = [f for f in flagged if f.rule == "code-dangerous-call"]
        assert bool(flagged) is runs and len(code) == len(flagged), (name, flagged)
        shipped = [f for f in report.findings if f.rule == "model-ships-code"]
        assert [f.severity for f in shipped] == [Severity.MEDIUM], name


def test_the_torchserve_fixture_is_what_torch_model_archiver_writes(tmp_path):
    """The same members, the same manifest (but its date), and the same findings."""
    if importlib.util.find_spec("model_archiver") is None:
        pytest.skip("torch-model-archiver is not installed (pip install aisbom[test])")
    for name in ("benign/torchserve", "malicious/torchserve-handler-payload"):
        fixture = zipfile.ZipFile(FIXTURES / name / "tiny.mar")
        sources = tmp_path / name / "sources"
        fixture.extractall(sources)
        built = tmp_path / name / "built"
        built.mkdir()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "model_archiver.model_packaging",
                "--model-name",
                "tiny",
                "--version",
                "1.0",
                "--model-file",
                str(sources / "model.py"),
                "--handler",
                str(sources / "handler.py"),
                "--export-path",
                str(built),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        archive = zipfile.ZipFile(built / "tiny.mar")
        assert sorted(archive.namelist()) == sorted(fixture.namelist())
        for member in fixture.namelist():
            ours, theirs = fixture.read(member), archive.read(member)
            if member == "MAR-INF/MANIFEST.json":
                ours, theirs = (json.loads(m) | {"createdOn": None} for m in (ours, theirs))
            assert ours == theirs, member

        def seen(target: Path) -> list[tuple[str, str, str]]:
            return [(f.member or "", f.rule, f.severity.label) for f in scan_target(target).findings]

        assert sorted(seen(built)) == sorted(seen(FIXTURES / name))
