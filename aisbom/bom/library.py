"""The part of the BOM that cyclonedx-python-lib models: components (with hashes, licences,
purl, pedigree, properties, external references, tags), metadata, dependencies,
vulnerabilities and `definitions.standards`. Serialized by the library, then handed on as a
plain dict to `extensions`, which adds what the library does not model.

The library sorts every collection (components by type and name, properties by name), which
is exactly the stable order a reproducible BOM needs; bom-refs are always set explicitly here,
so nothing random is left in its output but the serial number and the timestamp.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aisbom.bom import lasting
from aisbom.bom.assets import DatasetAsset, FileAsset, ModelAsset, Supplier, iso
from aisbom.bom.etsi_catalogue import (
    CATALOGUE,
    STANDARD_DESCRIPTION,
    STANDARD_NAME,
    STANDARD_OWNER,
    STANDARD_VERSION,
    requirement_ref,
)
from aisbom.findings import Finding
from aisbom.rules import RULES
from aisbom.version import __version__

if TYPE_CHECKING:  # the library is imported lazily: it is slow to import and only the BOM needs it
    from cyclonedx.model.component import Component
    from cyclonedx.model.contact import OrganizationalEntity
    from cyclonedx.model.definition import Definitions
    from cyclonedx.model.dependency import Dependency
    from cyclonedx.model.vulnerability import Vulnerability, VulnerabilityAnalysis
    from packageurl import PackageURL

    from aisbom.bom.project_assets import DataAsset, SystemAsset
    from aisbom.provenance import FileSource, Provenance

STANDARD_REF = "standard:etsi-en-304-223"
TOOL_REF = "tool:aisbom"
SUBJECT_REF = "subject"


def prepare() -> None:
    """Import the library's modules that `build_core` uses ahead of it (they take about 0.1 s of
    CPU): `aisbom bom` does it while the scan's workers hash, when this process would otherwise
    wait. What they create lasts: it is frozen (aisbom.bom.lasting)."""
    with lasting.frozen_after():
        import cyclonedx.model.bom  # noqa: F401
        import cyclonedx.model.component  # noqa: F401
        import cyclonedx.model.definition  # noqa: F401
        import cyclonedx.model.dependency  # noqa: F401
        import cyclonedx.model.impact_analysis  # noqa: F401
        import cyclonedx.model.lifecycle  # noqa: F401
        import cyclonedx.model.vulnerability  # noqa: F401
        import cyclonedx.output.json  # noqa: F401


def build_core(
    models: Sequence[ModelAsset],
    *,
    spec_version: str,
    created: datetime | None,
    properties: Sequence[tuple[str, str]],
    data_assets: Sequence[DataAsset] = (),
    system: SystemAsset | None = None,
    edges: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The library's part of the BOM. Without `system`, the subject is the one model or dataset
    of a scan target, and depends on its component; with it (a project), the subject is that
    system, using `system.uses`, and `edges` adds the relations between assets (bom-ref -> the
    bom-refs it depends on)."""
    from cyclonedx import __version__ as lib_version
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.lifecycle import LifecyclePhase, NamedLifecycle, PredefinedLifecycle
    from cyclonedx.output.json import BY_SCHEMA_VERSION
    from cyclonedx.schema import SchemaVersion

    bom = Bom()
    if created is not None:
        bom.metadata.timestamp = created
    bom.metadata.tools.components.update(
        [
            Component(type=ComponentType.APPLICATION, name="aisbom", version=__version__, bom_ref=TOOL_REF),
            Component(
                type=ComponentType.LIBRARY,
                group="CycloneDX",
                name="cyclonedx-python-lib",
                version=lib_version,
                bom_ref="tool:cyclonedx-python-lib",
            ),
        ]
    )
    bom.metadata.lifecycles.update(
        [
            PredefinedLifecycle(LifecyclePhase.POST_BUILD),
            NamedLifecycle(
                "development",
                description="EN 304 223 lifecycle phase of principles 5, 7 and 8 evidenced by this BOM",
            ),
        ]
    )
    assets: list[ModelAsset | DataAsset] = [*models, *data_assets]
    if system is not None:
        names = ", ".join([*(m.name for m in models), *(d.name for d in data_assets)])
        subject = Component(
            type=ComponentType.APPLICATION,
            name=system.name,
            version=system.version,
            bom_ref=SUBJECT_REF,
            description=system.description or f"The AI system {system.name}: {names}",
        )
    else:
        subject = _subject(assets[0])
    bom.metadata.component = subject
    bom.metadata.properties.update(Property(name=n, value=v) for n, v in properties)

    # Dependencies are built directly: Bom.register_dependency searches the graph linearly for
    # every call, which made a model of 5,000 files take 30 s.
    edges = edges or {}
    target_components = []
    for model in models:
        component, datasets = _model(model)
        bom.components.add(component)
        bom.components.update(datasets)
        children = [*component.components, *datasets]
        bom.dependencies.add(_depends(component, children, edges.get(model.bom_ref, ())))
        bom.dependencies.update(_depends(child, []) for child in children)
        target_components.append(component)
        bom.vulnerabilities.update(_vulnerabilities(model))
    for data in data_assets:
        component = _data_asset(data)
        bom.components.add(component)
        bom.dependencies.add(_depends(component, list(component.components), edges.get(data.bom_ref, ())))
        bom.dependencies.update(_depends(child, []) for child in component.components)
        bom.vulnerabilities.update(_vulnerabilities(data))
        target_components.append(component)
    if system is None:
        bom.dependencies.add(_depends(subject, target_components))
    else:
        bom.dependencies.add(_depends(subject, [], system.uses))

    version = SchemaVersion.from_version(spec_version)
    if version >= SchemaVersion.V1_6:
        bom.definitions = _definitions()
    text = BY_SCHEMA_VERSION[version](bom).output_as_string()
    doc: dict[str, Any] = json.loads(text)
    return doc


