"""`aisbom bom --format spdx`: SPDX 3.0.1 JSON-LD with the AI and Dataset profiles, from the same
assets as the CycloneDX BOM, written and read back with the SPDX model's own Python bindings."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from _bom_helpers import FIXTURES, make_bom, run
from spdx_python_model import v3_0_1 as spdx


def read_back(path: Path) -> Any:
    """Every object of the document, deserialized (and so type-checked) by the bindings."""
    objects = spdx.SHACLObjectSet()
    spdx.JSONLDDeserializer().read(io.BytesIO(path.read_bytes()), objects)
    assert objects.link() == set()  # every reference resolves inside the document
    return objects


def of_type(objects: Any, typ: Any) -> list[Any]:
    return list(objects.foreach_type(typ, match_subclass=False))


def related(objects: Any, source: Any, kind: str) -> list[Any]:
    rels = [
        r
        for r in of_type(objects, spdx.Relationship)
        if r.from_ is source and r.relationshipType == getattr(spdx.RelationshipType, kind)
    ]
    return [t for r in rels for t in r.to]


@pytest.fixture(scope="module")
def minilm_spdx(minilm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spdx") / "bom.spdx.json"
    code, _, err = run("bom", str(minilm), "--format", "spdx", "-o", str(out))
    assert code == 0, err
    assert "(SPDX 3.0.1;" in err
    return out


def test_the_model_is_an_ai_package_with_its_card(minilm_spdx: Path, minilm_boms):
    objects = read_back(minilm_spdx)
    (doc,) = of_type(objects, spdx.SpdxDocument)
    (sbom,) = doc.rootElement
    profiles = set(sbom.profileConformance)
    assert {spdx.ProfileIdentifierType.ai, spdx.ProfileIdentifierType.dataset} <= profiles
    (model,) = of_type(objects, spdx.ai_AIPackage)
    assert sbom.rootElement == [model]
    cdx = next(c for c in minilm_boms["1.6"]["components"] if c["type"] == "machine-learning-model")
    assert model.name == cdx["name"] == "all-MiniLM-L6-v2"
    assert model.software_primaryPurpose == spdx.software_SoftwarePurpose.model
    assert [h.hashValue for h in model.verifiedUsing] == [cdx["hashes"][0]["content"]]
    hyper = {e.key: e.value for e in model.ai_hyperparameter}
    assert hyper["hidden_size"] == "384" and hyper["num_hidden_layers"] == "6"
    assert model.ai_limitation == "By default, input text longer than 256 word pieces is truncated."
    assert "self-supervised" in model.ai_informationAboutTraining
    assert list(model.ai_typeOfModel) == ["bert", "BertModel"]
    (licence,) = related(objects, model, "hasDeclaredLicense")
    assert licence.simplelicensing_licenseExpression == "Apache-2.0"


def test_files_and_datasets_match_the_cyclonedx_bom(minilm_spdx: Path, minilm: Path):
    objects = read_back(minilm_spdx)
    (model,) = of_type(objects, spdx.ai_AIPackage)
    files = {f.name: f for f in related(objects, model, "contains")}
    on_disk = {p.relative_to(minilm).as_posix(): p for p in minilm.rglob("*") if p.is_file()}
    assert set(files) == set(on_disk)
    for name, path in on_disk.items():
        (digest,) = files[name].verifiedUsing
        assert digest.algorithm == spdx.HashAlgorithm.sha256
        assert digest.hashValue == hashlib.sha256(path.read_bytes()).hexdigest()
    datasets = related(objects, model, "trainedOn")
    assert len(datasets) == 21 and all(isinstance(d, spdx.dataset_DatasetPackage) for d in datasets)
    assert {d.software_downloadLocation for d in datasets} >= {"https://huggingface.co/datasets/s2orc"}


def test_findings_are_review_annotations_on_their_file(tmp_path: Path):
    out = tmp_path / "demo.spdx.json"
    code, _, err = run("bom", str(FIXTURES / "demo"), "--format", "spdx", "-o", str(out))
    assert code == 1, err  # written, and the scan's verdict is kept
    objects = read_back(out)
    notes = of_type(objects, spdx.Annotation)
    assert notes and all(n.annotationType == spdx.AnnotationType.review for n in notes)
    assert any("pickle-dangerous-global (critical)" in n.statement for n in notes)
    assert {n.subject.name for n in notes} >= {"extra_weights.bin"}


def test_reproducible_spdx_is_byte_identical(tmp_path: Path):
    paths = [tmp_path / f"{n}.spdx.json" for n in (1, 2)]
    for path in paths:
        code, _, err = run(
            "bom", str(FIXTURES / "demo"), "--format", "spdx", "--reproducible", "-o", str(path)
        )
        assert code == 1, err
    assert paths[0].read_bytes() == paths[1].read_bytes()
    (info,) = {e.creationInfo for e in of_type(read_back(paths[0]), spdx.SpdxDocument)}
    assert info.created.year == 1970 and "reproducible" in info.comment


def test_the_cyclonedx_and_spdx_boms_of_one_model_agree_on_identity(minilm: Path, tmp_path: Path):
    args = ("--name", "minilm", "--version", "1.0.0", "--supplier", "Acme AI")
    cdx = make_bom(minilm, tmp_path / "bom.json", *args, expect=0)["components"][0]
    out = tmp_path / "bom.spdx.json"
    code, _, err = run("bom", str(minilm), "--format", "spdx", "-o", str(out), *args)
    assert code == 0, err
    (model,) = of_type(read_back(out), spdx.ai_AIPackage)
    assert (model.name, model.software_packageVersion, model.software_packageUrl) == (
        cdx["name"],
        cdx["version"],
        cdx["purl"],
    )
    assert model.suppliedBy.name == cdx["supplier"]["name"] == "Acme AI"
