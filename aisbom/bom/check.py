"""Checks a finished BOM before anything writes it.

The official JSON schemas (the ones cyclonedx-python-lib ships, so validation works offline) are
checked with jsonschema-rs, a compiled validator: importing it, compiling the schema and
validating a BOM take 30-40 ms of CPU, where the library's own `JsonStrictValidator` (the
pure-Python jsonschema) took about 0.15 s for the same, more than any other step of `aisbom bom`
but the hashing, and compared the items of an array pairwise (45 s for a model of 5,000 files).
The schema says nothing about references, so this module also checks that every bom-ref is
unique, that every reference resolves, and that model cards sit only on machine-learning-model
components (and dataset details only on data components).
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

from aisbom.errors import AisbomError

SUPPORTED = ("1.6", "1.7")


class BomError(AisbomError):
    """A BOM that does not validate, or cannot be read."""


def validate(doc: dict[str, Any]) -> None:
    """Raise BomError with every problem found in a BOM built here."""
    problems = _schema_problems(doc, doc.get("specVersion", ""), strict=True)
    problems += reference_errors(doc)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise BomError(f"the generated BOM is not valid: {shown}")


def prepare(spec_version: str, *, strict: bool) -> None:
    """Import the validator and compile the schema of `spec_version` ahead of `schema_errors`:
    `aisbom bom` does it while the scan's workers hash."""
    with contextlib.suppress(ValueError, KeyError, NotImplementedError):
        _validator(spec_version, strict)  # (schema_errors says what is wrong with the version)


# Where the BOM schemas find the schemas they refer to (their `$id`s are under this prefix).
_SCHEMA_PREFIX = "http://cyclonedx.org/schema/"


@functools.cache
def _validator(spec_version: str, strict: bool) -> Any:
    """The compiled schema of `spec_version`, once per process (`bom` checks its BOM once, `verify`
    each BOM it reads). Raises ValueError or KeyError for a version the library does not know,
    NotImplementedError for one without a JSON schema."""
    import jsonschema_rs
    from cyclonedx.schema import SchemaVersion

    # The library's own table of its schema files (what its validators open).
    from cyclonedx.schema._res import BOM_JSON, BOM_JSON_STRICT, CRYPTOGRAPHY_DEFS, JSF, SPDX_JSON

    path = (BOM_JSON_STRICT if strict else BOM_JSON).get(SchemaVersion.from_version(spec_version))
    if path is None:
        raise NotImplementedError(f"no JSON schema for CycloneDX {spec_version}")
    try:
        referred = [
            (f"{_SCHEMA_PREFIX}{name}", _read_json(file))
            for name, file in (
                ("spdx.SNAPSHOT.schema.json", SPDX_JSON),
                ("jsf-0.82.SNAPSHOT.schema.json", JSF),
                ("cryptography-defs.SNAPSHOT.schema.json", CRYPTOGRAPHY_DEFS),
            )
        ]
        registry = jsonschema_rs.Registry(referred, retriever=_no_retrieval)
        return jsonschema_rs.Draft7Validator(
            _read_json(path), registry=registry, retriever=_no_retrieval, validate_formats=True
        )
    except (OSError, ValueError, jsonschema_rs.ReferencingError) as exc:
        raise RuntimeError(f"cannot load the CycloneDX {spec_version} schema: {exc}") from exc


def _read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _no_retrieval(uri: str) -> Any:
    """Every schema a BOM schema refers to is registered above: nothing is ever fetched."""
    raise ValueError(f"{uri} is not among the schemas shipped with cyclonedx-python-lib")


def schema_errors(text: str, spec_version: str, *, strict: bool) -> list[str]:
    """What the official schema of `spec_version` finds wrong with the JSON `text`."""
    try:
        instance = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return [f"not JSON ({exc})"]
    return _schema_problems(instance, spec_version, strict=strict)


def _schema_problems(instance: Any, spec_version: str, *, strict: bool) -> list[str]:
    try:
        validator = _validator(spec_version, strict)
    except (ValueError, KeyError):
        return [f"unsupported CycloneDX specVersion {spec_version!r}"]
    except NotImplementedError:
        return [f"no JSON schema for CycloneDX {spec_version}"]
    import jsonschema_rs

    out = []
    for error in validator.iter_errors(instance):
        where = "/".join(str(p) for p in error.instance_path)
        if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.UniqueItems):
            message = "duplicate items in an array of unique items"  # (its message holds the array)
        else:
            message = str(error.message).splitlines()[0][:300] if error.message else "invalid"
        out.append(f"schema: at /{where}: {message}")
    return out


