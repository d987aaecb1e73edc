"""GGUF: a bounded header parser that finds chat-template escapes and lying headers."""

from __future__ import annotations

import struct
import time

import pytest
from catalog import BY_PATH, FIXTURES_DIR
from chat_templates import CHATML, STANDARD_TEMPLATES

from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file
from aisbom.scanners.gguf.header import scan_gguf
from aisbom.severity import Severity

U8, U32, I32, F32, BOOL, STRING, ARRAY, U64, F64 = 0, 4, 5, 6, 7, 8, 9, 10, 12
_PACK = {U8: "B", U32: "I", I32: "i", F32: "f", BOOL: "?", U64: "Q", F64: "d"}
ESCAPE = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"


def gguf(kvs=(), tensors=None, *, version=3, order="<", data_size=None, kv_count=None, tensor_count=None):
    """GGUF bytes. tensors: (name, dims, ggml_type, offset); default one F32 8x4 tensor."""
    wide = version >= 2
    count = order + ("Q" if wide else "I")

    def value(vtype, v):
        if vtype == STRING:
            raw = v.encode()
            return struct.pack(count, len(raw)) + raw
        if vtype == ARRAY:
            element, items = v
            return (
                struct.pack(order + "I", element)
                + struct.pack(count, len(items))
                + b"".join(value(element, item) for item in items)
            )
        return struct.pack(order + _PACK[vtype], v)

    tensors = [("token_embd.weight", (4, 8), 0, 0)] if tensors is None else tensors
    out = bytearray(b"GGUF" + struct.pack(order + "I", version))
    out += struct.pack(count, len(tensors) if tensor_count is None else tensor_count)
    out += struct.pack(count, len(kvs) if kv_count is None else kv_count)
    for key, vtype, v in kvs:
        out += value(STRING, key) + struct.pack(order + "I", vtype) + value(vtype, v)
    for name, dims, ggml_type, offset in tensors:
        out += value(STRING, name) + struct.pack(order + "I", len(dims))
        out += b"".join(struct.pack(count, d) for d in dims)
        out += struct.pack(order + "I", ggml_type) + struct.pack(order + "Q", offset)
    out += b"\0" * (-len(out) % 32)
    return bytes(out) + b"\x01" * (128 if data_size is None else data_size)


def scan(data: bytes, limits: Limits | None = None):
    ctx = context_for_file("model.gguf", limits or Limits(), Policy())
    scan_gguf(data, ctx)
    return ctx.sink


def worst(findings):
    return max((f.severity for f in findings), default=None)


def rules(findings):
    return {f.rule for f in findings}


# --- clean files ----------------------------------------------------------------------------


@pytest.mark.parametrize("version,order", [(1, "<"), (2, "<"), (3, "<"), (3, ">"), (2, ">")])
def test_every_version_and_byte_order_parses_clean(version, order):
    kvs = [
        ("general.architecture", STRING, "llama"),
        ("general.alignment", U32, 32),
        ("llama.rope.freq_base", F32, 10000.0),
        ("general.flag", BOOL, True),
        ("x.u8", U8, 7),
        ("x.f64", F64, 1.5),
        ("x.u64", U64, 1 << 40),
        ("tokenizer.ggml.tokens", ARRAY, (STRING, ["<s>", "</s>", "hello"])),
        ("tokenizer.ggml.scores", ARRAY, (F32, [0.0, 0.5, 1.0])),
        ("x.nested", ARRAY, (ARRAY, [(I32, [1, 2]), (I32, [3])])),
        ("tokenizer.chat_template", STRING, STANDARD_TEMPLATES["llama-3.1"]),
    ]
    assert scan(gguf(kvs, version=version, order=order)) == []


def test_a_vocabulary_of_150k_tokens_is_fast():
    tokens = [f"tok{i}" for i in range(150_000)]
    data = gguf(
        [
            ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)),
            ("tokenizer.ggml.token_type", ARRAY, (I32, [1] * 150_000)),
            ("tokenizer.chat_template", STRING, CHATML),
        ]
    )
    start = time.monotonic()
    assert scan(data) == []
    assert time.monotonic() - start < 1.0


def test_quantized_tensors_are_sized_by_their_blocks():
    # Q4_0 (type 2): 32 elements in 18 bytes; two 64x2 tensors = 4 blocks each = 72 bytes each.
    tensors = [("a", (64, 2), 2, 0), ("b", (64, 2), 2, 96)]
    assert scan(gguf(tensors=tensors, data_size=96 + 72)) == []
    assert worst(scan(gguf(tensors=tensors, data_size=96 + 71))) is Severity.HIGH


# --- templates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["tokenizer.chat_template", "tokenizer.chat_template.tool_use", "tokenizer.chat_template.rag"]
)
def test_escape_in_any_chat_template_key_is_critical(key):
    findings = scan(gguf([("tokenizer.chat_template", STRING, CHATML), (key, STRING, ESCAPE)]))
    assert worst(findings) is Severity.CRITICAL
    assert ("key", key) in findings[0].evidence


