"""Model cards read as data: front matter through a safe YAML loader, sections outside code."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from _bom_helpers import make_bom, props, strict_schema_errors

from aisbom.bom.card import card_from_directory

CARD = """---
license: other
license_name: acme-research-license
license_link: https://example.com/acme-license
base_model: meta-llama/Llama-2-7b-hf
base_model_relation: finetune
datasets:
  - acme/chat-logs
  - "not a hub id!"
language: [en, fr]
pipeline_tag: text-generation
model-index:
  - name: x
    results: []
---
# Acme Tiny

A tiny [chat](https://example.com) model for tests.

<!-- Provide a quick summary of what the model is/does. -->

## Uses

### Direct Use

Answering questions about Acme products.

### Downstream Use

[More Information Needed]

## Out-of-Scope Use

Medical or legal advice.

```python
## Limitations
this heading is inside a code block
```

## Bias, Risks, and Limitations

It makes things up.

## Ethical considerations

Trained on customer chats with consent.
"""


def write_model(root: Path, readme: str, config: dict | None = None) -> Path:
    root.mkdir()
    (root / "README.md").write_text(readme, encoding="utf-8")
    (root / "config.json").write_text(json.dumps(config or {"model_type": "llama", "num_hidden_layers": 2}))
    (root / "weights.bin").write_bytes(bytes(range(256)))
    return root


def test_hugging_face_card_fields_and_sections(tmp_path: Path):
    model_dir = write_model(tmp_path / "acme-tiny", CARD)
    doc = make_bom(model_dir, tmp_path / "bom.json", "--spec-version", "1.7", expect=0)
    assert strict_schema_errors(doc) == []
    model = doc["components"][0]
    assert model["licenses"] == [
        {
            "license": {
                "name": "acme-research-license",
                "acknowledgement": "declared",
                "url": "https://example.com/acme-license",
            }
        }
    ]
    assert model["description"] == "A tiny chat model for tests."
    (ancestor,) = model["pedigree"]["ancestors"]
    assert ancestor["type"] == "machine-learning-model"
    assert ancestor["purl"] == "pkg:huggingface/meta-llama/Llama-2-7b-hf"
    assert (ancestor["group"], ancestor["name"]) == ("meta-llama", "Llama-2-7b-hf")
    assert props(model)["aisbom:base_model_relation"] == "finetune"

    card = model["modelCard"]
    assert card["modelParameters"]["task"] == "text-generation"
    assert card["modelParameters"]["architectureFamily"] == "llama"
    considerations = card["considerations"]
    assert considerations["useCases"] == ["Answering questions about Acme products."]
    assert considerations["technicalLimitations"] == [
        "Out of scope: Medical or legal advice.",
        "It makes things up.",
    ]
    assert considerations["ethicalConsiderations"] == [{"name": "Trained on customer chats with consent."}]
    assert {"name": "cdx:ai-ml:model:languages", "value": "en,fr"} in card["properties"]

    datasets = {c["name"]: c for c in doc["components"] if c["type"] == "data"}
    assert (
        datasets["acme/chat-logs"]["data"][0]["contents"]["url"]
        == "https://huggingface.co/datasets/acme/chat-logs"
    )
    assert "contents" not in datasets["not a hub id!"]["data"][0]  # no URL is invented for it


def test_yaml_aliases_cannot_blow_up_and_bad_yaml_is_a_note(tmp_path: Path):
    bomb = "---\na: &a [x, x, x, x, x, x, x, x, x]\n"
    for name, prev in zip("bcdefghi", "abcdefgh", strict=True):
        bomb += f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    bomb += "datasets: *i\ntags: *i\nlicense: mit\n---\n# Bomb\n"
    started = time.monotonic()
    doc = make_bom(write_model(tmp_path / "bomb", bomb), tmp_path / "bomb.json", expect=0)
    assert time.monotonic() - started < 5
    model = doc["components"][0]
    assert model["licenses"][0]["license"]["id"] == "MIT"
    assert "tags" not in model and not [c for c in doc["components"] if c["type"] == "data"]

    doc = make_bom(
        write_model(tmp_path / "bad", "---\nlicense: [mit\n---\n# Bad\n"), tmp_path / "bad.json", expect=0
    )
    assert "front matter is not valid YAML" in props(doc["components"][0])["aisbom:note"]
    assert "no-license" in props(doc["components"][0])["aisbom:documentation_gaps"]


def test_a_card_that_changed_since_the_scan_is_not_used(tmp_path: Path):
    model_dir = write_model(tmp_path / "m", CARD)
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in model_dir.iterdir()}
    assert card_from_directory(model_dir, hashes).pipeline_tag == "text-generation"
    (model_dir / "README.md").write_text(CARD.replace("text-generation", "text-classification"))
    facts = card_from_directory(model_dir, hashes)
    assert facts.pipeline_tag is None and not facts.has_card
    assert any("changed since the scan" in note for note in facts.notes)
