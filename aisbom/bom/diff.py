"""What changed between two BOMs: the list an operator announces before a model update
(EN 304 223 5.2.3-4).

BOMs are read as plain JSON, checked against the CycloneDX schema of the version they declare,
and compared component by component. Components are matched by identity, not by bom-ref
(other tools write random ones): purl without its version when there is one, else type, group
and name; nested components (a model's files) under their parent. A BOM with exactly one model
on each side pairs the two even if the model was renamed (a copied directory).

What is compared, each named in the change list: hashes, version, purl, licences, findings,
supplier, authors, description, tags, the base models (pedigree), every model card field (task,
approach, architecture, datasets, inputs, outputs, use cases, limitations, ethical and environmental
considerations, performance metrics, each hyperparameter and the languages), and, per EN 304 223
provision, the declared conformance.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aisbom.bom.check import BomError, schema_errors, schema_errors_meanwhile
from aisbom.terminal_text import shown
from aisbom.wording import counted

_SEVERITY_ORDER = ("critical", "high", "medium", "low", "info", "none", "unknown")


@dataclass(frozen=True)
class ComponentView:
    key: str  # identity used for matching
    label: str  # what a person reads: model/config.json
    type: str
    name: str
    version: str | None
    hashes: tuple[tuple[str, str], ...]  # (alg, content), sorted
    licenses: tuple[str, ...]
    purl: str | None
    findings: tuple[str, ...]  # "rule-id (severity)", sorted
    # Every other compared field, as text: (name, value), in a fixed order; absent ones left out.
    details: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.label,
            "type": self.type,
            "version": self.version,
            "hashes": dict(self.hashes),
            "licenses": list(self.licenses),
            "purl": self.purl,
            "findings": list(self.findings),
            **dict(self.details),
        }


@dataclass(frozen=True)
class Change:
    label: str
    type: str
    fields: tuple[tuple[str, str, str], ...]  # (field, old, new), as text

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.label,
            "type": self.type,
            "changes": {name: {"old": old, "new": new} for name, old, new in self.fields},
        }


@dataclass(frozen=True)
class BomDiff:
    added: tuple[ComponentView, ...]
    removed: tuple[ComponentView, ...]
    changed: tuple[Change, ...]
    compared: int  # components present in both

    @property
    def drift(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def load_bom(path: Path) -> dict[str, Any]:
    """A CycloneDX JSON BOM that validates against its declared version's schema, or BomError."""
    return parse_bom(read_bom_bytes(path), source=str(path))


def read_bom_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BomError("no such file", path=str(path)) from None
    except OSError as exc:
        raise BomError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None