def test_jinja_under_other_template_keys_and_in_arrays_is_checked():
    assert worst(scan(gguf([("general.prompt_template", STRING, ESCAPE)]))) is Severity.CRITICAL
    array = (STRING, ["plain text", "{{ lipsum.__globals__ }}"])
    assert worst(scan(gguf([("tokenizer.chat_templates", ARRAY, array)]))) is Severity.CRITICAL
    # Non-template keys are never parsed as templates.
    assert scan(gguf([("general.description", STRING, ESCAPE)])) == []


def test_unparseable_template_is_reported():
    (finding,) = scan(gguf([("tokenizer.chat_template", STRING, "{% for m in messages %}")]))
    assert finding.rule == "template-unparseable"


def test_oversized_template_is_a_limit_not_a_parse():
    template = "{{ x }}" * 200_000
    (finding,) = scan(
        gguf([("tokenizer.chat_template", STRING, template)]), Limits(max_template_chars=100_000)
    )
    assert finding.rule == "scan-limit"


# --- lying and inconsistent headers -----------------------------------------------------------


def test_counts_that_cannot_fit_are_high():
    for kwargs in ({"kv_count": 1 << 40}, {"tensor_count": 1 << 40}):
        (finding,) = scan(gguf(**kwargs))
        assert finding.rule == "gguf-header-invalid" and finding.severity is Severity.HIGH


def test_string_and_array_lengths_past_the_end_are_high():
    data = bytearray(gguf([("general.name", STRING, "tiny")]))
    struct.pack_into("<Q", data, data.index(b"general.name") + 12 + 4, 1 << 40)
    assert rules(scan(bytes(data))) == {"gguf-header-invalid"}
    data = bytearray(gguf([("tokenizer.ggml.scores", ARRAY, (F32, [1.0, 2.0]))]))
    struct.pack_into("<Q", data, data.index(b"scores") + 6 + 4 + 4, 1 << 60)
    assert worst(scan(bytes(data))) is Severity.HIGH


def test_unknown_version_and_value_type_are_high():
    data = bytearray(gguf())
    struct.pack_into("<I", data, 4, 7)
    assert worst(scan(bytes(data))) is Severity.HIGH
    broken = bytearray(gguf([("x.u8", U8, 1)]))
    struct.pack_into("<I", broken, broken.index(b"x.u8") + 4, 99)
    assert worst(scan(bytes(broken))) is Severity.HIGH


def test_too_many_dimensions_and_overflowing_dimensions_are_high():
    assert worst(scan(gguf(tensors=[("t", (1, 1, 1, 1, 1), 0, 0)]))) is Severity.HIGH
    assert worst(scan(gguf(tensors=[("t", (1 << 40, 1 << 40), 0, 0)]))) is Severity.HIGH


@pytest.mark.parametrize(
    "tensors,kvs,what",
    [
        ([("a", (4, 8), 0, 0), ("b", (4, 8), 0, 64)], [], "overlap"),
        ([("a", (4, 2), 0, 8)], [], "alignment"),
        ([("a", (4, 8), 200, 0)], [], "ggml type"),
        ([("a", (4, 8), 0, 0), ("a", (4, 8), 0, 128)], [], "repeats"),
        ([("a" * 64, (4, 8), 0, 0)], [], "refuses names"),
        ([("a", (5, 8), 2, 0)], [], "block size"),
        (None, [("general.alignment", U32, 24)], "power of two"),
        (None, [("general.alignment", U64, 32)], "not uint32"),
        (None, [("k", U8, 1), ("k", U8, 2)], "keys repeat"),
    ],
)
def test_layout_inconsistencies_are_medium(tensors, kvs, what):
    findings = scan(gguf(kvs, tensors, data_size=256))
    assert worst(findings) is Severity.MEDIUM, findings
    assert any(what in f.message for f in findings), findings


def test_truncation_at_every_cut_point_is_a_finding_never_an_exception():
    data = (FIXTURES_DIR / "benign/gguf/phi-3.gguf").read_bytes()
    for cut in range(len(data)):
        findings = scan(data[:cut])
        assert worst(findings) is not None and worst(findings) >= Severity.HIGH, cut


def test_big_endian_truncation_too():
    data = (FIXTURES_DIR / "benign/gguf/chatml_big_endian.gguf").read_bytes()
    for cut in range(8, len(data), 7):
        assert worst(scan(data[:cut])) >= Severity.HIGH, cut


def test_deeply_nested_arrays_hit_the_limit():
    value = (I32, [1])
    for _ in range(12):
        value = (ARRAY, [value])
    (finding,) = scan(gguf([("x", ARRAY, value)]))
    assert finding.rule == "scan-limit" and ("limit", "max_gguf_array_depth") in finding.evidence


# --- the structural fixtures ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["string_length_past_eof.gguf", "huge_kv_count.gguf", "tensor_past_eof.gguf"]
)
def test_lying_header_fixtures_are_high(name):
    # tests/test_fixtures_are_real.py shows the gguf package's reader fails on each (`proof`).
    fixture = BY_PATH[f"malicious/gguf/{name}"]
    assert fixture.proof.startswith("refused: ")
    findings = scan(fixture.abspath.read_bytes())
    assert rules(findings) == {"gguf-header-invalid"} and worst(findings) is Severity.HIGH
