"""The EN 304 223 catalogue and what a BOM declares of it: every provision of principles 5, 7
and 8 with its parent as the standard numbers it, a score on every declaration, and no claim
stronger than what the BOM holds."""

from __future__ import annotations

from pathlib import Path

from _bom_helpers import make_bom

from aisbom.bom.etsi_catalogue import CATALOGUE, MODAL_UNKNOWN


def test_every_provision_has_its_numbered_parent():
    ids = [r.id for r in CATALOGUE]
    assert len(ids) == len(set(ids))
    for req in CATALOGUE:
        if not req.is_provision:
            assert req.modal == "" and req.parent is None
            continue
        clause, number = req.id.split("-")
        expected = f"{clause}-{number.rsplit('.', 1)[0]}" if "." in number else clause
        assert req.parent == expected, req.id
        assert req.parent in ids, req.id
        assert req.modal in ("shall", "should", MODAL_UNKNOWN), req.id
    # Known only from the numbering: listed, with neither text nor modal verb guessed.
    inferred = {r.id: r for r in CATALOGUE if r.modal == MODAL_UNKNOWN}
    assert set(inferred) == {"5.2.1-3", "5.2.1-4.1"}
    assert all(not r.quoted and "not in aisbom's" in r.text for r in inferred.values())
    # Nothing the reference does not imply.
    assert "5.2.3-2.2" not in ids


def test_the_standard_in_the_bom_levels_only_known_modal_verbs(minilm_boms):
    (standard,) = minilm_boms["1.6"]["definitions"]["standards"]
    requirements = {r["identifier"]: r for r in standard["requirements"]}
    assert requirements["5.2.1-3.1"]["parent"] == "en-304-223:5.2.1-3"
    assert requirements["5.2.1-4.1"]["parent"] == "en-304-223:5.2.1-4"
    assert {"name": "aisbom:modal", "value": "unknown"} in requirements["5.2.1-3"]["properties"]
    levelled = {ref for level in standard["levels"] for ref in level["requirements"]}
    assert "en-304-223:5.2.1-3" not in levelled and "en-304-223:5.2.1-3.1" in levelled


def test_every_declaration_has_a_score_matching_its_status(minilm_boms):
    (attestation,) = minilm_boms["1.6"]["declarations"]["attestations"]
    scores = {"Evidenced.": 1, "Partly evidenced.": 0.5, "Not evidenced.": 0}
    assert len(attestation["map"]) == len([r for r in CATALOGUE if r.is_provision])
    for entry in attestation["map"]:
        conformance = entry["conformance"]
        status = next(s for s in scores if conformance["rationale"].startswith(s))
        assert conformance["score"] == scores[status], entry["requirement"]
        if conformance["score"] == 0:
            assert "claims" not in entry, entry["requirement"]


def test_a_dataset_alone_evidences_its_complete_inventory(tmp_path: Path):
    """No model, so no training data of unknown completeness: the compositions are all complete."""
    data = tmp_path / "greetings"
    data.mkdir()
    (data / "hello.txt").write_text("hello\n")
    doc = make_bom(data, tmp_path / "bom.json", "--kind", "dataset", expect=0)
    assert {c["aggregate"] for c in doc["compositions"]} == {"complete"}
    entry = next(
        e for e in doc["declarations"]["attestations"][0]["map"] if e["requirement"].endswith("5.2.1-1")
    )
    assert entry["conformance"]["score"] == 1