def _subject(asset: ModelAsset | DataAsset) -> Component:
    """What a scan target's BOM is about: the model (or dataset) itself, named, versioned and
    supplied as its component is; that component holds its card, files and findings."""
    from cyclonedx.model.component import Component, ComponentType

    model = isinstance(asset, ModelAsset)
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL if model else ComponentType.DATA,
        name=asset.name,
        version=asset.version,
        group=_group(asset) if isinstance(asset, ModelAsset) else None,
        bom_ref=SUBJECT_REF,
        supplier=_organization(asset.supplier) if isinstance(asset, ModelAsset) else None,
        description=f"The {'model' if model else 'dataset'} this BOM describes; its files, "
        f"{'model card, ' if model else ''}hashes and findings are component {asset.bom_ref}.",
    )


def _group(model: ModelAsset) -> str | None:
    return (model.hf_repo.rpartition("/")[0] or None) if model.hf_repo else None


def _organization(supplier: Supplier | None) -> OrganizationalEntity | None:
    from cyclonedx.model import XsUri
    from cyclonedx.model.contact import OrganizationalEntity

    if supplier is None:
        return None
    return OrganizationalEntity(name=supplier.name, urls=[XsUri(supplier.url)] if supplier.url else None)


def _purl(model: ModelAsset) -> PackageURL | None:
    """pkg:huggingface/ORG/NAME@REVISION for a Hub model (purl-spec's huggingface type names
    models only); pkg:generic/NAME@VERSION for any other model whose version is known."""
    from packageurl import PackageURL

    if model.hf_repo and (model.provenance is None or model.provenance.repo_type in (None, "model")):
        org, _, name = model.hf_repo.rpartition("/")
        return PackageURL(type="huggingface", namespace=org or None, name=name, version=model.revision)
    if model.hf_repo is None and model.version:
        namespace, _, name = model.name.rpartition("/")
        return PackageURL(type="generic", namespace=namespace or None, name=name, version=model.version)
    return None


def _depends(component: Component, on: Sequence[Component], refs: Sequence[str] = ()) -> Dependency:
    from cyclonedx.model.bom_ref import BomRef
    from cyclonedx.model.dependency import Dependency

    return Dependency(
        ref=component.bom_ref,
        dependencies=[*(Dependency(ref=c.bom_ref) for c in on), *(Dependency(ref=BomRef(r)) for r in refs)],
    )


