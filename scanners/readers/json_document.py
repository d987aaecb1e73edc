"""JSON documents as json.loads reads them, parsed at most once per object.

A JSON file means nothing by itself; its loader gives it meaning. Two loaders read code-bearing
JSON: transformers renders the chat templates of tokenizer_config.json / chat_template.json,
and Keras builds models from config.json and model.json. Each has its own check, which decides
from a byte search whether a file concerns it; a file that concerns both (a large data JSON
full of \\u escapes) is parsed once for the two.

The bytes are read as `json.loads(bytes)` reads them, the most lenient of those loaders (Keras
hands the bytes of a .keras member to it): any amount of leading whitespace, UTF-8 with or
without a BOM, UTF-16 and UTF-32 recognised by their zero bytes. Key names may be spelled with
\\u escapes. A document json.loads cannot read here only for want of stack (deep nesting) is
parsed again on a fresh stack (`fresh_stack`), as a loader's own call would read it; if that
fails too, the scan says it is incomplete rather than calling the file clean.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.readers.fresh_stack import retry_on_fresh_stack
from aisbom.wording import counted

# A template starting `{{ bos_token }}` (or `{%`, `{#`) sniffs as JSON, but no JSON document
# starts so: json.loads, and so every JSON loader, refuses it.
TEMPLATE_STARTS = (b"{%", b"{{", b"{#")
_SPACE = re.compile(rb"[ \t\r\n]*")
_TEXT_SPACE = " \t\r\n"
_WINDOW = 512  # bytes decoded after the whitespace to judge how a document starts
_ARRAY_ITEM_STARTS = tuple('{["-0123456789tfn]')


@dataclass(frozen=True)
class JsonDocument:
    """A JSON document as json.loads reads it, with every chat template it holds."""

    value: dict[str, object]  # as json.loads returns it: of duplicate keys, the last one wins
    # Every "chat_template" value, including ones a later duplicate key hides from json.loads
    # (another JSON parser may keep the first).
    chat_templates: tuple[object, ...]


def encoding(data: Data) -> str:
    """The encoding json.loads (json.detect_encoding) decodes these bytes with."""
    head = bytes(data[:4])
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_BE, codecs.BOM_UTF32_LE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)):
        return "utf-16"
    if len(head) >= 4:
        if not head[0]:
            return "utf-16-be" if head[1] else "utf-32-be"
        if not head[1]:
            return "utf-16-le" if head[2] or head[3] else "utf-32-le"
    elif len(head) == 2:
        if not head[0]:
            return "utf-16-be"
        if not head[1]:
            return "utf-16-le"
    return "utf-8"


def start(data: Data) -> str:
    """The text after the leading whitespace, as json.loads decodes the bytes: up to 512 bytes'
    worth, '' if none or if they are not text (invalid in their encoding, or holding NULs).
    Whitespace may run for any length, so it is skipped without a window."""
    name = encoding(data)
    if name in ("utf-8", "utf-8-sig"):
        return _utf8_start(data, _utf8_text_at(data, name))
    return _other_start(data, name)


def _utf8_text_at(data: Data, name: str) -> int:
    """Where the text after the leading whitespace starts, in bytes of UTF-8."""
    skip = _SPACE.match(data, 3 if name == "utf-8-sig" else 0)  # type: ignore[call-overload]
    return skip.end() if skip else 0


def _utf8_start(data: Data, at: int) -> str:
    window = bytes(data[at : at + _WINDOW])
    try:
        text = window.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(window) - 4:  # not text (a character cut at the window is fine)
            return ""
        text = window[: exc.start].decode("utf-8")
    return "" if "\x00" in text else text


def _other_start(data: Data, name: str) -> str:
    decoder = codecs.getincrementaldecoder(name)("strict")
    text = ""
    try:
        for at in range(0, len(data), 4096):
            text = (text + decoder.decode(bytes(data[at : at + 4096]))).lstrip(_TEXT_SPACE)
            if len(text) >= _WINDOW // 4:
                break
    except UnicodeDecodeError:
        return ""
    return "" if "\x00" in text else text


def looks_like_json(data: Data) -> bool:
    """An object (or a template that only looks like one), or an array of JSON values, after any
    amount of whitespace, in any encoding json.loads detects."""
    name = encoding(data)
    if name in ("utf-8", "utf-8-sig"):
        at = _utf8_text_at(data, name)
        # Decoded, the text starts with the character this byte starts (UTF-8 is self-
        # synchronising), "{" or "[" only if the byte is one: most binary files stop here,
        # before 512 bytes are decoded.
        if data[at : at + 1] not in (b"{", b"["):
            return False
        first = _utf8_start(data, at)
    else:
        first = _other_start(data, name)
    if first[:1] == "{":
        return True
    return first[:1] == "[" and first[1:].lstrip(_TEXT_SPACE)[:1] in _ARRAY_ITEM_STARTS


def starts_as_template(data: Data) -> bool:
    return start(data).encode().startswith(TEMPLATE_STARTS)


def utf8(data: Data, ctx: ScanContext) -> Data:
    """The document as UTF-8 bytes, for byte searches: `data` itself unless it is UTF-16/32 (then
    a decoded copy, made once per object; b"" for a document too large to decode)."""
    if encoding(data) in ("utf-8", "utf-8-sig"):
        return data
    if len(data) > ctx.limits.max_json_bytes:
        return b""
    return ctx.reuse("json-utf8", data, lambda: bytes(data).decode(encoding(data), "replace").encode())


def _key_pattern(key: str) -> re.Pattern[bytes]:
    """A JSON string json.loads decodes to `key`: each character literal or \\u-escaped (hex digits
    in either case)."""

    def unit(char: str) -> bytes:
        digits = b"".join(
            b"[" + d.encode() + d.upper().encode() + b"]" if d.isalpha() else d.encode()
            for d in f"{ord(char):04x}"
        )
        return b"(?:" + re.escape(char.encode()) + rb"|\\u" + digits + b")"

    return re.compile(b'"' + b"".join(unit(c) for c in key) + b'"')


_PATTERNS: dict[str, re.Pattern[bytes]] = {}


def names_key(data: Data, key: str) -> bool:
    """Whether the UTF-8 JSON text `data` holds a string json.loads decodes to `key`. A literal
    search first; the escape-aware pattern only where escapes appear at all."""
    if data.find(b'"' + key.encode() + b'"') >= 0:
        return True
    if data.find(b"\\u") < 0:
        return False
    pattern = _PATTERNS.get(key)
    if pattern is None:
        pattern = _PATTERNS[key] = _key_pattern(key)
    return pattern.search(data) is not None  # type: ignore[call-overload]


def wants_document(
    data: Data, ctx: ScanContext, key: str, *, limit: int, limit_name: str, skipped: str
) -> bool:
    """Whether the JSON file in `data` may hold `key`, so needs parsing (a key may be spelled with
    \\u escapes): datasets hold many JSON files, and a file without the key costs one byte search.
    A file over `limit` bytes is not wanted; it is reported (`skipped` says what went unanalysed)
    when `key` is one of its own top-level keys, or when it is a UTF-16/32 document too large to
    decode for the search."""
    text = utf8(data, ctx)
    if len(data) <= limit:
        return names_key(text, key)
    if not text or (names_key(text, key) and has_top_level_key(text, key, ctx)):
        ctx.report(
            "scan-limit",
            f"JSON file with a {key} key is {counted(len(data), 'byte')}, more than "
            f"{limit_name} ({limit}); {skipped} not analysed",
            evidence={"limit": limit_name},
        )
    return False


# A bracket or the quote that opens a string; a string's body after its opening quote (possessive:
# it never gives back what it matched, so no state is kept per repetition); the colon that makes
# a string a key.
_STRUCTURE = re.compile(rb'["{}\[\]]')
_STRING_BODY = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+', re.DOTALL) if sys.version_info >= (3, 11) else None
# Python 3.10 has no possessive quantifiers, and a repeated group keeps state per repetition
# there (32 MB of \" took 2.3 GB in one match): at most this many escapes per match instead.
_STRING_PART = re.compile(rb'[^"\\]*(?:\\.[^"\\]*){0,1024}', re.DOTALL)
_COLON = re.compile(rb"[ \t\r\n]*:")
_TIME_CHECK_EVERY = 100_000  # tokens between deadline checks


def has_top_level_key(data: Data, key: str, ctx: ScanContext) -> bool:
    """Whether the UTF-8 JSON object in `data` has `key` among its own keys, found by a streaming
    walk over its strings and brackets: for documents too large to parse. Out of time, it
    cannot tell, and says yes. One pass from left to right: a pattern that matched strings
    wherever a quote starts retried from every escaped quote of an unterminated string, so
    n bytes of \\" cost n * n / 4 steps."""
    depth = 0
    pos = 0
    count = 0
    while (token := _STRUCTURE.search(data, pos)) is not None:  # type: ignore[call-overload]
        count += 1
        if count % _TIME_CHECK_EVERY == 0 and ctx.out_of_time():
            return True
        if token.group() != b'"':
            depth += 1 if token.group() in (b"{", b"[") else -1
            pos = token.end()
            continue
        end = _string_end(data, token.end(), ctx)
        if end is None:
            return True
        if data[end : end + 1] != b'"':
            return False  # the document ends inside a string
        pos = end + 1
        if depth != 1 or not _COLON.match(data, pos):  # type: ignore[call-overload]
            continue  # not one of the object's own keys
        if _string(bytes(data[token.end() : end])) == key:
            return True
    return False


