"""The example release workflow: keyless signing permissions, the aisbom steps in order, and
aisbom command lines that the CLI really accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from aisbom.cli import cli

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "release.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    doc = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def job(workflow: dict[Any, Any]) -> dict[str, Any]:
    (job,) = workflow["jobs"].values()
    return job


def aisbom_commands(job: dict[str, Any]) -> list[list[str]]:
    """Every `aisbom …` command line of the job's run steps, continuation lines joined, GitHub
    expressions and environment variables replaced by sample values, split as a shell would."""
    out = []
    for step in job["steps"]:
        script = step.get("run", "").replace("\\\n", " ")
        for line in script.splitlines():
            line = re.sub(r"\$\{\{[^}]*\}\}", "VALUE", line).replace("$MODEL", "model").strip()
            if line.startswith("aisbom "):
                out.append(shlex.split(line)[1:])
    return out


def test_triggered_by_a_tag_push_or_by_hand(workflow: dict[Any, Any]) -> None:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["push"]["tags"] and "workflow_dispatch" in triggers


def test_permissions_for_keyless_signing_and_release_assets(
    workflow: dict[Any, Any], job: dict[str, Any]
) -> None:
    assert job["permissions"] == {"id-token": "write", "contents": "write"}
    assert workflow["permissions"] == {"contents": "read"}  # nothing more for anything else


def test_scan_bom_sign_verify_upload_in_that_order(job: dict[str, Any]) -> None:
    commands = [" ".join(args) for args in aisbom_commands(job)]
    assert commands == [
        "scan ./model",
        "bom ./model -o model.cdx.json --reproducible",
        "sign ./model --sigstore --signature model.sig",
        "sign model.cdx.json --sigstore --single-file-dot-name",
        "verify ./model --signature model.sig --bom model.cdx.json --bom-signature model.cdx.json.sig "
        "--identity https://github.com/VALUE --issuer https://token.actions.githubusercontent.com",
    ]
    # A failed scan (exit 1) must fail the job: no step may swallow an aisbom exit status.
    for step in job["steps"]:
        assert not step.get("continue-on-error")
        assert "|| true" not in step.get("run", "") and "set +e" not in step.get("run", "")
    (upload,) = [s for s in job["steps"] if "action-gh-release" in s.get("uses", "")]
    assert upload["with"]["files"].split() == ["model.sig", "model.cdx.json", "model.cdx.json.sig"]
    assert job["steps"].index(upload) == len(job["steps"]) - 1


def test_every_aisbom_command_line_parses(job: dict[str, Any]) -> None:
    for args in aisbom_commands(job):
        command = cli.all_commands()[args[0]]
        with command.make_context(args[0], args[1:]) as ctx:  # raises on an unknown option
            assert isinstance(ctx, click.Context)