def _model(model: ModelAsset) -> tuple[Component, list[Component]]:
    from cyclonedx.model import (
        ExternalReference,
        ExternalReferenceType,
        HashAlgorithm,
        HashType,
        Property,
        XsUri,
    )
    from cyclonedx.model.bom_ref import BomRef
    from cyclonedx.model.component import Component, ComponentType, Pedigree
    from cyclonedx.model.contact import OrganizationalContact

    card = model.card
    props: list[tuple[str, str]] = [("aisbom:verdict", model.verdict), ("aisbom:name_from", model.name_from)]
    if model.manifest_sha256:
        props.append(("aisbom:manifest_sha256", model.manifest_sha256))
    if model.supplier is not None:
        props.append(("aisbom:supplier_from", model.supplier.said_by))
    if model.local_path is not None:
        props.append(("aisbom:source_path", model.local_path))
    if model.scanned_at is not None:
        props.append(("aisbom:scanned_at", iso(model.scanned_at)))
    if model.provenance is not None:
        props += _provenance_properties(model.provenance)
    if model.gaps:
        props.append(("aisbom:documentation_gaps", ",".join(model.gaps)))
        props.append(("aisbom:justification", model.justification or "none recorded"))
    if card.card_file:
        props.append(("aisbom:model_card", card.card_file))
    if card.title:
        props.append(("aisbom:card_title", card.title))
    if card.library_name:
        props.append(("aisbom:library_name", card.library_name))
    if card.name_or_path:
        props.append(("aisbom:config_name_or_path", card.name_or_path))
    if card.base_model_relation:
        props.append(("aisbom:base_model_relation", card.base_model_relation))
    props += [("aisbom:note", note) for note in card.notes]
    if model.remote_code:  # loading it imports code it ships (the files marked aisbom:code)
        props.append(("aisbom:requires_remote_code", "true"))
        props += [("aisbom:remote_code_loader", how) for how in model.remote_code]
    props += [("aisbom:code_from_repository", repo) for repo in model.code_from]
    props += [("aisbom:code_from_commit", at) for at in model.code_scanned]  # scanned from the cache

    refs = []
    if model.provenance is not None:
        refs.append(
            ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(model.provenance.source_url))
        )
    if model.signature is not None:
        refs.append(
            ExternalReference(
                type=ExternalReferenceType.DIGITAL_SIGNATURE,
                url=XsUri(model.signature.location),
                comment="OMS v1.0 (OpenSSF model_signing) signature over the files of this model; its "
                "statement's subject digest is this component's manifest SHA-256. Not verified by "
                "`aisbom bom`: `aisbom verify` checks it.",
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content=model.signature.sha256)],
            )
        )

    files = [_file_component(file) for file in model.files]
    # The model's own hash: a single file's SHA-256, or the digest its signature signs.
    own = model.files[0].result.sha256 if model.single_file and model.files else model.manifest_sha256
    ancestors = [_ancestor(base) for base in card.base_models]
    component = Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=model.name,
        group=_group(model),
        version=model.version,
        bom_ref=BomRef(model.bom_ref),
        supplier=_organization(model.supplier),
        authors=[OrganizationalContact(name=a) for a in card.authors],
        description=card.description,
        licenses=_licenses(card.licenses, card.license_name, card.license_link),
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=own)] if own else [],
        purl=_purl(model),
        external_references=refs,
        properties=[Property(name=n, value=v) for n, v in props],
        tags=card.tags,
        components=files,
        pedigree=Pedigree(ancestors=ancestors) if ancestors else None,
    )
    datasets = [_dataset(d) for d in model.datasets]
    return component, datasets


def _provenance_properties(prov: Provenance) -> list[tuple[str, str]]:
    """Where a model's or an inventory asset's bytes came from, and when."""
    out = [("aisbom:source_url", prov.source_url)]
    if prov.acquired_at is not None:
        out.append(("aisbom:acquired_at", iso(prov.acquired_at)))
    if prov.acquired_by:
        out.append(("aisbom:acquired_by", prov.acquired_by))
    if prov.revision:
        out.append(("aisbom:revision", prov.revision))
    if prov.requested_revision:
        out.append(("aisbom:requested_revision", prov.requested_revision))
    if prov.repo_type:
        out.append(("aisbom:hf_repo_type", prov.repo_type))
    if prov.hf_repo:  # whether the revision and upstream hashes are the Hub's word or the cache's
        out.append(("aisbom:upstream_facts_from", "hf-cache" if prov.facts_from_cache else "hub"))
    return out


def _source_properties(source: FileSource | None) -> list[tuple[str, str]]:
    """What the source said about a file (ETag, declared size, ...), in a fixed order."""
    if source is None:
        return []
    out = []
    if source.etag:
        out.append(("aisbom:etag", source.etag))
    if source.size is not None:
        out.append(("aisbom:source_size", str(source.size)))
    if source.last_modified:
        out.append(("aisbom:last_modified", source.last_modified))
    if source.final_url:
        out.append(("aisbom:final_url", source.final_url))
    if source.version_id:
        out.append(("aisbom:version_id", source.version_id))
    if source.acquired_at is not None:
        out.append(("aisbom:acquired_at", iso(source.acquired_at)))
    if source.acquired_by:
        out.append(("aisbom:acquired_by", source.acquired_by))
    return out


