"""Everything cyclonedx-python-lib 11 does not model, built by hand in this one module:
`modelCard`, component `data` (dataset details), `compositions`, `formulation`, `declarations`
and, for 1.7, `citations`. Added to the library's output as plain JSON, by bom-ref.

The library cannot read these back (`Bom.from_json` silently drops them), so nothing here ever
round-trips through it; `check` validates the finished document against the official schema.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aisbom.bom.assets import ModelAsset, iso
from aisbom.bom.etsi import SCORES, STATUS_TEXT, Declaration
from aisbom.bom.etsi_catalogue import requirement_ref
from aisbom.bom.library import SUBJECT_REF, TOOL_REF

if TYPE_CHECKING:  # only a dataset's or a project's BOM has them
    from aisbom.bom.project_assets import DataAsset

TOP_LEVEL_ORDER = (
    "$schema",
    "bomFormat",
    "specVersion",
    "serialNumber",
    "version",
    "metadata",
    "components",
    "dependencies",
    "compositions",
    "vulnerabilities",
    "formulation",
    "definitions",
    "declarations",
    "citations",
)
COMPONENT_ORDER = (
    "type",
    "bom-ref",
    "supplier",
    "authors",
    "group",
    "name",
    "version",
    "description",
    "licenses",
    "purl",
    "hashes",
    "externalReferences",
    "tags",
    "properties",
    "modelCard",
    "data",
    "pedigree",
    "components",
)
VULNERABILITY_ORDER = (
    "bom-ref",
    "id",
    "source",
    "ratings",
    "description",
    "detail",
    "recommendation",
    "affects",
)
ASSESSOR_REF = "assessor:aisbom"


def extend(
    doc: dict[str, Any],
    models: Sequence[ModelAsset],
    declaration: Declaration | None,
    *,
    spec_version: str,
    created: datetime | None,
    data_assets: Sequence[DataAsset] = (),
    trained_on: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """`trained_on`: per model bom-ref, the inventory datasets it was trained on (its model
    card's datasets, beside those its own card declares)."""
    trained_on = trained_on or {}
    components = {c["bom-ref"]: c for c in walk_components(doc) if "bom-ref" in c}
    for model in models:
        card = _model_card(model, trained_on.get(model.bom_ref, ()))
        if card:
            components[model.bom_ref]["modelCard"] = card
        for dataset in model.datasets:
            data: dict[str, Any] = {"type": "dataset", "name": dataset.id}
            if dataset.url:
                data["contents"] = {"url": dataset.url}
            components[dataset.bom_ref]["data"] = [data]
    for asset in data_assets:
        details: dict[str, Any] = {"type": asset.data_type, "name": asset.name}
        if asset.provenance is not None:
            details["contents"] = {"url": asset.provenance.source_url}
        components[asset.bom_ref]["data"] = [details]
    # Each model, then the datasets its card declares, in the card's order (the library sorts
    # by type and name, which would put every dataset before the model); then the inventory's
    # datasets, prompts and configs in the order it declares them.
    refs = [r for m in models for r in (m.bom_ref, *(d.bom_ref for d in m.datasets))]
    order = {ref: i for i, ref in enumerate([*refs, *(a.bom_ref for a in data_assets)])}
    doc["components"] = sorted(
        doc.get("components", []), key=lambda c: order.get(c.get("bom-ref"), len(order))
    )
    doc["compositions"] = _compositions(doc, [*models, *data_assets])
    assets: list[ModelAsset | DataAsset] = [*models, *data_assets]
    formulation = [f for f in (_acquisition(a) for a in assets) if f]
    formulation += [f for model in models for f in _conversions(model)]
    if formulation:
        doc["formulation"] = formulation
    if declaration is not None and "definitions" in doc:
        doc["declarations"] = _declarations(declaration, created)
    if spec_version == "1.7":
        doc["citations"] = _citations(doc, models, created)
    return _ordered(doc)


def walk_components(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every component of the document: top level, nested, metadata.component and pedigree."""
    queue = deque(doc.get("components", []))
    meta = doc.get("metadata", {})
    if "component" in meta:
        queue.append(meta["component"])
    tools = meta.get("tools")
    queue.extend(tools.get("components", []) if isinstance(tools, dict) else [])
    while queue:
        component = queue.popleft()
        yield component
        queue.extend(component.get("components", []))
        pedigree = component.get("pedigree", {})
        for key in ("ancestors", "descendants", "variants"):
            queue.extend(pedigree.get(key, []))


def _model_card(model: ModelAsset, trained_on: Sequence[str] = ()) -> dict[str, Any]:
    """What the model's own files say of it, in the model card's fields; a field they do not
    state is absent, never filled in."""
    card = model.card
    params: dict[str, Any] = {}
    if card.approach:
        params["approach"] = {"type": card.approach}
    if card.pipeline_tag:
        params["task"] = card.pipeline_tag
    if card.model_type:
        params["architectureFamily"] = card.model_type
    if card.architectures:
        params["modelArchitecture"] = ", ".join(card.architectures)
    if model.datasets or trained_on:
        params["datasets"] = [{"ref": ref} for ref in [*trained_on, *(d.bom_ref for d in model.datasets)]]
    if card.inputs:
        params["inputs"] = [{"format": text} for text in card.inputs]
    if card.outputs:
        params["outputs"] = [{"format": text} for text in card.outputs]
    out: dict[str, Any] = {}
    if params:
        out["modelParameters"] = params
    if card.metrics:
        out["quantitativeAnalysis"] = {
            "performanceMetrics": [
                {"type": m.type, "value": m.value, **({"slice": m.slice} if m.slice else {})}
                for m in card.metrics
            ]
        }
    considerations = _considerations(model)
    if considerations:
        out["considerations"] = considerations
    properties = [
        {"name": f"cdx:ai-ml:model:hyperparameter:{name}", "value": value}
        for name, value in card.hyperparameters
    ]
    if card.languages:
        properties.append({"name": "cdx:ai-ml:model:languages", "value": ",".join(card.languages)})
    if properties:
        out["properties"] = properties
    if out:
        out = {"bom-ref": f"model-card:{model.bom_ref}", **out}
    return out


def _considerations(model: ModelAsset) -> dict[str, Any]:
    card = model.card
    considerations: dict[str, Any] = {}
    if card.use_cases:
        considerations["useCases"] = list(card.use_cases)
    if card.limitations:
        considerations["technicalLimitations"] = list(card.limitations)
    if card.ethical:
        considerations["ethicalConsiderations"] = [{"name": text} for text in card.ethical]
    if card.co2:
        # A card's co2_eq_emissions has grams of CO2 and where they came from, but neither the
        # energy used (kWh) nor its providers, which an energyConsumption entry requires: kept as
        # properties of the section rather than filled in.
        considerations["environmentalConsiderations"] = {
            "properties": [
                {"name": f"aisbom:co2_eq_{key}" + ("_grams" if key == "emissions" else ""), "value": value}
                for key, value in card.co2
            ]
        }
    return considerations


def _compositions(doc: dict[str, Any], assets: Sequence[ModelAsset | DataAsset]) -> list[dict[str, Any]]:
    models = [a for a in assets if isinstance(a, ModelAsset)]
    complete = [m.bom_ref for m in assets if m.complete]
    incomplete = [m.bom_ref for m in assets if not m.complete]
    out: list[dict[str, Any]] = []
    # The files of an asset: complete when every file was read and fully analysed.
    if complete:
        out.append({"aggregate": "complete", "assemblies": complete})
    if incomplete:
        out.append({"aggregate": "incomplete", "assemblies": incomplete})
    # The subject depends on every model found in the target (or every asset the system uses).
    out.append({"aggregate": "complete", "dependencies": [SUBJECT_REF]})
    # A model's training data is what its card declares: whether that is all of it is unknown.
    if models:
        out.append({"aggregate": "unknown", "dependencies": [m.bom_ref for m in models]})
    vulnerabilities = [v["bom-ref"] for v in doc.get("vulnerabilities", [])]
    if vulnerabilities:
        out.append(
            {"aggregate": "complete" if not incomplete else "incomplete", "vulnerabilities": vulnerabilities}
        )
    return out


def _acquisition(model: ModelAsset | DataAsset) -> dict[str, Any] | None:
    """The native form of "where and when these bytes were obtained": a copy task."""
    prov = model.provenance
    if prov is None:
        return None
    task: dict[str, Any] = {
        "bom-ref": f"task:acquire:{model.bom_ref}",
        "uid": f"acquire:{model.bom_ref}",
        "name": f"Acquire {model.name}",
        "taskTypes": ["copy"],
        "inputs": [{"resource": {"externalReference": {"type": "distribution", "url": prov.source_url}}}],
        "outputs": [{"type": "artifact", "resource": {"ref": model.bom_ref}}],
    }
    if prov.acquired_at is not None:
        task["timeStart"] = iso(prov.acquired_at)
    task_props = []
    if prov.revision:
        task_props.append({"name": "aisbom:revision", "value": prov.revision})
    if prov.acquired_by:  # a cache file's mtime is not a witnessed download: say which it is
        task_props.append({"name": "aisbom:acquired_by", "value": prov.acquired_by})
    if task_props:
        task["properties"] = task_props
    return {
        "bom-ref": f"formula:acquire:{model.bom_ref}",
        "workflows": [
            {
                "bom-ref": f"workflow:acquire:{model.bom_ref}",
                "uid": f"acquire-workflow:{model.bom_ref}",
                "name": f"Acquisition of {model.name}",
                "taskTypes": ["copy"],
                "tasks": [task],
            }
        ],
    }


def _conversions(model: ModelAsset) -> list[dict[str, Any]]:
    """Files that say `aisbom convert` made them (the scanner's safetensors-converted finding):
    a build task from the source's SHA-256 to the file, with how the source was read."""
    out = []
    for file in model.files:
        for finding in file.result.findings:
            if finding.rule != "safetensors-converted":
                continue
            record = dict(finding.evidence)
            ref = file.bom_ref
            source: dict[str, Any] = {
                "type": "distribution",
                "url": record["source"],
                "hashes": [{"alg": "SHA-256", "content": record["source_sha256"]}],
            }
            task = {
                "bom-ref": f"task:convert:{ref}",
                "uid": f"convert:{ref}",
                "name": f"Convert {record['source']} to safetensors",
                "taskTypes": ["build"],
                "inputs": [{"resource": {"externalReference": source}}],
                "outputs": [{"type": "artifact", "resource": {"ref": ref}}],
                "properties": [
                    {"name": "aisbom:conversion-method", "value": record["method"]},
                    {"name": "aisbom:source-sha256", "value": record["source_sha256"]},
                ],
            }
            workflow = {
                "bom-ref": f"workflow:convert:{ref}",
                "uid": f"convert-workflow:{ref}",
                "name": f"Conversion of {record['source']} to {file.result.path}",
                "taskTypes": ["build"],
                "tasks": [task],
            }
            out.append({"bom-ref": f"formula:convert:{ref}", "workflows": [workflow]})
    return out


def _declarations(declaration: Declaration, created: datetime | None) -> dict[str, Any]:
    mapping = []
    for a in declaration.assessments:
        entry: dict[str, Any] = {"requirement": requirement_ref(a.requirement)}
        if a.claims:
            entry["claims"] = list(a.claims)
        if a.counter_claims:
            entry["counterClaims"] = list(a.counter_claims)
        entry["conformance"] = {
            "score": SCORES[a.status],
            "rationale": f"{STATUS_TEXT[a.status]}. {a.rationale}",
        }
        mapping.append(entry)
    claims = []
    for c in declaration.claims:
        claim: dict[str, Any] = {
            "bom-ref": c.key,
            "target": c.target,
            "predicate": c.predicate,
            "reasoning": c.reasoning,
            "evidence": list(c.evidence),
        }
        if c.mitigations:
            claim["mitigationStrategies"] = list(c.mitigations)
        claims.append(claim)
    evidence = []
    for e in declaration.evidence:
        item: dict[str, Any] = {"bom-ref": f"evidence:{e.key}", "description": e.description}
        if e.data_name is not None and e.data_text is not None:
            item["data"] = [
                {
                    "name": e.data_name,
                    "contents": {"attachment": {"contentType": "text/plain", "content": e.data_text}},
                }
            ]
        if created is not None:
            item["created"] = iso(created)
        evidence.append(item)
    return {
        "assessors": [{"bom-ref": ASSESSOR_REF, "thirdParty": False, "organization": {"name": "aisbom"}}],
        "attestations": [
            {
                "summary": "What this BOM evidences of ETSI EN 304 223 principles 5, 7 and 8, as "
                "assessed automatically by aisbom. Requirements it cannot show are declared not "
                "evidenced, never claimed.",
                "assessor": ASSESSOR_REF,
                "map": mapping,
            }
        ],
        "claims": claims,
        "evidence": evidence,
    }


# A citation needs a time; a reproducible BOM without SOURCE_DATE_EPOCH has none to give, so its
# citations carry the Unix epoch, the reproducible-builds stand-in for "no date" (their note says so).
NO_DATE = "1970-01-01T00:00:00+00:00"


def _citations(
    doc: dict[str, Any], models: Sequence[ModelAsset], created: datetime | None
) -> list[dict[str, Any]]:
    stamp = iso(created) if created is not None else NO_DATE
    undated = "" if created is not None else " (No date: a reproducible BOM; the epoch stands for none.)"
    out: list[dict[str, Any]] = [
        {
            "expressions": [
                "$.components[*].hashes",
                "$.components[*].components[*].hashes",
                "$.vulnerabilities",
            ],
            "timestamp": stamp,
            "attributedTo": TOOL_REF,
            "note": "Computed by aisbom from the bytes of each file." + undated,
        }
    ]
    index = {c.get("bom-ref"): i for i, c in enumerate(doc.get("components", []))}
    for model in models:
        if model.bom_ref not in index:
            continue
        base = f"/components/{index[model.bom_ref]}"
        component = doc["components"][index[model.bom_ref]]
        card = component.get("modelCard", {})
        params = card.get("modelParameters", {})
        readme = model.card.card_file
        cited: dict[str | None, list[str]] = {readme: [], model.card.config_file: []}
        cited[readme] += [
            f"{base}/{k}" for k in ("description", "licenses", "tags", "authors") if k in component
        ]
        if model.supplier is not None and model.supplier.said_by == "model card":
            cited[readme].append(f"{base}/supplier")
        cited[readme] += [
            f"{base}/modelCard/modelParameters/{k}" for k in ("task", "datasets", "approach") if k in params
        ]
        cited[readme] += [
            f"{base}/modelCard/{k}" for k in ("considerations", "quantitativeAnalysis") if k in card
        ]
        cited[model.card.config_file] += [
            f"{base}/modelCard/modelParameters/{k}"
            for k in ("architectureFamily", "modelArchitecture")
            if k in params
        ]
        for i, prop in enumerate(card.get("properties", [])):
            source = readme if prop["name"] == "cdx:ai-ml:model:languages" else model.card.config_file
            cited[source].append(f"{base}/modelCard/properties/{i}")
        for name in model.card.io_from:
            cited.setdefault(name, [])
            cited[name] += [
                f"{base}/modelCard/modelParameters/{k}" for k in ("inputs", "outputs") if k in params
            ]
        refs = {f.result.path: f.bom_ref for f in model.files}
        for source, pointers in cited.items():
            if pointers and source in refs:  # attributed to the file component it was read from
                out.append(
                    {
                        "pointers": sorted(set(pointers), key=pointers.index),
                        "timestamp": stamp,
                        "attributedTo": refs[source],
                        "note": f"Imported by aisbom from {source} as shipped with the model." + undated,
                    }
                )
    return out


def _ordered(doc: dict[str, Any]) -> dict[str, Any]:
    for component in walk_components(doc):
        reordered = _keys_first(component, COMPONENT_ORDER)
        component.clear()
        component.update(reordered)
    doc["vulnerabilities"] = [_keys_first(v, VULNERABILITY_ORDER) for v in doc.get("vulnerabilities", [])]
    if not doc["vulnerabilities"]:
        del doc["vulnerabilities"]
    return _keys_first(doc, TOP_LEVEL_ORDER)


def _keys_first(obj: dict[str, Any], order: Sequence[str]) -> dict[str, Any]:
    out = {k: obj[k] for k in order if k in obj}
    out.update((k, v) for k, v in obj.items() if k not in out)
    return out
