"""aisbom.json_text writes exactly the bytes of json.dumps(indent=2), through the C encoder.

The reference is the standard library's own text (lone surrogates then escaped), compared on
the reports of every fixture directory (JSON and SARIF) and on generated documents that reach
every branch: flat and nested containers, lists of records, empty containers, strings holding
brackets, braces, quotes, newlines and lone surrogates, non-str keys, NaN and infinities.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from catalog import FIXTURES_DIR
from hypothesis import given, settings
from hypothesis import strategies as st

import aisbom.json_text as json_text
from aisbom.formats.interface import FormatOptions
from aisbom.formats.json_report import JsonFormat, report_dict
from aisbom.formats.sarif import sarif_dict
from aisbom.pipeline import scan_target

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def reference(document: object) -> str:
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


FIXTURE_DIRS = sorted(p for p in FIXTURES_DIR.glob("*/*") if p.is_dir() and not p.name.startswith("__"))


@pytest.mark.parametrize("directory", FIXTURE_DIRS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_reports_of_fixture_directories_are_the_bytes_of_json_dumps(directory):
    report = scan_target(directory, workers=1)
    assert report.files, directory
    for document in (report_dict(report), sarif_dict(report)):
        assert json_text.dumps(document) == reference(document)
    assert JsonFormat().format(report, FormatOptions()) == reference(report_dict(report))


def test_a_report_with_findings_on_every_fixture_is_the_bytes_of_json_dumps():
    report = scan_target(FIXTURES_DIR, workers=1)
    assert report.failing(), "the fixtures hold malicious files: findings must be in the report"
    for document in (report_dict(report), sarif_dict(report)):
        assert json_text.dumps(document) == reference(document)


_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list('{}[]",:\\\n\t }, {"a": 1}{}[]')),
        st.characters(),  # lone surrogates included
    ),
    max_size=12,
)
_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    _text,
)
_key = st.one_of(_text, st.integers(-5, 5), st.floats(allow_nan=False), st.booleans(), st.none())
_document = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(_key, inner, max_size=5),
        st.lists(st.dictionaries(_text, inner, min_size=1, max_size=4), min_size=1, max_size=4),
    ),
    max_leaves=40,
)


@settings(max_examples=250, deadline=None)  # about 10 s; the shapes repeat well before 1,000
@given(_document)
def test_any_document_is_the_bytes_of_json_dumps(document):
    assert json_text.dumps(document) == reference(document)


def test_what_json_dumps_refuses_is_refused():
    with pytest.raises(TypeError):
        json_text.dumps({"a": [1, {"b": object()}]})
    with pytest.raises(TypeError):
        json_text.dumps({(1, 2): 1})
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError):
        json_text.dumps([loop])


def test_a_lone_surrogate_is_escaped_and_reads_back():
    text = json_text.dumps({"path": "caf\udce9.bin", "n": math.inf})
    assert text.isascii() is False or "\\udce9" in text
    assert json.loads(text)["path"] == "caf\udce9.bin"


def test_runs_of_flat_records_between_nested_ones_are_the_bytes_of_json_dumps():
    """A scan's list of files where a few hold findings: the runs of files without any are laid
    out a run at a time, the others one by one, and the text is still json.dumps's."""
    files = [
        {"path": f"{i:06d}.bin", "size": i, "findings": [], "silenced": [], "note": None} for i in range(1000)
    ]
    for i in (0, 1, 97, 98, 500, 999):
        files[i]["findings"] = [{"rule": "r", "evidence": {"k": "v"}, "members": []}]
    files[300]["path"] = 'a "{[" name},\n{'  # brackets in a string: its run is laid out one by one
    files[301] = {}
    for document in ({"files": files}, files, files[1:3], files[97:99], files[2:5]):
        assert json_text.dumps(document) == reference(document)
