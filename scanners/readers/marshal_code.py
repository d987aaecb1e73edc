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
    """The names a marshalled code object uses, read without running it."""

    decoded: bool  # a code object was rebuilt (names are exact), else strings were scraped
    names: tuple[str, ...]  # globals, attributes, imports and closure names it uses, sorted
    strings: tuple[str, ...]  # string constants, in order of appearance
    problem: str = ""  # why the payload did not decode


def summarize(raw: bytes) -> CodeSummary:
    """Names and strings of the marshalled code object in `raw` (bounded by the caller)."""
    problem = _unfit(raw)
    if problem:
        return _scraped(raw, problem)
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


# Marshal records by type code (FLAG_REF 0x80 masked off): bytes of fixed size after the type.
_FIXED = {**dict.fromkeys(b"0NFTS.", 0), ord("i"): 4, ord("r"): 4, ord("g"): 8, ord("y"): 16}
_COUNTED = frozenset(b"([<>")  # tuple, list, set, frozenset: a 4-byte count of objects
_DICT, _RAW4 = -1, -2  # stack entries: a dict (objects until NULL), the 4 bytes of firstlineno


def _unfit(raw: bytes) -> str:
    """Why marshal.loads should not be given `raw`, or "": a record it does not know here, or a
    count larger than the bytes that follow could hold. marshal.loads allocates a tuple, list
    or integer by the count it reads, before reading what it counts: a 3 KB payload took
    1.7 GB and 14 s. Walked as marshal reads it (this Python's code object layout), with every
    count still to be read held to the bytes left."""
    pos, end = 0, len(raw)
    stack = [1]  # objects still to read, per open container
    pending = 1  # their sum: each takes at least one byte
    while stack:
        top = stack[-1]
        if top == 0:
            stack.pop()
            continue
        if top == _RAW4:
            stack.pop()
            pos += 4
            continue
        if pos >= end:
            return "it ends inside a record"
        kind = raw[pos] & 0x7F
        pos += 1
        if top == _DICT and kind == ord("0"):
            stack.pop()
            continue
        if top > 0:
            stack[-1] -= 1
            pending -= 1
        count, size = 0, _FIXED.get(kind)
        if size is None:
            if kind in _COUNTED or kind == ord("l") or kind in _LONG_STRINGS:
                if pos + 4 > end:
                    return "it ends inside a record"
                (number,) = struct.unpack_from("<i", raw, pos)
                pos += 4
                if kind in _COUNTED:
                    count, size = number, 0
                elif kind == ord("l"):
                    size = 2 * abs(number)
                else:
                    size = number
            elif kind in _SHORT_STRINGS or kind == ord(")"):
                number = raw[pos] if pos < end else 0
                pos += 1
                count, size = (number, 0) if kind == ord(")") else (0, number)
            elif kind == ord("f"):  # float as text: a one-byte length
                size = 1 + (raw[pos] if pos < end else 0)
            elif kind == ord("x"):  # complex as text: two of them
                first = raw[pos] if pos < end else 0
                size = 2 + first + (raw[pos + 1 + first] if pos + 1 + first < end else 0)
            elif kind == ord("{"):
                stack.append(_DICT)
                continue
            elif kind == ord("c"):
                # argcount .. flags (5 x 4 bytes); code, consts, names, localsplusnames,
                # localspluskinds, filename, name, qualname; firstlineno; linetable, exceptiontable
                pos += 20
                stack += [2, _RAW4, 8]
                pending += 10
                continue
            else:
                return f"marshal record type {kind!r} is not read here"
        if size < 0 or count < 0 or pos + size > end or pending + count > end - pos - size:
            return f"a record at byte {pos} counts more than the {end - pos} bytes left could hold"
        pos += size
        if count:
            stack.append(count)
            pending += count
    return ""
