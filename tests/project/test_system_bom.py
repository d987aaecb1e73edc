"""`aisbom bom` of a whole system: one valid CycloneDX BOM with the inventory's dependency graph."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from _project_helpers import Project, sha256

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bom"))
from _bom_helpers import by_ref, props, strict_schema_errors  # noqa: E402


def bom(project: Project, *extra: str, code: int = 0) -> dict[str, Any]:
    out = project.root / "system.cdx.json"
    project.ok("bom", "-o", str(out), *extra, code=code)
    return json.loads(out.read_text(encoding="utf-8"))


def depends(doc: dict[str, Any]) -> dict[str, list[str]]:
    return {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}


def test_system_bom_validates_and_carries_the_dependency_graph(system: Project) -> None:
    doc = bom(system)
    assert strict_schema_errors(doc) == []
    subject = doc["metadata"]["component"]
    assert (subject["type"], subject["name"], subject["bom-ref"]) == ("application", "support-bot", "subject")

    graph = depends(doc)
    # Default `uses`: every asset no other asset depends on.
    assert graph["subject"] == ["config:generation", "model:chat", "prompt:system-prompt"]
    assert graph["model:chat"] == ["dataset:faq", "file:chat/chat.onnx", "model:base"]
    assert graph["dataset:faq"] == ["file:faq/test.csv", "file:faq/train.csv"]
    assert graph["prompt:system-prompt"] == ["file:system-prompt/system.txt"]

    refs = by_ref(doc)
    chat = refs["model:chat"]
    assert chat["type"] == "machine-learning-model"
    assert chat["modelCard"]["modelParameters"]["datasets"] == [{"ref": "dataset:faq"}]
    assert chat["licenses"][0]["license"]["id"] == "Apache-2.0"
    assert props(chat)["aisbom:justification"] == "Built in-house; card pending."

    prompt = refs["prompt:system-prompt"]
    assert prompt["type"] == "data" and prompt["data"] == [{"type": "configuration", "name": "system-prompt"}]
    locked = system.lock["assets"]["system-prompt"]["files"]["system.txt"]["sha256"]
    assert locked == sha256(system.root / "prompts/system.txt")
    assert prompt["hashes"] == [{"alg": "SHA-256", "content": locked}]
    assert props(prompt)["aisbom:locked_at"] == "2025-01-01T00:00:00+00:00"
    assert refs["config:generation"]["data"][0]["type"] == "configuration"
    assert refs["dataset:faq"]["data"][0]["type"] == "dataset"
    faq_files = {c["name"]: c["hashes"][0]["content"] for c in refs["dataset:faq"]["components"]}
    assert faq_files["train.csv"] == sha256(system.root / "data/faq/train.csv")


def test_the_inventory_and_the_audit_log_evidence_5_2_1_1_and_5_2_4_3(system: Project) -> None:
    doc = bom(system)
    declarations = doc["declarations"]
    rationale = {
        m["requirement"]: m["conformance"]["rationale"] for m in declarations["attestations"][0]["map"]
    }
    # Every asset is locked and analysed, but whether the datasets declared for the model are all of
    # its training data is unknown (compositions say so): partly, never more than the BOM holds.
    assert rationale["en-304-223:5.2.1-1"].startswith("Partly evidenced.")
    assert "compositions: unknown" in rationale["en-304-223:5.2.1-1"]
    assert rationale["en-304-223:5.2.4-3"].startswith("Evidenced.")
    evidence = {e["bom-ref"]: e for e in declarations["evidence"]}
    inventory = evidence["evidence:inventory"]["data"][0]["contents"]["attachment"]["content"]
    assert "prompt system-prompt prompts/system.txt sha256:" in inventory
    assert (
        "model:chat trained-on dataset:faq" in inventory
        and "model:chat fine-tuned-from model:base" in inventory
    )
    log = evidence["evidence:audit-log"]["data"][0]["contents"]["attachment"]["content"]
    assert [json.loads(line)["asset"] for line in log.splitlines()] == [e["asset"] for e in system.events()]

    # A log that no longer reaches the locked prompt is only partial evidence.
    (system.root / "aisbom-audit.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in system.events() if e["asset"] != "system-prompt"),
        encoding="utf-8",
    )
    doc = bom(system)
    rationale = {
        m["requirement"]: m["conformance"]["rationale"] for m in doc["declarations"]["attestations"][0]["map"]
    }
    assert rationale["en-304-223:5.2.4-3"].startswith("Partly evidenced.")
    assert "system-prompt/system.txt" in rationale["en-304-223:5.2.4-3"]


def test_system_bom_is_reproducible_and_refuses_drift(system: Project) -> None:
    first = bom(system, "--reproducible")
    assert bom(system, "--reproducible") == first
    (system.root / "prompts/system.txt").write_text("changed\n", encoding="utf-8")
    run = system.ok("bom", "-o", str(system.root / "x.json"), code=2)
    assert "aisbom.lock does not describe the working tree (system-prompt modified" in run.err
    assert not (system.root / "x.json").exists()


def test_the_manifest_as_target_and_declared_uses(system: Project) -> None:
    text = system.manifest.replace(
        'name = "support-bot"\n', 'name = "support-bot"\nuses = ["chat", "system-prompt"]\n'
    )
    (system.root / "aisbom.toml").write_text(text, encoding="utf-8")
    out = system.root / "b.json"
    system.ok("bom", str(system.root / "aisbom.toml"), "-o", str(out))
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert depends(doc)["subject"] == ["model:chat", "prompt:system-prompt"]
    assert "config:generation" in by_ref(doc)  # still inventoried, only not used directly


def test_a_model_target_still_gets_its_own_bom(system: Project) -> None:
    out = system.root / "model.json"
    system.ok("bom", str(system.root / "models/base.pt"), "-o", str(out))
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["metadata"]["component"]["name"] == "base.pt"
    assert "prompt:system-prompt" not in by_ref(doc)
