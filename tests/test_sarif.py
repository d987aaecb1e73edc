"""`aisbom scan --format sarif`: a SARIF 2.1.0 log GitHub code scanning accepts.

GitHub's documented requirements (and SARIF 2.1.0 §3) are checked structurally on real scans of the
fixture corpus: version, one run, a driver with rule metadata, and results that name a known rule,
a valid level, a message and a located artifact.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from catalog import BENIGN, FIXTURES_DIR, MALICIOUS
from click.testing import CliRunner

from aisbom.cli import cli
from aisbom.rules import RULES

LEVELS = {"none", "note", "warning", "error"}
URI_REFERENCE = re.compile(r"^(file:///|[^/:][^:]*$)")  # a file: URI, or a relative reference


def sarif_scan(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["scan", "--format", "sarif", *args])
    return result.exit_code, json.loads(result.stdout)


def check_structure(log: dict) -> dict:
    """Assert the SARIF 2.1.0 shape GitHub code scanning needs; return the run."""
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "aisbom" and driver["version"]
    rules = driver["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids)) and set(ids) == set(RULES)
    for rule in rules:
        assert rule["name"].isidentifier()
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert "How to fix" in rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in LEVELS
        assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
    artifacts = run["artifacts"]
    for artifact in artifacts:
        assert URI_REFERENCE.match(artifact["location"]["uri"]), artifact
        assert re.fullmatch(r"[0-9a-f]{64}", artifact["hashes"]["sha-256"])
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in LEVELS
        assert result["message"]["text"].strip()
        (location,) = result["locations"]
        artifact_location = location["physicalLocation"]["artifactLocation"]
        assert URI_REFERENCE.match(artifact_location["uri"])
        assert artifacts[artifact_location["index"]]["location"]["uri"] == artifact_location["uri"]
        region = location["physicalLocation"].get("region")
        if region is not None:
            assert region["byteOffset"] >= 0
        assert result["partialFingerprints"]["aisbomFinding/v1"]
    return run


def artifact_path(uri: str) -> Path:
    if uri.startswith("file:"):
        return Path(unquote(urlparse(uri).path))
    return Path.cwd() / unquote(uri)


def test_malicious_corpus_gives_an_error_result_on_every_malicious_file():
    code, log = sarif_scan(str(FIXTURES_DIR / "malicious"))
    assert code == 1
    run = check_structure(log)
    flagged = {
        artifact_path(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]).resolve()
        for r in run["results"]
        if r["level"] == "error"
    }
    warned = {
        artifact_path(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]).resolve()
        for r in run["results"]
        if r["level"] == "warning"
    }
    in_corpus = [f for f in MALICIOUS if f.abspath.is_relative_to(FIXTURES_DIR / "malicious")]
    malicious = {f.abspath.resolve() for f in in_corpus if f.verdict == "fail"}
    # medium by design: they run only in a loading process set up for them (see catalog.py)
    medium = {f.abspath.resolve() for f in in_corpus if f.verdict == "medium"}
    assert malicious and malicious <= flagged, sorted(str(p) for p in malicious - flagged)
    assert medium <= warned, sorted(str(p) for p in medium - warned)
    assert run["invocations"][0]["exitCode"] == 1


def test_findings_inside_containers_name_the_member():
    code, log = sarif_scan(str(FIXTURES_DIR / "malicious" / "archive"))
    run = check_structure(log)
    in_members = [r for r in run["results"] if "logicalLocations" in r["locations"][0]]
    assert code == 1 and in_members
    for result in in_members:
        (logical,) = result["locations"][0]["logicalLocations"]
        assert logical["kind"] == "member" and "!" in logical["fullyQualifiedName"]
        assert f"(in {logical['fullyQualifiedName'].split('!', 1)[1]})" in result["message"]["text"]
        assert "region" not in result["locations"][0]["physicalLocation"]


def test_benign_corpus_has_no_error_or_warning_results():
    code, log = sarif_scan(str(FIXTURES_DIR / "benign"))
    run = check_structure(log)
    assert code == 0
    assert [r for r in run["results"] if r["level"] in {"error", "warning"}] == []
    assert run["invocations"][0] == {
        "executionSuccessful": True,
        "exitCode": 0,
        "exitCodeDescription": "clean",
    }
    assert {Path(a["location"]["uri"]).name for a in run["artifacts"]} >= {
        f.abspath.name for f in BENIGN if f.abspath.is_relative_to(FIXTURES_DIR / "benign")
    }


def test_paths_are_relative_to_the_checkout_when_the_target_is_inside_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(FIXTURES_DIR.parent)
    code, log = sarif_scan("fixtures/demo")
    run = check_structure(log)
    assert code == 1
    uris = {a["location"]["uri"] for a in run["artifacts"]}
    assert "fixtures/demo/extra_weights.bin" in uris
    (critical,) = [r for r in run["results"] if r["ruleId"] == "pickle-dangerous-global"]
    assert critical["properties"]["evidence"]["call"] == "os.system('touch aisbom-marker')"
    assert critical["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(
        "extra_weights.bin"
    )


def test_single_file_target_and_fingerprints_are_stable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(FIXTURES_DIR.parent)
    _, first = sarif_scan("fixtures/demo/extra_weights.bin")
    _, second = sarif_scan("fixtures/demo/extra_weights.bin")
    assert first["runs"][0]["results"] == second["runs"][0]["results"]
    assert {a["location"]["uri"] for a in first["runs"][0]["artifacts"]} == {
        "fixtures/demo/extra_weights.bin"
    }
