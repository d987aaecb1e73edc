"""The checks the schema cannot make: unique bom-refs, resolving references, model cards on models."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from aisbom.bom.build import dumps
from aisbom.bom.check import BomError, reference_errors, validate


@pytest.fixture
def doc(minilm_boms: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return copy.deepcopy(minilm_boms["1.6"])


def test_the_real_bom_passes(doc):
    validate(doc, dumps(doc))


def test_duplicate_bom_refs(doc):
    files = doc["components"][0]["components"]
    files[1]["bom-ref"] = files[0]["bom-ref"]
    assert f"bom-ref {files[0]['bom-ref']!r} is not unique (2 times)" in reference_errors(doc)


def test_dangling_references_everywhere_aisbom_writes_them(doc):
    doc["dependencies"][0]["dependsOn"] = ["file:gone"]
    doc["components"][0]["modelCard"]["modelParameters"]["datasets"][0]["ref"] = "dataset:gone"
    doc["declarations"]["claims"][0]["target"] = "model:gone"
    doc["declarations"]["attestations"][0]["map"][0]["requirement"] = "en-304-223:9.9.9"
    problems = "\n".join(reference_errors(doc))
    for ref in ("file:gone", "dataset:gone", "model:gone", "en-304-223:9.9.9"):
        assert f"refers to {ref!r}" in problems


def test_model_card_only_on_models(doc):
    doc["components"][0]["components"][0]["modelCard"] = {"bom-ref": "model-card:elsewhere"}
    assert any("a modelCard on a file component" in p for p in reference_errors(doc))


def test_schema_violations_are_reported_with_their_place(doc):
    doc["components"][0]["modelCard"]["modelParameters"]["properties"] = []  # the schema forbids it
    with pytest.raises(BomError, match=r"schema: at /components/0/modelCard/modelParameters"):
        validate(doc, json.dumps(doc))


def test_validation_works_offline(doc, monkeypatch: pytest.MonkeyPatch):
    import socket

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("network access during validation")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    validate(doc, dumps(doc))


def test_long_arrays_are_validated_in_slices_and_checked_for_duplicates(doc, monkeypatch: pytest.MonkeyPatch):
    import aisbom.bom.check as check

    monkeypatch.setattr(check, "CHUNK", 10)
    views = list(check.schema_views(doc))
    assert len(views) > 1 and all(not list(check._long_arrays(view, ())) for view in views)
    # Every file, dependency and requirement goes through the schema in at least one view.
    model = doc["components"][0]
    seen_files = {f["bom-ref"] for v in views for c in v["components"] for f in c.get("components", [])}
    assert seen_files == {f["bom-ref"] for f in model["components"]}
    assert {d["ref"] for v in views for d in v["dependencies"]} == {d["ref"] for d in doc["dependencies"]}
    validate(doc, dumps(doc))

    files = doc["components"][0]["components"]
    files[11]["hashes"][0]["alg"] = "SHA-999"  # in the last slice
    files[12] = copy.deepcopy(files[0])
    with pytest.raises(BomError) as caught:
        validate(doc, dumps(doc))
    assert "'SHA-999' is not one of" in str(caught.value)
    assert "duplicate item in an array of unique items" in str(caught.value)
