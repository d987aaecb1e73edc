"""`aisbom diff OLD NEW`: what an operator announces before a model update (EN 304 223 5.2.3-4)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from _bom_helpers import FIXTURES, make_bom, run


@pytest.fixture(scope="module")
def original(minilm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("diff") / "old.cdx.json"
    make_bom(minilm, out, "--reproducible", expect=0)
    return out


def test_changing_one_file_names_it_with_old_and_new_hash(minilm: Path, original: Path, tmp_path: Path):
    copy = tmp_path / "model"
    shutil.copytree(minilm, copy)
    config = copy / "config.json"
    before = hashlib.sha256(config.read_bytes()).hexdigest()
    config.write_text(config.read_text().replace('"num_hidden_layers": 6', '"num_hidden_layers": 7'))
    after = hashlib.sha256(config.read_bytes()).hexdigest()
    new = tmp_path / "new.cdx.json"
    make_bom(copy, new, "--reproducible", expect=0)

    code, out, _ = run("diff", str(original), str(new))
    assert code == 1
    assert "changed  file" in out and "all-MiniLM-L6-v2/config.json" in out
    assert f"SHA-256: {before} -> {after}" in out
    # The copy has the same name (the card's title): the file and the model it belongs to changed,
    # the model in its manifest hash and in the hyperparameter its config.json states.
    assert "2 changed, 0 added, 0 removed" in out
    assert "changed  machine-learning-model" in out
    assert "hyperparameter num_hidden_layers: 6 -> 7" in out

    code, out, _ = run("diff", str(original), str(new), "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["drift"] is True
    change, model = sorted(report["changed"], key=lambda c: c["type"])
    assert model["changes"]["hyperparameter num_hidden_layers"] == {"old": "6", "new": "7"}
    assert change["component"] == "all-MiniLM-L6-v2/config.json" and change["type"] == "file"
    assert change["changes"]["SHA-256"] == {"old": before, "new": after}


def test_identical_boms_exit_0(tmp_path: Path):
    demo = FIXTURES / "demo"
    first, again = tmp_path / "first.cdx.json", tmp_path / "again.cdx.json"
    make_bom(demo, first, "--reproducible", expect=1)
    make_bom(demo, again, expect=1)  # not reproducible: serial number and timestamps differ
    code, out, _ = run("diff", str(first), str(again))
    assert code == 0, out
    assert (
        out == f"aisbom diff: {first} -> {again}\nNo drift: the same 4 components, with the same hashes, "
        "versions, licences, model cards and findings, and the same EN 304 223 conformance.\n"
    )
    code, out, _ = run("diff", str(first), str(again), "--format", "json")
    assert code == 0 and json.loads(out)["drift"] is False


def test_added_removed_and_findings(tmp_path: Path):
    model = tmp_path / "demo"
    shutil.copytree(FIXTURES / "demo", model)
    old = tmp_path / "old.json"
    make_bom(model, old, expect=1)
    (model / "extra_weights.bin").unlink()
    (model / "README.md").write_text("---\nlicense: mit\n---\n# Demo\n")
    new = tmp_path / "new.json"
    make_bom(model, new, expect=0)
    code, out, _ = run("diff", str(old), str(new), "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert [a["component"] for a in report["added"]] == ["Demo/README.md"]  # named by its new card
    assert [r["component"] for r in report["removed"]] == ["demo/extra_weights.bin"]
    assert report["removed"][0]["findings"] == ["pickle-dangerous-global (critical)", "pickle-format (low)"]
    (model_change,) = [c for c in report["changed"] if c["type"] == "machine-learning-model"]
    assert model_change["changes"]["licenses"] == {"old": "", "new": "MIT"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe not text", "not UTF-8"),
        (b"{not json", "not JSON"),
        (b'{"bomFormat": "SPDX"}', "not a CycloneDX BOM"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": 1}]}', "not a valid"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "9.9"}', "unsupported CycloneDX specVersion"),
    ],
)
def test_unreadable_or_invalid_input_exits_2(original: Path, tmp_path: Path, content: bytes, message: str):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    code, out, err = run("diff", str(bad), str(original))
    assert code == 2 and out == ""
    assert message in err and str(bad) in err


def test_missing_file_exits_2(original: Path, tmp_path: Path):
    code, _, err = run("diff", str(tmp_path / "nope.json"), str(original))
    assert code == 2 and "no such file" in err


CARD = """---
license: apache-2.0
pipeline_tag: feature-extraction
datasets: [acme/reviews]
base_model: acme/base-7b
tags: [embeddings]
---
# Acme Embed

