"""The CycloneDX BOM of a whole AI system, from its project: aisbom.toml says what the system is
made of and how the parts relate, aisbom.lock what each part's files and scan results are, and
the audit log how prompts and configs changed. Nothing is fetched or scanned again: the BOM
publishes the hashes that were scanned. Local assets must still match the lock, so that what
is read from them (model cards) belongs to those hashes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path

from aisbom import __version__
from aisbom.bom.assets import ModelAsset, model_from_report
from aisbom.bom.build import BomOptions, BuiltBom, build_system_bom
from aisbom.bom.project_assets import (
    DataAsset,
    ProjectEvidence,
    Relation,
    SystemAsset,
    data_from_report,
    with_file_refs,
)
from aisbom.errors import UsageError
from aisbom.pipeline import FileResult, ScanReport
from aisbom.policy import Policy
from aisbom.project.audit import AuditEvent, AuditRead
from aisbom.project.clock import parse
from aisbom.project.lock import LockedAsset
from aisbom.project.manifest import Asset
from aisbom.project.status import compute_status
from aisbom.project.workspace import Project

SUBJECT_REF = "subject"  # aisbom.bom.library.SUBJECT_REF: the system is the BOM's subject


class ProjectNotLocked(UsageError):
    """The working tree differs from aisbom.lock: the BOM would publish hashes nobody scanned."""


def asset_ref(asset: Asset) -> str:
    return f"{asset.kind}:{asset.name}"


def build_project_bom(project: Project, policy: Policy, options: BomOptions) -> tuple[BuiltBom, ScanReport]:
    """The checked system BOM and the scan (as locked, judged under `policy`) behind it."""
    state = compute_status(project.manifest, project.lock)
    if not state.clean:
        changed = "; ".join(f"{a.name} {a.state}" for a in state.assets if a.state != "unchanged")
        raise ProjectNotLocked(
            f"aisbom.lock does not describe the working tree ({changed}): see `aisbom status`, then "
            "`aisbom lock` to accept the changes"
        )
    manifest, lock = project.manifest, project.lock
    refs = {name: asset_ref(a) for name, a in manifest.assets.items()}
    models: list[ModelAsset] = []
    data: list[DataAsset] = []
    relations: list[Relation] = [Relation(SUBJECT_REF, "uses", refs[name]) for name in manifest.roots()]
    all_files: list[FileResult] = []
    for asset in manifest.assets.values():
        locked = lock.assets[asset.name]
        report = locked.report(policy)
        all_files += [dataclasses.replace(f, path=f"{asset.name}/{f.path}") for f in report.files]
        if asset.kind == "model":
            models.append(_model(project.root, asset, locked, report, options.justification))
            relations += [Relation(refs[asset.name], "trained-on", refs[d]) for d in asset.trained_on]
            if asset.fine_tuned_from:
                relations.append(Relation(refs[asset.name], "fine-tuned-from", refs[asset.fine_tuned_from]))
        else:
            data.append(_data(asset, locked, report))
    models, relations = _merge_card_datasets(models, data, relations)

    read = project.audit.read()
    evidence = ProjectEvidence(
        system=SystemAsset(
            name=manifest.system.name,
            version=manifest.system.version,
            description=manifest.system.description,
            uses=tuple(refs[name] for name in manifest.roots()),
        ),
        data=tuple(data),
        relations=tuple(relations),
        lock_summary="".join(_summary_line(lock.assets[name]) for name in manifest.assets),
        audited=tuple(refs[a.name] for a in manifest.assets.values() if a.audited),
        audit_log="".join(_event_text(e) for e in read.events),
        audit_events=len(read.events),
        audit_gaps=_audit_gaps(manifest.assets.values(), lock.assets, read),
        audit_problems=read.problems,
    )
    merged = ScanReport(
        target=str(manifest.path), tool_version=__version__, policy=policy, files=tuple(all_files)
    )
    return build_system_bom(models, evidence, merged, options), merged


def _model(
    root: Path, asset: Asset, locked: LockedAsset, report: ScanReport, default_justification: str | None
) -> ModelAsset:
    local = None if asset.remote else asset.local_path(root)
    # A remote model's card is not read: its files are in a download cache, not in the project.
    target = local if local is not None else Path(asset.name)
    model = model_from_report(
        report,
        target if target.exists() else Path(asset.name),
        provenance=locked.provenance,
        justification=asset.justification or default_justification,
    )
    card, gaps = model.card, model.gaps
    if asset.license and not card.licenses:
        card = dataclasses.replace(card, licenses=(asset.license,))
        gaps = tuple(g for g in gaps if g != "no-license")
    if asset.description and not card.description:
        card = dataclasses.replace(card, description=asset.description)
    return dataclasses.replace(
        model,
        name=asset.name,
        bom_ref=asset_ref(asset),
        files=with_file_refs(model.files, f"{asset.name}/"),
        card=card,
        gaps=gaps,
        justification=(asset.justification or default_justification) if gaps else None,
        local_path=None if asset.remote else asset.source,
        scanned_at=parse(locked.locked_at),
    )


def _data(asset: Asset, locked: LockedAsset, report: ScanReport) -> DataAsset:
    return data_from_report(
        report,
        name=asset.name,
        kind=asset.kind,
        bom_ref=asset_ref(asset),
        provenance=locked.provenance,
        local_path=None if asset.remote else asset.source,
        licenses=(asset.license,) if asset.license else (),
        description=asset.description,
        locked_at=parse(locked.locked_at),
        file_ref_prefix=f"{asset.name}/",
        verdict=locked.verdict,
    )


def _merge_card_datasets(
    models: list[ModelAsset], data: list[DataAsset], relations: list[Relation]
) -> tuple[list[ModelAsset], list[Relation]]:
    """A dataset a model card names that the inventory also declares (by name or Hub id) is one
    component, the inventory's, which the model is then trained on."""
    by_id: dict[str, DataAsset] = {}
    for asset in data:
        if asset.kind == "dataset":
            by_id[asset.name] = asset
            if asset.provenance is not None and asset.provenance.hf_repo:
                by_id[asset.provenance.hf_repo] = asset
    out = []
    for model in models:
        keep = []
        for declared in model.datasets:
            match = by_id.get(declared.id)
            if match is None:
                keep.append(declared)
                continue
            relation = Relation(model.bom_ref, "trained-on", match.bom_ref)
            if relation not in relations:
                relations.append(relation)
        out.append(dataclasses.replace(model, datasets=tuple(keep)))
    return out, relations


def _summary_line(locked: LockedAsset) -> str:
    parts = [locked.kind, locked.name, locked.source, f"sha256:{locked.digest}", f"{len(locked.files)} files"]
    parts.append(f"locked {locked.locked_at}")
    if locked.provenance is not None and locked.provenance.revision:
        parts.append(f"revision {locked.provenance.revision}")
    return " ".join(parts) + "\n"


def _event_text(event: AuditEvent) -> str:
    data = event.to_json()
    data.pop("diff", None)  # a prompt's text may be confidential: hashes only in a published BOM
    return json.dumps(data, ensure_ascii=False) + "\n"


def _audit_gaps(assets: Iterable[Asset], locked: dict[str, LockedAsset], read: AuditRead) -> tuple[str, ...]:
    """Prompt and config files whose locked hash is not the last one their audit trail records."""
    gaps = []
    for asset in assets:
        if not asset.audited:
            continue
        seen = read.last_seen(asset.name)
        for path, sha in locked[asset.name].hashes().items():
            if seen.get(path) != sha:
                gaps.append(
                    f"{asset.name}/{path} (locked {sha[:12] if sha else '-'}, not where its trail ends)"
                )
    return tuple(gaps)
