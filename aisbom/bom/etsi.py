"""ETSI EN 304 223 V2.1.1, principles 5, 7 and 8: the catalogue, and what one BOM evidences.

Requirement texts are shortened quotations of the standard (or, where marked, summaries);
the normative text is the standard's. `assess` decides, per requirement, whether this BOM
evidences it, partly evidences it, or does not: aisbom claims only what it has computed or
read; everything else is declared "not evidenced", never claimed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aisbom.bom.assets import ModelAsset
from aisbom.bom.project_assets import DataAsset, ProjectEvidence
from aisbom.pipeline import ScanReport
from aisbom.provenance import ACQUIRED_FROM_CACHE_MTIME

STANDARD_NAME = "ETSI EN 304 223"
STANDARD_VERSION = "2.1.1"
STANDARD_OWNER = "ETSI"
STANDARD_DESCRIPTION = (
    "Baseline cyber security requirements for AI models and systems. This BOM covers principles "
    "5, 7 and 8 (development phase); requirement texts are shortened, the standard is normative."
)


@dataclass(frozen=True)
class Requirement:
    id: str  # the EN identifier, e.g. 5.2.4-1.2; a clause id (5.2.1) for a principle
    text: str
    modal: str = ""  # shall | should; empty for a principle
    parent: str | None = None
    quoted: bool = True  # False: the text is a summary, not a quotation
    how: str = ""  # how aisbom evidences it


CATALOGUE: tuple[Requirement, ...] = (
    Requirement("5.2.1", "Principle 5: Identify, track and protect the assets."),
    Requirement(
        "5.2.1-1",
        "Maintain a comprehensive inventory of their assets (including their "
        "interdependencies/connectivity).",
        "shall",
        "5.2.1",
        how="Every model, dataset and file is a component; dependencies link models to files and "
        "datasets; compositions say whether the inventory is complete.",
    ),
    Requirement(
        "5.2.1-2",
        "Processes and tools to track, authenticate, manage version control and secure their assets.",
        "shall",
        "5.2.1",
        how="SHA-256 of every file, revisions as versions, `aisbom sign` and `aisbom verify`.",
    ),
    Requirement(
        "5.2.1-3.1",
        "Ensure that a known good state can be restored.",
        "should",
        "5.2.1",
        how="A signed BOM is the known-good reference; `aisbom verify` names every file that differs.",
    ),
    Requirement(
        "5.2.1-4",
        "Protect sensitive training and test data and confidential model weights.",
        "shall",
        "5.2.1",
        quoted=False,
        how="Recorded only: data classification and governance, when supplied.",
    ),
    Requirement(
        "5.2.1-4.2",
        "Protect sensitive training and test data and confidential model weights (see 5.2.1-4).",
        "shall",
        "5.2.1-4",
        quoted=False,
        how="Recorded only: data classification and governance, when supplied.",
    ),
    Requirement("5.2.3", "Principle 7: Secure the supply chain."),
    Requirement(
        "5.2.3-1",
        "Follow secure software supply chain processes for their AI model and system development.",
        "shall",
        "5.2.3",
        how="Scan before load, hashes, signatures, provenance of every artifact.",
    ),
    Requirement(
        "5.2.3-2",
        "System operators using components which are not well-documented or secured shall be able to "
        "justify their decision ... through documentation.",
        "shall",
        "5.2.3",
        how="Such components are flagged (no model card, licence, source URL, upstream hash or "
        "signature; unsafe serialization; findings) and the operator's justification is recorded.",
    ),
    Requirement(
        "5.2.3-2.1",
        "Mitigating controls and a risk assessment for such components.",
        "shall",
        "5.2.3-2",
        quoted=False,
        how="Recorded only, when supplied.",
    ),
    Requirement(
        "5.2.3-3",
        "Re-run evaluations on released models that they intend on using.",
        "shall",
        "5.2.3",
        how="Recorded only: evaluation results and when they ran, when supplied.",
    ),
    Requirement(
        "5.2.3-4",
        "Tell end-users before models are updated.",
        "shall",
        "5.2.3",
        quoted=False,
        how="`aisbom diff` between two BOMs produces the change list.",
    ),
    Requirement("5.2.4", "Principle 8: Document data, models and prompts."),
    Requirement(
        "5.2.4-1",
        "Document and maintain a clear audit trail of their system design and post-deployment "
        "maintenance plans.",
        "shall",
        "5.2.4",
        how="A versioned history of BOMs.",
    ),
    Requirement(
        "5.2.4-1.1",
        "Documentation includes sources of training data ..., intended scope and limitations, "
        "guardrails, retention time, suggested review frequency and potential failure modes.",
        "should",
        "5.2.4-1",
        how="The model card, imported from the model's README and config.",
    ),
    Requirement(
        "5.2.4-1.2",
        "Release cryptographic hashes for model components that are made available to other stakeholders.",
        "shall",
        "5.2.4-1",
        how="SHA-256 of every file, also on its distribution reference.",
    ),
    Requirement(
        "5.2.4-2",
        "For public training data, document how they obtained the public training data, where it came "
        "from and how that data is used in the model.",
        "shall",
        "5.2.4",
        how="Dataset components linked to the model, with their source URL.",
    ),
    Requirement(
        "5.2.4-2.1",
        "At a minimum the source of the data, such as the URL of the scraped page, and the date/time the "
        "data was obtained.",
        "should",
        "5.2.4-2",
        how="Source URL and acquisition time (UTC) on every ingested artifact.",
    ),
    Requirement(
        "5.2.4-3",
        "An audit log of changes to system prompts or other model configuration.",
        "should",
        "5.2.4",
        how="Configuration files are hashed components; every change yields a new BOM and a diff.",
    ),
)

Status = Literal["evidenced", "partly", "not-evidenced"]
STATUS_TEXT = {"evidenced": "Evidenced", "partly": "Partly evidenced", "not-evidenced": "Not evidenced"}


@dataclass(frozen=True)
class Evidence:
    key: str
    description: str
    data_name: str | None = None
    data_text: str | None = None  # attached as text/plain


@dataclass(frozen=True)
class Claim:
    key: str
    target: str  # bom-ref of what the claim is about
    predicate: str
    reasoning: str
    evidence: tuple[str, ...]  # Evidence keys
    mitigations: tuple[str, ...] = ()  # Evidence keys describing mitigations (a justification)


@dataclass(frozen=True)
class Assessment:
    requirement: str
    status: Status
    rationale: str
    claims: tuple[str, ...] = ()
    counter_claims: tuple[str, ...] = ()


@dataclass(frozen=True)
class Declaration:
    evidence: tuple[Evidence, ...]
    claims: tuple[Claim, ...]
    assessments: tuple[Assessment, ...]


def requirement_ref(req_id: str) -> str:
    return f"en-304-223:{req_id}"


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
    evidence: list[Evidence] = []
    claims: list[Claim] = []
    out: dict[str, Assessment] = {}

    def claim(key: str, target: str, predicate: str, reasoning: str, *ev: str, mitigation: str = "") -> str:
        mitigations = (f"evidence:{mitigation}",) if mitigation else ()
        evidence_refs = tuple(f"evidence:{e}" for e in ev)
        claims.append(Claim(f"claim:{key}", target, predicate, reasoning, evidence_refs, mitigations))
        return f"claim:{key}"

    # Claims about "the model" (or the dataset) target it when there is one, else the subject.
    targets: list[ModelAsset | DataAsset] = [*models, *data_assets]
    main = targets[0].bom_ref if len(targets) == 1 else subject_ref
    assets: list[ModelAsset | DataAsset] = [*targets, *(project.data if project else ())]
    # A dataset scanned on its own: what is said of "the model" is said of it, or not at all.
    data_only = not models and project is None
    what = "dataset" if data_only else "model"
    complete = all(a.complete for a in assets)
    all_hashed = all(f.result.sha256 for a in assets for f in a.files)
    files = [f for a in assets for f in a.files]
    counts = report.counts()
    failing = report.failing()

    # Shared evidence: the hash manifest and the scan summary.
    # sha256sum format, paths relative to the target: `sha256sum -c` there checks them.
    # In a system BOM, each path is ASSET/FILE (the file bom-ref without its prefix).
    manifest = "".join(
        f"{f.result.sha256}  {f.bom_ref.removeprefix('file:') if project else f.result.path}\n"
        for f in files
        if f.result.sha256
    )
    evidence.append(
        Evidence(
            "file-hashes",
            f"SHA-256 of {len(files)} files, computed by aisbom from every byte of each file and recorded in "
            "the hashes of the file components nested in each "
            + (
                "asset component (sha256sum format below, paths as ASSET/FILE)."
                if project
                else f"{what} component (sha256sum format below)."
            ),
            "SHA-256 manifest",
            manifest,
        )
    )
    summary = ", ".join(f"{n} {sev}" for sev, n in counts.items() if n) or "no findings"
    evidence.append(
        Evidence(
            "scan",
            f"Every file was identified by content and scanned without being loaded: {summary}; "
            f"{len(failing)} at or above the fail threshold ({report.policy.fail_on.label}). "
            "Findings are the vulnerabilities of this BOM. "
            f"The scan was {'complete' if complete else 'incomplete'}.",
        )
    )

    # 5.2.1-1 inventory
    c = claim(
        "5.2.1-1",
        subject_ref,
        "Every file of the target is inventoried as a component with its SHA-256; dependencies link "
        + (
            "the dataset to its files."
            if data_only
            else "each model to its files and to the datasets its card declares."
        ),
        "aisbom walked the whole target and recorded each regular file it found.",
        "file-hashes",
    )
    out["5.2.1-1"] = Assessment(
        "5.2.1-1",
        "evidenced" if complete else "partly",
        "The inventory is complete (see compositions)."
        if complete
        else "Part of the target could not be read or fully analysed (see compositions and findings).",
        (c,),
    )
    # 5.2.1-2 track / authenticate / version control / secure
    versions = [m for m in targets if m.version]
    c = claim(
        "5.2.1-2",
        main,
        "Each file can be authenticated against its recorded SHA-256 with `aisbom verify`"
        + (f"; each {what} carries its upstream revision as its version." if versions else "."),
        "Hashes identify the exact bytes; a signature over them (aisbom sign) authenticates the release.",
        "file-hashes",
    )
    out["5.2.1-2"] = Assessment(
        "5.2.1-2",
        "partly",
        "Hashes are recorded; version control"
        + ("" if versions else " (no upstream revision is known)")
        + ", access control and the signing of this BOM are not evidenced by it.",
        (c,),
    )
    # 5.2.1-3.1 known good state
    c = claim(
        "5.2.1-3.1",
        main,
        "This BOM records the known-good set of files (path and SHA-256).",
        "`aisbom verify` names every file that is modified, missing or extra against it.",
        "file-hashes",
    )
    out["5.2.1-3.1"] = Assessment(
        "5.2.1-3.1",
        "partly",
        "The reference state is recorded; the ability to restore it is not evidenced.",
        (c,),
    )
    for rid in ("5.2.1-4", "5.2.1-4.2"):
        out[rid] = Assessment(
            rid,
            "not-evidenced",
            "aisbom does not know how sensitive data and weights are classified or protected; "
            "nothing in this BOM shows it.",
        )

    # 5.2.3-1 secure supply chain
    prov = [m for m in targets if m.provenance]
    c = claim(
        "5.2.3-1",
        main,
        "Every file was scanned for unsafe serialization before being loaded, and hashed"
        + ("; its source and acquisition are recorded." if prov else "."),
        f"Parse, never load: no byte of the {what} was executed to produce this BOM.",
        "scan",
        "file-hashes",
    )
    counter: tuple[str, ...] = ()
    if failing:
        counter = (
            claim(
                "5.2.3-1-findings",
                main,
                f"{len(failing)} findings at or above {report.policy.fail_on.label} were found.",
                "Loading the affected files would be unsafe (see vulnerabilities).",
                "scan",
            ),
        )
    out["5.2.3-1"] = Assessment(
        "5.2.3-1",
        "partly",
        "Scanning and hashing are evidenced"
        + ("" if prov else "; the provenance of a local target is not")
        + "; the rest of the development supply chain is not."
        + (" Findings count against it." if failing else ""),
        (c,),
        counter,
    )
    # 5.2.3-2 components that are not well documented
    flagged = [m for m in models if m.gaps]
    if data_only:
        out["5.2.3-2"] = Assessment(
            "5.2.3-2",
            "not-evidenced",
            "aisbom assesses documentation gaps (model card, licence, source URL, upstream hash, unsafe "
            "format, findings) for models only; this BOM's dataset was not assessed for them, and no "
            "justification is recorded for it.",
        )
    elif not flagged:
        c = claim(
            "5.2.3-2",
            subject_ref,
            "No component lacks a model card, licence, source URL or upstream hash, and none is unsafe.",
            "Each model was checked for every documentation gap aisbom knows.",
            "scan",
        )
        out["5.2.3-2"] = Assessment("5.2.3-2", "evidenced", "No component needs a justification.", (c,))
    else:
        gap_list = "".join(f"{m.bom_ref}: {m.gap_text()}\n" for m in flagged)
        evidence.append(
            Evidence(
                "documentation-gaps",
                "Components that are not well documented or secured (EN 304 223 5.2.3-2), "
                "as found by aisbom.",
                "Documentation gaps",
                gap_list,
            )
        )
        justified = [m for m in flagged if m.justification]
        texts = sorted({m.justification for m in justified if m.justification})
        for number, text in enumerate(texts, start=1):
            evidence.append(
                Evidence(
                    "justification" if number == 1 else f"justification-{number}",
                    "The operator's written justification for using these components (--justify).",
                    "Justification",
                    text,
                )
            )
        refs = tuple(
            claim(
                f"5.2.3-2:{m.bom_ref}",
                m.bom_ref,
                f"{m.name} is not well documented or secured ({m.gap_text()}).",
                f"Justification recorded by the operator: {m.justification}"
                if m.justification
                else "No justification is recorded.",
                "documentation-gaps",
                mitigation=_justification_key(evidence, m.justification),
            )
            for m in flagged
        )
        if len(justified) == len(flagged):
            out["5.2.3-2"] = Assessment(
                "5.2.3-2",
                "partly",
                "A justification is recorded for every such component; whether it suffices is for the "
                "operator and the assessor to judge.",
                refs,
            )
        else:
            out["5.2.3-2"] = Assessment(
                "5.2.3-2",
                "not-evidenced",
                "Not well documented and without a recorded justification: "
                + ", ".join(m.bom_ref for m in flagged if not m.justification)
                + ".",
                tuple(r for r, m in zip(refs, flagged, strict=True) if m.justification),
                tuple(r for r, m in zip(refs, flagged, strict=True) if not m.justification),
            )
    out["5.2.3-2.1"] = Assessment(
        "5.2.3-2.1", "not-evidenced", "No mitigating controls or risk assessment are recorded in this BOM."
    )
    out["5.2.3-3"] = Assessment("5.2.3-3", "not-evidenced", "No evaluation results are recorded in this BOM.")
    c = claim(
        "5.2.3-4",
        subject_ref,
        "This BOM is a baseline from which `aisbom diff` lists added, removed and changed components "
        "(hash, version, licence, findings).",
        "Two BOMs of successive releases give the change list an operator announces.",
        "file-hashes",
    )
    out["5.2.3-4"] = Assessment(
        "5.2.3-4", "partly", "The change list can be produced; informing end-users is not evidenced.", (c,)
    )

    # 5.2.4-1 audit trail
    out["5.2.4-1"] = Assessment(
        "5.2.4-1",
        "not-evidenced",
        "A single BOM is at most one entry of an audit trail; the trail and the maintenance plans are not "
        "evidenced by it.",
    )
    # 5.2.4-1.1 documentation content
    items = []
    for m in models:
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
        evidence.append(
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
        if data_only
        else "No model card states any of these items."
    )
    refs = tuple(
        claim(
            f"5.2.4-1.1:{m.bom_ref}",
            m.bom_ref,
            f"The model card of {m.name} states: {', '.join(have)}.",
            "Imported as written from the files the model ships; aisbom does not judge their accuracy.",
            f"model-card:{m.bom_ref}",
        )
        for m, have in have_any
    )
    out["5.2.4-1.1"] = Assessment(
        "5.2.4-1.1",
        "partly" if have_any else "not-evidenced",
        ("Not stated: " + "; ".join(f"{m.name}: {', '.join(lack)}" for m, _, lack in items) + ".")
        if have_any
        else no_card,
        refs,
    )
    # 5.2.4-1.2 hashes
    c = claim(
        "5.2.4-1.2",
        main,
        f"The SHA-256 of every file of the {what} is recorded on its file component"
        + (" and on its distribution reference." if any(f.url for f in files) else "."),
        f"Computed by aisbom over every byte of each file; releasing this BOM with the {what} releases them.",
        "file-hashes",
    )
    out["5.2.4-1.2"] = Assessment(
        "5.2.4-1.2",
        "evidenced" if all_hashed else "partly",
        "Every file has a SHA-256." if all_hashed else "Some files could not be read and have no hash.",
        (c,),
    )
    # 5.2.4-2 public training data
    declared = [m for m in models if m.datasets]
    if declared:
        for m in declared:
            evidence.append(
                Evidence(
                    f"datasets:{m.bom_ref}",
                    f"Training datasets of {m.name} as declared by {m.card.card_file}; each is a data "
                    "component the model depends on, with the Hugging Face URL its id names.",
                    "Declared datasets",
                    "".join(f"{d.id}\n" for d in m.datasets),
                )
            )
        refs = tuple(
            claim(
                f"5.2.4-2:{m.bom_ref}",
                m.bom_ref,
                f"{m.name} declares {len(m.datasets)} training datasets; each is linked to the model.",
                "Where the data came from is the dataset id the card declares; aisbom did not fetch it.",
                f"datasets:{m.bom_ref}",
            )
            for m in declared
        )
        out["5.2.4-2"] = Assessment(
            "5.2.4-2",
            "partly",
            "Where the data came from (as declared) and its link to the model are recorded; how it was "
            "obtained and how it is used in the model are not.",
            refs,
        )
    elif data_only:
        _assess_dataset_origin(data_assets, evidence, claim, out)
    else:
        out["5.2.4-2"] = Assessment("5.2.4-2", "not-evidenced", "No training datasets are declared.")
    out["5.2.4-2.1"] = Assessment(
        "5.2.4-2.1",
        "not-evidenced",
        "No dataset has a recorded source URL with the date and time it was obtained."
        + (
            " The model's own source and acquisition time are recorded (formulation)."
            if any(m.provenance and m.provenance.acquired_at for m in models)
            else ""
        ),
    )
    if data_only:
        _assess_dataset_times(
            list(data_assets),
            main,
            "5.2.4-2.1-dataset",
            "The dataset has its source URL and acquisition time.",
            evidence,
            claim,
            out,
        )
    configs = [f for f in files if f.result.format == "json"]
    if data_only:
        out["5.2.4-3"] = Assessment(
            "5.2.4-3",
            "not-evidenced",
            "This BOM describes a dataset; no system prompt or model configuration is assessed.",
        )
    elif configs:
        c = claim(
            "5.2.4-3",
            main,
            f"{len(configs)} configuration files are hashed components; any change to them shows in "
            "`aisbom diff` against the next BOM.",
            "A configuration change changes its hash.",
            "file-hashes",
        )
        out["5.2.4-3"] = Assessment(
            "5.2.4-3", "partly", "Changes are detectable; the audit log itself is not kept by this BOM.", (c,)
        )
    else:
        out["5.2.4-3"] = Assessment("5.2.4-3", "not-evidenced", "No configuration files were found.")

    if project is not None:
        _assess_project(project, subject_ref, models, complete, evidence, claim, out)

    order = [r.id for r in CATALOGUE if r.modal]
    assert set(order) == set(out), "every requirement is assessed"
    return Declaration(tuple(evidence), tuple(claims), tuple(out[r] for r in order))


def _assess_project(
    project: ProjectEvidence,
    subject_ref: str,
    models: Sequence[ModelAsset],
    complete: bool,
    evidence: list[Evidence],
    claim: Callable[..., str],
    out: dict[str, Assessment],
) -> None:
    """What a project's inventory, lock and audit log add: 5.2.1-1 (an inventory with prompts
    and interdependencies), 5.2.4-1 and 5.2.4-3 (the audit log), 5.2.4-2 and 5.2.4-2.1 (the
    inventory's datasets, their links to models and, for fetched ones, source and time)."""
    system = project.system
    kinds: dict[str, int] = {"model": len(models)}
    for asset in project.data:
        kinds[asset.kind] = kinds.get(asset.kind, 0) + 1
    listed = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in kinds.items() if n)
    relations = "".join(f"{r.source} {r.relation} {r.target}\n" for r in project.relations)
    evidence.append(
        Evidence(
            "inventory",
            "The inventory declared in aisbom.toml and locked in aisbom.lock: per asset its kind, name, "
            "source, digest (SHA-256 of its files' sha256sum manifest), file count and lock time (UTC); "
            "then every relation between the system and its assets (bom-refs).",
            "Inventory (aisbom.lock)",
            project.lock_summary + "\n" + relations,
        )
    )
    c = claim(
        "5.2.1-1-inventory",
        subject_ref,
        f"The system {system.name} is inventoried with {listed}, each a component with every file's "
        "SHA-256; dependencies link the system to the assets it uses, each model to the datasets it was "
        "trained on and the model it was fine-tuned from, and each asset to its files.",
        "Every declared asset was scanned and locked by aisbom; this BOM is built from that lock.",
        "inventory",
        "file-hashes",
    )
    out["5.2.1-1"] = Assessment(
        "5.2.1-1",
        "evidenced" if complete else "partly",
        (
            "The declared inventory, prompts and configurations and their interdependencies included, is "
            "locked and complete (see compositions); that it declares every asset of the system is the "
            "operator's statement in aisbom.toml."
        )
        if complete
        else "Some assets could not be read or fully analysed (see compositions and findings).",
        (*out["5.2.1-1"].claims, c),
    )

    if project.audit_events:
        evidence.append(
            Evidence(
                "audit-log",
                f"The project's append-only audit log (aisbom-audit.jsonl), {project.audit_events} events: "
                "each change of a prompt or configuration seen by aisbom, with old and new SHA-256 and "
                "UTC time, and each asset added, accepted into the lock or removed. Recorded diffs, if "
                "any, are left out.",
                "Audit log (aisbom-audit.jsonl)",
                project.audit_log,
            )
        )
        c = claim(
            "5.2.4-1-audit",
            subject_ref,
            "Changes to the system's assets are kept in an append-only audit log: prompt and configuration "
            "changes as aisbom sees them, and every update accepted into the lock.",
            "The log is only ever appended to, each entry with its UTC time, command and tool version.",
            "audit-log",
        )
        out["5.2.4-1"] = Assessment(
            "5.2.4-1",
            "partly",
            "The audit log is a trail of the assets' changes and of lock updates; the system design and "
            "the post-deployment maintenance plans are not evidenced.",
            (c,),
        )

    audited = project.audited
    if audited:
        problems = [*project.audit_gaps, *project.audit_problems]
        if not project.audit_events:
            problems.append("the audit log is empty or missing")
        c = claim(
            "5.2.4-3-log",
            subject_ref,
            f"Each change of the {len(audited)} prompt and configuration assets seen by an aisbom command "
            "(status, lock, add) is in the audit log with its old and new SHA-256 and UTC time.",
            "aisbom appends one event per new content of each file, before any lock update accepts it.",
            "audit-log" if project.audit_events else "inventory",
            "inventory",
        )
        out["5.2.4-3"] = Assessment(
            "5.2.4-3",
            "partly" if problems else "evidenced",
            ("The audit log does not cover everything: " + "; ".join(problems) + ".")
            if problems
            else "The log's latest hash of every prompt and configuration file is the locked one, so the "
            "trail reaches the state this BOM describes. Changes made and undone between two aisbom runs "
            "are not seen.",
            (*out["5.2.4-3"].claims, c),
        )

    trained: dict[str, list[str]] = {}
    for r in project.relations:
        if r.relation == "trained-on":
            trained.setdefault(r.source, []).append(r.target)
    by_ref = {a.bom_ref: a for a in project.data}
    if trained:
        for model_ref, names in trained.items():
            evidence.append(
                Evidence(
                    f"trained-on:{model_ref}",
                    f"Datasets {model_ref} was trained or fine-tuned on, as the operator declared in "
                    "aisbom.toml: each a locked data component the model depends on, with its source.",
                    "Training datasets (aisbom.toml)",
                    "".join(
                        f"{d} {by_ref[d].local_path or _source(by_ref[d])}\n" for d in names if d in by_ref
                    ),
                )
            )
        refs = tuple(
            claim(
                f"5.2.4-2:inventory:{model_ref}",
                model_ref,
                f"{model_ref} was trained on {len(names)} inventoried datasets, each linked to the model "
                "with its source and SHA-256.",
                "Declared by the operator; aisbom hashed and scanned the data it names.",
                f"trained-on:{model_ref}",
            )
            for model_ref, names in trained.items()
        )
        previous = out["5.2.4-2"]
        out["5.2.4-2"] = Assessment(
            "5.2.4-2",
            "partly",
            "Where the training data came from and its link to each model are recorded; how it is used in "
            "the model is not.",
            previous.claims + refs,
            previous.counter_claims,
        )

    datasets = [a for a in project.data if a.kind == "dataset"]
    _assess_dataset_times(
        datasets,
        subject_ref,
        "5.2.4-2.1-inventory",
        "Every dataset of the inventory has its source URL and acquisition time.",
        evidence,
        claim,
        out,
    )


