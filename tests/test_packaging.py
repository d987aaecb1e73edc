"""Packaging: `python -m build` makes an sdist and a wheel that twine accepts, that hold every
package of the source tree under the one import name `aisbom` (and the licence), whose version is
aisbom.version's, and that install and run in a fresh environment."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from aisbom.version import __version__

REPO = Path(__file__).resolve().parents[1]
pytest.importorskip("build", reason="needs the build package (pip install build)")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def _source_packages() -> set[str]:
    packages = {p.parent.relative_to(REPO).as_posix() for p in (REPO / "aisbom").rglob("__init__.py")}
    for top in ("scanners", "signing"):
        packages |= {
            "aisbom/" + p.parent.relative_to(REPO).as_posix() for p in (REPO / top).rglob("__init__.py")
        }
    return packages


def test_the_wheel_holds_every_package_the_licence_and_the_version(dist: Path):
    (wheel,) = dist.glob("*.whl")
    assert wheel.name == f"aisbom-{__version__}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    packages = {n.rpartition("/")[0] for n in names if n.endswith("/__init__.py")}
    assert packages == _source_packages()
    assert {n.split("/")[0] for n in names} == {"aisbom", f"aisbom-{__version__}.dist-info"}
    assert f"aisbom-{__version__}.dist-info/licenses/LICENSE" in names
    assert "aisbom/py.typed" in names
    metadata = zipfile.ZipFile(wheel).read(f"aisbom-{__version__}.dist-info/METADATA").decode()
    assert f"\nVersion: {__version__}\n" in metadata and "License-Expression: Apache-2.0" in metadata


def test_the_sdist_holds_the_sources_and_the_licence(dist: Path):
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    root = f"aisbom-{__version__}"
    for name in ("LICENSE", "README.md", "pyproject.toml", "aisbom/version.py", "scanners/__init__.py"):
        assert f"{root}/{name}" in names, name


def test_twine_accepts_both(dist: Path):
    pytest.importorskip("twine", reason="needs twine (pip install twine)")
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_wheel_installs_and_runs_in_a_fresh_environment(dist: Path, tmp_path: Path):
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    # Its dependencies come from this environment (system site packages); aisbom from the wheel.
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    where = subprocess.run(
        [str(python), "-c", "import aisbom.signing.providers.pem, aisbom.api as a; print(a.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert where.startswith(str(venv))
    scan = subprocess.run(
        [str(venv / "bin" / "aisbom"), "scan", str(REPO / "fixtures" / "demo"), "-q"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert scan.returncode == 1
    assert scan.stdout.splitlines()[0].endswith(
        "Result: UNSAFE (1 critical, 2 low); failing at high or above"
    )
    version = subprocess.run([str(venv / "bin" / "aisbom"), "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"aisbom, version {__version__}"
