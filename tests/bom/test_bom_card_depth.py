"""Model card depth: metrics, CO2, inputs and outputs, learning approach, authors and supplier,
limitations from the card's own sections; a field the card does not state stays absent."""

from __future__ import annotations

import json
from pathlib import Path

from _bom_helpers import make_bom, props, strict_schema_errors

from aisbom.bom.check import reference_errors

CARD = """---
license: mit
pipeline_tag: text-classification
author: Jane Roe
co2_eq_emissions:
  emissions: 149.2
  source: CodeCarbon
  training_type: fine-tuning
  geographical_location: Paris, France
  hardware_used: 1 x A100
model-index:
  - name: acme-sentiment
    results:
      - task: {type: text-classification, name: Sentiment}
        dataset: {name: IMDB, type: imdb, split: test}
        metrics:
          - {type: accuracy, value: 0.931, name: Accuracy}
          - {type: f1, value: 0.928}
      - task: {type: text-classification}
        dataset: {name: SST-2, type: glue, config: sst2, split: validation}
        metrics:
          - {type: accuracy, value: 0.912}
---
# Model Card for acme-sentiment

Classifies the sentiment of English product reviews.

## Model Details

- **Developed by:** Acme Research Lab
- **Shared by [optional]:** Acme Inc.
- **Model type:** [More Information Needed]

## Uses

### Direct Use

Sorting reviews into positive and negative.

Inputs longer than 512 tokens are truncated.

## Training Details

Fine-tuned with supervised learning on labelled reviews.
"""


def write_model(root: Path, readme: str, config: dict | None = None) -> Path:
    root.mkdir()
    (root / "README.md").write_text(readme, encoding="utf-8")
    (root / "config.json").write_text(json.dumps(config or {"model_type": "bert", "hidden_size": 384}))
    (root / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    return root


def model_of(doc: dict) -> dict:
    return doc["components"][0]


def test_every_stated_field_is_mapped(tmp_path: Path):
    doc = make_bom(
        write_model(tmp_path / "m", CARD), tmp_path / "bom.json", "--spec-version", "1.7", expect=0
    )
    assert strict_schema_errors(doc) == [] and reference_errors(doc) == []
    model = model_of(doc)
    assert model["name"] == "acme-sentiment"  # the template's "Model Card for" left out
    assert model["authors"] == [{"name": "Acme Research Lab"}, {"name": "Jane Roe"}]  # sorted
    assert model["supplier"] == {"name": "Acme Inc."}  # "Shared by": who distributes it
    assert props(model)["aisbom:supplier_from"] == "model card"
    card = model["modelCard"]
    params = card["modelParameters"]
    assert params["approach"] == {"type": "supervised"}
    assert params["inputs"] == [{"format": "text"}] and params["outputs"] == [{"format": "label"}]
    assert card["quantitativeAnalysis"]["performanceMetrics"] == [
        {"type": "accuracy", "value": "0.931", "slice": "IMDB (test); task text-classification"},
        {"type": "f1", "value": "0.928", "slice": "IMDB (test); task text-classification"},
        {"type": "accuracy", "value": "0.912", "slice": "SST-2 (sst2, validation); task text-classification"},
    ]
    considerations = card["considerations"]
    assert considerations["useCases"] == ["Sorting reviews into positive and negative."]
    assert considerations["technicalLimitations"] == ["Inputs longer than 512 tokens are truncated."]
    co2 = {p["name"]: p["value"] for p in considerations["environmentalConsiderations"]["properties"]}
    assert co2 == {
        "aisbom:co2_eq_emissions_grams": "149.2",
        "aisbom:co2_eq_source": "CodeCarbon",
        "aisbom:co2_eq_training_type": "fine-tuning",
        "aisbom:co2_eq_geographical_location": "Paris, France",
        "aisbom:co2_eq_hardware_used": "1 x A100",
    }
    # Each of them is cited to the README it was read from.
    (readme,) = [c for c in doc["citations"] if c["attributedTo"] == "file:README.md"]
    assert "/components/0/modelCard/quantitativeAnalysis" in readme["pointers"]
    assert "/components/0/supplier" in readme["pointers"] and "/components/0/authors" in readme["pointers"]


def test_a_field_not_stated_is_absent(tmp_path: Path):
    bare = "---\nlicense: mit\n---\n# Tiny\n\nA model.\n\n## Training\n\nSupervised, then self-supervised.\n"
    doc = make_bom(write_model(tmp_path / "m", bare), tmp_path / "bom.json", expect=0)
    model = model_of(doc)
    card = model["modelCard"]
    assert "authors" not in model and "supplier" not in model
    assert "quantitativeAnalysis" not in card and "considerations" not in card
    params = card["modelParameters"]
    # No task: no inputs or outputs; two learning types named: no approach claimed.
    assert not {"inputs", "outputs", "approach", "task"} & set(params)


def test_template_placeholders_are_not_taken_for_facts(tmp_path: Path):
    template = (
        "---\nlicense: mit\n---\n# Model Card for Model ID\n\n## Model Details\n\n"
        "- **Developed by:** [More Information Needed]\n"
        "- **Shared by [optional]:** [More Information Needed]\n"
    )
    doc = make_bom(write_model(tmp_path / "m", template), tmp_path / "bom.json", expect=0)
    model = model_of(doc)
    assert model["name"] == "m" and props(model)["aisbom:name_from"] == "target"
    assert "authors" not in model and "supplier" not in model
