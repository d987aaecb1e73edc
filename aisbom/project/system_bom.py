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

from aisbom.bom.assets import ModelAsset, model_from_report
from aisbom.bom.build import BomOptions, BuiltBom, build_system_bom
from aisbom.bom.card import card_from_directory
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
from aisbom.version import __version__
from aisbom.wording import counted

SUBJECT_REF = "subject"  # aisbom.bom.library.SUBJECT_REF: the system is the BOM's subject


class ProjectNotLocked(UsageError):
    """The working tree differs from aisbom.lock: the BOM would publish hashes nobody scanned."""


def asset_ref(asset: Asset) -> str:
    return f"{asset.kind}:{asset.name}"


def build_project_bom(
    project: Project, policy: Policy, options: BomOptions, *, cache_dir: Path | None = None
) -> tuple[BuiltBom, ScanReport]:
    """The checked system BOM and the scan (as locked, judged under `policy`) behind it.
    `cache_dir`: the Hugging Face cache the hf:// assets were fetched into (default: the
    environment's), where their cards are read, as `aisbom bom hf://…` reads them."""
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
        files = _files_at_hand(project.root, asset, locked, cache_dir)
        if asset.kind == "model":
            models.append(_model(asset, files, locked, report, options.justification))
            relations += [Relation(refs[asset.name], "trained-on", refs[d]) for d in asset.trained_on]
            if asset.fine_tuned_from:
                relations.append(Relation(refs[asset.name], "fine-tuned-from", refs[asset.fine_tuned_from]))
        else:
            data.append(_data(asset, files, locked, report))
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
        audit_problems=(*read.problems, *read.integrity(lock.audit_head)),
    )
    merged = ScanReport(
        target=str(manifest.path), tool_version=__version__, policy=policy, files=tuple(all_files)
    )
    return build_system_bom(models, evidence, merged, options), merged


def _files_at_hand(root: Path, asset: Asset, locked: LockedAsset, cache_dir: Path | None) -> Path | None:
    """Where the asset's files are on this machine, to read its card from (only files whose
    bytes still hash as locked are read): a local asset in the project; an hf:// asset in the
    Hugging Face cache, at the locked commit. Nothing is fetched."""
    if not asset.remote:
        return asset.local_path(root)
    revision = locked.provenance.revision if locked.provenance is not None else None
    if not asset.source.startswith("hf://") or not revision:
        return None  # a URL is one file: no card, as `aisbom bom URL` reads none
    from aisbom.sources.hf import cached_snapshot

    return cached_snapshot(asset.source, revision, cache_dir)


def _not_cached(asset: Asset, locked: LockedAsset) -> str:
    revision = locked.provenance.revision if locked.provenance is not None else "?"
    return (
        f"card not read: commit {revision} of {asset.source} is not in the Hugging Face cache here "
        f"(`aisbom lock --rescan {asset.name}` fetches it again)"
    )


def _model(
    asset: Asset,
    files: Path | None,
    locked: LockedAsset,
    report: ScanReport,
    default_justification: str | None,
) -> ModelAsset:
    model = model_from_report(
        report,
        files if files is not None and files.exists() else Path(asset.name),
        provenance=locked.provenance,
        justification=asset.justification or default_justification,
    )
    card, gaps = model.card, model.gaps
    if files is None and asset.source.startswith("hf://"):
        card = dataclasses.replace(card, notes=(*card.notes, _not_cached(asset, locked)))
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


def _data(asset: Asset, files: Path | None, locked: LockedAsset, report: ScanReport) -> DataAsset:
    licenses: tuple[str, ...] = (asset.license,) if asset.license else ()
    description = asset.description
    if asset.remote and files is not None and files.is_dir():  # a Hub dataset's card, as `bom` reads it
        card = card_from_directory(files, {f.path: f.sha256 for f in report.files if f.sha256})
        licenses, description = card.licenses or licenses, card.description or description
    return data_from_report(
        report,
        name=asset.name,
        kind=asset.kind,
        bom_ref=asset_ref(asset),
        provenance=locked.provenance,
        local_path=None if asset.remote else asset.source,
        licenses=licenses,
        description=description,
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
    parts = [
        locked.kind,
        locked.name,
        locked.source,
        f"sha256:{locked.digest}",
        counted(len(locked.files), "file"),
    ]
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