def _assess_dataset_times(
    datasets: Sequence[DataAsset],
    target: str,
    key: str,
    all_dated: str,
    evidence: list[Evidence],
    claim: Callable[..., str],
    out: dict[str, Assessment],
) -> None:
    """5.2.4-2.1 when some `datasets` were fetched: their source URL and acquisition time (a
    project's inventory, or a dataset scanned on its own). `all_dated` is the rationale when
    every one of them was."""
    dated = [a for a in datasets if a.provenance and a.provenance.source_url and a.provenance.acquired_at]
    if not dated:
        return
    evidence.append(
        Evidence(
            "dataset-acquisition",
            "Source URL and acquisition time (UTC) of each fetched dataset, as aisbom's source recorded "
            "them when it downloaded the data (also in formulation)."
            + (
                " A time marked cache-mtime is the modification time of the file in the download cache, "
                "when it was written there, not a download this run witnessed."
                if any(_acquired_by(a) for a in dated)
                else ""
            ),
            "Dataset sources",
            "".join(f"{a.bom_ref} {_source(a)} {_acquired(a)}{_acquired_by(a)}\n" for a in dated),
        )
    )
    c = claim(
        key,
        target,
        f"{len(dated)} of {len(datasets)} datasets have their source URL and the time they were obtained.",
        "Recorded by aisbom when it fetched them, not typed in.",
        "dataset-acquisition",
    )
    local = [a.name for a in datasets if a not in dated]
    out["5.2.4-2.1"] = Assessment(
        "5.2.4-2.1",
        "partly" if local else "evidenced",
        ("Without a recorded source URL and time (local data): " + ", ".join(local) + ".")
        if local
        else all_dated,
        (c,),
    )


