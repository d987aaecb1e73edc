"""Constant folding for the Jinja analysis: the values a template expression can take.

Strings are folded where they are constant (`'__glo' ~ 'bals__'`, `"%c"|format(95)*2`, `|join`,
`|reverse`, `[::-1]`, `|min`); everything else is an `Opaque` value that remembers the attribute
path it came from, and whether the template computed it (from constants, macros, `caller()`,
filters, string operations: it may spell any name) or read it from the data it is rendered with.
Every operation keeps at most MAX_CANDIDATES values and MAX_FOLDED characters, so a hostile
template cannot make the analysis grow without bound.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

# Attribute names that only sandbox escapes use (frames, code, function globals, the
# template's own context). Every `__dunder__` is treated the same way.
ESCAPE_ATTRIBUTES = frozenset({
    "func_globals", "func_code", "_TemplateReference__context", "mro", "gi_frame", "gi_code",
    "cr_frame", "cr_code", "ag_frame", "ag_code", "f_globals", "f_locals", "f_builtins", "f_back",
    "f_code", "tb_frame", "tb_next", "co_code", "co_consts", "im_func", "im_self",
})  # fmt: skip
STRING_FILTERS = frozenset({
    "string", "e", "escape", "safe", "forceescape", "lower", "upper", "capitalize", "title",
    "trim", "replace", "format", "join", "reverse", "center", "indent", "striptags", "truncate",
    "urlencode", "wordwrap", "xmlattr", "urlize",
})  # fmt: skip

MAX_CANDIDATES = 16  # values tracked per expression before giving up on folding
MAX_FOLDED = 4096  # characters of one folded string


@dataclass(frozen=True)
class Opaque:
    """A value known only by how it was obtained: an attribute path from a root name."""

    path: str
    escape_root: bool = False  # a Jinja global itself (cycler, lipsum ...), not its result
    escaped: bool = False  # the path already went through a dunder or a global's attributes
    # Computed by the template from parts we could not fold (string operations, a macro's output,
    # caller(), a filter over constants ...): as a key or attribute name it may spell anything.
    # Otherwise the value comes from the render-time data (messages, tools, loop items).
    is_str: bool = False


@dataclass(frozen=True)
class FoldedDict:
    keys: tuple[object, ...]


@dataclass(frozen=True)
class Method:
    owner: object  # a folded str or tuple
    name: str


@dataclass(frozen=True)
class Macro:
    name: str


def built(path: str = "<computed string>") -> Opaque:
    return Opaque(path, is_str=True)


def unknown(path: str = "<value>") -> Opaque:
    return Opaque(path)


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def describe(value: object) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, Opaque):
        return value.path
    if isinstance(value, (tuple, FoldedDict)):
        return "[...]" if isinstance(value, tuple) else "{...}"
    if isinstance(value, Macro):
        return f"macro {value.name}"
    return repr(value)


def dangerous_owner(value: object) -> bool:
    return isinstance(value, Opaque) and (value.escaped or value.escape_root)


def collapse(values: list[object]) -> object:
    if all(isinstance(v, str) or (isinstance(v, Opaque) and v.is_str) for v in values):
        return built()
    return unknown()


def bounded(values: list[object]) -> list[object]:
    unique: list[object] = []
    for value in values:
        if value not in unique:
            unique.append(value)
            if len(unique) > MAX_CANDIDATES:  # stop here: the search is quadratic in `unique`
                return [collapse(values)]
    return unique


def product(left: list[object], right: list[object], op) -> list[object]:  # type: ignore[no-untyped-def]
    if len(left) * len(right) > MAX_CANDIDATES:
        return [collapse(left + right)]
    return bounded([op(a, b) for a in left for b in right])


def stringish(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, Opaque) and value.is_str)


def computed(value: object) -> bool:
    """Made by the template itself: a constant (folded) or a value computed from constants."""
    if isinstance(value, Opaque):
        return value.is_str
    return isinstance(value, (str, int, float, tuple, FoldedDict)) or value is None


def concat(parts: list[list[object]]) -> list[object]:
    results: list[object] = [""]
    for candidates in parts:
        if len(results) * len(candidates) > MAX_CANDIDATES:
            return [built()]
        results = bounded([join_two(a, to_text(b)) for a in results for b in candidates])
    return results


def to_text(value: object) -> object:
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, (bool, int, float)):
        return str(value)
    return built()


def join_two(a: object, b: object) -> object:
    if isinstance(a, str) and isinstance(b, str) and len(a) + len(b) <= MAX_FOLDED:
        return a + b
    return built()


def add(a: object, b: object) -> object:
    if isinstance(a, str) and isinstance(b, str):
        return join_two(a, b)
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) + len(b) <= 256:
        return a + b
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    return built() if stringish(a) or stringish(b) else unknown()


def mul(a: object, b: object) -> object:
    if isinstance(b, str) and isinstance(a, int):
        a, b = b, a
    if isinstance(a, str) and isinstance(b, int) and not isinstance(b, bool):
        return a * b if 0 <= len(a) * b <= MAX_FOLDED else built()
    if isinstance(a, int) and isinstance(b, int) and abs(a) < 1 << 32 and abs(b) < 1 << 32:
        return a * b
    return built() if stringish(a) or stringish(b) else unknown()


def percent(fmt: object, args: object) -> object:
    if not isinstance(fmt, str):
        return unknown() if not stringish(fmt) else built()
    return printf(fmt, list(args) if isinstance(args, tuple) else [args])


def printf(fmt: str, args: list[object]) -> object:
    """`'%c%s' % (95, 'x')` for the plain conversions only: widths could make huge strings."""
    out: list[str] = []
    position = 0
    index = 0
    while index < len(fmt):
        char = fmt[index]
        if char != "%":
            out.append(char)
            index += 1
            continue
        spec = fmt[index + 1 : index + 2]
        index += 2
        if spec == "%":
            out.append("%")
            continue
        if spec not in ("s", "c", "d", "i", "r") or position >= len(args):
            return built()
        value = args[position]
        position += 1
        if spec == "c" and isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 0x110000:
            out.append(chr(value))
        elif spec == "c" and isinstance(value, str) and len(value) == 1:
            out.append(value)
        elif (spec in ("s", "r") and isinstance(value, (str, int, float))) or (
            spec in ("d", "i") and isinstance(value, int)
        ):
            out.append(str(value))
        else:
            return built()
    text = "".join(out)
    return text if len(text) <= MAX_FOLDED else built()


def slice_value(target: object, bounds: tuple[object, ...]) -> object:
    if isinstance(target, (str, tuple)) and all(b is None or isinstance(b, int) for b in bounds):
        start, stop, step = cast("tuple[int | None, int | None, int | None]", bounds)
        if step == 0:
            return unknown()
        return target[start:stop:step]
    return built() if stringish(target) else unknown()


def index_value(target: object, key: int) -> object:
    if isinstance(target, (str, tuple)) and -len(target) <= key < len(target):
        return target[key]
    if computed(target):
        return built(f"{describe(target)}[{key}]")
    return unknown(f"{describe(target)}[{key}]")


def elements(values: list[object]) -> list[object]:
    """What a for loop over these values binds its target to."""
    out: list[object] = []
    for value in values:
        if isinstance(value, (str, tuple)) and len(value) <= MAX_CANDIDATES:
            out += list(value)
        elif isinstance(value, FoldedDict):
            out += list(value.keys)
        else:
            item = f"item of {describe(value)}"
            out.append(Opaque(item, escaped=dangerous_owner(value), is_str=computed(value)))
    return bounded(out)


def fold_filter(name: str, value: object, args: list[object], kwargs: dict[str, object]) -> object:
    if name in ("string", "e", "escape", "safe", "forceescape", "trim") and isinstance(value, str):
        return value.strip() if name == "trim" else value
    if name in ("lower", "upper", "capitalize", "title") and isinstance(value, str):
        return getattr(str, name)(value)
    if name == "reverse" and isinstance(value, (str, tuple)):
        return value[::-1]
    if name == "list":
        if isinstance(value, str):
            return tuple(value)
        if isinstance(value, tuple):
            return value
        if isinstance(value, FoldedDict):
            return value.keys
    if name in ("first", "last") and isinstance(value, (str, tuple, FoldedDict)):
        items = value.keys if isinstance(value, FoldedDict) else value
        return (items[0] if name == "first" else items[-1]) if items else unknown()
    if name == "join" and isinstance(value, (tuple, str)):
        sep = args[0] if args else kwargs.get("d", "")
        texts = [to_text(v) for v in value]
        if isinstance(sep, str) and all(isinstance(v, str) for v in texts):
            text = sep.join(cast("list[str]", texts))
            return text if len(text) <= MAX_FOLDED else built()
        return built()
    if name == "replace" and isinstance(value, str) and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str) and old:
            text = value.replace(old, new, 64)
            return text if len(text) <= MAX_FOLDED else built()
    if name == "format" and isinstance(value, str):
        return printf(value, args)
    if name in ("min", "max") and isinstance(value, tuple) and value and "attribute" not in kwargs:
        return _extreme(name, value, kwargs.get("case_sensitive", False))
    if name in STRING_FILTERS or stringish(value) or computed(value):
        return built(f"{describe(value)}|{name}")
    return unknown(f"{describe(value)}|{name}")


def _extreme(name: str, items: tuple[object, ...], case_sensitive: object) -> object:
    """|min and |max as Jinja computes them (strings compared lower-cased unless case_sensitive)."""
    if all(isinstance(i, str) for i in items):
        texts = cast("tuple[str, ...]", items)
        key = (lambda t: t) if case_sensitive is True else str.lower
        return min(texts, key=key) if name == "min" else max(texts, key=key)
    if all(isinstance(i, int) and not isinstance(i, bool) for i in items):
        numbers = cast("tuple[int, ...]", items)
        return min(numbers) if name == "min" else max(numbers)
    return built(f"[...]|{name}")


_DUNDER = re.compile(r"__[A-Za-z][A-Za-z0-9_]*__")
_PATH = re.compile(r"[A-Za-z0-9_.\[\]]+")


def escape_name(part: str) -> bool:
    return bool(_DUNDER.fullmatch(part)) or part in ESCAPE_ATTRIBUTES


def escape_names_in(text: str) -> set[str]:
    """Escape attribute names a string spells as a lookup: the whole string ('__init__'), a
    dotted attribute path ('__init__.__globals__', as map(attribute=) takes) or the fields of a
    format string ('{0.__init__}'). Prose that merely mentions a dunder is not a lookup."""
    if len(text) > MAX_FOLDED or "_" not in text:
        return set()
    paths = [text] if _PATH.fullmatch(text) else []
    if "{" in text:
        paths += list(format_fields(text))
    return {part for path in paths for part in re.split(r"[.\[\]]", path) if escape_name(part)}


def format_fields(fmt: str) -> Iterator[str]:
    """Field names of a str.format string ('0.__class__', 'x[y]'): parsing, not formatting."""
    try:
        for _, field, _, _ in string.Formatter().parse(fmt):
            if field:
                yield field
    except ValueError:
        return