def schema_errors_meanwhile(
    text: str, spec_version: str, *, strict: bool, meanwhile: Callable[[], None]
) -> list[str]:
    """`schema_errors`, worked out in a child process while this one runs `meanwhile` (which
    must not raise): `aisbom verify` hashes the model then, so importing the validator,
    compiling the schema and validating (30-40 ms of CPU) share the cores with the hashing
    instead of preceding it.
    Where there is no fork, or should the child die, both run here, one after the other."""
    import aisbom.forked as forked

    if not forked.can_fork():
        meanwhile()
        return schema_errors(text, spec_version, strict=strict)
    ran = False

    def between() -> bool:
        nonlocal ran
        if not ran:
            ran = True
            meanwhile()
        return False

    def work(job: str) -> dict[str, Any]:
        return {"problems": schema_errors(job, spec_version, strict=strict)}

    answers = [answer for _, answer in forked.run_all([text], work, workers=1, between=between)]
    if not ran:
        between()
    if len(answers) == 1 and isinstance(answers[0], dict):
        return [str(problem) for problem in answers[0]["problems"]]
    return schema_errors(text, spec_version, strict=strict)


def reference_errors(doc: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    refs: dict[str, int] = {}
    for ref in _bom_refs(doc):
        refs[ref] = refs.get(ref, 0) + 1
    problems += [f"bom-ref {ref!r} is not unique ({n} times)" for ref, n in sorted(refs.items()) if n > 1]
    for where, ref in _references(doc):
        if not ref.startswith("urn:cdx:") and ref not in refs:
            problems.append(f"{where} refers to {ref!r}, which is not in the BOM")
    for component, where in _components(doc):
        kind = component.get("type")
        if "modelCard" in component and kind != "machine-learning-model":
            problems.append(f"{where}: a modelCard on a {kind} component")
        if "data" in component and kind != "data":
            problems.append(f"{where}: dataset details on a {kind} component")
    return problems


def _bom_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("bom-ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _bom_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _bom_refs(item)


def _components(doc: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    def walk(items: list[Any], where: str) -> Iterator[tuple[dict[str, Any], str]]:
        for i, component in enumerate(items):
            if not isinstance(component, dict):
                continue
            here = f"{where}/{i}"
            yield component, here
            yield from walk(component.get("components", []), f"{here}/components")
            for key in ("ancestors", "descendants", "variants"):
                yield from walk(component.get("pedigree", {}).get(key, []), f"{here}/pedigree/{key}")

    yield from walk(doc.get("components", []), "/components")
    meta = doc.get("metadata", {})
    if isinstance(meta.get("component"), dict):
        yield from walk([meta["component"]], "/metadata/component")
    tools = meta.get("tools")
    if isinstance(tools, dict):
        yield from walk(tools.get("components", []), "/metadata/tools/components")


def _references(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, ref) for every reference in the parts of the schema aisbom writes."""
    for i, dep in enumerate(doc.get("dependencies", [])):
        yield f"/dependencies/{i}/ref", dep.get("ref", "")
        for key in ("dependsOn", "provides"):
            for ref in dep.get(key, []):
                yield f"/dependencies/{i}/{key}", ref
    for i, vuln in enumerate(doc.get("vulnerabilities", [])):
        for affected in vuln.get("affects", []):
            yield f"/vulnerabilities/{i}/affects", affected.get("ref", "")
    for i, comp in enumerate(doc.get("compositions", [])):
        for key in ("assemblies", "dependencies", "vulnerabilities"):
            for ref in comp.get(key, []):
                yield f"/compositions/{i}/{key}", ref
    for component, where in _components(doc):
        params = component.get("modelCard", {}).get("modelParameters", {})
        for dataset in params.get("datasets", []):
            if "ref" in dataset:
                yield f"{where}/modelCard/modelParameters/datasets", dataset["ref"]
    for i, standard in enumerate(doc.get("definitions", {}).get("standards", [])):
        for req in standard.get("requirements", []):
            if "parent" in req:
                yield f"/definitions/standards/{i}/requirements", req["parent"]
        for level in standard.get("levels", []):
            for ref in level.get("requirements", []):
                yield f"/definitions/standards/{i}/levels", ref
    declarations = doc.get("declarations", {})
    for i, attestation in enumerate(declarations.get("attestations", [])):
        if "assessor" in attestation:
            yield f"/declarations/attestations/{i}/assessor", attestation["assessor"]
        for entry in attestation.get("map", []):
            yield f"/declarations/attestations/{i}/map/requirement", entry.get("requirement", "")
            for key in ("claims", "counterClaims"):
                for ref in entry.get(key, []):
                    yield f"/declarations/attestations/{i}/map/{key}", ref
            for ref in entry.get("conformance", {}).get("mitigationStrategies", []):
                yield f"/declarations/attestations/{i}/map/conformance", ref
    for i, claim in enumerate(declarations.get("claims", [])):
        if "target" in claim:
            yield f"/declarations/claims/{i}/target", claim["target"]
        for key in ("evidence", "counterEvidence", "mitigationStrategies"):
            for ref in claim.get(key, []):
                yield f"/declarations/claims/{i}/{key}", ref
    for i, formula in enumerate(doc.get("formulation", [])):
        for workflow in formula.get("workflows", []):
            for task in [workflow, *workflow.get("tasks", [])]:
                for key in ("inputs", "outputs"):
                    for io in task.get(key, []):
                        ref = io.get("resource", {}).get("ref")
                        if ref is not None:
                            yield f"/formulation/{i}/{key}", ref
    for i, citation in enumerate(doc.get("citations", [])):
        for key in ("attributedTo", "process"):
            if key in citation:
                yield f"/citations/{i}/{key}", citation[key]
