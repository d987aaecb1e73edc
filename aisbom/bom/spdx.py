"""`aisbom bom --format spdx`: the BOM as SPDX 3.0.1 JSON-LD, with the AI and Dataset profiles.

Built from the same assets as the CycloneDX document (models with their cards, files, datasets,
the inventory's prompts and configs, the system), with the SPDX model's own Python bindings
(spdx-python-model): they check every value's type when it is set and every required property
when the document is written, so a document that breaks the model is never written. The SHACL
shapes themselves are fetched by `spdx3-validate` from the network, which aisbom never uses.

What SPDX has no place for stays in the CycloneDX BOM only: EN 304 223 declarations, citations,
compositions and formulation (docs/bom.md has the mapping). Findings become review annotations on
the file they concern.
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aisbom.bom.assets import DatasetAsset, FileAsset, ModelAsset
from aisbom.bom.build import BuiltBom
from aisbom.bom.check import BomError
from aisbom.bom.extensions import walk_components
from aisbom.bom.project_assets import DataAsset, SystemAsset
from aisbom.rules import RULES
from aisbom.version import __version__

if TYPE_CHECKING:
    from spdx_python_model.bindings.v3_0_1 import model as spdx

SPEC_VERSION = "3.0.1"
# A reproducible BOM without SOURCE_DATE_EPOCH has no time, but SPDX requires `created`: the
# epoch stands for "none", as in the CycloneDX citations.
NO_DATE = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_spdx(built: BuiltBom) -> BuiltBom:
    """`built` with its text replaced by the SPDX 3.0.1 JSON-LD document of the same BOM."""
    text = _Writer(built).document()
    return replace(built, text=text, label=f"SPDX {SPEC_VERSION}")


def _model_module() -> Any:
    try:
        from spdx_python_model import v3_0_1
    except ImportError:
        raise BomError(
            "--format spdx needs the spdx-python-model package (pip install spdx-python-model)"
        ) from None
    return v3_0_1


@dataclass
class _Writer:
    built: BuiltBom
    elements: list[Any] = field(default_factory=list)
    by_ref: dict[str, Any] = field(default_factory=dict)
    related: set[tuple[Any, Any]] = field(default_factory=set)  # pairs already in a relationship

    def __post_init__(self) -> None:
        self.m = _model_module()
        self.base = f"https://spdx.org/spdxdocs/aisbom-{_document_uuid(self.built)}"
        created = self.built.created or NO_DATE
        self.info = self.m.CreationInfo(specVersion=SPEC_VERSION, created=created)
        self.agent = self._add(self.m.SoftwareAgent(spdxId=self._id("agent:aisbom"), name="aisbom"))
        self.info.createdBy = [self.agent]
        self.info.createdUsing = [
            self._add(self.m.Tool(spdxId=self._id("tool:aisbom"), name=f"aisbom {__version__}"))
        ]
        if self.built.created is None:
            self.info.comment = (
                "A reproducible BOM: no creation time was recorded; the epoch stands for none."
            )
        # The CycloneDX document's components by bom-ref: its purls and licences, normalised once.
        self.cdx = {c["bom-ref"]: c for c in walk_components(self.built.doc) if "bom-ref" in c}

    # --- the document ---------------------------------------------------------------------

    def document(self) -> str:
        m = self.m
        subject = self._subject()
        sbom = m.software_Sbom(
            spdxId=self._id("sbom"),
            name=f"AI-BOM of {subject.name}",
            rootElement=[subject],
            software_sbomType=[m.software_SbomType.analyzed],
            profileConformance=self._profiles(),
        )
        self._info(sbom)
        sbom.element = list(self.elements)
        doc = m.SpdxDocument(
            spdxId=self._id("document"),
            name=f"aisbom AI-BOM of {subject.name}",
            rootElement=[sbom],
            element=[*self.elements, sbom],
            profileConformance=self._profiles(),
        )
        self._info(doc)
        objects = m.SHACLObjectSet([*self.elements, sbom, doc])
        out = io.BytesIO()
        try:
            m.JSONLDSerializer().write(objects, out, indent=2)
        except (ValueError, TypeError) as exc:  # a required property missing, a value of the wrong type
            raise BomError(f"the generated SPDX document is not valid: {exc}") from None
        return out.getvalue().decode("utf-8") + "\n"

    def _profiles(self) -> list[str]:
        p = self.m.ProfileIdentifierType
        return [p.core, p.software, p.simpleLicensing, p.ai, p.dataset]

    def _subject(self) -> Any:
        for model in self.built.models:
            self._model(model)
        for data in self.built.data:
            self._data_asset(data)
        system = self.built.system
        if system is None:
            refs = [m.bom_ref for m in self.built.models] + [d.bom_ref for d in self.built.data]
            return self.by_ref[refs[0]]
        return self._system(system)

    # --- elements -------------------------------------------------------------------------

    def _model(self, model: ModelAsset) -> Any:
        m = self.m
        card = model.card
        component = self.cdx.get(model.bom_ref, {})
        package = m.ai_AIPackage(
            spdxId=self._id(model.bom_ref),
            name=model.name,
            software_primaryPurpose=m.software_SoftwarePurpose.model,
        )
        self._package_identity(package, component, model.provenance.source_url if model.provenance else None)
        if model.version:
            package.software_packageVersion = model.version
        if model.supplier is not None:
            package.suppliedBy = self._organization(model.supplier.name)
        if card.authors:
            package.originatedBy = [self._agent(name) for name in card.authors]
        if card.description:
            package.description = card.description
        own = model.files[0].result.sha256 if model.single_file and model.files else model.manifest_sha256
        if own:
            package.verifiedUsing = [m.Hash(algorithm=m.HashAlgorithm.sha256, hashValue=own)]
        types = [t for t in (card.model_type, *card.architectures) if t]
        if types:
            package.ai_typeOfModel = types
        if card.hyperparameters:
            package.ai_hyperparameter = [m.DictionaryEntry(key=k, value=v) for k, v in card.hyperparameters]
        if card.metrics:
            package.ai_metric = [
                m.DictionaryEntry(key=x.type + (f" ({x.slice})" if x.slice else ""), value=x.value)
                for x in card.metrics
            ]
        if card.limitations:
            package.ai_limitation = "\n\n".join(card.limitations)
        if card.use_cases:
            package.ai_informationAboutApplication = "\n\n".join(card.use_cases)
        if card.approach:
            package.ai_informationAboutTraining = (
                f"Learning approach stated by the model card: {card.approach}."
            )
        if card.co2:
            # SPDX's energy consumption is energy (kWh, MJ); a card's CO2 figure is not: a comment.
            package.comment = "Model card co2_eq_emissions: " + ", ".join(f"{k} {v}" for k, v in card.co2)
        self._register(model.bom_ref, package)
        self._files(package, model.files)
        self._licences(package, component)
        datasets = [self._declared_dataset(d) for d in model.datasets]
        self._relate(package, "trainedOn", datasets)
        for base in card.base_models:
            ancestor = self._base_model(base)
            self._relate(ancestor, "ancestorOf", [package])
        return package

    def _declared_dataset(self, dataset: DatasetAsset) -> Any:
        m = self.m
        package = m.dataset_DatasetPackage(
            spdxId=self._id(dataset.bom_ref),
            name=dataset.id,
            software_primaryPurpose=m.software_SoftwarePurpose.data,
            dataset_datasetType=[m.dataset_DatasetType.noAssertion],
        )
        if dataset.url:
            package.software_downloadLocation = dataset.url
        return self._register(dataset.bom_ref, package)

    def _base_model(self, base: str) -> Any:
        ref = f"base-model:{base}"
        if ref in self.by_ref:
            return self.by_ref[ref]
        package = self.m.ai_AIPackage(
            spdxId=self._id(ref), name=base, software_primaryPurpose=self.m.software_SoftwarePurpose.model
        )
        purl = self.cdx.get(ref, {}).get("purl")
        if purl:
            package.software_packageUrl = purl
        return self._register(ref, package)

    def _data_asset(self, data: DataAsset) -> Any:
        m = self.m
        component = self.cdx.get(data.bom_ref, {})
        if data.kind == "dataset":
            package = m.dataset_DatasetPackage(
                spdxId=self._id(data.bom_ref),
                name=data.name,
                software_primaryPurpose=m.software_SoftwarePurpose.data,
                dataset_datasetType=[m.dataset_DatasetType.noAssertion],
            )
        else:  # a prompt or a config: settings a component reads at run time
            package = m.software_Package(
                spdxId=self._id(data.bom_ref),
                name=data.name,
                software_primaryPurpose=m.software_SoftwarePurpose.configuration,
            )
        self._package_identity(package, component, data.provenance.source_url if data.provenance else None)
        if data.version:
            package.software_packageVersion = data.version
        if data.description:
            package.description = data.description
        self._register(data.bom_ref, package)
        self._files(package, data.files)
        self._licences(package, component)
        return package

    def _system(self, system: SystemAsset) -> Any:
        m = self.m
        package = m.software_Package(
            spdxId=self._id("subject"),
            name=system.name,
            software_primaryPurpose=m.software_SoftwarePurpose.application,
        )
        if system.version:
            package.software_packageVersion = system.version
        if system.description:
            package.description = system.description
        self._register("subject", package)
        self._relate(package, "dependsOn", [self.by_ref[r] for r in system.uses if r in self.by_ref])
        for dep in self.built.doc.get("dependencies", []):  # the inventory's relations between assets
            source = self.by_ref.get(dep.get("ref"))
            if source is None or source is package:
                continue
            for target in (self.by_ref.get(r) for r in dep.get("dependsOn", [])):
                if (
                    target is None
                    or isinstance(target, self.m.software_File)
                    or (source, target) in self.related
                ):
                    continue
                if isinstance(target, self.m.ai_AIPackage):  # fine-tuned from it
                    self._relate(target, "ancestorOf", [source])
                else:
                    kind = "trainedOn" if isinstance(target, self.m.dataset_DatasetPackage) else "dependsOn"
                    self._relate(source, kind, [target])
        return package

    def _files(self, package: Any, files: Iterable[FileAsset]) -> None:
        m = self.m
        made = []
        for file in files:
            element = m.software_File(spdxId=self._id(file.bom_ref), name=file.result.path)
            if file.result.sha256:
                element.verifiedUsing = [
                    m.Hash(algorithm=m.HashAlgorithm.sha256, hashValue=file.result.sha256)
                ]
            if file.url:  # a file has no download location of its own in SPDX: the package's is primary
                element.externalRef = [
                    m.ExternalRef(externalRefType=m.ExternalRefType.altDownloadLocation, locator=[file.url])
                ]
            made.append(self._register(file.bom_ref, element))
            for index, finding in enumerate(file.result.findings, start=1):
                rule = RULES[finding.rule]
                note = m.Annotation(
                    spdxId=self._id(f"finding:{file.bom_ref}#{index}"),
                    annotationType=m.AnnotationType.review,
                    subject=element,
                    statement=f"aisbom {finding.rule} ({finding.severity.label}): {rule.title}. "
                    f"{finding.message}" + (f" (member {finding.member})" if finding.member else ""),
                )
                self._add(note)
        self._relate(package, "contains", made)

    def _package_identity(self, package: Any, component: dict[str, Any], source_url: str | None) -> None:
        if isinstance(component.get("purl"), str):
            package.software_packageUrl = component["purl"]
        if source_url:
            package.software_downloadLocation = source_url

    def _licences(self, element: Any, component: dict[str, Any]) -> None:
        expressions = [_licence_expression(x) for x in component.get("licenses", [])]
        licences = [
            self._add(
                self.m.simplelicensing_LicenseExpression(
                    spdxId=self._id(f"licence:{len(self.elements)}"), simplelicensing_licenseExpression=text
                )
            )
            for i, text in enumerate(e for e in expressions if e)
        ]
        self._relate(element, "hasDeclaredLicense", licences)

    # --- helpers --------------------------------------------------------------------------

    def _relate(self, source: Any, kind: str, to: list[Any]) -> None:
        if not to:
            return
        self.related.update((source, t) for t in to)
        self.related.update((t, source) for t in to)
        rel = self.m.Relationship(
            spdxId=self._id(f"relationship:{len(self.related)}:{kind}"),
            from_=source,
            relationshipType=getattr(self.m.RelationshipType, kind),
            to=to,
        )
        self._add(rel)

    def _organization(self, name: str) -> Any:
        ref = f"organization:{name}"
        if ref not in self.by_ref:
            self._register(ref, self.m.Organization(spdxId=self._id(ref), name=name))
        return self.by_ref[ref]

    def _agent(self, name: str) -> Any:
        ref = f"agent:{name}"
        if ref not in self.by_ref:
            self._register(ref, self.m.Agent(spdxId=self._id(ref), name=name))
        return self.by_ref[ref]

    def _register(self, ref: str, element: Any) -> Any:
        self.by_ref[ref] = element
        return self._add(element)

    def _add(self, element: Any) -> Any:
        self._info(element)
        self.elements.append(element)
        return element

    def _info(self, element: spdx.Element) -> None:
        element.creationInfo = self.info

    def _id(self, ref: str) -> str:
        return f"{self.base}#{quote(ref, safe='')}"


def _document_uuid(built: BuiltBom) -> str:
    """The CycloneDX serial number's, so both documents of one run name the same BOM; for a
    reproducible BOM (no serial number), one derived from its content."""
    serial = built.doc.get("serialNumber", "")
    if isinstance(serial, str) and serial.startswith("urn:uuid:"):
        return serial.removeprefix("urn:uuid:")
    digest = hashlib.sha256(built.text.encode("utf-8")).hexdigest()
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"aisbom:{digest}"))


def _licence_expression(entry: dict[str, Any]) -> str | None:
    """A CycloneDX licence as an SPDX expression: its id or expression; a named licence as a
    LicenseRef (SPDX's form for licences outside its list)."""
    if "expression" in entry:
        return str(entry["expression"])
    licence = entry.get("license", {})
    if licence.get("id"):
        return str(licence["id"])
    if licence.get("name"):
        return "LicenseRef-" + re.sub(r"[^A-Za-z0-9.-]+", "-", str(licence["name"])).strip("-")
    return None


__all__ = ["SPEC_VERSION", "to_spdx"]
