"""JSON documents as text that is valid UTF-8, whatever file names they carry.

A file name that is not UTF-8 reaches Python as a string with lone surrogates (os.fsdecode's
surrogateescape): written as is, the report is not UTF-8 and no JSON reader takes it. Each lone
surrogate is written as its JSON escape instead (\\udcff): the document stays valid UTF-8, and a
reader gets back the very string aisbom had (Python's json gives os.fsencode the original bytes).

The text is exactly `json.dumps(document, indent=2, ensure_ascii=False)`, but Python's json takes
its pure-Python encoder whenever `indent` is given (a report of 5,000 files cost ~70 ms). Here the
C encoder writes every leaf and every container whose items are leaves or empty containers, with
the separators of that depth (",\\n" and the indentation); only containers that hold non-empty
containers are laid out in Python.
"""

from __future__ import annotations

import json
import re
from _json import make_encoder as _c_make_encoder
from collections.abc import Callable
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_INDENT = "  "


def dumps(document: Any) -> str:
    """`document` as indented JSON text (non-ASCII kept as is), ending with a newline."""
    text = _layout(document, 0, set()) + "\n"
    if text.isascii():  # the common case, and ~500 times quicker than the search below
        return text
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _refuse(o: object) -> object:
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


_encoders: dict[int, Callable[[Any], str]] = {}


def _encoder(depth: int) -> Callable[[Any], str]:
    """The C encoder whose item separator starts a new line at `depth` (items at depth + 1)."""
    encode = _encoders.get(depth)
    if encode is None:
        c_encode = _c_make_encoder(
            {},  # markers: circular references raise ValueError, as json.dumps does
            _refuse,
            json.encoder.encode_basestring,
            None,
            ": ",
            ",\n" + _INDENT * (depth + 1),
            False,  # sort_keys
            False,  # skipkeys
            True,  # allow_nan
        )

        def encode(o: Any, c_encode: Any = c_encode) -> str:
            return "".join(c_encode(o, 0))

        _encoders[depth] = encode
    return encode


def _enter(container: object, path: set[int]) -> None:
    if id(container) in path:
        raise ValueError("Circular reference detected")
    path.add(id(container))


def _is_flat(items: Any) -> bool:
    """No item is a non-empty container: the C encoder lays them all out as indent=2 does."""
    for item in items:  # noqa: SIM110 (a loop, not any() over a generator: half the time, once per record)
        if item and isinstance(item, (dict, list, tuple)):
            return False
    return True


def _key(key: Any) -> str:
    """A dict key as json.dumps writes it (str as is; float, int, bool and None as their JSON)."""
    if isinstance(key, str):
        return json.encoder.encode_basestring(key)
    if key is True or key is False or key is None or isinstance(key, (int, float)):
        return json.encoder.encode_basestring(_encoder(0)(key).strip('"'))
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


def _layout(o: Any, depth: int, path: set[int]) -> str:
    """`o` at `depth`; `path` holds the containers it is inside, as json's markers do."""
    if isinstance(o, dict):
        if not o:
            return "{}"
        inner = "\n" + _INDENT * (depth + 1)
        if _is_flat(o.values()):
            body = _encoder(depth)(o)
            return "{" + inner + body[1:-1] + "\n" + _INDENT * depth + "}"
        _enter(o, path)
        parts = [_key(k) + ": " + _layout(v, depth + 1, path) for k, v in o.items()]
        path.discard(id(o))
        return "{" + inner + ("," + inner).join(parts) + "\n" + _INDENT * depth + "}"
    if isinstance(o, (list, tuple)):
        if not o:
            return "[]"
        inner = "\n" + _INDENT * (depth + 1)
        if _is_flat(o):
            body = _encoder(depth)(o)
            return "[" + inner + body[1:-1] + "\n" + _INDENT * depth + "]"
        _enter(o, path)
        parts = []
        run: list[Any] = []
        for v in o:
            # Flat records go out in runs, one C call each (a list of them all in one): in a
            # scan's list of 20,000 files, the few with findings no longer send all the others
            # through here one by one (~0.15 s).
            if type(v) is dict and v and _is_flat(v.values()):
                run.append(v)
                continue
            parts += _run(run, depth, path)
            run = []
            parts.append(_layout(v, depth + 1, path))
        parts += _run(run, depth, path)
        path.discard(id(o))
        return "[" + inner + ("," + inner).join(parts) + "\n" + _INDENT * depth + "]"
    return _encoder(depth)(o)


def _opened(text: str, bracket: str, empty: str) -> int:
    """How many `bracket`s in `text` open a non-empty container, plus any inside strings."""
    return text.count(bracket) - text.count(empty)


def _run(records: list[dict[str, Any]], depth: int, path: set[int]) -> list[str]:
    """Flat records of a list at `depth`, as items of it."""
    text = _flat_records(records, depth) if len(records) > 1 else None
    return [text] if text is not None else [_layout(v, depth + 1, path) for v in records]


def _flat_records(items: list[Any] | tuple[Any, ...], depth: int) -> str | None:
    """A list of non-empty dicts whose values are leaves or empty containers, in one C call: the
    records at `depth` + 1 and the separators between them, without the list's brackets.

    The C encoder writes the whole list with the separator of the records' items; the records'
    braces and the separators between records are then moved to their own lines. A separator
    holds a newline, which no encoded string does, so "},<newline>{" is only ever the gap between
    two records, once the counts prove that the only non-empty containers are the list and its
    records: each of those opens one, so any other (nested, or a "{" or "[" inside a string) makes
    a count too high, and the records are laid out one by one.
    """
    for item in items:
        if type(item) is not dict or not item:
            return None
    text = _encoder(depth + 1)(items)
    if _opened(text, "{", "{}") != len(items) or _opened(text, "[", "[]") != 1:
        return None
    outer = "\n" + _INDENT * depth
    record = outer + _INDENT
    inner = record + _INDENT
    body = text[2:-2].replace("}," + inner + "{", record + "}," + record + "{" + inner)
    return "{" + inner + body + record + "}"