def parse_bom(data: bytes, *, source: str, meanwhile: Callable[[], None] | None = None) -> dict[str, Any]:
    """`load_bom` for bytes already read (`aisbom verify` checks a BOM's signature over the very
    bytes it then parses). `source` names the BOM in errors. `meanwhile`, when given, runs once
    the bytes are known to be a CycloneDX JSON document, while its schema is checked (in a child
    process: `check.schema_errors_meanwhile`); it must not raise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BomError("not UTF-8 text", path=source) from None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BomError(f"not JSON ({exc})", path=source) from None
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        raise BomError("not a CycloneDX BOM (bomFormat is not CycloneDX)", path=source)
    version = doc.get("specVersion")
    declared = version if isinstance(version, str) else ""
    if meanwhile is None:
        problems = schema_errors(text, declared, strict=False)
    else:
        problems = schema_errors_meanwhile(text, declared, strict=False, meanwhile=meanwhile)
    if problems:
        raise BomError(f"not a valid CycloneDX {version} BOM: {problems[0]}", path=source)
    return doc


def diff_boms(old: dict[str, Any], new: dict[str, Any]) -> BomDiff:
    """Components added, removed and changed; EN 304 223 provisions whose declared conformance
    changed are listed as changed too (type `requirement`)."""
    before = _views(old)
    after = _views(new)
    renamed = _pair_single_models(before, after)
    if renamed:
        old_key, new_key = renamed
        after = {_rekey(k, new_key, old_key): v for k, v in after.items()}
    added = tuple(after[k] for k in sorted(after.keys() - before.keys(), key=lambda k: after[k].label))
    removed = tuple(before[k] for k in sorted(before.keys() - after.keys(), key=lambda k: before[k].label))
    changed = []
    for key in sorted(before.keys() & after.keys(), key=lambda k: after[k].label):
        fields = _changes(before[key], after[key])
        if fields:
            changed.append(Change(after[key].label, after[key].type, fields))
    changed += _declaration_changes(old, new)
    return BomDiff(added, removed, tuple(changed), len(before.keys() & after.keys()))


SHOWN = 160  # characters of a long value the text report shows; JSON has them whole


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def render_text(result: BomDiff, old_name: str, new_name: str) -> str:
    lines = [f"aisbom diff: {old_name} -> {new_name}", ""]
    for change in result.changed:
        lines.append(f"  changed  {change.type:<22} {change.label}")
        for name, old, new in change.fields:
            lines.append(f"             {name}: {_shown(old) or '(none)'} -> {_shown(new) or '(none)'}")
    for view, word in [(v, "added") for v in result.added] + [(v, "removed") for v in result.removed]:
        sha = dict(view.hashes).get("SHA-256")
        lines.append(f"  {word:<8} {view.type:<22} {view.label}" + (f"  SHA-256 {sha}" if sha else ""))
    if result.drift:
        lines.append(
            f"Drift: {len(result.changed)} changed, {len(result.added)} added, {len(result.removed)} removed."
        )
    else:
        lines[1:] = [
            f"No drift: the same {counted(result.compared, 'component')}, with the same hashes, versions, "
            "licences, model cards and findings, and the same EN 304 223 conformance."
        ]
    return "".join(shown(line) + "\n" for line in lines)  # names come from the BOMs: escaped


def render_json(result: BomDiff, old_name: str, new_name: str) -> str:
    doc = {
        "old": old_name,
        "new": new_name,
        "drift": result.drift,
        "summary": {
            "changed": len(result.changed),
            "added": len(result.added),
            "removed": len(result.removed),
        },
        "changed": [c.to_dict() for c in result.changed],
        "added": [v.to_dict() for v in result.added],
        "removed": [v.to_dict() for v in result.removed],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _views(doc: dict[str, Any]) -> dict[str, ComponentView]:
    findings: dict[str, list[str]] = {}
    for vuln in doc.get("vulnerabilities", []):
        severities = [r.get("severity", "unknown") for r in vuln.get("ratings", [])]
        worst = min(severities, key=_SEVERITY_ORDER.index) if severities else "unknown"
        for affected in vuln.get("affects", []):
            findings.setdefault(affected.get("ref", ""), []).append(f"{vuln.get('id', '?')} ({worst})")
    views: dict[str, ComponentView] = {}
    # bom-ref -> name, so a model card's dataset references compare by what they name
    names = {c.get("bom-ref"): _full_name(c) for c in _all_components(doc.get("components", []))}

    def visit(component: dict[str, Any], parent: ComponentView | None) -> None:
        kind = str(component.get("type", ""))
        name = str(component.get("name", ""))
        group = component.get("group")
        full = f"{group}/{name}" if group else name
        purl = component.get("purl")
        if parent is None:
            key = purl.split("@", 1)[0] if isinstance(purl, str) else f"{kind}:{full}"
            label = full
        else:
            key = f"{parent.key}|{kind}:{full}"
            label = f"{parent.label}/{full}"
        n = 2
        while key in views:  # duplicate identities stay distinct, in document order
            key, n = f"{key}#{n}", n + 1
        view = ComponentView(
            key=key,
            label=label,
            type=kind,
            name=full,
            version=component.get("version"),
            hashes=tuple(
                sorted((h.get("alg", ""), h.get("content", "")) for h in component.get("hashes", []))
            ),
            licenses=tuple(sorted(_license_text(x) for x in component.get("licenses", []))),
            purl=purl if isinstance(purl, str) else None,
            findings=tuple(sorted(findings.get(component.get("bom-ref", ""), []))),
            details=_details(component, names),
        )
        views[key] = view
        for child in component.get("components", []):
            visit(child, view)

    for component in doc.get("components", []):
        visit(component, None)
    return views


def _all_components(items: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict):
            out.append(item)
            out += _all_components(item.get("components", []))
    return out


def _full_name(component: dict[str, Any]) -> str:
    group, name = component.get("group"), str(component.get("name", ""))
    return f"{group}/{name}" if group else name


def _text(value: Any) -> str:
    """A field's value as one line of text: lists joined with "; ", maps as sorted JSON."""
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "" if value is None else str(value)


