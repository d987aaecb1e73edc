"""Shortcuts the sniffer takes, each giving the verdicts of the long way round.

A format's recogniser is asked only of files whose first bytes meet the registry's `needs` for
it: a recogniser never claims a file that does not meet them, so skipping it changes no verdict.
Checked on every real file of each format, on those files with their first bytes changed, cut
short or prefixed, and on random bytes of every first byte; and the sniffer's verdict with the
recognisers skipped is the verdict with all of them asked, on every fixture. JSON is refused by
the first byte after its whitespace as by its decoded start; the pickle test, asked once, hands
on its own answer."""

from __future__ import annotations

import importlib.util
import marshal
import random
from collections.abc import Callable, Iterator

import pytest
from catalog import FIXTURES_DIR, UNANALYSED

import aisbom.scanners.frame.sniff as sniffing
from aisbom.scanners.frame.registry import FORMATS, LOOKS_LIKE_PICKLE, also_checks, load
from aisbom.scanners.readers import json_document


def _recognisers() -> list[tuple[str, Callable[[bytes], bool]]]:
    return [(name, load(fmt.recognise)) for name, fmt in FORMATS.items() if fmt.recognise]


def _admitted(name: str, data: bytes) -> bool:
    needs = FORMATS[name].needs
    return not needs or any(offset < len(data) and data[offset] in values for offset, values in needs)


def _samples() -> Iterator[bytes]:
    """Real files of every recognised format, and the variants their patterns allow."""
    for fixture in UNANALYSED:
        yield fixture.abspath.read_bytes()
    code = marshal.dumps(compile("import os\nos.system('x')", "x", "exec"))
    yield code
    for header in (16, 12, 8):  # .pyc headers of Python 3.7+, 3.3-3.6, 2.x
        yield importlib.util.MAGIC_NUMBER + bytes(header - 4) + code
    yield b"\xff" + code[1:]  # (refused: a code type byte is needed)
    xml = (FIXTURES_DIR / "unanalysed/openvino/model.xml").read_bytes()
    cfg = (FIXTURES_DIR / "unanalysed/darknet/tiny.cfg").read_bytes()
    symbol = (FIXTURES_DIR / "unanalysed/mxnet/model-symbol.json").read_bytes()
    for prefix in (b"\xef\xbb\xbf", b" \t\r\n\x0b\x0c", b"<?xml version='1.0'?>\n<!-- c -->\n"):
        yield prefix + xml
    for prefix in (b"\xef\xbb\xbf", b"\n\n", b"# comment\n; other\n", b" \t\x0b\x0c\r\n"):
        yield prefix + cfg
    yield b" \t\r\n\x0b\x0c" + symbol
    yield b'\x0b\x0c{"nodes": [{"op": "null"}], "arg_nodes": [], "heads": []}'


def _variants(sample: bytes) -> Iterator[bytes]:
    """The sample with each of its first bytes set to every value, cut short, and prefixed."""
    for offset in range(min(len(sample), 8)):
        for value in range(256):
            yield sample[:offset] + bytes([value]) + sample[offset + 1 :]
    for length in range(min(len(sample), 80)):
        yield sample[:length]
    for value in range(256):
        yield bytes([value]) + sample


SAMPLES = list(_samples())


def test_every_recogniser_claims_a_sample():
    claimed = {name for sample in SAMPLES for name, recognise in _recognisers() if recognise(sample)}
    assert claimed == {name for name, fmt in FORMATS.items() if fmt.recognise}


@pytest.mark.parametrize("index", range(len(SAMPLES)))
def test_no_recogniser_claims_what_its_needs_refuse(index):
    recognisers = _recognisers()
    for data in (SAMPLES[index], *_variants(SAMPLES[index])):
        for name, recognise in recognisers:
            if recognise(data):
                assert _admitted(name, data), (name, data[:16])


