"""The GitHub Action (action.yml): each step run as GitHub would run it, with the environment it
gives (GITHUB_ACTION_PATH, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, the step's env with its inputs),
on the fixtures: outputs, the job summary, the SARIF file, and the step that fails the job."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
STEPS = {step["name"]: step for step in ACTION["runs"]["steps"]}


def _expand(text: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2)
        return inputs[name] if kind == "inputs" else outputs.get(name, "")

    return re.sub(r"\$\{\{\s*(inputs|steps\.scan\.outputs)\.([\w-]+)\s*\}\}", value, text)


class Runner:
    """Runs the action's steps in order, as a job would: one GITHUB_OUTPUT file per step, one
    job summary, the step outputs carried to the next steps."""

    def __init__(self, tmp_path: Path, **inputs: str) -> None:
        self.inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
        self.inputs.update(inputs)
        self.tmp = tmp_path
        self.summary = tmp_path / "summary.md"
        self.outputs: dict[str, str] = {}

    def run(self, name: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        step = STEPS[name]
        assert step["shell"] == "bash"
        output_file = self.tmp / f"output-{len(self.outputs)}-{name.split()[0]}.txt"
        output_file.write_text("")
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_ACTION_PATH": str(REPO),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            **{k: _expand(str(v), self.inputs, self.outputs) for k, v in step.get("env", {}).items()},
            **extra_env,
        }
        result = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )
        for line in output_file.read_text().splitlines():
            key, _, value = line.partition("=")
            self.outputs[key] = value
        return result


def test_the_action_is_composite_with_the_documented_inputs_and_outputs():
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) == {"paths", "fail-on", "sarif", "upload-sarif", "version"}
    assert set(ACTION["outputs"]) == {"verdict", "exit-code", "sarif"}
    upload = STEPS["Upload SARIF to code scanning"]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["if"].startswith("always()")  # uploaded whatever the verdict
    assert upload["with"]["sarif_file"] == "${{ steps.scan.outputs.sarif }}"


def test_the_install_step_installs_this_checkout(tmp_path: Path):
    # Into a throwaway environment first on PATH, as setup-python's would be; its dependencies
    # come from this one (system site packages), so only aisbom itself is built and installed.
    venv = tmp_path / "venv"
    # (Without its own pip and setuptools: those of this environment build the wheel in place.)
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True
    )
    path = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
    # Where this environment's setuptools can build aisbom, skip pip's isolated build environment.
    # (pip reads PIP_NO_BUILD_ISOLATION inverted: "0" turns the isolation off.)
    in_place = (
        {"PIP_NO_BUILD_ISOLATION": "0", "PIP_NO_INDEX": "1"}
        if _setuptools_builds(venv / "bin" / "python")
        else {}
    )
    result = Runner(tmp_path).run("Install aisbom", PATH=path, PIP_NO_DEPS="1", **in_place)
    assert result.returncode == 0, result.stderr
    where = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import aisbom.integrations.github_action as m; print(m.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert where.startswith(str(venv)), where  # installed, not this checkout


def _setuptools_builds(python: Path) -> bool:
    """Whether `python` has a setuptools that builds aisbom (pyproject.toml asks for >= 68)."""
    found = subprocess.run(
        [str(python), "-c", "import setuptools; print(setuptools.__version__.split('.')[0])"],
        capture_output=True,
        text=True,
    )
    return found.returncode == 0 and int(found.stdout) >= 68


def test_an_unsafe_model_fails_the_job_after_the_sarif_and_the_summary(tmp_path: Path):
    sarif = tmp_path / "out.sarif"
    job = Runner(tmp_path, paths="fixtures/demo\nfixtures/benign/safetensors", sarif=str(sarif))
    scan = job.run("Scan")
    assert scan.returncode == 0, scan.stderr  # the upload step still runs
    assert job.outputs == {"verdict": "unsafe", "exit-code": "1", "failing": "1", "sarif": str(sarif)}

    document = json.loads(sarif.read_text())
    assert [run["properties"]["target"] for run in document["runs"]] == [
        "fixtures/demo",
        "fixtures/benign/safetensors",
    ]
    assert "pickle-dangerous-global" in {r["ruleId"] for r in document["runs"][0]["results"]}

    summary = job.summary.read_text()
    assert summary.startswith("## ❌ aisbom: UNSAFE\n")
    assert "| fixtures/demo | unsafe | 3 | 1 | 0 | 0 | 2 |" in summary
    assert "| critical | extra\\_weights.bin | `pickle-dangerous-global` |" in summary

    fail = job.run("Fail on the threshold")
    assert fail.returncode == 1
    assert "::error title=aisbom::verdict unsafe (exit 1)" in fail.stdout


def test_a_clean_model_passes(tmp_path: Path):
    job = Runner(tmp_path, paths="fixtures/benign/safetensors", sarif=str(tmp_path / "s.sarif"))
    assert job.run("Scan").returncode == 0
    assert job.outputs["verdict"] == "clean" and job.outputs["exit-code"] == "0"
    assert job.summary.read_text().startswith("## ✅ aisbom: CLEAN\n")
    assert job.run("Fail on the threshold").returncode == 0


def test_the_threshold_and_a_missing_path(tmp_path: Path):
    job = Runner(tmp_path, paths="fixtures/demo", **{"fail-on": "critical"}, sarif=str(tmp_path / "s.sarif"))
    job.run("Scan")
    assert job.outputs["verdict"] == "unsafe"  # the os.system pickle is critical
    missing = Runner(tmp_path, paths="no/such/dir", sarif=str(tmp_path / "m.sarif"))
    result = missing.run("Scan")
    assert missing.outputs["exit-code"] == "2" and "no such file or directory" in result.stderr
    assert missing.run("Fail on the threshold").returncode == 2


def test_names_from_the_files_cannot_add_markup_to_the_summary(tmp_path: Path):
    target = tmp_path / "model"
    target.mkdir()
    shutil.copy(REPO / "fixtures" / "demo" / "extra_weights.bin", target / "x|[a](https:e.invalid)<b>.bin")
    job = Runner(tmp_path, paths=str(target), sarif=str(tmp_path / "s.sarif"))
    job.run("Scan")
    summary = job.summary.read_text()
    assert "[a](" not in summary and "<b>" not in summary
    assert "x\\|\\[a\\]\\(https:e.invalid\\)&lt;b&gt;.bin" in summary


@pytest.mark.parametrize("workflow", ["ci.yml"])
def test_the_projects_ci_uses_the_action(workflow: str):
    jobs = yaml.safe_load((REPO / ".github" / "workflows" / workflow).read_text())["jobs"]
    uses = [step.get("uses") for step in jobs["action"]["steps"]]
    assert uses.count("./") == 2