Embeds product reviews.

## Intended uses

Search over reviews.

## Limitations

English only.
"""


def test_what_matters_in_a_model_update_is_named(tmp_path: Path):
    """A changed task, dataset list, use cases, limitations, hyperparameter, description, tags and
    base model each show as a named change; so does a provision whose declared conformance moved."""
    model = tmp_path / "acme-embed"
    model.mkdir()
    (model / "README.md").write_text(CARD)
    (model / "config.json").write_text('{"model_type": "bert", "hidden_size": 384}')
    old = tmp_path / "old.json"
    make_bom(model, old, "--reproducible", expect=0)
    changed = (
        CARD.replace("feature-extraction", "sentence-similarity")
        .replace("[acme/reviews]", "[acme/reviews, acme/tweets]")
        .replace("acme/base-7b", "acme/base-13b")
        .replace("[embeddings]", "[embeddings, multilingual]")
        .replace("Embeds product reviews.", "Embeds reviews and tweets.")
        .replace("Search over reviews.", "Search over reviews and tweets.")
        .replace("English only.", "English and French only.")
    )
    (model / "README.md").write_text(changed)
    (model / "config.json").write_text('{"model_type": "bert", "hidden_size": 4096}')
    new = tmp_path / "new.json"
    make_bom(model, new, "--reproducible", expect=0)

    code, out, _ = run("diff", str(old), str(new), "--format", "json")
    assert code == 1
    report = json.loads(out)
    (change,) = [c for c in report["changed"] if c["type"] == "machine-learning-model"]
    fields = change["changes"]
    assert fields["task"] == {"old": "feature-extraction", "new": "sentence-similarity"}
    assert fields["datasets"] == {"old": "acme/reviews", "new": "acme/reviews; acme/tweets"}
    assert fields["hyperparameter hidden_size"] == {"old": "384", "new": "4096"}
    assert fields["description"]["new"] == "Embeds reviews and tweets."
    assert fields["tags"] == {"old": "embeddings", "new": "embeddings; multilingual"}
    assert fields["base models"] == {
        "old": "pkg:huggingface/acme/base-7b",
        "new": "pkg:huggingface/acme/base-13b",
    }
    assert fields["use cases"]["new"] == "Search over reviews and tweets."
    assert fields["limitations"]["new"] == "English and French only."
    assert fields["outputs"] == {"old": "embedding", "new": "similarity score"}
    assert [a["component"] for a in report["added"]] == ["acme/tweets"]

    code, text, _ = run("diff", str(old), str(new))
    assert "task: feature-extraction -> sentence-similarity" in text
    assert "hyperparameter hidden_size: 384 -> 4096" in text


def test_a_changed_declaration_is_named_by_its_provision(tmp_path: Path):
    model = tmp_path / "m"
    model.mkdir()
    (model / "weights.bin").write_bytes(bytes(range(64)))
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    make_bom(model, old, "--reproducible", expect=0)
    make_bom(model, new, "--reproducible", "--justify", "Pinned and reviewed.", expect=0)
    code, out, _ = run("diff", str(old), str(new), "--format", "json")
    assert code == 1
    (change,) = [c for c in json.loads(out)["changed"] if c["type"] == "requirement"]
    assert change["component"] == "5.2.3-2"
    conformance = change["changes"]["conformance"]
    assert conformance["old"].startswith("score 0: Not evidenced.")
    assert conformance["new"].startswith("score 0.5: Partly evidenced.")