def _ancestor(base: str) -> Component:
    from cyclonedx.model.bom_ref import BomRef
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    org, _, name = base.rpartition("/")
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        group=org or None,
        name=name,
        bom_ref=BomRef(f"base-model:{base}"),
        purl=PackageURL(type="huggingface", namespace=org or None, name=name),
    )


def _data_asset(data: DataAsset) -> Component:
    """A dataset, prompt or config of the inventory: a `data` component (its `data` details are
    added by `extensions`) with its files nested, hashed as locked."""
    from cyclonedx.model import (
        ExternalReference,
        ExternalReferenceType,
        HashAlgorithm,
        HashType,
        Property,
        XsUri,
    )
    from cyclonedx.model.bom_ref import BomRef
    from cyclonedx.model.component import Component, ComponentType

    props: list[tuple[str, str]] = [("aisbom:asset_kind", data.kind), ("aisbom:verdict", data.verdict)]
    if data.local_path is not None:
        props.append(("aisbom:source_path", data.local_path))
    if data.locked_at is not None:
        props.append(("aisbom:locked_at", iso(data.locked_at)))
    if data.scanned_at is not None:
        props.append(("aisbom:scanned_at", iso(data.scanned_at)))
    refs = []
    if data.provenance is not None:
        props += _provenance_properties(data.provenance)
        refs.append(
            ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(data.provenance.source_url))
        )
    files = [_file_component(file) for file in data.files]
    single = data.files[0].result.sha256 if len(data.files) == 1 else None
    return Component(
        type=ComponentType.DATA,
        name=data.name,
        version=data.version,
        bom_ref=BomRef(data.bom_ref),
        description=data.description,
        licenses=_licenses(data.licenses, None, None),
        # A one-file prompt or config carries its hash itself, as well as on its file.
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=single)] if single else [],
        external_references=refs,
        properties=[Property(name=n, value=v) for n, v in props],
        components=files,
    )


def _file_component(file: FileAsset) -> Component:
    """One file of a model or data asset: its hash, scan verdict and, when downloaded, its source."""
    from cyclonedx.model import (
        ExternalReference,
        ExternalReferenceType,
        HashAlgorithm,
        HashType,
        Property,
        XsUri,
    )
    from cyclonedx.model.bom_ref import BomRef
    from cyclonedx.model.component import Component, ComponentType

    result = file.result
    hashes = [HashType(alg=HashAlgorithm.SHA_256, content=result.sha256)] if result.sha256 else []
    props = [("aisbom:format", result.format), ("aisbom:verdict", file.verdict)]
    if result.size is not None:
        props.append(("aisbom:size", str(result.size)))
    if file.unsafe_serialization:
        props.append(("aisbom:unsafe_serialization", "true"))
    if file.upstream_sha256:
        props.append(("aisbom:upstream_sha256", file.upstream_sha256))
        if file.upstream_from_cache:
            props.append(("aisbom:upstream_sha256_from", "hf-cache"))
    if file.code:
        props.append(("aisbom:code", "python"))
    props += _source_properties(file.source)
    refs = []
    if file.url:
        refs.append(
            ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(file.url), hashes=hashes)
        )
    return Component(
        type=ComponentType.FILE,
        name=result.path,
        bom_ref=BomRef(file.bom_ref),
        hashes=hashes,
        external_references=refs,
        properties=[Property(name=n, value=v) for n, v in props],
    )


def _dataset(dataset: DatasetAsset) -> Component:
    from cyclonedx.model import Property
    from cyclonedx.model.bom_ref import BomRef
    from cyclonedx.model.component import Component, ComponentType

    return Component(
        type=ComponentType.DATA,
        name=dataset.id,
        bom_ref=BomRef(dataset.bom_ref),
        properties=[Property(name="aisbom:declared_by", value=dataset.declared_by)],
    )


def _licenses(ids: Sequence[str], other_name: str | None, other_link: str | None) -> list[Any]:
    """Hugging Face licence ids are lower-case SPDX ids, or names like `openrail`, or `other`."""
    if not ids:
        return []  # (without importing the licence factory: it compiles the SPDX list, 30 ms)
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.model import XsUri
    from cyclonedx.model.license import DisjunctiveLicense, LicenseAcknowledgement, LicenseExpression

    factory = LicenseFactory()
    declared = LicenseAcknowledgement.DECLARED
    out: list[Any] = []
    for text in ids:
        if text == "other" and other_name:
            url = XsUri(other_link) if other_link else None
            out.append(DisjunctiveLicense(name=other_name, url=url, acknowledgement=declared))
            continue
        made = factory.make_from_string(text, license_acknowledgement=declared)
        out.append(made)
    if len(out) > 1:  # the schema allows one expression, or a list of licences: keep the text as a name
        out = [
            DisjunctiveLicense(name=x.value, acknowledgement=declared)
            if isinstance(x, LicenseExpression)
            else x
            for x in out
        ]
    return out


