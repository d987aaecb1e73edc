"""What one BOM evidences of ETSI EN 304 223 (the requirements are in `etsi_catalogue`).

One small function per requirement decides whether this BOM evidences it, partly evidences it,
or does not, and adds the evidence and claims that say why: aisbom claims only what it has
computed or read; everything else is declared "not evidenced", never claimed. ASSESSMENTS runs
them in the catalogue's order; for a system BOM, PROJECT_ASSESSMENTS then revise what the
project's inventory, lock and audit log add.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aisbom.bom.assets import ModelAsset
from aisbom.bom.etsi_catalogue import CATALOGUE
from aisbom.pipeline import ScanReport
from aisbom.wording import agree, counted

if TYPE_CHECKING:  # only a dataset's or a project's BOM has them
    from aisbom.bom.project_assets import DataAsset, ProjectEvidence

Status = Literal["evidenced", "partly", "not-evidenced"]
STATUS_TEXT = {"evidenced": "Evidenced", "partly": "Partly evidenced", "not-evidenced": "Not evidenced"}
# CycloneDX conformance.score (0 to 1), so tools tell the three apart without reading the text.
SCORES = {"evidenced": 1, "partly": 0.5, "not-evidenced": 0}


@dataclass(frozen=True)
class Evidence:
    """Something aisbom computed or read that a claim rests on."""

    key: str
    description: str
    data_name: str | None = None
    data_text: str | None = None  # attached as text/plain


@dataclass(frozen=True)
class Claim:
    """What the BOM claims of a target (a bom-ref), on the grounds of some evidence."""

    key: str
    target: str  # bom-ref of what the claim is about
    predicate: str
    reasoning: str
    evidence: tuple[str, ...]  # Evidence keys
    mitigations: tuple[str, ...] = ()  # Evidence keys describing mitigations (a justification)


@dataclass(frozen=True)
class Assessment:
    """Whether the BOM evidences one requirement of the standard, and why."""

    requirement: str
    status: Status
    rationale: str
    claims: tuple[str, ...] = ()
    counter_claims: tuple[str, ...] = ()


@dataclass(frozen=True)
class Declaration:
    """Everything the BOM declares of the standard: evidence, claims and assessments."""

    evidence: tuple[Evidence, ...]
    claims: tuple[Claim, ...]
    assessments: tuple[Assessment, ...]


@dataclass
class _Assessing:
    """What the assessments read (the BOM's assets and scan) and what they write (evidence and
    claims, in the order they are made; the assessments so far, by requirement)."""

    subject_ref: str
    models: Sequence[ModelAsset]
    data_assets: Sequence[DataAsset]
    report: ScanReport
    project: ProjectEvidence | None
    evidence: list[Evidence] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    out: dict[str, Assessment] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Claims about "the model" (or the dataset) target it when there is one, else the subject.
        self.targets: list[ModelAsset | DataAsset] = [*self.models, *self.data_assets]
        self.main = self.targets[0].bom_ref if len(self.targets) == 1 else self.subject_ref
        self.assets: list[ModelAsset | DataAsset] = [
            *self.targets,
            *(self.project.data if self.project else ()),
        ]
        # A dataset scanned on its own: what is said of "the model" is said of it, or not at all.
        self.data_only = not self.models and self.project is None
        self.what = "dataset" if self.data_only else "model"
        self.complete = all(a.complete for a in self.assets)
        self.files = [f for a in self.assets for f in a.files]
        self.all_hashed = all(f.result.sha256 for f in self.files)
        self.failing = self.report.failing()

    def claim(
        self, key: str, target: str, predicate: str, reasoning: str, *ev: str, mitigation: str = ""
    ) -> str:
        mitigations = (f"evidence:{mitigation}",) if mitigation else ()
        evidence_refs = tuple(f"evidence:{e}" for e in ev)
        self.claims.append(Claim(f"claim:{key}", target, predicate, reasoning, evidence_refs, mitigations))
        return f"claim:{key}"


def assess(
    subject_ref: str,
    models: Sequence[ModelAsset],
    report: ScanReport,
    project: ProjectEvidence | None = None,
    *,
    data_assets: Sequence[DataAsset] = (),
) -> Declaration:
    """Evidence, claims and one assessment per (non-principle) requirement. With `project`
    (a system BOM from aisbom.toml and aisbom.lock), the inventory, its relations and the audit
    log are evidence too. `data_assets` are a scan target's datasets (`bom --kind dataset`):
    without models, nothing is claimed of a model, and a fetched dataset's source and
    acquisition time evidence 5.2.4-2 and 5.2.4-2.1."""
    a = _Assessing(subject_ref, models, data_assets, report, project)
    _shared_evidence(a)
    for requirement, assessment in ASSESSMENTS.items():
        a.out[requirement] = assessment(a)
    if project is not None:
        for requirement, revision in PROJECT_ASSESSMENTS.items():
            revised = revision(a, project)
            if revised is not None:
                a.out[requirement] = revised
    order = [r.id for r in CATALOGUE if r.is_provision]
    assert set(order) == set(a.out), "every requirement is assessed"
    return Declaration(tuple(a.evidence), tuple(a.claims), tuple(a.out[r] for r in order))


def _shared_evidence(a: _Assessing) -> None:
    """The hash manifest and the scan summary, which most claims point to."""
    # sha256sum format, paths relative to the target: `sha256sum -c` there checks them.
    # In a system BOM, each path is ASSET/FILE (the file bom-ref without its prefix).
    manifest = "".join(
        f"{f.result.sha256}  {f.bom_ref.removeprefix('file:') if a.project else f.result.path}\n"
        for f in a.files
        if f.result.sha256
    )
    a.evidence.append(
        Evidence(
            "file-hashes",
            f"SHA-256 of {counted(len(a.files), 'file')}, computed by aisbom from every byte of each file "
            "and "
            "recorded in the hashes of the file components nested in each "
            + (
                "asset component (sha256sum format below, paths as ASSET/FILE)."
                if a.project
                else f"{a.what} component (sha256sum format below)."
            ),
            "SHA-256 manifest",
            manifest,
        )
    )
    summary = ", ".join(f"{n} {sev}" for sev, n in a.report.counts().items() if n) or "no findings"
    a.evidence.append(
        Evidence(
            "scan",
            f"Every file was identified by content and scanned without being loaded: {summary}; "
            f"{len(a.failing)} at or above the fail threshold ({a.report.policy.fail_on.label}). "
            "Findings are the vulnerabilities of this BOM. "
            f"The scan was {'complete' if a.complete else 'incomplete'}.",
        )
    )


# --- principle 5: identify, track and protect the assets --------------------------------------


def _unknown_provision(requirement: str) -> Callable[[_Assessing], Assessment]:  # 5.2.1-3, 5.2.1-4.1
    def assess_unknown(a: _Assessing) -> Assessment:
        return Assessment(
            requirement,
            "not-evidenced",
            "Known only from the standard's numbering: its text is not in aisbom's reference, so nothing "
            "is claimed of it.",
        )

    return assess_unknown


def _inventory(a: _Assessing) -> Assessment:  # 5.2.1-1
    c = a.claim(
        "5.2.1-1",
        a.subject_ref,
        "Every file of the target is inventoried as a component with its SHA-256; dependencies link "
        + (
            "the dataset to its files."
            if a.data_only
            else "each model to its files and to the datasets its card declares."
        ),
        "aisbom walked the whole target and recorded each regular file it found.",
        "file-hashes",
    )
    return Assessment(
        "5.2.1-1",
        "evidenced" if a.complete and not a.models else "partly",
        _inventory_rationale(a, "The inventory is complete (see compositions)."),
        (c,),
    )


def _inventory_rationale(a: _Assessing, complete: str) -> str:
    """As strong as the compositions: a model's training data is what its card (or the inventory)
    declares, and whether that is all of it is unknown."""
    if not a.complete:
        return "Part of the target could not be read or fully analysed (see compositions and findings)."
    if a.models:
        return (
            "Every file is inventoried and was fully analysed; whether the training datasets declared for "
            "each model are all of its training data is unknown (compositions: unknown)."
        )
    return complete


def _tracking(a: _Assessing) -> Assessment:  # 5.2.1-2: track, authenticate, version, secure
    versions = [m for m in a.targets if m.version]
    c = a.claim(
        "5.2.1-2",
        a.main,
        "Each file can be authenticated against its recorded SHA-256 with `aisbom verify`"
        + (f"; each {a.what} carries its upstream revision as its version." if versions else "."),
        "Hashes identify the exact bytes; a signature over them (aisbom sign) authenticates the release.",
        "file-hashes",
    )
    return Assessment(
        "5.2.1-2",
        "partly",
        "Hashes are recorded; version control"
        + ("" if versions else " (no upstream revision is known)")
        + ", access control and the signing of this BOM are not evidenced by it.",
        (c,),
    )


def _known_good_state(a: _Assessing) -> Assessment:  # 5.2.1-3.1
    c = a.claim(
        "5.2.1-3.1",
        a.main,
        "This BOM records the known-good set of files (path and SHA-256).",
        "`aisbom verify` names every file that is modified, missing or extra against it.",
        "file-hashes",
    )
    return Assessment(
        "5.2.1-3.1",
        "partly",
        "The reference state is recorded; the ability to restore it is not evidenced.",
        (c,),
    )


def _protection(requirement: str) -> Callable[[_Assessing], Assessment]:  # 5.2.1-4, 5.2.1-4.2
    def assess_protection(a: _Assessing) -> Assessment:
        return Assessment(
            requirement,
            "not-evidenced",
            "aisbom does not know how sensitive data and weights are classified or protected; "
            "nothing in this BOM shows it.",
        )

    return assess_protection


# --- principle 7: secure the supply chain -----------------------------------------------------


def _supply_chain(a: _Assessing) -> Assessment:  # 5.2.3-1
    prov = [m for m in a.targets if m.provenance]
    c = a.claim(
        "5.2.3-1",
        a.main,
        "Every file was scanned for unsafe serialization before being loaded, and hashed"
        + ("; its source and acquisition are recorded." if prov else "."),
        f"Parse, never load: no byte of the {a.what} was executed to produce this BOM.",
        "scan",
        "file-hashes",
    )
    counter: tuple[str, ...] = ()
    if a.failing:
        counter = (
            a.claim(
                "5.2.3-1-findings",
                a.main,
                f"{counted(len(a.failing), 'finding')} at or above {a.report.policy.fail_on.label} "
                f"{agree(len(a.failing), 'was', 'were')} found.",
                "Loading the affected files would be unsafe (see vulnerabilities).",
                "scan",
            ),
        )
    return Assessment(
        "5.2.3-1",
        "partly",
        "Scanning and hashing are evidenced"
        + ("" if prov else "; the provenance of a local target is not")
        + "; the rest of the development supply chain is not."
        + (" Findings count against it." if a.failing else ""),
        (c,),
        counter,
    )


def _undocumented_components(a: _Assessing) -> Assessment:  # 5.2.3-2
    flagged = [m for m in a.models if m.gaps]
    if a.data_only:
        return Assessment(
            "5.2.3-2",
            "not-evidenced",
            "aisbom assesses documentation gaps (model card, licence, source URL, upstream hash, unsafe "
            "format, findings) for models only; this BOM's dataset was not assessed for them, and no "
            "justification is recorded for it.",
        )
    if not flagged:
        c = a.claim(
            "5.2.3-2",
            a.subject_ref,
            "No component lacks a model card, licence, source URL or upstream hash, and none is unsafe.",
            "Each model was checked for every documentation gap aisbom knows.",
            "scan",
        )
        return Assessment("5.2.3-2", "evidenced", "No component needs a justification.", (c,))
    gap_list = "".join(f"{m.bom_ref}: {m.gap_text()}\n" for m in flagged)
    a.evidence.append(
        Evidence(
            "documentation-gaps",
            "Components that are not well documented or secured (EN 304 223 5.2.3-2), as found by aisbom.",
            "Documentation gaps",
            gap_list,
        )
    )
    justified = [m for m in flagged if m.justification]
    texts = sorted({m.justification for m in justified if m.justification})
    for number, text in enumerate(texts, start=1):
        a.evidence.append(
            Evidence(
                "justification" if number == 1 else f"justification-{number}",
                "The operator's written justification for using these components (--justify).",
                "Justification",
                text,
            )
        )
    refs = tuple(
        a.claim(
            f"5.2.3-2:{m.bom_ref}",
            m.bom_ref,
            f"{m.name} is not well documented or secured ({m.gap_text()}).",
            f"Justification recorded by the operator: {m.justification}"
            if m.justification
            else "No justification is recorded.",
            "documentation-gaps",
            mitigation=_justification_key(a.evidence, m.justification),
        )
        for m in flagged
    )
    if len(justified) == len(flagged):
        return Assessment(
            "5.2.3-2",
            "partly",
            "A justification is recorded for every such component; whether it suffices is for the "
            "operator and the assessor to judge.",
            refs,
        )
    return Assessment(
        "5.2.3-2",
        "not-evidenced",
        "Not well documented and without a recorded justification: "
        + ", ".join(m.bom_ref for m in flagged if not m.justification)
        + ".",
        tuple(r for r, m in zip(refs, flagged, strict=True) if m.justification),
        tuple(r for r, m in zip(refs, flagged, strict=True) if not m.justification),
    )


def _risk_assessment(a: _Assessing) -> Assessment:  # 5.2.3-2.1
    return Assessment(
        "5.2.3-2.1", "not-evidenced", "No mitigating controls or risk assessment are recorded in this BOM."
    )


def _evaluations(a: _Assessing) -> Assessment:  # 5.2.3-3
    return Assessment("5.2.3-3", "not-evidenced", "No evaluation results are recorded in this BOM.")


def _change_list(a: _Assessing) -> Assessment:  # 5.2.3-4
    c = a.claim(
        "5.2.3-4",
        a.subject_ref,
        "This BOM is a baseline from which `aisbom diff` lists added, removed and changed components "
        "(hash, version, licence, findings).",
        "Two BOMs of successive releases give the change list an operator announces.",
        "file-hashes",
    )
    return Assessment(
        "5.2.3-4", "partly", "The change list can be produced; informing end-users is not evidenced.", (c,)
    )


# --- principle 8: document data, models and prompts -------------------------------------------


def _audit_trail(a: _Assessing) -> Assessment:  # 5.2.4-1
    return Assessment(
        "5.2.4-1",
        "not-evidenced",
        "A single BOM is at most one entry of an audit trail; the trail and the maintenance plans are not "
        "evidenced by it.",
    )


def _documentation(a: _Assessing) -> Assessment:  # 5.2.4-1.1
    items = []
    for m in a.models:
        card = m.card
        present = {
            "sources of training data": bool(card.datasets),
            "intended scope": bool(card.use_cases),
            "limitations": bool(card.limitations),
            "guardrails": False,
            "retention time": False,
            "suggested review frequency": False,
            "potential failure modes": False,
        }
        have = [k for k, v in present.items() if v]
        lack = [k for k, v in present.items() if not v]
        items.append((m, have, lack))
        a.evidence.append(
            Evidence(
                f"model-card:{m.bom_ref}",
                f"Model card of {m.name} imported from "
                + (
                    " and ".join(x for x in (card.card_file, card.config_file) if x)
                    or "nothing (no card shipped)"
                )
                + f". Stated: {', '.join(have) or 'none of the items'}; not stated: {', '.join(lack)}.",
            )
        )
    have_any = [(m, have) for m, have, _ in items if have]
    no_card = (
        "This BOM describes a dataset, not a model: no model documentation is assessed."
        if a.data_only
        else "No model card states any of these items."
    )
    refs = tuple(
        a.claim(
            f"5.2.4-1.1:{m.bom_ref}",
            m.bom_ref,
            f"The model card of {m.name} states: {', '.join(have)}.",
            "Imported as written from the files the model ships; aisbom does not judge their accuracy.",
            f"model-card:{m.bom_ref}",
        )
        for m, have in have_any
    )
    return Assessment(
        "5.2.4-1.1",
        "partly" if have_any else "not-evidenced",
        ("Not stated: " + "; ".join(f"{m.name}: {', '.join(lack)}" for m, _, lack in items) + ".")
        if have_any
        else no_card,
        refs,
    )


def _released_hashes(a: _Assessing) -> Assessment:  # 5.2.4-1.2
    c = a.claim(
        "5.2.4-1.2",
        a.main,
        f"The SHA-256 of every file of the {a.what} is recorded on its file component"
        + (" and on its distribution reference." if any(f.url for f in a.files) else "."),
        f"Computed by aisbom over every byte of each file; releasing this BOM with the {a.what} "
        "releases them.",
        "file-hashes",
    )
    return Assessment(
        "5.2.4-1.2",
        "evidenced" if a.all_hashed else "partly",
        "Every file has a SHA-256." if a.all_hashed else "Some files could not be read and have no hash.",
        (c,),
    )


def _training_data(a: _Assessing) -> Assessment:  # 5.2.4-2
    declared = [m for m in a.models if m.datasets]
    if not declared:
        if a.data_only:
            return _dataset_origin(a)
        return Assessment("5.2.4-2", "not-evidenced", "No training datasets are declared.")
    for m in declared:
        a.evidence.append(
            Evidence(
                f"datasets:{m.bom_ref}",
                f"Training datasets of {m.name} as declared by {m.card.card_file}; each is a data "
                "component the model depends on, with the Hugging Face URL its id names.",
                "Declared datasets",
                "".join(f"{d.id}\n" for d in m.datasets),
            )
        )
    refs = tuple(
        a.claim(
            f"5.2.4-2:{m.bom_ref}",
            m.bom_ref,
            f"{m.name} declares {counted(len(m.datasets), 'training dataset')}; each is linked to the model.",
            "Where the data came from is the dataset id the card declares; aisbom did not fetch it.",
            f"datasets:{m.bom_ref}",
        )
        for m in declared
    )
    return Assessment(
        "5.2.4-2",
        "partly",
        "Where the data came from (as declared) and its link to the model are recorded; how it was "
        "obtained and how it is used in the model are not.",
        refs,
    )


def _dataset_origin(a: _Assessing) -> Assessment:
    """5.2.4-2 for datasets scanned on their own: where each came from and how it was obtained,
    when a source fetched it. How it is used in a model is never in such a BOM."""
    fetched = [d for d in a.data_assets if d.provenance and d.provenance.source_url]
    if not fetched:
        return Assessment(
            "5.2.4-2",
            "not-evidenced",
            "The dataset was read from a local path: where it came from and how it was obtained are not "
            "recorded, nor how it is used in a model.",
        )
    a.evidence.append(
        Evidence(
            "dataset-origin",
            "Where each dataset came from and how aisbom obtained it: its source URL, the revision it "
            "resolved to (the component's version) and each file's download URL, fetched by aisbom's "
            "source and hashed by the scan.",
            "Dataset origin",
            "".join(f"{d.bom_ref} {_source(d)}{_revision(d, ' revision ')}\n" for d in fetched),
        )
    )
    refs = tuple(
        a.claim(
            f"5.2.4-2:{d.bom_ref}",
            d.bom_ref,
            f"{d.name} was obtained from {_source(d)}{_revision(d, ' at revision ')}; every file it holds "
            "is hashed.",
            "Recorded by aisbom's source when it resolved and fetched the data, not typed in.",
            "dataset-origin",
        )
        for d in fetched
    )
    return Assessment(
        "5.2.4-2",
        "partly",
        "Where the data came from and how it was obtained are recorded; how it is used in a model is not "
        "(this BOM describes the dataset alone).",
        refs,
    )


def _data_acquisition(a: _Assessing) -> Assessment:  # 5.2.4-2.1
    undated = Assessment(
        "5.2.4-2.1",
        "not-evidenced",
        "No dataset has a recorded source URL with the date and time it was obtained."
        + (
            " The model's own source and acquisition time are recorded (formulation)."
            if any(m.provenance and m.provenance.acquired_at for m in a.models)
            else ""
        ),
    )
    if not a.data_only:
        return undated
    dated = _dataset_times(
        a,
        list(a.data_assets),
        a.main,
        "5.2.4-2.1-dataset",
        "The dataset has its source URL and acquisition time.",
    )
    return dated or undated


def _configuration_changes(a: _Assessing) -> Assessment:  # 5.2.4-3
    if a.data_only:
        return Assessment(
            "5.2.4-3",
            "not-evidenced",
            "This BOM describes a dataset; no system prompt or model configuration is assessed.",
        )
    configs = [f for f in a.files if f.result.format == "json"]
    if not configs:
        return Assessment("5.2.4-3", "not-evidenced", "No configuration files were found.")
    c = a.claim(
        "5.2.4-3",
        a.main,
        f"{counted(len(configs), 'configuration file')} "
        f"{agree(len(configs), 'is a hashed component', 'are hashed components')}; any change shows in "
        "`aisbom diff` against the next BOM.",
        "A configuration change changes its hash.",
        "file-hashes",
    )
    return Assessment(
        "5.2.4-3", "partly", "Changes are detectable; the audit log itself is not kept by this BOM.", (c,)
    )


# Requirement -> its assessment, in the catalogue's order (which is the order evidence and claims
# are made in); every requirement with a modal verb has one.
ASSESSMENTS: dict[str, Callable[[_Assessing], Assessment]] = {
    "5.2.1-1": _inventory,
    "5.2.1-2": _tracking,
    "5.2.1-3": _unknown_provision("5.2.1-3"),
    "5.2.1-3.1": _known_good_state,
    "5.2.1-4": _protection("5.2.1-4"),
    "5.2.1-4.1": _unknown_provision("5.2.1-4.1"),
    "5.2.1-4.2": _protection("5.2.1-4.2"),
    "5.2.3-1": _supply_chain,
    "5.2.3-2": _undocumented_components,
    "5.2.3-2.1": _risk_assessment,
    "5.2.3-3": _evaluations,
    "5.2.3-4": _change_list,
    "5.2.4-1": _audit_trail,
    "5.2.4-1.1": _documentation,
    "5.2.4-1.2": _released_hashes,
    "5.2.4-2": _training_data,
    "5.2.4-2.1": _data_acquisition,
    "5.2.4-3": _configuration_changes,
}


# --- what a project's inventory, lock and audit log add ---------------------------------------


def _project_inventory(a: _Assessing, project: ProjectEvidence) -> Assessment:  # 5.2.1-1
    """An inventory with prompts and interdependencies."""
    kinds: dict[str, int] = {"model": len(a.models)}
    for asset in project.data:
        kinds[asset.kind] = kinds.get(asset.kind, 0) + 1
    listed = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in kinds.items() if n)
    relations = "".join(f"{r.source} {r.relation} {r.target}\n" for r in project.relations)
    a.evidence.append(
        Evidence(
            "inventory",
            "The inventory declared in aisbom.toml and locked in aisbom.lock: per asset its kind, name, "
            "source, digest (SHA-256 of its files' sha256sum manifest), file count and lock time (UTC); "
            "then every relation between the system and its assets (bom-refs).",
            "Inventory (aisbom.lock)",
            project.lock_summary + "\n" + relations,
        )
    )
    c = a.claim(
        "5.2.1-1-inventory",
        a.subject_ref,
        f"The system {project.system.name} is inventoried with {listed}, each a component with every "
        "file's SHA-256; dependencies link the system to the assets it uses, each model to the datasets it "
        "was trained on and the model it was fine-tuned from, and each asset to its files.",
        "Every declared asset was scanned and locked by aisbom; this BOM is built from that lock.",
        "inventory",
        "file-hashes",
    )
    return Assessment(
        "5.2.1-1",
        "evidenced" if a.complete and not a.models else "partly",
        _inventory_rationale(
            a,
            "The declared inventory, prompts and configurations and their interdependencies included, is "
            "locked and complete (see compositions); that it declares every asset of the system is the "
            "operator's statement in aisbom.toml.",
        ),
        (*a.out["5.2.1-1"].claims, c),
    )


def _project_audit_trail(a: _Assessing, project: ProjectEvidence) -> Assessment | None:  # 5.2.4-1
    if not project.audit_events:
        return None
    a.evidence.append(
        Evidence(
            "audit-log",
            "The project's append-only audit log (aisbom-audit.jsonl), "
            f"{counted(project.audit_events, 'event')}: "
            "each change of a prompt or configuration seen by aisbom, with old and new SHA-256 and "
            "UTC time, and each asset added, accepted into the lock or removed. Recorded diffs, if "
            "any, are left out.",
            "Audit log (aisbom-audit.jsonl)",
            project.audit_log,
        )
    )
    c = a.claim(
        "5.2.4-1-audit",
        a.subject_ref,
        "Changes to the system's assets are kept in an append-only audit log: prompt and configuration "
        "changes as aisbom sees them, and every update accepted into the lock.",
        "The log is only ever appended to, each entry with its UTC time, command and tool version.",
        "audit-log",
    )
    return Assessment(
        "5.2.4-1",
        "partly",
        "The audit log is a trail of the assets' changes and of lock updates; the system design and "
        "the post-deployment maintenance plans are not evidenced.",
        (c,),
    )


def _project_configuration_log(a: _Assessing, project: ProjectEvidence) -> Assessment | None:  # 5.2.4-3
    audited = project.audited
    if not audited:
        return None
    problems = [*project.audit_gaps, *project.audit_problems]
    if not project.audit_events:
        problems.append("the audit log is empty or missing")
    c = a.claim(
        "5.2.4-3-log",
        a.subject_ref,
        f"Each change of the {len(audited)} prompt and configuration assets seen by an aisbom command "
        "(status, lock, add) is in the audit log with its old and new SHA-256 and UTC time.",
        "aisbom appends one event per new content of each file, before any lock update accepts it.",
        "audit-log" if project.audit_events else "inventory",
        "inventory",
    )
    return Assessment(
        "5.2.4-3",
        "partly" if problems else "evidenced",
        ("The audit log does not cover everything: " + "; ".join(problems) + ".")
        if problems
        else "The log's latest hash of every prompt and configuration file is the locked one, so the "
        "trail reaches the state this BOM describes. Changes made and undone between two aisbom runs "
        "are not seen.",
        (*a.out["5.2.4-3"].claims, c),
    )


def _project_training_data(a: _Assessing, project: ProjectEvidence) -> Assessment | None:  # 5.2.4-2
    """The inventory's datasets and their links to the models trained on them."""
    trained: dict[str, list[str]] = {}
    for r in project.relations:
        if r.relation == "trained-on":
            trained.setdefault(r.source, []).append(r.target)
    if not trained:
        return None
    by_ref = {d.bom_ref: d for d in project.data}
    for model_ref, names in trained.items():
        a.evidence.append(
            Evidence(
                f"trained-on:{model_ref}",
                f"Datasets {model_ref} was trained or fine-tuned on, as the operator declared in "
                "aisbom.toml: each a locked data component the model depends on, with its source.",
                "Training datasets (aisbom.toml)",
                "".join(f"{d} {by_ref[d].local_path or _source(by_ref[d])}\n" for d in names if d in by_ref),
            )
        )
    refs = tuple(
        a.claim(
            f"5.2.4-2:inventory:{model_ref}",
            model_ref,
            f"{model_ref} was trained on {counted(len(names), 'inventoried dataset')}, each linked to the "
            "model "
            "with its source and SHA-256.",
            "Declared by the operator; aisbom hashed and scanned the data it names.",
            f"trained-on:{model_ref}",
        )
        for model_ref, names in trained.items()
    )
    previous = a.out["5.2.4-2"]
    return Assessment(
        "5.2.4-2",
        "partly",
        "Where the training data came from and its link to each model are recorded; how it is used in "
        "the model is not.",
        previous.claims + refs,
        previous.counter_claims,
    )


