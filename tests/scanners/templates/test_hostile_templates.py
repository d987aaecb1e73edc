"""Chat templates written to exhaust the analysis: it stays linear in the template and stops at
the file's deadline with a scan-limit finding."""

from __future__ import annotations

import random
import time

import pytest

from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file
from aisbom.scanners.templates.jinja_analysis import check_template


def many_arguments_many_calls(arguments: int, calls: int) -> str:
    """A macro of `arguments` parameters called from `calls` places: gathering what each
    argument receives one argument at a time is arguments x calls."""
    names = ",".join(f"a{i}" for i in range(arguments))
    return "{% macro m(" + names + ") %}{{ a0 }}{% endmacro %}" + "{{ m(1) }}" * calls


def test_a_macro_with_thousands_of_arguments_and_call_sites_is_analysed_in_linear_time():
    # 8,000 x 8,000 took about a minute when each argument scanned every call site.
    ctx = context_for_file("tokenizer_config.json", Limits(), Policy())
    started = time.process_time()
    check_template(many_arguments_many_calls(8_000, 8_000), ctx, key="chat_template")
    assert time.process_time() - started < 30
    assert not [f for f in ctx.sink if f.rule == "scan-limit"]


def test_a_macro_called_with_thousands_of_distinct_values_is_analysed_in_linear_time():
    source = "{% macro m(a) %}{{ a }}{% endmacro %}" + "".join(f"{{{{ m('v{i}') }}}}" for i in range(20_000))
    ctx = context_for_file("tokenizer_config.json", Limits(), Policy())
    started = time.process_time()
    check_template(source, ctx, key="chat_template")
    assert time.process_time() - started < 30


def test_the_analysis_stops_at_the_deadline_with_a_finding():
    ctx = context_for_file("tokenizer_config.json", Limits(), Policy())
    ctx.budget.deadline = time.monotonic() - 1
    check_template(many_arguments_many_calls(10, 10_000), ctx, key="chat_template")
    [limit] = [f for f in ctx.sink if f.rule == "scan-limit"]
    assert dict(limit.evidence)["limit"] == "max_seconds_per_file"
    assert "chat_template" in limit.message


def test_a_json_file_too_large_to_parse_is_searched_for_its_keys_in_linear_time():
    # Over max_json_bytes a document is not parsed: its top-level keys are found by a walk over
    # strings and brackets. Before, an unterminated string of escaped quotes made the walk
    # retry from every one of them (200 KB: about a minute).
    from payloads import scan

    data = b'{"a": {"chat_template": 1}, "b": "' + b'\\"' * 100_000
    limits = Limits(max_json_bytes=1_000, max_keras_config=1_000)
    started = time.process_time()
    _, findings = scan(data, limits)
    assert time.process_time() - started < 5
    assert [f for f in findings if dict(f.evidence).get("limit") == "max_json_bytes"] == []


def test_a_top_level_key_of_a_json_file_too_large_to_parse_is_still_found():
    from payloads import scan

    data = b'{"a": {"chat_template": 1}, "b": "x\\"y", "chat_template": "{{ x }}"}' + b" " * 2_000
    _, findings = scan(data, Limits(max_json_bytes=1_000))
    assert [f.rule for f in findings if dict(f.evidence).get("limit") == "max_json_bytes"] == ["scan-limit"]
    nested_only = b'{"a": {"chat_template": 1}, "b": "x\\"y"}' + b" " * 2_000
    _, findings = scan(nested_only, Limits(max_json_bytes=1_000))
    assert not [f for f in findings if dict(f.evidence).get("limit") == "max_json_bytes"]


def _string_end_oracle(data: bytes) -> int:
    """Where a JSON string's body ends, byte by byte: at the quote no backslash escapes, or at
    the end of the data (or of the data but a lone backslash)."""
    pos = 0
    while pos < len(data) and data[pos : pos + 1] != b'"':
        if data[pos : pos + 1] == b"\\":
            if pos + 1 == len(data):
                return pos
            pos += 1
        pos += 1
    return pos


_BODIES = [
    b"",
    b'"',
    b'abc"rest',
    b'x\\"y"z',
    b"unterminated",
    b"a\\",
    b"\\",
    b'\\"' * 1024 + b'"',
    b'\\"' * 1025 + b'"tail',
    b'\\"' * 3000 + b"\\",
    b"\\\\" * 3000 + b'"',
    b"\\\\" * 3000 + b'\\""',
    b"plain" * 500 + b'\\n\\u00e9"',
    # seeded mixes of the four bytes that matter
    *(bytes(random.Random(seed).choice(b'\\\\\\"ab') for _ in range(4000)) for seed in range(20)),
]


@pytest.mark.parametrize("possessive", [True, False], ids=["Python 3.11+ pattern", "Python 3.10 parts"])
@pytest.mark.parametrize("body", _BODIES, ids=range(len(_BODIES)))
def test_a_string_body_ends_where_a_byte_by_byte_reading_ends_it(monkeypatch, possessive, body):
    # The walk over a JSON document too large to parse finds each string's end with one possessive
    # pattern where Python has them (3.11+), and in parts of at most 1,024 escapes on 3.10 (a
    # repeated group there keeps state per repetition). Both are held to the byte-by-byte reading.
    from aisbom.scanners.readers import json_document

    if possessive and json_document._STRING_BODY is None:
        pytest.skip("possessive quantifiers need Python 3.11")
    if not possessive:
        monkeypatch.setattr(json_document, "_STRING_BODY", None)
    ctx = context_for_file("tokenizer_config.json", Limits(), Policy())
    for rest in (body, body + b" trailing"):  # the data ends in the body, or goes on after it
        assert json_document._string_end(b'"' + rest, 1, ctx) == 1 + _string_end_oracle(rest)
