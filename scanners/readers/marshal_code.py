"""What a marshalled Python function would run, read without running it.

Keras Lambda layers store `marshal.dumps(function.__code__)`. `marshal.loads` is the only reader
of that format: it builds a code object and never runs it, and a code object's names (globals,
attributes, imports) and constants say what the function would call. Code objects are specific
to the Python version that wrote them, so bytecode from another version usually fails to
decode (or is rejected); the strings stored in the payload are then what can be reported.
"""

from __future__ import annotations

import marshal
import re
import struct
import types
from collections import deque
from dataclasses import dataclass

_MAX_CODE_OBJECTS = 10_000  # nested functions, comprehensions ... walked in one payload
_MAX_STRINGS = 200  # strings kept per payload
_MAX_STRING = 200  # characters kept of one string

# Marshal type codes of strings (FLAG_REF 0x80 may be set on each): short ASCII ('z', 'Z'
# interned) with a one-byte length; ASCII, interned, unicode and bytes with a four-byte length.
_SHORT_STRINGS = frozenset(b"zZ")
_LONG_STRINGS = frozenset(b"aAtus")
_PRINTABLE = re.compile(rb"[\x20-\x7e]+\Z")


@dataclass(frozen=True)
class CodeSummary:
    decoded: bool  # a code object was rebuilt (names are exact), else strings were scraped
    names: tuple[str, ...]  # globals, attributes, imports and closure names it uses, sorted
    strings: tuple[str, ...]  # string constants, in order of appearance
    problem: str = ""  # why the payload did not decode


def summarize(raw: bytes) -> CodeSummary:
    """Names and strings of the marshalled code object in `raw` (bounded by the caller)."""
    try:
        code = marshal.loads(raw)  # safe: builds a code object, never runs it
    except Exception as exc:  # malformed, or bytecode of another Python version
        return _scraped(raw, f"{type(exc).__name__}: {exc}")
    if not isinstance(code, types.CodeType):
        return _scraped(raw, f"the payload is a {type(code).__name__}, not a code object")
    names: set[str] = set()
    strings: list[str] = []
    pending = [code]
    seen = 0
    while pending and seen < _MAX_CODE_OBJECTS:
        current = pending.pop()
        seen += 1
        names.update(current.co_names)
        names.update(current.co_freevars)  # names it takes from a closure
        constants = deque(current.co_consts)
        while constants:
            value = constants.popleft()
            if isinstance(value, types.CodeType):
                pending.append(value)
            elif isinstance(value, (tuple, frozenset)):
                constants.extend(value)
            elif isinstance(value, (str, bytes)) and len(strings) < _MAX_STRINGS:
                text = value if isinstance(value, str) else value.decode("latin-1")
                strings.append(text[:_MAX_STRING])
    return CodeSummary(decoded=True, names=tuple(sorted(names)), strings=tuple(strings))


def scrape(raw: bytes) -> CodeSummary:
    """The names and strings of marshalled code without unmarshalling it (for data of unknown
    origin, which marshal.loads is not safe against)."""
    return _scraped(raw, "not unmarshalled")


def _scraped(raw: bytes, problem: str) -> CodeSummary:
    """Strings found where marshal stores strings, without rebuilding anything: a scan for
    string records, so identifiers (co_names) and constants alike come out."""
    found: list[str] = []
    pos, end = 0, len(raw)
    while pos < end and len(found) < _MAX_STRINGS:
        kind = raw[pos] & 0x7F
        if kind in _SHORT_STRINGS and pos + 2 <= end:
            size, start = raw[pos + 1], pos + 2
        elif kind in _LONG_STRINGS and pos + 5 <= end:
            size, start = struct.unpack_from("<I", raw, pos + 1)[0], pos + 5
        else:
            pos += 1
            continue
        chunk = raw[start : start + size]
        if size and len(chunk) == size and _PRINTABLE.match(chunk) and chunk.strip():
            found.append(chunk[:_MAX_STRING].decode("ascii"))
            pos = start + size
        else:
            pos += 1
    names = sorted({s for s in found if s.isidentifier()})
    strings = [s for s in found if not s.isidentifier()]
    return CodeSummary(decoded=False, names=tuple(names), strings=tuple(strings), problem=problem)
