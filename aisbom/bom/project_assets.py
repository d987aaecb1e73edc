"""The assets of a whole AI system, as a project declares and locks them: plain values for the
BOM, beside the models of `assets`. Filled by aisbom.project from aisbom.toml, aisbom.lock and
the audit log; nothing here reads those files. A scan target that is a dataset
(`aisbom bom TARGET --kind dataset`, or a Hub dataset repository) is one such asset too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aisbom.bom.assets import FileAsset, _file_asset
from aisbom.bom.card import card_from_directory
from aisbom.pipeline import ScanReport
from aisbom.provenance import Provenance


@dataclass(frozen=True)
class DataAsset:
    """A dataset, prompt or configuration of the inventory, with every file it was locked with."""

    name: str
    kind: str  # dataset | prompt | config
    bom_ref: str
    files: tuple[FileAsset, ...]
    provenance: Provenance | None
    local_path: str | None  # the project-relative path, for a local source
    licenses: tuple[str, ...]
    description: str | None
    locked_at: datetime | None
    verdict: str  # clean | unsafe | error, as locked
    complete: bool
    scanned_at: datetime | None = None  # a scan target's scan time (an inventory's is locked_at)

    @property
    def data_type(self) -> str:
        """CycloneDX 1.6 `componentData.type`. A prompt is "configuration" ("parameters or
        settings that may be used by other components"): it sets how the model behaves at run
        time. It is not run as code ("source-code"), not a schema that instances are made from
        ("definition"), and not data the model learnt from ("dataset")."""
        return "dataset" if self.kind == "dataset" else "configuration"

    @property
    def version(self) -> str | None:
        return self.provenance.revision if self.provenance else None


@dataclass(frozen=True)
class SystemAsset:
    """The AI system the BOM is about (`[system]` in aisbom.toml)."""

    name: str
    version: str | None
    description: str | None
    uses: tuple[str, ...]  # bom-refs of the assets it uses directly


@dataclass(frozen=True)
class Relation:
    source: str  # bom-ref
    relation: str  # uses | trained-on | fine-tuned-from
    target: str  # bom-ref


@dataclass(frozen=True)
class ProjectEvidence:
    """What the project's lock and audit log show (EN 304 223 5.2.1-1, 5.2.4-1, 5.2.4-3)."""

    system: SystemAsset
    data: tuple[DataAsset, ...]
    relations: tuple[Relation, ...]
    lock_summary: str  # one line per locked asset: kind, name, source, digest, files, locked_at
    audited: tuple[str, ...]  # bom-refs of the prompt and config assets
    audit_log: str  # the log's events as JSON Lines, diffs left out
    audit_events: int
    # Prompt or config files whose locked SHA-256 is not where their audit trail ends (the log
    # was truncated, or the lock written by something else): the trail does not cover them.
    audit_gaps: tuple[str, ...] = ()
    audit_problems: tuple[str, ...] = ()  # lines of the log that are not events


def data_from_report(
    report: ScanReport,
    *,
    name: str,
    kind: str,
    bom_ref: str,
    provenance: Provenance | None,
    local_path: str | None,
    licenses: tuple[str, ...] = (),
    description: str | None = None,
    locked_at: datetime | None = None,
    file_ref_prefix: str = "",
    verdict: str = "clean",
    scanned_at: datetime | None = None,
) -> DataAsset:
    files = with_file_refs(tuple(_file_asset(f, report, provenance) for f in report.files), file_ref_prefix)
    return DataAsset(
        name=name,
        kind=kind,
        bom_ref=bom_ref,
        files=files,
        provenance=provenance,
        local_path=local_path,
        licenses=licenses,
        description=description,
        locked_at=locked_at,
        verdict=verdict,
        complete=not report.incomplete,
        scanned_at=scanned_at,
    )


def dataset_from_report(
    report: ScanReport,
    target: Path,
    *,
    provenance: Provenance | None = None,
    scanned_at: datetime | None = None,
) -> DataAsset:
    """A scan target that is a dataset (a Hub dataset repository, or a directory or file the
    user says is one): the asset a project would lock for it. Its name is the Hub id when it
    has one (bom-ref `dataset:ID`, the ref a model card naming it gets), else the target's
    name; licence and description come from the dataset card's README when there is one."""
    hf_repo = provenance.hf_repo if provenance else None
    name = hf_repo or target.resolve().name or str(target)
    licenses: tuple[str, ...] = ()
    description = None
    if target.is_dir():
        card = card_from_directory(target, {f.path: f.sha256 for f in report.files if f.sha256})
        licenses, description = card.licenses, card.description
    return data_from_report(
        report,
        name=name,
        kind="dataset",
        bom_ref=f"dataset:{name}",
        provenance=provenance,
        local_path=None if provenance else str(target),
        licenses=licenses,
        description=description,
        verdict=report.verdict,
        scanned_at=scanned_at,
    )


def _with_ref(file: FileAsset, ref: str) -> FileAsset:
    import dataclasses

    return dataclasses.replace(file, bom_ref=ref)


def with_file_refs(files: tuple[FileAsset, ...], prefix: str) -> tuple[FileAsset, ...]:
    """File bom-refs that stay unique when several assets have a file of the same name."""
    return tuple(_with_ref(f, f"file:{prefix}{f.result.path}") for f in files)