def _string_end(data: Data, start: int, ctx: ScanContext) -> int | None:
    """Where the body of the string that starts at `start` ends: at its closing quote, or where
    the data ends or a lone backslash ends it. None when out of time."""
    # (Both patterns match the empty string: they always match.)
    if _STRING_BODY is not None:
        body: re.Match[bytes] | None = _STRING_BODY.match(data, start)  # type: ignore[call-overload]
        return body.end() if body else start
    pos, parts = start, 0
    while True:
        part: re.Match[bytes] | None = _STRING_PART.match(data, pos)  # type: ignore[call-overload]
        end = part.end() if part else pos
        if end == pos or data[end : end + 1] != b"\\":
            return end  # a quote, the end of the data, or a lone backslash before it
        pos = end  # the 1,025th escape: the next part starts with it
        parts += 1
        if parts % 100 == 0 and ctx.out_of_time():
            return None


def _string(body: bytes) -> str | None:
    try:
        value = json.loads(b'"' + body + b'"')
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def parse(data: Data, ctx: ScanContext) -> JsonDocument | None:
    """The JSON object in `data`, or None if it holds none (not JSON, or not an object). A
    document too deeply nested to read is reported once (scan-limit) and gives None."""
    return ctx.reuse("json-document", data, lambda: _parse_or_report(data, ctx))


