"""The assets a BOM describes, assembled from a finished scan: plain values, no CycloneDX yet.

A scan target is one model (a directory or a single file) or one dataset; a project's system BOM
holds several models, each with its provenance record.

A model's identity: its name is the operator's (--name), else its Hugging Face id, else its card's
title, else the target's name; its version the operator's (--version), else the revision the
source resolved; its supplier the operator's (--supplier), else who the card says shared it, else
the Hub organisation it came from. Nothing is guessed: what none of these says stays absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aisbom.bom.card import CardFacts, card_from_directory
from aisbom.findings import Finding
from aisbom.pipeline import INCOMPLETE_RULES, FileResult, ScanReport
from aisbom.severity import Severity
from aisbom.signing.manifest import DEFAULT_IGNORES, is_ignored
from aisbom.signing.resource_names import DEFAULT_SIGNATURE_NAME
from aisbom.signing.statement import root_digest

if TYPE_CHECKING:  # a local model has no provenance record
    from aisbom.provenance import FileSource, Provenance

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
    "upstream-from-cache": "upstream hash and revision read from the local Hugging Face cache only",
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
    """One file of a model or dataset: its scan result and what the BOM says of it."""

    result: FileResult
    bom_ref: str
    verdict: str  # clean | unsafe | incomplete | error
    unsafe_serialization: bool
    url: str | None = None  # download URL, from the provenance record
    upstream_sha256: str | None = None
    source: FileSource | None = None  # ETag, declared size, final URL, acquisition, from the record
    upstream_from_cache: bool = False  # upstream_sha256 is the cache's blob name, not the Hub's answer
    code: bool = False  # Python code shipped with the model (a loader may import it)


@dataclass(frozen=True)
class DatasetAsset:
    """A dataset the model card says the model was trained or evaluated on."""

    id: str  # as the model card names it (a Hugging Face dataset id by convention)
    bom_ref: str
    url: str | None  # derived from the id, only when it is a valid Hub id
    declared_by: str  # the file that declared it


@dataclass(frozen=True)
class Identity:
    """What the operator says of the model (`bom --name --version --supplier`); None: not said."""

    name: str | None = None
    version: str | None = None
    supplier: str | None = None


@dataclass(frozen=True)
class SignatureRef:
    """A model signature (OMS bundle) the operator named, whose statement covers exactly the
    files the BOM describes. Not verified here: `aisbom verify` checks who signed it."""

    location: str  # as given
    sha256: str  # of the bundle file
    subject_sha256: str  # the subject digest its statement signs (read, not verified)


@dataclass(frozen=True)
class Supplier:
    """Who supplies a model, and who said so."""

    name: str
    url: str | None = None
    said_by: str = "operator"  # operator | model card | source (the Hub organisation)


@dataclass(frozen=True)
class ModelAsset:
    """One model: its files, card, identity and provenance, and what documents it poorly."""

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
    declared_version: str | None = None  # --version; the revision otherwise
    supplier: Supplier | None = None
    # The OMS v1.0 subject digest of the files `aisbom sign TARGET` signs (the model_signing
    # manifest): SHA-256 over their raw SHA-256 digests in name order. None if a file has no hash.
    manifest_sha256: str | None = None
    single_file: bool = False
    signature: SignatureRef | None = None
    name_from: str = "target"  # operator | hub | model card | target
    # How loading runs code the model ships ("transformers: ... trust_remote_code=True"), and the
    # repositories whose code it imports: empty when it needs no remote code.
    remote_code: tuple[str, ...] = ()
    code_from: tuple[str, ...] = ()
    # Those found in the Hugging Face cache and scanned: "org/repo@commit".
    code_scanned: tuple[str, ...] = ()

    @property
    def hf_repo(self) -> str | None:
        return self.provenance.hf_repo if self.provenance else None

    @property
    def revision(self) -> str | None:
        return self.provenance.revision if self.provenance else None

    @property
    def version(self) -> str | None:
        return self.declared_version or self.revision

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
    identity: Identity | None = None,
    signature: SignatureRef | None = None,
) -> ModelAsset:
    identity = identity or Identity()
    files = tuple(_file_asset(f, report, provenance) for f in report.files)
    card = CardFacts()
    if target.is_dir():
        card = card_from_directory(target, {f.path: f.sha256 for f in report.files if f.sha256})
    hf_repo = provenance.hf_repo if provenance else None
    name, name_from = _model_name(identity, hf_repo, card, target)
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
        bom_ref=f"model:{hf_repo or name}",
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
        declared_version=identity.version,
        supplier=_supplier(identity, card, provenance),
        manifest_sha256=signed_manifest_digest(files, single_file=not target.is_dir(), signature=signature),
        single_file=not target.is_dir(),
        signature=signature,
        name_from=name_from,
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
        code_scanned=tuple(
            sorted(
                f"{dict(f.evidence)['repository']}@{dict(f.evidence)['revision']}"
                for f in report.findings
                if f.rule == "model-code-elsewhere-scanned"
            )
        ),
    )


def _code_findings(report: ScanReport, key: str = "option") -> list[Finding]:
    return [f for f in report.findings if f.rule in CODE_RULES and key in dict(f.evidence)]


def _model_name(identity: Identity, hf_repo: str | None, card: CardFacts, target: Path) -> tuple[str, str]:
    if identity.name:
        return identity.name, "operator"
    if hf_repo:
        return hf_repo.rsplit("/", 1)[-1], "hub"
    if card.title:
        return card.title, "model card"
    return target.resolve().name or str(target), "target"


def _supplier(identity: Identity, card: CardFacts, provenance: Provenance | None) -> Supplier | None:
    if identity.supplier:
        return Supplier(identity.supplier)
    if card.shared_by:
        return Supplier(card.shared_by, said_by="model card")
    hf_repo = provenance.hf_repo if provenance else None
    org = hf_repo.rpartition("/")[0] if hf_repo else ""
    if provenance is None or not hf_repo or not org:
        return None
    hub = provenance.source_url.removesuffix(f"/{hf_repo}").removesuffix("/datasets")
    return Supplier(org, f"{hub}/{org}", said_by="source")


def signed_manifest_digest(
    files: tuple[FileAsset, ...], *, single_file: bool, signature: SignatureRef | None = None
) -> str | None:
    """The subject digest of the OMS statement `aisbom sign` writes for these files by default:
    .git, .gitattributes, .github and .gitignore left out at the top, and so is the signature
    file (model.sig, or the one named)."""
    left_out = [] if single_file else [*DEFAULT_IGNORES, DEFAULT_SIGNATURE_NAME]
    if signature is not None and not single_file:
        left_out.append(signature.location)
    signed = [f.result for f in files if not is_ignored(f.result.path, left_out)]
    if not signed or any(f.sha256 is None for f in signed):
        return None
    return root_digest([f.sha256 for f in sorted(signed, key=lambda f: f.path) if f.sha256])


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
        upstream_from_cache=bool(provenance and provenance.facts_from_cache),
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
    elif provenance is not None and provenance.facts_from_cache and not provenance.signature_verified:
        # The cache's blob names and refs are what the Hub once said, kept on this machine: they
        # match the bytes by construction, so alone they vouch for nothing the Hub says today.
        gaps.append("upstream-from-cache")
    if any(f.unsafe_serialization for f in files):
        gaps.append("unsafe-serialization")
    if any(f.rule not in FORMAT_RULES and f.severity > Severity.INFO for f in report.findings):
        gaps.append("scan-findings")
    if any(f.rule in CODE_RULES for f in report.findings):
        gaps.append("ships-code")
    return tuple(gaps)
