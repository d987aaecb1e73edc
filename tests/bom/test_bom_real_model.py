"""`aisbom bom` on the real all-MiniLM-L6-v2 Hugging Face directory: schema, model card drawn
from its README and config.json, every file's SHA-256, and the EN 304 223 declarations."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from _bom_helpers import by_ref, components, props, strict_schema_errors

from aisbom.bom.check import reference_errors
from aisbom.bom.etsi_catalogue import CATALOGUE

VERSIONS = ("1.6", "1.7")


def model_of(doc: dict[str, Any]) -> dict[str, Any]:
    models = [c for c in doc["components"] if c["type"] == "machine-learning-model"]
    assert len(models) == 1
    return models[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_passes_the_strict_official_schema(minilm_boms, version):
    doc = minilm_boms[version]
    assert doc["specVersion"] == version
    assert doc["$schema"] == f"http://cyclonedx.org/schema/bom-{version}.schema.json"
    assert strict_schema_errors(doc) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_bom_refs_are_unique_and_every_reference_resolves(minilm_boms, version):
    assert reference_errors(minilm_boms[version]) == []


def test_model_card_comes_from_the_readme_front_matter_and_sections(minilm_boms):
    model = model_of(minilm_boms["1.6"])
    # README front matter: license, pipeline_tag, language, tags, datasets.
    assert model["licenses"] == [{"license": {"id": "Apache-2.0", "acknowledgement": "declared"}}]
    card = model["modelCard"]
    assert card["modelParameters"]["task"] == "sentence-similarity"
    assert {"sentence-similarity", "sentence-transformers", "feature-extraction"} <= set(model["tags"])
    assert {"name": "cdx:ai-ml:model:languages", "value": "en"} in card["properties"]
    # README sections: the first paragraph, and "## Intended uses" (not the code blocks).
    assert model["description"].startswith("This is a sentence-transformers model: It maps sentences")
    uses = card["considerations"]["useCases"]
    assert uses[0].startswith("Our model is intended to be used as a sentence and short paragraph encoder.")
    # A limitation stated under "Intended uses" is a limitation, not a use case.
    limitation = "By default, input text longer than 256 word pieces is truncated."
    assert limitation not in uses
    assert card["considerations"]["technicalLimitations"] == [limitation]
    assert props(model)["aisbom:card_title"] == "all-MiniLM-L6-v2"
    assert props(model)["aisbom:library_name"] == "sentence-transformers"


def test_model_card_comes_from_config_json(minilm_boms):
    card = model_of(minilm_boms["1.6"])["modelCard"]
    assert card["modelParameters"]["architectureFamily"] == "bert"
    assert card["modelParameters"]["modelArchitecture"] == "BertModel"
    hyper = {
        p["name"].rsplit(":", 1)[1]: p["value"]
        for p in card["properties"]
        if p["name"].startswith("cdx:ai-ml:model:hyperparameter:")
    }
    assert hyper["hidden_size"] == "384"
    assert hyper["num_hidden_layers"] == "6"
    assert hyper["num_attention_heads"] == "12"
    assert hyper["vocab_size"] == "30522"
    assert hyper["layer_norm_epsilon"] == "1e-12"  # config.json says layer_norm_eps
    # _name_or_path is recorded as what it is, not promoted to a base model.
    model = model_of(minilm_boms["1.6"])
    assert props(model)["aisbom:config_name_or_path"] == "nreimers/MiniLM-L6-H384-uncased"
    assert "pedigree" not in model


def test_declared_datasets_are_data_components_the_model_depends_on(minilm_boms):
    doc = minilm_boms["1.6"]
    model = model_of(doc)
    refs = [d["ref"] for d in model["modelCard"]["modelParameters"]["datasets"]]
    assert len(refs) == 21
    assert refs[0] == "dataset:s2orc" and "dataset:embedding-data/QQP" in refs
    index = by_ref(doc)
    for ref in refs:
        dataset = index[ref]
        assert dataset["type"] == "data"
        assert dataset["data"][0]["type"] == "dataset"
        assert dataset["data"][0]["contents"]["url"] == f"https://huggingface.co/datasets/{dataset['name']}"
        assert "modelCard" not in dataset
    depends = {d["ref"]: set(d.get("dependsOn", [])) for d in doc["dependencies"]}
    assert set(refs) <= depends[model["bom-ref"]]
    assert depends["subject"] == {model["bom-ref"]}


def test_every_file_is_a_nested_component_with_its_sha256(minilm_boms, minilm: Path):
    model = model_of(minilm_boms["1.6"])
    files = {c["name"]: c for c in model["components"]}
    on_disk = {p.relative_to(minilm).as_posix(): p for p in minilm.rglob("*") if p.is_file()}
    assert set(files) == set(on_disk)
    for name, path in on_disk.items():
        component = files[name]
        assert component["type"] == "file"
        assert component["hashes"] == [
            {"alg": "SHA-256", "content": hashlib.sha256(path.read_bytes()).hexdigest()}
        ]
        assert props(component)["aisbom:verdict"] == "clean"
        assert props(component)["aisbom:size"] == str(path.stat().st_size)
    assert props(files["model.safetensors"])["aisbom:format"] == "safetensors"
    depends = {d["ref"]: set(d.get("dependsOn", [])) for d in minilm_boms["1.6"]["dependencies"]}
    assert {c["bom-ref"] for c in model["components"]} <= depends[model["bom-ref"]]
    # Model cards only on models.
    assert all(
        "modelCard" not in c for c in components(minilm_boms["1.6"]) if c["type"] != "machine-learning-model"
    )


def test_metadata_compositions_and_no_vulnerabilities(minilm_boms):
    doc = minilm_boms["1.6"]
    meta = doc["metadata"]
    assert [t["name"] for t in meta["tools"]["components"]] == ["aisbom", "cyclonedx-python-lib"]
    assert meta["component"]["bom-ref"] == "subject"
    assert {"phase": "post-build"} in meta["lifecycles"]
    assert any(lc.get("name") == "development" for lc in meta["lifecycles"])
    assert "serialNumber" in doc and "timestamp" in meta
    model_ref = model_of(doc)["bom-ref"]
    assert {"aggregate": "complete", "assemblies": [model_ref]} in doc["compositions"]
    assert "vulnerabilities" not in doc


def test_en_304_223_requirements_of_principles_5_7_8_are_defined(minilm_boms):
    (standard,) = minilm_boms["1.6"]["definitions"]["standards"]
    assert (standard["name"], standard["version"], standard["owner"]) == ("ETSI EN 304 223", "2.1.1", "ETSI")
    requirements = {r["identifier"]: r for r in standard["requirements"]}
    assert set(requirements) == {r.id for r in CATALOGUE}
    for rid in ("5.2.1-1", "5.2.3-2", "5.2.4-1.2", "5.2.4-2", "5.2.4-2.1", "5.2.4-3"):
        assert rid in requirements
    assert requirements["5.2.4-1.2"]["text"].startswith("Release cryptographic hashes for model components")
    assert requirements["5.2.4-1.2"]["parent"] == "en-304-223:5.2.4-1"
    levels = {level["identifier"]: set(level["requirements"]) for level in standard["levels"]}
    assert "en-304-223:5.2.4-1.2" in levels["shall"] and "en-304-223:5.2.4-2.1" in levels["should"]


def test_declarations_evidence_hashes_and_never_claim_what_is_not_shown(minilm_boms, minilm: Path):
    declarations = minilm_boms["1.6"]["declarations"]
    (attestation,) = declarations["attestations"]
    entries = {e["requirement"].split(":", 1)[1]: e for e in attestation["map"]}
    assert set(entries) == {r.id for r in CATALOGUE if r.modal}
    claims = {c["bom-ref"]: c for c in declarations["claims"]}
    evidence = {e["bom-ref"]: e for e in declarations["evidence"]}

    hashes = entries["5.2.4-1.2"]
    assert hashes["conformance"]["score"] == 1
    (claim_ref,) = hashes["claims"]
    claim = claims[claim_ref]
    assert claim["target"] == model_of(minilm_boms["1.6"])["bom-ref"]
    manifest = evidence[claim["evidence"][0]]["data"][0]["contents"]["attachment"]["content"]
    weights = hashlib.sha256((minilm / "model.safetensors").read_bytes()).hexdigest()
    assert f"{weights}  model.safetensors\n" in manifest

    for rid in (
        "5.2.1-3",
        "5.2.1-4",
        "5.2.1-4.1",
        "5.2.1-4.2",
        "5.2.3-2.1",
        "5.2.3-3",
        "5.2.4-1",
        "5.2.4-2.1",
    ):
        entry = entries[rid]
        assert "claims" not in entry, rid
        assert entry["conformance"]["score"] == 0
        assert entry["conformance"]["rationale"].startswith("Not evidenced.")
    documentation = entries["5.2.4-1.1"]["conformance"]
    assert documentation["score"] == 0.5 and documentation["rationale"].startswith("Partly evidenced.")
    # The card states its limitation (input truncated above 256 word pieces) and its scope.
    not_stated = documentation["rationale"].split("Not stated: ", 1)[1]
    assert "limitations" not in not_stated and "intended scope" not in not_stated
    assert "guardrails" in not_stated
    # Every file is inventoried, but whether the card lists all training data is unknown: partly.
    inventory = entries["5.2.1-1"]["conformance"]
    assert inventory["score"] == 0.5 and "compositions: unknown" in inventory["rationale"]
    assert {"aggregate": "unknown", "dependencies": [model_of(minilm_boms["1.6"])["bom-ref"]]} in (
        minilm_boms["1.6"]["compositions"]
    )


def test_not_well_documented_without_justification_is_said_so(minilm_boms):
    doc = minilm_boms["1.6"]
    model = model_of(doc)
    assert props(model)["aisbom:documentation_gaps"] == "no-source-url,no-upstream-hash"
    assert props(model)["aisbom:justification"] == "none recorded"
    entry = next(
        e for e in doc["declarations"]["attestations"][0]["map"] if e["requirement"].endswith(":5.2.3-2")
    )
    assert entry["conformance"]["rationale"].startswith("Not evidenced.")
    (counter,) = entry["counterClaims"]
    claim = next(c for c in doc["declarations"]["claims"] if c["bom-ref"] == counter)
    assert claim["target"] == model["bom-ref"]
    assert "no source URL" in claim["predicate"] and claim["reasoning"] == "No justification is recorded."


def test_citations_in_1_7_name_the_file_each_card_field_came_from(minilm_boms):
    doc = minilm_boms["1.7"]
    assert "citations" not in minilm_boms["1.6"]
    cited = {c.get("attributedTo"): c for c in doc["citations"]}
    index = next(i for i, c in enumerate(doc["components"]) if c["type"] == "machine-learning-model")
    assert f"/components/{index}/modelCard/modelParameters/task" in cited["file:README.md"]["pointers"]
    assert (
        f"/components/{index}/modelCard/modelParameters/architectureFamily"
        in cited["file:config.json"]["pointers"]
    )
    assert "$.components[*].components[*].hashes" in cited["tool:aisbom"]["expressions"]