def _parse_or_report(data: Data, ctx: ScanContext) -> JsonDocument | None:
    try:
        return _parse(bytes(data))
    except RecursionError:
        ctx.report(
            "scan-limit",
            "JSON document nests too deeply for Python's json reader; a loader with more stack "
            "may read it, so the chat templates and model configs it may hold were not analysed",
            evidence={"limit": "json_depth"},
        )
        return None


def loads(text: str | bytes, *, on_retry: Callable[[], None] | None = None, **options: object) -> object:
    """json.loads; a document too deep for the scanner's remaining stack is read again on a fresh
    stack, as a loader calling json.load from its own top level would read it. Raises
    ValueError, or RecursionError when even that fails."""
    try:
        return json.loads(text, **options)  # type: ignore[arg-type]  # safe: JSON data, read as data
    except RecursionError:
        if on_retry is not None:
            on_retry()  # hooks that collected values from the failed reading start again
    return retry_on_fresh_stack(lambda: json.loads(text, **options))  # type: ignore[arg-type]


def _parse(raw: bytes) -> JsonDocument | None:
    """Raises RecursionError; any other failure means not a JSON object."""
    found: list[object] = []

    def collect(pairs: list[tuple[str, object]]) -> dict[str, object]:
        found.extend(value for key, value in pairs if key == "chat_template")
        return dict(pairs)

    try:
        document = loads(raw, on_retry=found.clear, object_pairs_hook=collect)
    except ValueError:
        return None  # not JSON: no loader reads a template or a model from it
    if not isinstance(document, dict):
        return None
    return JsonDocument(document, tuple(found))
