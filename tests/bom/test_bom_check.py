"""The checks the schema cannot make: unique bom-refs, resolving references, model cards on models."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest

from aisbom.bom.build import dumps
from aisbom.bom.check import BomError, reference_errors, validate


@pytest.fixture
def doc(minilm_boms: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return copy.deepcopy(minilm_boms["1.6"])


def test_the_real_bom_passes(doc):
    validate(doc)


def test_duplicate_bom_refs(doc):
    files = doc["components"][0]["components"]
    files[1]["bom-ref"] = files[0]["bom-ref"]
    assert f"bom-ref {files[0]['bom-ref']!r} is not unique (2 times)" in reference_errors(doc)


def test_dangling_references_everywhere_aisbom_writes_them(doc):
    doc["dependencies"][0]["dependsOn"] = ["file:gone"]
    doc["components"][0]["modelCard"]["modelParameters"]["datasets"][0]["ref"] = "dataset:gone"
    doc["declarations"]["claims"][0]["target"] = "model:gone"
    doc["declarations"]["attestations"][0]["map"][0]["requirement"] = "en-304-223:9.9.9"
    problems = "\n".join(reference_errors(doc))
    for ref in ("file:gone", "dataset:gone", "model:gone", "en-304-223:9.9.9"):
        assert f"refers to {ref!r}" in problems


def test_model_card_only_on_models(doc):
    doc["components"][0]["components"][0]["modelCard"] = {"bom-ref": "model-card:elsewhere"}
    assert any("a modelCard on a file component" in p for p in reference_errors(doc))


def test_schema_violations_are_reported_with_their_place(doc):
    doc["components"][0]["modelCard"]["modelParameters"]["properties"] = []  # the schema forbids it
    with pytest.raises(BomError, match=r"schema: at /components/0/modelCard/modelParameters"):
        validate(doc)


def test_validation_works_offline(doc, monkeypatch: pytest.MonkeyPatch):
    import socket

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("network access during validation")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    validate(doc)


def test_a_long_array_is_validated_whole_and_a_duplicate_in_it_is_found(doc):
    """A model of 5,000 files: every file goes through the schema, and the schema's
    `uniqueItems` still finds two equal files (the pure-Python validator compared them pairwise:
    45 s for this size)."""
    from aisbom.bom.check import schema_errors

    files = doc["components"][0]["components"]
    template = files[0]
    files[:] = [{**copy.deepcopy(template), "bom-ref": f"file:{i}", "name": f"{i}.bin"} for i in range(5000)]
    assert schema_errors(dumps(doc), "1.6", strict=True) == []

    files[4321]["hashes"][0]["alg"] = "SHA-999"
    files[4999] = copy.deepcopy(files[0])
    problems = schema_errors(dumps(doc), "1.6", strict=True)
    assert set(problems) == {
        "schema: at /components/0/components: duplicate items in an array of unique items",
        'schema: at /components/0/components/4321/hashes/0/alg: "SHA-999" is not one of "MD5", "SHA-1" '
        "or 10 other candidates",
    }


@pytest.mark.parametrize("version", ["1.6", "1.7"])
def test_the_schema_says_what_the_reference_validator_says(minilm_boms, version: str):
    """jsonschema-rs against the pure-Python jsonschema that cyclonedx-python-lib validates with,
    on the real BOM and on broken copies of it: the same verdict, problem by problem place."""
    jsonschema = pytest.importorskip("jsonschema")
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    from aisbom.bom.check import schema_errors

    library = JsonStrictValidator(SchemaVersion.from_version(version))._validator  # (its Draft7Validator)
    checker = jsonschema.FormatChecker()
    checker.checkers = dict(library.format_checker.checkers)
    for name in ("iri", "iri-reference"):  # rfc3987_syntax takes 0.1 s an IRI: each is checked once
        check, raises = checker.checkers[name]
        checker.checkers[name] = (functools.cache(check), raises)
    reference = library.evolve(format_checker=checker)
    good = copy.deepcopy(minilm_boms[version])
    del good["components"][0]["components"][3:]  # (the reference compares array items pairwise)
    del good["dependencies"][3:]
    broken: list[dict[str, Any]] = [good]
    for change in (
        lambda d: d["metadata"].update(timestamp="yesterday"),
        lambda d: d["components"][0].update(type="weights"),
        lambda d: d["components"][0]["hashes"][0].update(content="not hex"),
        lambda d: d["components"][0].update(unknown_field=1),
        lambda d: d["dependencies"].append(d["dependencies"][0]),
        lambda d: d["metadata"]["tools"]["components"][0].update(name=3),
        lambda d: d.update(externalReferences=[{"type": "website", "url": "https://exa mple.com"}]),
        lambda d: d.update(externalReferences=[{"type": "website", "url": "https://例え.jp/パ ス"}]),
        lambda d: d["declarations"]["claims"][0].update(evidence="claim"),
        lambda d: d.update(specVersion=1.6),
    ):
        copied = copy.deepcopy(good)
        change(copied)
        broken.append(copied)
    for n, bom in enumerate(broken):
        text = dumps(bom)
        ours = {p.split(": ", 2)[1] for p in schema_errors(text, version, strict=True)}
        theirs = {"at /" + "/".join(str(x) for x in e.absolute_path) for e in reference.iter_errors(bom)}
        assert ours == theirs
        assert bool(ours) == (n > 0)  # the real BOM passes; every broken copy fails


def test_validation_never_fetches_a_schema():
    """A schema referred to but not shipped is never retrieved: compiling it fails, saying why."""
    import jsonschema_rs

    from aisbom.bom.check import _no_retrieval

    with pytest.raises(ValueError, match="retrieving it failed: .* not among the schemas shipped"):
        jsonschema_rs.Draft7Validator(
            {"$ref": "http://cyclonedx.org/schema/other.schema.json"}, retriever=_no_retrieval
        )


def test_checking_a_bom_imports_no_pure_python_validator():
    """The pure-Python jsonschema (and with it rfc3987_syntax, 3 s of CPU to import) stays out of
    a process that checks a BOM."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from aisbom.bom.check import schema_errors\n"
        'doc = \'{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, '
        '"externalReferences": [{"type": "website", "url": "https://exa mple.com"}]}\'\n'
        "print(schema_errors(doc, '1.6', strict=True))\n"
        "print(sorted(m for m in ('jsonschema', 'rfc3987_syntax', 'referencing') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    errors, modules = done.stdout.splitlines()
    assert "externalReferences/0/url" in errors  # the URL is still checked
    assert modules == "[]"
