"""The fixture corpus is real.

* Every malicious fixture, opened by its natural loader in a fresh directory,
  runs its payload: ``aisbom-marker`` appears, and nothing else does.
* Every benign fixture (and every real model in REAL_MODELS) loads cleanly and
  creates nothing.
* ``fixtures/generate.py --out DIR`` reproduces the committed files byte for byte.

Each check is its own test running its own subprocess, so ``-n auto`` spreads them.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from catalog import (
    BENIGN,
    FAMILIES,
    FIXTURES,
    FIXTURES_DIR,
    GENERATED_DIRS,
    MALICIOUS,
    MARKER,
    REAL_MODELS,
    UNANALYSED,
)

TIMEOUT = 240  # importing Keras with torch takes 10-20 s alone, and much longer on a loaded machine
MODULES_TAG = "@@aisbom-modules@@"

# Runs the loader exactly as written (PATH bound to the fixture's path), swallows
# nothing, and reports which of the catalogue's `modules` ended up imported.
RUNNER = """\
import json, sys
PATH = sys.argv[1]
WANTED = json.loads(sys.argv[2])
try:
    exec(compile(sys.argv[3], "<loader>", "exec"), {"PATH": PATH, "__name__": "__main__"})
finally:
    sys.stdout.flush()
    print("\\nTAG" + json.dumps(sorted(m for m in WANTED if m in sys.modules)), flush=True)
""".replace("TAG", MODULES_TAG)


def run_loader(loader: str, path: Path, cwd: Path, modules=()) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONWARNINGS="ignore")
    return subprocess.run(
        [sys.executable, "-c", RUNNER, str(path), json.dumps(sorted(modules)), loader],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir())


def explain(result: subprocess.CompletedProcess) -> str:
    return (
        f"exit {result.returncode}\n--- stdout\n{result.stdout[-1500:]}\n--- stderr\n{result.stderr[-3000:]}"
    )


def imported(result: subprocess.CompletedProcess) -> set[str]:
    _, _, tail = result.stdout.rpartition(MODULES_TAG)
    return set(json.loads(tail.strip() or "[]"))


@pytest.mark.parametrize("fixture", MALICIOUS, ids=lambda f: f.id)
def test_malicious_fixture_runs_its_payload(fixture, tmp_path):
    if fixture.no_loader:
        pytest.skip(fixture.no_loader)
    result = run_loader(fixture.loader, fixture.abspath, tmp_path, fixture.modules)
    if fixture.proof != "payload":  # a structural attack (see `proof` in catalog.py)
        assert files_under(tmp_path) == [], "the loader created files"
        if fixture.proof == "loads":
            assert result.returncode == 0, explain(result)
        else:
            refusal = fixture.proof.removeprefix("refused:").strip()
            assert result.returncode != 0 and refusal in result.stderr, explain(result)
        return
    # The loader may raise after the payload ran (broken streams, magic checks):
    # only the marker counts.
    assert (tmp_path / MARKER).is_file(), f"payload did not run\n{explain(result)}"
    assert files_under(tmp_path) == [MARKER], "payload did more than create the marker"
    missing = set(fixture.modules) - imported(result)
    assert not missing, f"catalogue lists modules the load never imported: {missing}"


@pytest.mark.parametrize("fixture", BENIGN, ids=lambda f: f.id)
def test_benign_fixture_loads_cleanly(fixture, tmp_path):
    if fixture.no_loader:
        pytest.skip(fixture.no_loader)
    result = run_loader(fixture.loader, fixture.abspath, tmp_path)
    assert result.returncode == 0, explain(result)
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("fixture", UNANALYSED, ids=lambda f: f.id)
def test_unanalysed_fixture_reads_as_its_format(fixture, tmp_path):
    """Read back by the format's own library where it installs from PyPI (coremltools, ncnn)."""
    if fixture.no_loader:
        pytest.skip(fixture.no_loader)
    result = run_loader(fixture.loader, fixture.abspath, tmp_path)
    assert result.returncode == 0, explain(result)
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("fixture", REAL_MODELS, ids=lambda f: Path(f.path).name)
def test_real_model_loads_cleanly(fixture, tmp_path):
    result = run_loader(fixture.loader, fixture.abspath, tmp_path)
    assert result.returncode == 0, explain(result)
    assert files_under(tmp_path) == []


# --- the catalogue and the files on disk agree ----------------------------------


