"""The pre-commit hook (.pre-commit-hooks.yaml), run by the real `pre-commit try-repo` on a git
repository made in the test: a commit with the demo's os.system pickle fails with the finding, the
clean file beside it passes, and files the hook does not select are not scanned."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")


def test_the_hook_definition():
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "aisbom" and hook["language"] == "python"
    assert hook["entry"] == "aisbom scan -q"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.mark.skipif(PRE_COMMIT is None, reason="needs pre-commit (pip install pre-commit)")
def test_try_repo_fails_an_unsafe_model_and_passes_clean_ones(tmp_path: Path):
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    shutil.copy(REPO / "fixtures" / "demo" / "extra_weights.bin", repo / "weights.bin")
    shutil.copy(
        REPO / "fixtures" / "benign" / "safetensors" / "model.safetensors", repo / "model.safetensors"
    )
    (repo / "notes.txt").write_bytes((REPO / "fixtures" / "demo" / "extra_weights.bin").read_bytes())
    _git(repo, "add", "weights.bin", "model.safetensors", "notes.txt")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        # The hook's environment sees this one's packages: only aisbom itself is built (in place,
        # with the environment's own setuptools) and installed.
        "VIRTUALENV_SYSTEM_SITE_PACKAGES": "1",
        # (pip reads PIP_NO_BUILD_ISOLATION inverted: "0" turns the isolation off.) No index is
        # asked, and virtualenv fetches no newer seed packages.
        "PIP_NO_DEPS": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
        "PIP_NO_INDEX": "1",
        "VIRTUALENV_NO_PERIODIC_UPDATE": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }

    def try_repo() -> subprocess.CompletedProcess[str]:
        assert PRE_COMMIT is not None
        return subprocess.run(
            [PRE_COMMIT, "try-repo", str(REPO), "aisbom", "--verbose"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    failed = try_repo()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "aisbom scan (models and pickles)" in failed.stdout and "Failed" in failed.stdout
    assert "weights.bin: pickle-dangerous-global: calls os.system" in failed.stdout
    assert "notes.txt" not in failed.stdout  # not selected by the hook
    # The clean file was scanned in the same run, and passed. (One try-repo run: each builds the
    # hook's environment afresh.)
    assert "model.safetensors: Result: CLEAN" in failed.stdout