def _assess_dataset_origin(
    datasets: Sequence[DataAsset],
    evidence: list[Evidence],
    claim: Callable[..., str],
    out: dict[str, Assessment],
) -> None:
    """5.2.4-2 for datasets scanned on their own: where each came from and how it was obtained,
    when a source fetched it. How it is used in a model is never in such a BOM."""
    fetched = [a for a in datasets if a.provenance and a.provenance.source_url]
    if not fetched:
        out["5.2.4-2"] = Assessment(
            "5.2.4-2",
            "not-evidenced",
            "The dataset was read from a local path: where it came from and how it was obtained are not "
            "recorded, nor how it is used in a model.",
        )
        return
    evidence.append(
        Evidence(
            "dataset-origin",
            "Where each dataset came from and how aisbom obtained it: its source URL, the revision it "
            "resolved to (the component's version) and each file's download URL, fetched by aisbom's "
            "source and hashed by the scan.",
            "Dataset origin",
            "".join(
                f"{a.bom_ref} {_source(a)}"
                + (f" revision {a.provenance.revision}" if a.provenance and a.provenance.revision else "")
                + "\n"
                for a in fetched
            ),
        )
    )
    refs = tuple(
        claim(
            f"5.2.4-2:{a.bom_ref}",
            a.bom_ref,
            f"{a.name} was obtained from {_source(a)}"
            + (f" at revision {a.provenance.revision}" if a.provenance and a.provenance.revision else "")
            + "; every file it holds is hashed.",
            "Recorded by aisbom's source when it resolved and fetched the data, not typed in.",
            "dataset-origin",
        )
        for a in fetched
    )
    out["5.2.4-2"] = Assessment(
        "5.2.4-2",
        "partly",
        "Where the data came from and how it was obtained are recorded; how it is used in a model is not "
        "(this BOM describes the dataset alone).",
        refs,
    )


def _source(asset: Any) -> str:
    return asset.provenance.source_url if asset.provenance else (asset.local_path or "")


def _acquired(asset: Any) -> str:
    moment = asset.provenance.acquired_at if asset.provenance else None
    return moment.isoformat() if moment else "-"


def _acquired_by(asset: Any) -> str:
    """Marks a time that is a cache file's modification time, not a witnessed download."""
    how = asset.provenance.acquired_by if asset.provenance else None
    return f" ({how})" if how == ACQUIRED_FROM_CACHE_MTIME else ""


def _justification_key(evidence: list[Evidence], text: str | None) -> str:
    if not text:
        return ""
    return next(e.key for e in evidence if e.data_name == "Justification" and e.data_text == text)


__all__ = ["CATALOGUE", "Assessment", "Claim", "Declaration", "Evidence", "Requirement", "assess"]