def _details(component: dict[str, Any], names: dict[Any, str]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []

    def add(name: str, value: Any) -> None:
        text = _text(value)
        if text:
            out.append((name, text))

    add("supplier", (component.get("supplier") or {}).get("name"))
    add("authors", [a.get("name", "") for a in component.get("authors", []) if isinstance(a, dict)])
    add("description", component.get("description"))
    add("tags", sorted(component.get("tags", [])))
    ancestors = component.get("pedigree", {}).get("ancestors", [])
    add("base models", sorted(a.get("purl") or _full_name(a) for a in ancestors if isinstance(a, dict)))
    card = component.get("modelCard", {})
    params = card.get("modelParameters", {})
    add("task", params.get("task"))
    add("approach", (params.get("approach") or {}).get("type"))
    add("architecture family", params.get("architectureFamily"))
    add("model architecture", params.get("modelArchitecture"))
    add(
        "datasets",
        [names.get(d.get("ref"), d.get("ref")) if "ref" in d else d for d in params.get("datasets", [])],
    )
    add("inputs", [i.get("format", "") for i in params.get("inputs", [])])
    add("outputs", [o.get("format", "") for o in params.get("outputs", [])])
    metrics = card.get("quantitativeAnalysis", {}).get("performanceMetrics", [])
    add("performance metrics", [_metric(m) for m in metrics])
    considerations = card.get("considerations", {})
    add("use cases", considerations.get("useCases"))
    add("limitations", considerations.get("technicalLimitations"))
    add(
        "ethical considerations", [e.get("name", "") for e in considerations.get("ethicalConsiderations", [])]
    )
    add("environmental considerations", considerations.get("environmentalConsiderations"))
    for prop in card.get("properties", []):
        name = str(prop.get("name", ""))
        label = name.removeprefix("cdx:ai-ml:model:").replace("hyperparameter:", "hyperparameter ")
        add(label, prop.get("value"))
    return tuple(out)


def _metric(metric: dict[str, Any]) -> str:
    where = f" ({metric['slice']})" if metric.get("slice") else ""
    return f"{metric.get('type', '?')}{where} = {metric.get('value', '')}"


def _declaration_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Per EN 304 223 provision: the conformance each BOM declares, when it differs."""
    before, after = _conformance(old), _conformance(new)
    out = []
    for requirement in sorted(before.keys() | after.keys(), key=_requirement_order):
        if before.get(requirement) != after.get(requirement):
            fields = (("conformance", before.get(requirement, ""), after.get(requirement, "")),)
            out.append(Change(requirement, "requirement", fields))
    return out


def _requirement_order(identifier: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", identifier))


def _conformance(doc: dict[str, Any]) -> dict[str, str]:
    """Provision identifier -> "score S: rationale", from the declarations of every attestation."""
    identifiers = {
        r.get("bom-ref"): r.get("identifier", r.get("bom-ref"))
        for standard in doc.get("definitions", {}).get("standards", [])
        for r in standard.get("requirements", [])
    }
    out = {}
    for attestation in doc.get("declarations", {}).get("attestations", []):
        for entry in attestation.get("map", []):
            ref = entry.get("requirement", "")
            conformance = entry.get("conformance", {})
            score = conformance.get("score")
            out[str(identifiers.get(ref, ref))] = (f"score {score}: " if score is not None else "") + str(
                conformance.get("rationale", "")
            )
    return out


def _license_text(entry: dict[str, Any]) -> str:
    if "expression" in entry:
        return str(entry["expression"])
    lic = entry.get("license", {})
    return str(lic.get("id") or lic.get("name") or "?")


def _pair_single_models(
    before: dict[str, ComponentView], after: dict[str, ComponentView]
) -> tuple[str, str] | None:
    def models(views: dict[str, ComponentView]) -> set[str]:
        return {k for k, v in views.items() if "|" not in k and v.type == "machine-learning-model"}

    old_models, new_models = models(before), models(after)
    if len(old_models) == 1 and len(new_models) == 1 and old_models != new_models:
        return next(iter(old_models)), next(iter(new_models))
    return None


def _rekey(key: str, old_prefix: str, new_prefix: str) -> str:
    if key == old_prefix:
        return new_prefix
    if key.startswith(old_prefix + "|"):
        return new_prefix + key[len(old_prefix) :]
    return key


def _changes(old: ComponentView, new: ComponentView) -> tuple[tuple[str, str, str], ...]:
    out: list[tuple[str, str, str]] = []
    if old.name != new.name:
        out.append(("name", old.name, new.name))
    old_hashes, new_hashes = dict(old.hashes), dict(new.hashes)
    for alg in sorted(old_hashes.keys() | new_hashes.keys()):
        if old_hashes.get(alg) != new_hashes.get(alg):
            out.append((alg, old_hashes.get(alg, ""), new_hashes.get(alg, "")))
    for name, a, b in (
        ("version", old.version or "", new.version or ""),
        ("purl", old.purl or "", new.purl or ""),
        ("licenses", ", ".join(old.licenses), ", ".join(new.licenses)),
        ("findings", ", ".join(old.findings), ", ".join(new.findings)),
    ):
        if a != b:
            out.append((name, a, b))
    old_details, new_details = dict(old.details), dict(new.details)
    for name in dict.fromkeys([*old_details, *new_details]):
        if old_details.get(name, "") != new_details.get(name, ""):
            out.append((name, old_details.get(name, ""), new_details.get(name, "")))
    return tuple(out)