def test_catalog_is_well_formed():
    paths = [f.path for f in FIXTURES]
    assert len(paths) == len(set(paths)), [p for p, n in Counter(paths).items() if n > 1]
    for f in FIXTURES + REAL_MODELS:
        assert f.kind in ("malicious", "benign", "unanalysed"), f
        assert f.family in FAMILIES, f
        assert f.trick and f.description and (f.loader or f.no_loader), f
        assert f.proof in ("payload", "loads") or f.proof.startswith("refused: "), f
        assert f.verdict in ("fail", "medium") and (f.verdict == "fail" or f.kind == "malicious"), f
        assert f.proof == "payload" or f.kind == "malicious", f
        if f.loader:
            compile(f.loader, f.path, "exec")
    for f in FIXTURES:
        assert not Path(f.path).is_absolute() and ".." not in Path(f.path).parts, f
        assert f.path.split("/", 1)[0] in GENERATED_DIRS, f


def test_catalog_matches_files_on_disk():
    on_disk = set()
    for sub in GENERATED_DIRS:
        on_disk |= {f"{sub}/{p}" for p in files_under(FIXTURES_DIR / sub)}
    listed = {f.path for f in FIXTURES}
    assert sorted(listed - on_disk) == [], "listed but not generated (run generate.py)"
    assert sorted(on_disk - listed) == [], "generated but not in the catalogue"


def test_fixtures_are_commit_sized():
    sizes = {f.path: f.abspath.stat().st_size for f in FIXTURES}
    too_big = {p: s for p, s in sizes.items() if s >= 200 * 1024}
    assert not too_big
    assert sum(sizes.values()) < 5 * 1024 * 1024
    demo = [f for f in FIXTURES if f.path.startswith("demo/")]
    assert sum(sizes[f.path] for f in demo) < 50 * 1024
    assert {f.kind for f in demo} == {"benign", "malicious"}


def test_malicious_corpus_covers_every_family():
    families = {f.family for f in MALICIOUS}
    expected = {
        "pickle",
        "pytorch-zip",
        "pytorch-legacy",
        "torchscript",
        "numpy",
        "npz",
        "joblib",
        "archive",
        "compressed",
        "tensorflow",
        "onnx",
        "safetensors",
    }
    assert expected <= families, expected - families
    pickle_protocols = {f.trick for f in MALICIOUS if f.trick.startswith("protocol-")}
    assert pickle_protocols == {f"protocol-{n}" for n in range(6)}


# --- reproducibility ------------------------------------------------------------