def test_random_bytes_of_every_first_byte():
    rng = random.Random(16)
    recognisers = _recognisers()
    for value in range(256):
        for length in (1, 2, 5, 9, 64, 4096):
            data = bytes([value]) + rng.randbytes(length - 1)
            for name, recognise in recognisers:
                if recognise(data):
                    assert _admitted(name, data), (name, data[:16])


def _every_recogniser_asked(head: bytes) -> list[tuple[str, Callable[[bytes], bool]]]:
    return _recognisers()


def _inputs() -> Iterator[bytes]:
    for path in sorted(FIXTURES_DIR.rglob("*")):
        if path.is_file():
            yield path.read_bytes()
    for sample in SAMPLES:
        yield from _variants(sample)
    rng = random.Random(4)
    for value in range(256):
        for length in range(1, 10):
            yield bytes([value]) + rng.randbytes(length - 1)


def test_the_verdicts_are_those_of_every_recogniser_asked(monkeypatch):
    inputs = list(_inputs())
    quick = [sniffing.sniff(data) for data in inputs]
    monkeypatch.setattr(sniffing, "_recognisers_for", _every_recogniser_asked)
    assert [sniffing.sniff(data) for data in inputs] == quick
    assert set(quick) >= {name for name, fmt in FORMATS.items() if fmt.recognise}


def test_random_files_ask_few_recognisers():
    """The point of the needs: a random binary file is asked one or two recognisers, not sixteen."""
    rng = random.Random(7)
    asked = [len(sniffing._recognisers_for(rng.randbytes(512))) for _ in range(1000)]
    assert sum(asked) / len(asked) < 2


def _json_as_before(data: bytes) -> bool:
    """looks_like_json as it read every file: the decoded start, whatever its first byte."""
    first = json_document.start(data)
    if first[:1] == "{":
        return True
    return first[:1] == "[" and first[1:].lstrip(" \t\r\n")[:1] in tuple('{["-0123456789tfn]')


def _json_inputs() -> Iterator[bytes]:
    rng = random.Random(5)
    documents = [b'{"a": 1}', b"[1, 2]", b'[ {"a": 1}]', b"[x]", b"{%", b"[", b"{", b"[\n", b'"a"']
    for document in documents:
        for prefix in (b"", b" \t\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf  ", b"\x0b", b"\x00"):
            text = prefix + document
            yield text
            yield text + rng.randbytes(600)
            for encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
                yield text.decode("utf-8", "replace").encode(encoding)
    for value in range(256):
        for length in (1, 2, 3, 4, 5, 600):
            yield bytes([value]) + rng.randbytes(length - 1)
            yield b"  " + bytes([value]) + rng.randbytes(length - 1)
    for path in sorted(FIXTURES_DIR.rglob("*")):
        if path.is_file():
            yield path.read_bytes()


def test_json_is_refused_by_its_first_byte_as_by_its_decoded_start():
    """A UTF-8 file whose first byte after the whitespace is no "{" or "[" is refused before any
    decoding: the same verdict as decoding its start."""
    inputs = list(_json_inputs())
    assert [json_document.looks_like_json(data) for data in inputs] == [_json_as_before(d) for d in inputs]
    assert sum(map(json_document.looks_like_json, inputs)) > 50


def test_the_pickle_test_is_asked_once_and_its_answer_is_its_own():
    """The sniffer hands on what the pickle test said (registry.ALSO asks it again otherwise):
    the answer it hands on is the test's, and the checks added on it are the same."""
    looks_like_pickle = load(LOOKS_LIKE_PICKLE)
    inputs = [*_inputs(), *_json_inputs()]
    handed_on = 0
    for data in inputs:
        answered: dict[str, bool] = {}
        fmt = sniffing.sniff(data, answered)
        if LOOKS_LIKE_PICKLE in answered:
            handed_on += 1
            assert answered[LOOKS_LIKE_PICKLE] == looks_like_pickle(data)
        assert also_checks(fmt, data, answered) == also_checks(fmt, data)
    assert handed_on > len(inputs) / 2