def _vulnerabilities(model: ModelAsset | DataAsset) -> list[Vulnerability]:
    from cyclonedx.model import Property
    from cyclonedx.model.bom_ref import BomRef
    from cyclonedx.model.vulnerability import (
        BomTarget,
        Vulnerability,
        VulnerabilityRating,
        VulnerabilityScoreSource,
        VulnerabilitySeverity,
        VulnerabilitySource,
    )

    source = VulnerabilitySource(name="aisbom")
    out = []
    for file in model.files:
        for index, finding in enumerate(file.result.findings + file.result.silenced, start=1):
            rule = RULES[finding.rule]
            props = [("aisbom:file", finding.path)]
            if finding.member:
                props.append(("aisbom:member", finding.member))
            if finding.offset is not None:
                props.append(("aisbom:offset", str(finding.offset)))
            props += [(f"aisbom:evidence:{k}", v) for k, v in finding.evidence]
            out.append(
                Vulnerability(
                    bom_ref=BomRef(f"finding:{file.bom_ref.removeprefix('file:')}#{index}"),
                    id=finding.rule,
                    source=source,
                    ratings=[
                        VulnerabilityRating(
                            source=source,
                            severity=VulnerabilitySeverity(finding.severity.label),
                            method=VulnerabilityScoreSource.OTHER,
                        )
                    ],
                    description=f"{rule.title}. {rule.why}",
                    detail=_detail(finding),
                    recommendation=rule.fix,
                    affects=[BomTarget(ref=file.bom_ref)],
                    properties=[Property(name=n, value=v) for n, v in props],
                    analysis=_silenced_analysis(finding),
                )
            )
    return out


def _silenced_analysis(finding: Finding) -> VulnerabilityAnalysis | None:
    """A finding an allow file silenced: recorded, as the user's judgement that it does not affect
    them (VEX not_affected), with the file that said so."""
    if finding.silenced_by is None:
        return None
    from cyclonedx.model.impact_analysis import ImpactAnalysisState
    from cyclonedx.model.vulnerability import VulnerabilityAnalysis

    return VulnerabilityAnalysis(
        state=ImpactAnalysisState.NOT_AFFECTED, detail=f"silenced by allow file {finding.silenced_by}"
    )


def _detail(finding: Finding) -> str:
    where = finding.path + (f" member {finding.member}" if finding.member else "")
    if finding.offset is not None:
        where += f" at offset {finding.offset}"
    return f"{finding.message} ({where})"


def _definitions() -> Definitions:
    from cyclonedx.model import Property
    from cyclonedx.model.definition import Definitions, Level, Requirement, Standard

    requirements = []
    for req in CATALOGUE:
        descriptions = []
        if req.modal in ("shall", "should"):
            descriptions.append(
                ("Shortened quotation" if req.quoted else "Summary, not a quotation")
                + f" of EN 304 223 V{STANDARD_VERSION}; the standard's text is normative."
            )
        if req.how:
            descriptions.append(f"How aisbom evidences it: {req.how}")
        requirements.append(
            Requirement(
                bom_ref=requirement_ref(req.id),
                identifier=req.id,
                text=req.text,
                descriptions=descriptions,
                parent=requirement_ref(req.parent) if req.parent else None,
                properties=[Property(name="aisbom:modal", value=req.modal)] if req.modal else [],
            )
        )
    levels = [
        Level(
            bom_ref=f"{STANDARD_REF}:level:{modal}",
            identifier=modal,
            description={"shall": "Mandatory provisions", "should": "Recommended provisions"}[modal],
            requirements=[requirement_ref(r.id) for r in CATALOGUE if r.modal == modal],
        )
        for modal in ("shall", "should")
    ]
    return Definitions(
        standards=[
            Standard(
                bom_ref=STANDARD_REF,
                name=STANDARD_NAME,
                version=STANDARD_VERSION,
                description=STANDARD_DESCRIPTION,
                owner=STANDARD_OWNER,
                requirements=requirements,
                levels=levels,
            )
        ]
    )


__all__ = ["STANDARD_REF", "SUBJECT_REF", "TOOL_REF", "build_core"]
