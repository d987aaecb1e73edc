"""The schema's "iri" and "iri-reference" formats, checked without rfc3987_syntax's 3 s import,
and the same answers as rfc3987_syntax gives."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from aisbom.bom.iri_syntax import is_iri, is_iri_reference

SAMPLES = [
    "https://huggingface.co/org/model",
    "https://huggingface.co/org/model/resolve/abc123/config.json?download=true#frag",
    "hf://org/name@rev",
    "pkg:huggingface/org/model@abc",
    "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
    "mailto:someone@example.com",
    "file:///tmp/x",
    "https://例え.jp/パス?q=値",
    "https://192.168.0.1/x",
    "https://user:pw@host/x",
    "relative/path",
    "../up",
    "//host/only",
    "?q",
    "#f",
    "",
    "http://exa mple.com",
    "https://host/%zz",
    "https://host/a b",
    "1http://x",
    "https://host/<x>",
    'https://host/"',
    "https://[::g]/",
    "a:b:c",
    "http://host/\x7f",
    "https://host/\\path",
]


@pytest.fixture(scope="module")
def reference():  # type: ignore[no-untyped-def]
    """rfc3987_syntax itself, even where a BOM validated in this process has kept it out."""
    kept_out = "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None
    if kept_out:
        del sys.modules["rfc3987_syntax"]
    try:
        return importlib.import_module("rfc3987_syntax")
    except ImportError:
        pytest.skip("rfc3987_syntax is not installed")
    finally:
        if kept_out:
            sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]


@pytest.mark.parametrize("text", SAMPLES)
def test_same_answers_as_rfc3987_syntax(reference, text: str) -> None:  # type: ignore[no-untyped-def]
    assert is_iri(text) == reference.is_valid_syntax("iri", text)
    assert is_iri_reference(text) == reference.is_valid_syntax("iri_reference", text)


@pytest.mark.parametrize("text", [t for t in SAMPLES if t.isascii()])
def test_ascii_text_gets_the_same_answers_from_the_whole_grammar(text: str) -> None:
    """ASCII text is matched by the grammar without the non-ASCII classes (it compiles 7 x
    faster); the whole grammar says the same of it."""
    from aisbom.bom.iri_syntax import _ASCII, _FULL

    for ascii_only, full in zip(_ASCII, _FULL, strict=True):
        assert (re.fullmatch(ascii_only, text) is None) == (re.fullmatch(full, text) is None)


def test_an_ipv6_literal_is_an_iri() -> None:
    # RFC 3987's ihost includes IP-literal; rfc3987_syntax 1.1.0 rejects it.
    assert is_iri("https://[2001:db8::1]:8443/x")
    assert not is_iri("https://[2001:db8::1::2]/x")


def test_validating_a_bom_does_not_import_rfc3987_syntax() -> None:
    script = (
        "import sys\n"
        "from aisbom.bom.check import schema_errors\n"
        'doc = \'{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, '
        '"externalReferences": [{"type": "website", "url": "https://exa mple.com"}]}\'\n'
        "print(schema_errors(doc, '1.6', strict=True))\n"
        "print(sys.modules.get('rfc3987_syntax'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    errors, module = done.stdout.splitlines()
    assert "externalReferences/0/url" in errors and "exa mple.com" in errors  # still checked
    assert module == "None"


def test_the_format_packages_left_out_check_no_format_of_the_cyclonedx_schemas() -> None:
    """jsonschema is imported without the packages of formats the schemas never use: every
    format the schemas use is still checked, and the packages stay importable afterwards."""
    from cyclonedx.schema import _res

    schemas = Path(_res.__file__).parent.glob("*.schema.json")
    used = {f for path in schemas for f in re.findall(r'"format"\s*:\s*"([^"]+)"', path.read_text())}
    script = (
        "import json, sys, jsonschema.validators\n"
        "print('isoduration' in sys.modules, 'idna' in sys.modules)\n"
        "import idna\n"
        "print(json.dumps(sorted(jsonschema.validators.Draft7Validator.FORMAT_CHECKER.checkers)))\n"
    )
    setup = "from aisbom.bom import iri_syntax; iri_syntax.use_for_jsonschema()\n"
    done = subprocess.run([sys.executable, "-c", setup + script], capture_output=True, text=True, check=True)
    absent, checked = done.stdout.splitlines()
    assert absent == "False False"  # not imported, and not kept out for whoever imports them next
    assert used - {"string"} <= set(json.loads(checked))  # "string" is no format jsonschema knows
    unused = {
        "hostname",
        "idn-hostname",
        "duration",
        "json-pointer",
        "relative-json-pointer",
        "uri-template",
        "color",
    }
    assert used and not used & unused


def test_uri_formats_are_checked_as_rfc3986_validator_checks_them_once_it_is_imported() -> None:
    """ "uri" (jsf-0.82) and "uri-reference" import rfc3986_validator on first use, not with
    jsonschema, and say what it says."""
    pytest.importorskip("rfc3986_validator")
    script = (
        "import json, sys\n"
        "from aisbom.bom import iri_syntax\n"
        "iri_syntax.use_for_jsonschema()\n"
        "import jsonschema\n"
        "before = 'rfc3986_validator' in sys.modules\n"
        "checker = jsonschema.Draft7Validator.FORMAT_CHECKER\n"
        "samples = json.loads(sys.argv[1])\n"
        "answers = [[checker.conforms(s, 'uri'), checker.conforms(s, 'uri-reference')] for s in samples]\n"
        "print(json.dumps([before, answers]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(SAMPLES)], capture_output=True, text=True, check=True
    )
    before, answers = json.loads(done.stdout)
    from rfc3986_validator import validate_rfc3986

    assert before is False
    expected = [
        [bool(validate_rfc3986(s, rule="URI")), bool(validate_rfc3986(s, rule="URI_reference"))]
        for s in SAMPLES
    ]
    assert answers == expected