def _project_data_acquisition(a: _Assessing, project: ProjectEvidence) -> Assessment | None:  # 5.2.4-2.1
    datasets = [d for d in project.data if d.kind == "dataset"]
    return _dataset_times(
        a,
        datasets,
        a.subject_ref,
        "5.2.4-2.1-inventory",
        "Every dataset of the inventory has its source URL and acquisition time.",
    )


# Requirement -> how a project revises its assessment (None: as it was), in this order, which is
# the order their evidence and claims are made in.
PROJECT_ASSESSMENTS: dict[str, Callable[[_Assessing, ProjectEvidence], Assessment | None]] = {
    "5.2.1-1": _project_inventory,
    "5.2.4-1": _project_audit_trail,
    "5.2.4-3": _project_configuration_log,
    "5.2.4-2": _project_training_data,
    "5.2.4-2.1": _project_data_acquisition,
}


def _dataset_times(
    a: _Assessing, datasets: Sequence[DataAsset], target: str, key: str, all_dated: str
) -> Assessment | None:
    """5.2.4-2.1 when some `datasets` were fetched: their source URL and acquisition time (a
    project's inventory, or a dataset scanned on its own); None when none was. `all_dated` is
    the rationale when every one of them was."""
    dated = [d for d in datasets if d.provenance and d.provenance.source_url and d.provenance.acquired_at]
    if not dated:
        return None
    a.evidence.append(
        Evidence(
            "dataset-acquisition",
            "Source URL and acquisition time (UTC) of each fetched dataset, as aisbom's source recorded "
            "them when it downloaded the data (also in formulation)."
            + (
                " A time marked cache-mtime is the modification time of the file in the download cache, "
                "when it was written there, not a download this run witnessed."
                if any(_acquired_by(d) for d in dated)
                else ""
            ),
            "Dataset sources",
            "".join(f"{d.bom_ref} {_source(d)} {_acquired(d)}{_acquired_by(d)}\n" for d in dated),
        )
    )
    c = a.claim(
        key,
        target,
        f"{len(dated)} of {counted(len(datasets), 'dataset')} {agree(len(dated), 'has', 'have')} a recorded "
        "source URL and time of acquisition.",
        "Recorded by aisbom when it fetched them, not typed in.",
        "dataset-acquisition",
    )
    local = [d.name for d in datasets if d not in dated]
    return Assessment(
        "5.2.4-2.1",
        "partly" if local else "evidenced",
        ("Without a recorded source URL and time (local data): " + ", ".join(local) + ".")
        if local
        else all_dated,
        (c,),
    )


def _source(asset: Any) -> str:
    return asset.provenance.source_url if asset.provenance else (asset.local_path or "")


def _revision(asset: Any, prefix: str) -> str:
    revision = asset.provenance.revision if asset.provenance else None
    return f"{prefix}{revision}" if revision else ""


def _acquired(asset: Any) -> str:
    moment = asset.provenance.acquired_at if asset.provenance else None
    return moment.isoformat() if moment else "-"


def _acquired_by(asset: Any) -> str:
    """Marks a time that is a cache file's modification time, not a witnessed download."""
    how = asset.provenance.acquired_by if asset.provenance else None
    if how is None:
        return ""
    from aisbom.provenance import ACQUIRED_FROM_CACHE_MTIME  # late: a local target has none

    return f" ({how})" if how == ACQUIRED_FROM_CACHE_MTIME else ""


def _justification_key(evidence: list[Evidence], text: str | None) -> str:
    if not text:
        return ""
    return next(e.key for e in evidence if e.data_name == "Justification" and e.data_text == text)


__all__ = ["ASSESSMENTS", "Assessment", "Claim", "Declaration", "Evidence", "PROJECT_ASSESSMENTS", "assess"]
