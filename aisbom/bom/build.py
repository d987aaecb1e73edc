"""Scan report -> assets -> library core + hand-built extensions -> checked JSON text."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aisbom.json_text as json_text
from aisbom.bom.assets import Identity, ModelAsset, SignatureRef, model_from_report
from aisbom.bom.check import SUPPORTED, BomError, validate
from aisbom.bom.etsi import assess
from aisbom.bom.extensions import extend
from aisbom.bom.library import SUBJECT_REF, build_core
from aisbom.errors import UsageError
from aisbom.pipeline import ScanReport

if TYPE_CHECKING:  # a model's BOM needs neither (their dataclasses take 6 ms to create)
    from aisbom.bom.project_assets import DataAsset, ProjectEvidence, SystemAsset
    from aisbom.provenance import Provenance

# What a scan target can be: a model (a machine-learning-model component with its card) or a
# dataset (a `data` component of type dataset, as an inventory's dataset is; no model card).
TARGET_KINDS = ("model", "dataset")


class JustificationRequired(UsageError):
    """--require-justification, and a component that is not well documented has none."""


@dataclass(frozen=True)
class BomOptions:
    """How to build a BOM: what the command line says besides the scan."""

    spec_version: str = "1.6"
    # No serial number and no timestamps: same input, same bytes.
    reproducible: bool = False
    # The operator's justification for using components that are not well documented
    # (EN 304 223 5.2.3-2); with require_justification, its absence is an error.
    justification: str | None = None
    require_justification: bool = False
    provenance: Provenance | None = None
    # When the scan ran (UTC); the BOM's timestamp. A reproducible BOM has none unless
    # SOURCE_DATE_EPOCH gives one (see `bom_time`).
    scanned_at: datetime | None = None
    kind: str = "model"  # one of TARGET_KINDS
    identity: Identity = Identity()  # --name, --version, --supplier
    signature: SignatureRef | None = None  # --model-signature, checked against the files


@dataclass(frozen=True)
class BuiltBom:
    """A finished, checked BOM and what it was built from."""

    doc: dict[str, Any]  # the CycloneDX document
    text: str  # what gets written: checked, deterministic
    models: tuple[ModelAsset, ...]
    # The rest of what the document was built from, for the other renderings (SPDX).
    data: tuple[DataAsset, ...] = ()
    system: SystemAsset | None = None
    created: datetime | None = None  # None: a reproducible BOM without SOURCE_DATE_EPOCH
    label: str = "CycloneDX 1.6"  # what `text` is, for the "wrote" line

    def unjustified(self) -> list[ModelAsset]:
        """Models that are not well documented and have no recorded justification (5.2.3-2)."""
        return [m for m in self.models if m.gaps and not m.justification]


def build_bom(report: ScanReport, target: Path, options: BomOptions | None = None) -> BuiltBom:
    """The checked BOM of one model or, with kind "dataset", one dataset. Raises BomError if it
    does not validate, and JustificationRequired when asked to."""
    options = options or BomOptions()
    if not report.hashed:
        raise UsageError("a scan that took no hash (--no-hash) cannot make a BOM: it must give every hash")
    _check_spec_version(options)
    if options.kind not in TARGET_KINDS:
        raise UsageError(f"unknown target kind {options.kind} (supported: {', '.join(TARGET_KINDS)})")
    created = bom_time(options.reproducible, options.scanned_at)
    justification = (options.justification or "").strip() or None
    provenance = options.provenance
    if options.reproducible and provenance is not None:
        provenance = without_acquisition_times(provenance)
    models: list[ModelAsset] = []
    data: list[DataAsset] = []
    if options.kind == "dataset":
        # Documentation gaps (5.2.3-2) are assessed for models only: nothing to justify.
        from aisbom.bom.project_assets import dataset_from_report

        data.append(dataset_from_report(report, target, provenance=provenance, scanned_at=created))
    else:
        model = model_from_report(
            report,
            target,
            provenance=provenance,
            scanned_at=created,
            justification=justification,
            identity=options.identity,
            signature=options.signature,
        )
        _check_signature(model)
        models.append(model)
    if options.require_justification:
        _require_justification(models)

    properties = [
        ("aisbom:target", report.target),
        *_scan_properties(report, options),
    ]
    doc = build_core(
        models,
        spec_version=options.spec_version,
        created=created,
        properties=properties,
        data_assets=data,
    )
    _reproducible(doc, options, created)
    declaration = assess(SUBJECT_REF, models, report, data_assets=data)
    doc = extend(
        doc, models, declaration, spec_version=options.spec_version, created=created, data_assets=data
    )
    text = dumps(doc)
    validate(doc)
    return BuiltBom(doc, text, tuple(models), tuple(data), None, created, f"CycloneDX {options.spec_version}")


def build_system_bom(
    models: Sequence[ModelAsset],
    project: ProjectEvidence,
    report: ScanReport,
    options: BomOptions | None = None,
) -> BuiltBom:
    """The checked BOM of a whole AI system: its models and the inventory's datasets, prompts and
    configs (`project`), linked as the inventory relates them. `report` is the scan of every
    file of every asset (paths as ASSET/FILE), as locked: it gives the policy and the counts."""
    options = options or BomOptions()
    _check_spec_version(options)
    created = bom_time(options.reproducible, options.scanned_at)
    if options.require_justification:
        _require_justification(list(models))
    edges: dict[str, list[str]] = {}
    trained_on: dict[str, list[str]] = {}
    for relation in project.relations:
        if relation.source == SUBJECT_REF:
            continue  # the subject's are system.uses
        edges.setdefault(relation.source, []).append(relation.target)
        if relation.relation == "trained-on":
            trained_on.setdefault(relation.source, []).append(relation.target)
    properties = [
        ("aisbom:system", project.system.name),
        ("aisbom:built_from", "aisbom.toml, aisbom.lock, aisbom-audit.jsonl"),
        *_scan_properties(report, options),
    ]
    doc = build_core(
        models,
        spec_version=options.spec_version,
        created=created,
        properties=properties,
        data_assets=project.data,
        system=project.system,
        edges=edges,
    )
    _reproducible(doc, options, created)
    declaration = assess(SUBJECT_REF, models, report, project)
    doc = extend(
        doc,
        models,
        declaration,
        spec_version=options.spec_version,
        created=created,
        data_assets=project.data,
        trained_on=trained_on,
    )
    text = dumps(doc)
    validate(doc)
    return BuiltBom(
        doc, text, tuple(models), project.data, project.system, created, f"CycloneDX {options.spec_version}"
    )


class SignatureMismatch(UsageError):
    """--model-signature names a signature over other files than the BOM describes."""


def _check_signature(model: ModelAsset) -> None:
    if model.signature is None:
        return
    if model.manifest_sha256 is None or model.manifest_sha256 != model.signature.subject_sha256:
        raise SignatureMismatch(
            f"{model.signature.location}: the signature covers other files than this BOM describes "
            f"(signed subject digest {model.signature.subject_sha256}, these files "
            f"{model.manifest_sha256 or 'not all hashed'}); sign the model again, or leave "
            "--model-signature out"
        )


def _reproducible(doc: dict[str, Any], options: BomOptions, created: datetime | None) -> None:
    """A reproducible BOM has no serial number, and no timestamp unless SOURCE_DATE_EPOCH gave one."""
    if options.reproducible:
        doc.pop("serialNumber", None)
    if created is None:
        doc.get("metadata", {}).pop("timestamp", None)


def bom_time(
    reproducible: bool, now: datetime | None, environ: Mapping[str, str] | None = None
) -> datetime | None:
    """When the BOM says it was made: SOURCE_DATE_EPOCH when set (reproducible-builds.org: a
    build's clock for every timestamp it writes), else now; for a reproducible BOM without it,
    no time at all."""
    env = os.environ if environ is None else environ
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH must be a number of seconds, not {epoch!r}")
        return datetime.fromtimestamp(int(epoch), timezone.utc)
    return None if reproducible else now


def render_bom(report: ScanReport, target: Path, options: BomOptions | None = None) -> str:
    return build_bom(report, target, options).text


def dumps(doc: dict[str, Any]) -> str:
    return json_text.dumps(doc)


def without_acquisition_times(provenance: Provenance) -> Provenance:
    """--reproducible leaves out every timestamp, and a download's time differs from run to run.
    (What the source said, such as Last-Modified, stays: it is a fact about the bytes.)"""
    files = {path: dataclasses.replace(f, acquired_at=None) for path, f in provenance.files.items()}
    return dataclasses.replace(provenance, acquired_at=None, files=files)


def _check_spec_version(options: BomOptions) -> None:
    if options.spec_version not in SUPPORTED:
        raise UsageError(
            f"unsupported CycloneDX version {options.spec_version} (supported: {', '.join(SUPPORTED)})"
        )


def _scan_properties(report: ScanReport, options: BomOptions) -> list[tuple[str, str]]:
    """How the scan behind the BOM was judged, and whether the BOM is reproducible."""
    properties = [
        ("aisbom:fail_on", report.policy.fail_on.label),
        ("aisbom:scan_complete", "true" if not report.incomplete else "false"),
    ]
    if report.policy.strict:
        properties.append(("aisbom:strict", "true"))
    for allow_file in report.policy.allow_files:  # what trusted more than the allowlist, and what it hid
        silenced = sum(1 for f in report.silenced if f.silenced_by == allow_file.path)
        properties.append(
            ("aisbom:allow_file", f"{allow_file.path} sha256:{allow_file.sha256} silenced {silenced}")
        )
    if report.policy.allow_dangerous:
        properties.append(("aisbom:allow_dangerous", "true"))
    if options.reproducible:
        properties.append(("cdx:reproducible", "true"))
    return properties


def _require_justification(models: list[ModelAsset]) -> None:
    missing = [m for m in models if m.gaps and not m.justification]
    if missing:
        listed = "; ".join(f"{m.name} ({m.gap_text()})" for m in missing)
        raise JustificationRequired(
            f"not well documented and no justification given (EN 304 223 5.2.3-2): {listed}; "
            "record one with --justify TEXT"
        )


__all__ = [
    "BomError",
    "BomOptions",
    "BuiltBom",
    "JustificationRequired",
    "TARGET_KINDS",
    "build_bom",
    "build_system_bom",
    "dumps",
    "render_bom",
]
