"""The assets a BOM describes, assembled from a finished scan: plain values, no CycloneDX yet.

Today a scan target is one model (a directory or a single file). The shapes here already allow
several models per BOM and a provenance record per model, which the sources will fill in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aisbom.bom.card import CardFacts, card_from_directory
from aisbom.findings import Finding
from aisbom.pipeline import INCOMPLETE_RULES, FileResult, ScanReport
from aisbom.provenance import FileSource, Provenance
from aisbom.severity import Severity

# Formats whose loading runs code by design, whatever the scan found in them.
UNSAFE_FORMATS = frozenset({"pickle", "pytorch-zip", "pytorch-legacy", "torchscript", "joblib"})
# Rules that only say "this is an executable format"; they count as unsafe serialization.
FORMAT_RULES = frozenset({"pickle-format", "numpy-object-array"})

# EN 304 223 5.2.3-2: why a component counts as not well documented or secured.
GAPS = {
    "no-model-card": "no model card",
    "no-license": "no licence declared",
    "no-source-url": "no source URL",
    "no-upstream-hash": "no upstream hash or signature",
    "unsafe-serialization": "unsafe serialization format",
    "scan-findings": "scan findings",
    "ships-code": "ships code its loader imports (remote code)",
}
# Findings that say the model makes its loader import code it ships, or another repository's.
CODE_RULES = frozenset({"model-ships-code", "model-code-elsewhere"})
CODE_SUFFIX = ".py"  # loaders import shipped modules by this name

_HF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


@dataclass(frozen=True)
class FileAsset:
    result: FileResult
    bom_ref: str
    verdict: str  # clean | unsafe | incomplete | error
    unsafe_serialization: bool
    url: str | None = None  # download URL, from the provenance record
    upstream_sha256: str | None = None
    source: FileSource | None = None  # ETag, declared size, final URL, acquisition, from the record
    code: bool = False  # Python code shipped with the model (a loader may import it)


@dataclass(frozen=True)
class DatasetAsset:
    id: str  # as the model card names it (a Hugging Face dataset id by convention)
    bom_ref: str
    url: str | None  # derived from the id, only when it is a valid Hub id
    declared_by: str  # the file that declared it


@dataclass(frozen=True)
class ModelAsset:
    name: str
    bom_ref: str
    files: tuple[FileAsset, ...]
    card: CardFacts
    datasets: tuple[DatasetAsset, ...]
    provenance: Provenance | None
    local_path: str | None  # the path it was read from, when it is a local target
    scanned_at: datetime | None
    verdict: str  # the verdict of the scan: clean | unsafe | error
    complete: bool  # every file read and fully analysed
    gaps: tuple[str, ...]  # GAPS keys
    justification: str | None
    # How loading runs code the model ships ("transformers: ... trust_remote_code=True"), and the
    # repositories whose code it imports: empty when it needs no remote code.
    remote_code: tuple[str, ...] = ()
    code_from: tuple[str, ...] = ()

    @property
    def hf_repo(self) -> str | None:
        return self.provenance.hf_repo if self.provenance else None

    @property
    def version(self) -> str | None:
        return self.provenance.revision if self.provenance else None

    def gap_text(self) -> str:
        return ", ".join(GAPS[g] for g in self.gaps)


def iso(moment: datetime) -> str:
    """Timestamps as the library writes metadata.timestamp, so all of a BOM's look alike."""
    return moment.isoformat()


def model_from_report(
    report: ScanReport,
    target: Path,
    *,
    provenance: Provenance | None = None,
    scanned_at: datetime | None = None,
    justification: str | None = None,
) -> ModelAsset:
    name = (provenance.hf_repo.rsplit("/", 1)[-1] if provenance and provenance.hf_repo else None) or (
        target.resolve().name or str(target)
    )
    files = tuple(_file_asset(f, report, provenance) for f in report.files)
    card = CardFacts()
    if target.is_dir():
        card = card_from_directory(target, {f.path: f.sha256 for f in report.files if f.sha256})
    datasets = tuple(
        DatasetAsset(
            id=ds,
            bom_ref=f"dataset:{ds}",
            url=f"https://huggingface.co/datasets/{ds}" if _HF_ID.match(ds) else None,
            declared_by=card.card_file or "",
        )
        for ds in card.datasets
    )
    gaps = _gaps(card, files, report, provenance)
    return ModelAsset(
        name=name,
        bom_ref=f"model:{provenance.hf_repo if provenance and provenance.hf_repo else name}",
        files=files,
        card=card,
        datasets=datasets,
        provenance=provenance,
        local_path=None if provenance else str(target),
        scanned_at=scanned_at,
        verdict=report.verdict,
        complete=not report.incomplete,
        gaps=gaps,
        justification=justification if gaps else None,
        remote_code=tuple(
            sorted(
                {
                    f"{dict(f.evidence)['loader']}: {dict(f.evidence)['option']}"
                    for f in _code_findings(report)
                }
            )
        ),
        code_from=tuple(
            sorted({dict(f.evidence)["repository"] for f in _code_findings(report, "repository")})
        ),
    )


def _code_findings(report: ScanReport, key: str = "option") -> list[Finding]:
    return [f for f in report.findings if f.rule in CODE_RULES and key in dict(f.evidence)]


def _file_asset(result: FileResult, report: ScanReport, provenance: Provenance | None) -> FileAsset:
    rules = {f.rule for f in result.findings}
    if "file-unreadable" in rules:
        verdict = "error"
    elif rules & INCOMPLETE_RULES:  # not (fully) analysed: a limit, a parse error, a link out
        verdict = "incomplete"
    elif result.sha256 is None:
        verdict = "error"
    elif any(report.policy.fails(f.severity, f.rule) for f in result.findings):
        verdict = "unsafe"
    else:
        verdict = "clean"
    return FileAsset(
        result=result,
        bom_ref=f"file:{result.path}",
        verdict=verdict,
        unsafe_serialization=result.format in UNSAFE_FORMATS or bool(rules & FORMAT_RULES),
        url=provenance.file_urls.get(result.path) if provenance else None,
        upstream_sha256=provenance.upstream_sha256.get(result.path) if provenance else None,
        source=provenance.files.get(result.path) if provenance else None,
        code=result.path.endswith(CODE_SUFFIX),
    )


def _gaps(
    card: CardFacts, files: tuple[FileAsset, ...], report: ScanReport, provenance: Provenance | None
) -> tuple[str, ...]:
    gaps = []
    if not card.has_card:
        gaps.append("no-model-card")
    if not card.licenses:
        gaps.append("no-license")
    if provenance is None or not provenance.source_url:
        gaps.append("no-source-url")
    # Upstream hashes count only if there are some and every one matches what we hashed.
    upstream = [f for f in files if f.upstream_sha256]
    upstream_ok = provenance is not None and (
        provenance.signature_verified
        or (bool(upstream) and all(f.upstream_sha256 == f.result.sha256 for f in upstream))
    )
    if not upstream_ok:
        gaps.append("no-upstream-hash")
    if any(f.unsafe_serialization for f in files):
        gaps.append("unsafe-serialization")
    if any(f.rule not in FORMAT_RULES and f.severity > Severity.INFO for f in report.findings):
        gaps.append("scan-findings")
    if any(f.rule in CODE_RULES for f in report.findings):
        gaps.append("ships-code")
    return tuple(gaps)