def test_generator_reproduces_committed_files(tmp_path):
    out = tmp_path / "out"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    # A different hash seed than the committed run: set/dict order must not leak in.
    env = dict(os.environ, PYTHONHASHSEED="4242", PYTHONWARNINGS="ignore")
    result = subprocess.run(
        [sys.executable, str(FIXTURES_DIR / "generate.py"), "--out", str(out)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, explain(result)
    assert files_under(cwd) == [], "generating the corpus must not run any payload"
    committed = {}
    for sub in GENERATED_DIRS:
        committed |= {f"{sub}/{p}": FIXTURES_DIR / sub / p for p in files_under(FIXTURES_DIR / sub)}
    regenerated = {p for sub in GENERATED_DIRS for p in (f"{sub}/{q}" for q in files_under(out / sub))}
    assert regenerated == set(committed)
    differing = [p for p, src in sorted(committed.items()) if (out / p).read_bytes() != src.read_bytes()]
    assert differing == []


# Every fixture built through a numeric library (torch, scikit-learn, Keras, NumPy, ONNX): the
# ones whose floats a CPU's kernels would round differently if the generator ever computed them
# (training, optimiser steps, linear algebra, vectorised fills) instead of setting them by hand.
NUMERIC_FIXTURES = (
    "benign/pytorch/", "malicious/pytorch/", "demo/model.pt", "benign/sklearn/", "benign/onnx/",
    "benign/keras/", "malicious/keras/", "benign/numpy/", "malicious/numpy/", "malicious/joblib/",
    "benign/safetensors/", "benign/pickle/numpy_arrays_p5.pkl",
)  # fmt: skip


def _numpy_dispatch_targets() -> str:
    from numpy._core._multiarray_umath import __cpu_dispatch__

    return " ".join(__cpu_dispatch__)


# Kernels can only be forced down safely (forcing one the CPU lacks would crash): OpenBLAS to
# Prescott (SSE3) or Nehalem (SSE4.2) kernels, PyTorch to its portable kernels, NumPy to its
# baseline loops; and other thread counts, which change how OpenMP splits work.
KERNEL_SETTINGS = {
    "lowest-kernels-one-thread": {
        "OPENBLAS_CORETYPE": "Prescott",
        "ATEN_CPU_CAPABILITY": "default",
        "NPY_DISABLE_CPU_FEATURES": _numpy_dispatch_targets(),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    },
    "nehalem-blas-two-threads": {
        "OPENBLAS_CORETYPE": "Nehalem",
        "OMP_NUM_THREADS": "2",
        "MKL_NUM_THREADS": "2",
        "OPENBLAS_NUM_THREADS": "2",
    },
}


@pytest.mark.parametrize("setting", KERNEL_SETTINGS)
def test_numeric_fixtures_do_not_depend_on_cpu_kernels_or_threads(setting, tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONWARNINGS="ignore", **KERNEL_SETTINGS[setting])
    only = [arg for prefix in NUMERIC_FIXTURES for arg in ("--only", prefix)]
    result = subprocess.run(
        [sys.executable, str(FIXTURES_DIR / "generate.py"), "--out", str(out), *only],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, explain(result)
    regenerated = files_under(out)
    assert len(regenerated) == sum(f.path.startswith(NUMERIC_FIXTURES) for f in FIXTURES)
    differing = [p for p in regenerated if (out / p).read_bytes() != (FIXTURES_DIR / p).read_bytes()]
    assert differing == []


# Fits on other samples than the generator's and pickles the result: every number fit() computed
# was replaced by a hand-set one, so the bytes are the committed ones. This is what makes them
# safe on CPUs no kernel setting here can imitate (FMA contraction, other libm, AVX-512 loops).
OTHER_TRAINING_DATA = """\
import pickle, sys
sys.path.insert(0, sys.argv[1])
from builders.sklearn_models import sklearn_models
from sklearn.datasets import load_iris
x, y = load_iris(return_X_y=True)
for start in (2, 4):
    for name, model in sklearn_models(x[start::5], y[start::5]).items():
        with open(f"{sys.argv[2]}/{start}-{name}.pkl", "wb") as f:
            f.write(pickle.dumps(model, protocol=4))
"""


def test_sklearn_fixtures_do_not_depend_on_the_training_data(tmp_path):
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONWARNINGS="ignore")
    result = subprocess.run(
        [sys.executable, "-c", OTHER_TRAINING_DATA, str(FIXTURES_DIR), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, explain(result)
    differing = []
    for fitted in sorted(tmp_path.glob("*.pkl")):
        committed = FIXTURES_DIR / "benign" / "sklearn" / fitted.name.split("-", 1)[1]
        if fitted.read_bytes() != committed.read_bytes():
            differing.append(fitted.name)
    assert len(list(tmp_path.glob("*.pkl"))) == 22
    assert differing == []


# --- the zip tampering really defeats Python's zipfile (torch loads them above) ----


def _pytorch(name: str) -> Path:
    return FIXTURES_DIR / "malicious" / "pytorch" / name


@pytest.mark.parametrize("name", ["zip_bad_crc.pt", "zip_name_mismatch.pt"])
def test_tampered_zip_breaks_python_zipfile(name):
    with zipfile.ZipFile(_pytorch(name)) as zf, pytest.raises(zipfile.BadZipFile):
        zf.read("archive/data.pkl")


def test_duplicate_member_python_zipfile_reads_the_benign_copy():
    with zipfile.ZipFile(_pytorch("zip_duplicate_member.pt")) as zf:
        infos = [i for i in zf.infolist() if i.filename == "archive/data.pkl"]
        assert len(infos) == 2
        assert b"system" in zf.read(infos[0]) and b"system" not in zf.read(infos[1])
        assert b"system" not in zf.read("archive/data.pkl")  # zipfile: last entry wins


def test_polyglot_looks_like_a_benign_zip_to_python():
    data = _pytorch("zip_pickle_polyglot.pt").read_bytes()
    assert data[:2] == b"\x80\x02" and zipfile.is_zipfile(io.BytesIO(data))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert b"system" not in zf.read("archive/data.pkl")


def test_zip_header_oddities():
    with zipfile.ZipFile(_pytorch("zip_deflated.pt")) as zf:
        assert zf.getinfo("archive/data.pkl").compress_type == zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(_pytorch("zip_flag_bits.pt")) as zf:
        assert zf.getinfo("archive/data.pkl").flag_bits == 0xC80E
    with zipfile.ZipFile(_pytorch("zip_unusual_record_prefix.pt")) as zf:
        assert "../data.pkl" in zf.namelist()
