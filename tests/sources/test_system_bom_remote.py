"""The system BOM of an inventory that holds Hub assets carries the licence and card that
`aisbom bom hf://…` finds for the same repository: read, without network, from the Hugging Face
cache at the locked commit, and only from bytes that still hash as locked."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from _bom_helpers import by_ref, props, run, strict_schema_errors
from _servers import Hub, HubRepo, git_blob_id
from _sources_helpers import TINY_COMMIT, go_offline

FAQ_COMMIT = hashlib.sha1(b"acme/faq").hexdigest()
FAQ_CARD = b"---\nlicense: cc-by-4.0\n---\n# FAQ\n\nQuestions our users ask, with the answers.\n"


@pytest.fixture
def project(hub: Hub, tmp_path: Path) -> Path:
    """A project with acme/tiny and a dataset acme/faq added from the fake Hub (both with cards)."""
    hub.repos.append(
        HubRepo(
            "dataset",
            "acme/faq",
            {FAQ_COMMIT: {"README.md": FAQ_CARD, "faq.csv": b"question,answer\nhours?,9 to 5\n"}},
            {"main": FAQ_COMMIT},
        )
    )
    root = tmp_path / "project"
    root.mkdir()
    for kind, source, name in (
        ("model", "hf://acme/tiny@main", "tiny"),
        ("dataset", "hf://datasets/acme/faq", "faq"),
    ):
        code, out, err = run("add", kind, source, "--name", name, "--project", str(root))
        assert code == 0, out + err
    return root


def system_bom(project: Path, out: Path) -> tuple[dict[str, Any], str]:
    code, _, err = run("bom", "--project", str(project), "-o", str(out))
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert strict_schema_errors(doc) == []
    return doc, err


def single_bom(target: str, out: Path) -> dict[str, Any]:
    code, _, err = run("bom", target, "-o", str(out))
    assert code == 0, err
    return json.loads(out.read_text())


def test_a_hub_model_and_dataset_carry_their_cards(
    project: Path, hf_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    model = single_bom("hf://acme/tiny@main", tmp_path / "tiny.json")["components"][0]
    dataset = single_bom("hf://datasets/acme/faq", tmp_path / "faq.json")["components"][0]
    attempts = go_offline(monkeypatch)  # the system BOM needs no network

    doc, err = system_bom(project, tmp_path / "system.json")

    assert attempts == []
    in_system = by_ref(doc)["model:tiny"]
    assert (
        in_system["licenses"]
        == model["licenses"]
        == [{"license": {"acknowledgement": "declared", "id": "Apache-2.0"}}]
    )
    assert in_system["description"] == model["description"] == "A tiny model for tests."
    card, expected = dict(in_system["modelCard"]), dict(model["modelCard"])
    assert card.pop("bom-ref") == "model-card:model:tiny" and expected.pop("bom-ref")
    assert card == expected  # architecture and hyperparameters from config.json
    assert "not well documented" not in err

    faq = by_ref(doc)["dataset:faq"]
    assert faq["licenses"] == dataset["licenses"]
    assert faq["licenses"][0]["license"]["id"] == "CC-BY-4.0"


def test_the_cards_licence_wins_over_the_declared_one(project: Path, hf_env: Path, tmp_path: Path):
    """As for a local model: the licence declared in aisbom.toml stands in only for a card without one."""
    manifest = project / "aisbom.toml"
    text = manifest.read_text()
    for name in ("tiny", "faq"):
        assert f"[assets.{name}]\n" in text
        text = text.replace(f"[assets.{name}]\n", f'[assets.{name}]\nlicense = "mit"\n')
    manifest.write_text(text)
    doc, _ = system_bom(project, tmp_path / "system.json")
    assert by_ref(doc)["model:tiny"]["licenses"][0]["license"]["id"] == "Apache-2.0"
    assert by_ref(doc)["dataset:faq"]["licenses"][0]["license"]["id"] == "CC-BY-4.0"

    shutil.rmtree(hf_env)  # no card at hand: the declared licence is all there is
    doc, _ = system_bom(project, tmp_path / "system.json")
    assert by_ref(doc)["model:tiny"]["licenses"][0]["license"]["id"] == "MIT"
    assert by_ref(doc)["dataset:faq"]["licenses"][0]["license"]["id"] == "MIT"


def test_a_card_changed_in_the_cache_is_not_read(project: Path, hf_env: Path, tmp_path: Path):
    readme = hf_env / "models--acme--tiny" / "snapshots" / TINY_COMMIT / "README.md"
    blob = readme.resolve()
    assert blob.name == git_blob_id(blob.read_bytes())
    blob.write_bytes(blob.read_bytes().replace(b"apache-2.0", b"mit"))

    doc, err = system_bom(project, tmp_path / "system.json")

    model = by_ref(doc)["model:tiny"]
    assert "licenses" not in model
    assert "README.md: not read (too large, unreadable or changed since the scan)" in props(model).values()
    assert "aisbom: note: tiny is not well documented (" in err


def test_a_snapshot_gone_from_the_cache_is_said(project: Path, hf_env: Path, tmp_path: Path):
    shutil.rmtree(hf_env / "models--acme--tiny")

    doc, err = system_bom(project, tmp_path / "system.json")

    assert (
        f"card not read: commit {TINY_COMMIT} of hf://acme/tiny@main is not in the Hugging Face cache here "
        in (props(by_ref(doc)["model:tiny"])["aisbom:note"])
    )
    assert "aisbom: note: tiny is not well documented (" in err


def test_the_cache_dir_option_names_where_to_look(project: Path, hf_env: Path, tmp_path: Path):
    moved = tmp_path / "elsewhere"
    hf_env.rename(moved)
    code, _, err = run(
        "bom", "--project", str(project), "-o", str(tmp_path / "s.json"), "--cache-dir", str(moved)
    )
    assert code == 0, err
    assert "licenses" in by_ref(json.loads((tmp_path / "s.json").read_text()))["model:tiny"]


def test_a_system_bom_in_1_7_cites_each_assets_own_files(project: Path, hf_env: Path, tmp_path: Path):
    """Citations name the file component the card came from (file:tiny/README.md in an inventory),
    so the 1.7 BOM validates; --reproducible keeps them."""
    from aisbom.bom.check import reference_errors

    for extra in ((), ("--reproducible",)):
        out = tmp_path / "system-1.7.json"
        code, _, err = run("bom", "--project", str(project), "-o", str(out), "--spec-version", "1.7", *extra)
        assert code == 0, err
        doc = json.loads(out.read_text())
        assert strict_schema_errors(doc) == [] and reference_errors(doc) == []
        cited = {c["attributedTo"] for c in doc["citations"]}
        assert {"file:tiny/README.md", "file:tiny/config.json"} <= cited


def test_a_system_bom_in_spdx(project: Path, hf_env: Path, tmp_path: Path):
    import io

    from spdx_python_model import v3_0_1 as spdx

    out = tmp_path / "system.spdx.json"
    code, _, err = run("bom", "--project", str(project), "-o", str(out), "--format", "spdx")
    assert code == 0, err
    objects = spdx.SHACLObjectSet()
    spdx.JSONLDDeserializer().read(io.BytesIO(out.read_bytes()), objects)
    (sbom,) = objects.foreach_type(spdx.software_Sbom)
    (system,) = sbom.rootElement
    assert system.software_primaryPurpose == spdx.software_SoftwarePurpose.application
    (model,) = objects.foreach_type(spdx.ai_AIPackage)
    (dataset,) = objects.foreach_type(spdx.dataset_DatasetPackage)
    uses = [t for r in objects.foreach_type(spdx.Relationship) if r.from_ is system for t in r.to]
    assert {model, dataset} <= set(uses)
    assert model.suppliedBy.name == "acme"  # the Hub organisation the model came from
