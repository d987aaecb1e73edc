"""Checks a finished BOM before anything writes it.

The official JSON schema (through the library's `JsonStrictValidator`, offline: the schemas ship
inside cyclonedx-python-lib) says nothing about references, so this module also checks that
every bom-ref is unique, that every reference resolves, and that model cards sit only on
machine-learning-model components (and dataset details only on data components).
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

from aisbom.bom import iri_syntax, lasting
from aisbom.errors import AisbomError

SUPPORTED = ("1.6", "1.7")


class BomError(AisbomError):
    """A BOM that does not validate, or cannot be read."""


# jsonschema checks `uniqueItems` of an array of objects pairwise, so validating a model of
# 5,000 files took 45 s. Arrays of objects longer than this are validated in slices (each slice
# in a complete document, by the same validator), and their uniqueness checked here in one pass.
CHUNK = 200


def validate(doc: dict[str, Any], text: str) -> None:
    """Raise BomError with every problem found; `text` is `doc` serialized."""
    version = doc.get("specVersion", "")
    problems: list[str] = []
    for view in schema_views(doc):
        view_text = text if view is doc else json.dumps(view)
        problems += [p for p in schema_errors(view_text, version, strict=True) if p not in problems]
    problems += duplicate_items(doc)
    problems += reference_errors(doc)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise BomError(f"the generated BOM is not valid: {shown}")


def prepare(spec_version: str, *, strict: bool) -> None:
    """Import jsonschema and load the schema of `spec_version` ahead of `schema_errors` (about
    0.1 s of CPU): `aisbom bom` does it while the scan's workers hash. What they create lasts:
    it is frozen (aisbom.bom.lasting)."""
    with lasting.frozen_after(), contextlib.suppress(ValueError, KeyError, NotImplementedError):
        _validator(spec_version, strict)  # (schema_errors says what is wrong with the version)


@functools.cache
def _validator(spec_version: str, strict: bool) -> Any:
    """The library's validator of `spec_version`, its schemas loaded, once per process (a BOM
    with long arrays is validated in several views). Raises ValueError or KeyError for a
    version the library does not know, NotImplementedError for one without a JSON schema."""
    iri_syntax.use_for_jsonschema()  # before cyclonedx imports jsonschema: 3 s of CPU less
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator, JsonValidator

    version = SchemaVersion.from_version(spec_version)
    try:
        validator = (JsonStrictValidator if strict else JsonValidator)(version)
        validator._validator  # noqa: B018 - loads the schemas now (a property the library caches)
    except (ValueError, KeyError) as exc:
        raise RuntimeError(f"cannot load the CycloneDX {spec_version} schema: {exc}") from exc
    return validator


def schema_errors(text: str, spec_version: str, *, strict: bool) -> list[str]:
    try:
        validator = _validator(spec_version, strict)
    except (ValueError, KeyError):
        return [f"unsupported CycloneDX specVersion {spec_version!r}"]
    except NotImplementedError:
        return [f"no JSON schema for CycloneDX {spec_version}"]
    errors = validator.validate_str(text, all_errors=True)
    out = []
    for error in errors or ():
        detail = error.data
        where = "/".join(str(p) for p in getattr(detail, "absolute_path", ())) or "(root)"
        message = str(getattr(detail, "message", detail)).splitlines()[0][:300]
        out.append(f"schema: at /{where.lstrip('/')}: {message}")
    return out


def schema_errors_meanwhile(
    text: str, spec_version: str, *, strict: bool, meanwhile: Callable[[], None]
) -> list[str]:
    """`schema_errors`, worked out in a child process while this one runs `meanwhile` (which
    must not raise): `aisbom verify` hashes the model then, so importing jsonschema and
    validating (about 0.2 s of CPU) share the cores with the hashing instead of preceding it.
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


def schema_views(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Documents that together put every node of `doc` through the schema, in the place it has
    in `doc`, with no array of objects longer than CHUNK. `doc` itself when it has none.

    View k holds slice k of every long array (the last slice of a shorter one, never an empty
    array); long arrays inside the items of a slice are sliced in turn.
    """
    paths = list(_long_arrays(doc, ()))
    if not paths:
        yield doc
        return
    arrays = [_at(doc, path) for path in paths]
    slices = max(-(-len(items) // CHUNK) for items in arrays)
    for k in range(slices):
        view = doc
        for path, items in zip(paths, arrays, strict=True):
            start = min(k, (len(items) - 1) // CHUNK) * CHUNK
            view = _replaced(view, path, items[start : start + CHUNK])
        yield from schema_views(view)


def duplicate_items(doc: Any, where: str = "") -> list[str]:
    """The schema's `uniqueItems`, for the arrays `schema_views` slices (the schema checks the
    others): equal items serialize equally with sorted keys."""
    problems: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            problems += duplicate_items(value, f"{where}/{key}")
    elif isinstance(doc, list):
        if _is_long(doc):
            seen: set[str] = set()
            for i, item in enumerate(doc):
                canonical = json.dumps(item, sort_keys=True)
                if canonical in seen:
                    problems.append(f"schema: at {where}/{i}: duplicate item in an array of unique items")
                seen.add(canonical)
        for i, item in enumerate(doc):
            problems += duplicate_items(item, f"{where}/{i}")
    return problems


def _is_long(value: Any) -> bool:
    return isinstance(value, list) and len(value) > CHUNK and any(isinstance(i, dict | list) for i in value)


def _long_arrays(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """Paths of the outermost long arrays of objects."""
    if _is_long(node):
        yield path
        return
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        if isinstance(child, dict | list):
            yield from _long_arrays(child, (*path, key))


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


def _replaced(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of `node` with the value at `path` replaced; only the nodes on the path are copied."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[head] = _replaced(node[head], rest, value)
    return copy


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
