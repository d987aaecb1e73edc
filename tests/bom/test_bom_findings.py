"""Scan findings become vulnerabilities that affect the right file component."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from _bom_helpers import FIXTURES, by_ref, make_bom, props, run, strict_schema_errors

from aisbom.bom.check import reference_errors
from aisbom.rules import RULES

EVIL = FIXTURES / "malicious" / "pickle" / "proto0_os_system.pkl"
DEMO = FIXTURES / "demo"


def test_malicious_pickle_is_a_critical_vulnerability_of_its_file(tmp_path: Path):
    doc = make_bom(EVIL, tmp_path / "bom.json", expect=1)  # written, and the exit says unsafe
    assert strict_schema_errors(doc) == [] and reference_errors(doc) == []
    vulns = {v["id"]: v for v in doc["vulnerabilities"]}
    critical = vulns["pickle-dangerous-global"]
    assert critical["affects"] == [{"ref": "file:proto0_os_system.pkl"}]
    assert critical["ratings"] == [{"source": {"name": "aisbom"}, "severity": "critical", "method": "other"}]
    rule = RULES["pickle-dangerous-global"]
    assert critical["description"] == f"{rule.title}. {rule.why}"
    assert critical["recommendation"] == rule.fix
    assert "os.system" in critical["detail"]
    assert props(critical)["aisbom:evidence:call"] == "os.system('touch aisbom-marker')"
    assert vulns["pickle-format"]["ratings"][0]["severity"] == "low"

    file = by_ref(doc)["file:proto0_os_system.pkl"]
    assert props(file)["aisbom:verdict"] == "unsafe"
    assert props(file)["aisbom:format"] == "pickle"
    assert props(file)["aisbom:unsafe_serialization"] == "true"
    # A single file is a model too: no card, no licence, unsafe, with findings.
    model = doc["components"][0]
    assert model["type"] == "machine-learning-model" and "modelCard" not in model
    gaps = props(model)["aisbom:documentation_gaps"].split(",")
    assert {"no-model-card", "no-license", "unsafe-serialization", "scan-findings"} <= set(gaps)
    # The findings count against 5.2.3-1.
    entry = next(
        e for e in doc["declarations"]["attestations"][0]["map"] if e["requirement"].endswith(":5.2.3-1")
    )
    assert entry["counterClaims"] == ["claim:5.2.3-1-findings"]
    assert {
        "aggregate": "complete",
        "vulnerabilities": [v["bom-ref"] for v in doc["vulnerabilities"]],
    } in doc["compositions"]


def test_demo_directory_findings_affect_each_file_and_config_fills_the_card(tmp_path: Path):
    doc = make_bom(DEMO, tmp_path / "bom.json", "--spec-version", "1.7", expect=1)
    assert strict_schema_errors(doc) == [] and reference_errors(doc) == []
    affected = {(v["id"], v["affects"][0]["ref"]) for v in doc["vulnerabilities"]}
    assert affected == {
        ("pickle-dangerous-global", "file:extra_weights.bin"),
        ("pickle-format", "file:extra_weights.bin"),
        ("pickle-format", "file:model.pt"),
    }
    index = by_ref(doc)
    assert props(index["file:extra_weights.bin"])["aisbom:verdict"] == "unsafe"
    assert props(index["file:model.pt"])["aisbom:verdict"] == "clean"  # low only: below the threshold
    assert props(index["file:model.pt"])["aisbom:format"] == "pytorch-zip"
    card = doc["components"][0]["modelCard"]  # config.json only: there is no README
    assert card["modelParameters"]["modelArchitecture"] == "TinyClassifier"
    assert {"name": "cdx:ai-ml:model:hyperparameter:hidden_size", "value": "8"} in card["properties"]
    assert "no-model-card" in props(doc["components"][0])["aisbom:documentation_gaps"]


def test_scan_format_cyclonedx_writes_the_same_kind_of_bom(tmp_path: Path):
    code, out, _ = run("scan", str(DEMO), "--format", "cyclonedx")
    assert code == 1
    doc = json.loads(out)
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    assert strict_schema_errors(doc) == []
    assert any(v["id"] == "pickle-dangerous-global" for v in doc["vulnerabilities"])


def test_justify_records_the_justification_and_require_justification_enforces_it(tmp_path: Path):
    model = tmp_path / "model"
    shutil.copytree(DEMO, model)
    out = tmp_path / "bom.json"
    code, _, err = run("bom", str(model), "-o", str(out), "--require-justification")
    assert code == 2
    assert "not well documented and no justification given (EN 304 223 5.2.3-2)" in err
    assert "--justify" in err
    assert not out.exists()

    text = "Internal demo model; only loaded in the sandbox."
    doc = make_bom(model, out, "--require-justification", "--justify", text, expect=1)
    assert props(doc["components"][0])["aisbom:justification"] == text
    declarations = doc["declarations"]
    entry = next(e for e in declarations["attestations"][0]["map"] if e["requirement"].endswith(":5.2.3-2"))
    assert entry["conformance"]["rationale"].startswith("Partly evidenced.")
    (claim_ref,) = entry["claims"]
    claim = next(c for c in declarations["claims"] if c["bom-ref"] == claim_ref)
    assert text in claim["reasoning"]
    (mitigation,) = claim["mitigationStrategies"]
    justification = next(e for e in declarations["evidence"] if e["bom-ref"] == mitigation)
    assert justification["data"][0]["contents"]["attachment"]["content"] == text


def test_a_bom_written_into_the_target_does_not_list_itself(tmp_path: Path):
    model = tmp_path / "model"
    shutil.copytree(DEMO, model)
    out = model / "model.cdx.json"
    make_bom(model, out, "--reproducible", expect=1)
    first = out.read_bytes()
    make_bom(model, out, "--reproducible", expect=1)
    assert out.read_bytes() == first
    assert "file:model.cdx.json" not in by_ref(json.loads(first))


def test_a_file_that_was_not_read_makes_the_inventory_incomplete(tmp_path: Path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "notes.txt").write_text("hello\n")
    (model / "outside").symlink_to(EVIL)  # a link out of the target is never followed
    doc = make_bom(model, tmp_path / "bom.json", expect=1)
    assert strict_schema_errors(doc) == [] and reference_errors(doc) == []
    link = by_ref(doc)["file:outside"]
    assert "hashes" not in link and props(link)["aisbom:verdict"] == "incomplete"
    assert {"aggregate": "incomplete", "assemblies": ["model:model"]} in doc["compositions"]
    entries = {e["requirement"].split(":", 1)[1]: e for e in doc["declarations"]["attestations"][0]["map"]}
    assert entries["5.2.1-1"]["conformance"]["rationale"].startswith("Partly evidenced.")
    assert entries["5.2.4-1.2"]["conformance"]["rationale"].startswith("Partly evidenced.")
    assert [v["affects"] for v in doc["vulnerabilities"]] == [[{"ref": "file:outside"}]]
