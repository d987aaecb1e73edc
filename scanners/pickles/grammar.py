"""The text arguments of protocol 0 opcodes, parsed exactly as each CPython pickle reader parses them.

`_pickle.c` (what `pickle.load` runs) and `pickle.py` (the pure-Python `_Unpickler` some tools
use) disagree on these, and a stream that one accepts and the other rejects is a place where
the two run different code. Each function takes the line as read (its newline included when
there was one) and returns the value, or raises `BadArgument`; `Divergence` marks what the
other reader would do differently, so the machine can read the stream both ways.

`_pickle.c` (3.9-3.14): INT goes through `strtol(s, &end, 0)` (leading whitespace, a sign, a
`0x` or leading-`0` octal prefix; a C string, so a NUL ends it) and falls back to
`PyLong_FromString(s, NULL, 0)`; LONG drops a trailing `L` and calls `PyLong_FromString` base 0;
FLOAT calls `PyOS_string_to_double` (no whitespace, no underscores, overflow is an error);
GET and PUT parse base 10. `pickle.py` calls `int(line, 0)`, `float(line[:-1])` and
`int(line[:-1])` on the bytes, which accept whitespace and underscores and reject NUL.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Longest run of digits CPython converts by default (sys.int_info.default_max_str_digits);
# longer decimal literals fail in a default process and are kept as BigInt by the machine.
MAX_STR_DIGITS = 4300
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1

_STRTOL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))")
# A decimal literal's shape, in character classes only: a repeated group such as (?:_?[0-9])*
# keeps a backtracking record per character in re (a 64 MiB literal took 8 GB and a minute).
# Where underscores may go and what a leading zero allows are checked after the match.
_DECIMAL = re.compile(rb"\s*[+-]?([0-9][0-9_]*)\s*")
_ZEROS = re.compile(rb"[0_]*")
_ZEROS_ONLY = re.compile(rb"0*")  # strtol's leading zeros, which add nothing to the value
_STRTOD = re.compile(
    rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?P<word>(?i:inf(?:inity)?|nan)))"
)


class BadArgument(Exception):
    """The pickle reader raises here: the stream stops."""


@dataclass(frozen=True)
class BigInt:
    """An integer literal too long to convert in a default CPython process (or to build here)."""

    digits: int


def _c_string(line: bytes) -> bytes:
    """What C code sees of a line: it stops at the first NUL."""
    nul = line.find(b"\0")
    return line if nul < 0 else line[:nul]


def _python_int(text: bytes, base: int) -> int | BigInt:
    """int(text, base) as CPython computes it. A decimal literal over the default digit limit
    fails in a default process but not in one that raised the limit: it becomes a BigInt."""
    try:
        return int(text, base)
    except ValueError:
        if len(text) > MAX_STR_DIGITS and _is_decimal(text):
            return BigInt(len(text))
        raise BadArgument("invalid integer literal") from None


def _is_decimal(text: bytes) -> bool:
    """Whether `text` is a decimal int literal as int(text, 0) reads it, whatever its length:
    one underscore at most between two digits, and no leading zero unless the value is zero."""
    match = _DECIMAL.fullmatch(text)
    if match is None:
        return False
    start, end = match.span(1)
    if text[end - 1] == 0x5F or text.find(b"__", start, end) >= 0:  # "1_" or "1__0"
        return False
    return text[start] != 0x30 or _ZEROS.fullmatch(text, start, end) is not None


def c_int(line: bytes) -> int | bool | BigInt:
    """INT as `load_int` in _pickle.c reads it (the caller checked len(line) >= 2)."""
    s = _c_string(line)
    match = _STRTOL.match(s)
    if match is None:
        end, value = 0, 0  # no conversion: strtol leaves end at the start
    else:
        group = next(g for g in (2, 3, 4) if match.start(g) >= 0)  # hex, octal, decimal
        start, stop = match.span(group)
        start = _ZEROS_ONLY.match(s, start, stop).end()  # type: ignore[union-attr]
        if stop - start > 24:  # past a C long: strtol overflows (the digits are not copied)
            value = _LONG_MAX + 1
        else:
            magnitude = int(s[start:stop] or b"0", (16, 8, 10)[group - 2])
            value = -magnitude if match.group(1) == b"-" else magnitude
        end = match.end()
    if end < len(s) and s[end : end + 1] != b"\n" or not _LONG_MIN <= value <= _LONG_MAX:
        return _python_int(s, 0)  # "maybe we've got something long"
    if len(line) == 3 and value in (0, 1):
        return bool(value)
    return value


def py_int(line: bytes) -> int | bool | BigInt:
    """INT as pickle.py reads it: `int(data, 0)`, with "00\\n" and "01\\n" as booleans."""
    if line == b"00\n":
        return False
    if line == b"01\n":
        return True
    return _python_int(line, 0)


def c_long(line: bytes) -> int | BigInt:
    """LONG as `load_long` reads it: a trailing 'L' before the newline is dropped."""
    if len(line) >= 2 and line[-2:-1] == b"L":
        line = line[:-2]
    return _python_int(_c_string(line), 0)


def py_long(line: bytes) -> int | BigInt:
    value = line[:-1]
    if value.endswith(b"L"):
        value = value[:-1]
    return _python_int(value, 0)


def c_float(line: bytes) -> float:
    """FLOAT as `load_float` reads it: PyOS_string_to_double, then a newline or NUL must follow."""
    s = _c_string(line)
    match = _STRTOD.match(s)
    if match is None:
        raise BadArgument("could not convert string to float")
    end = match.end()
    if end < len(s) and s[end : end + 1] != b"\n":
        raise BadArgument("could not convert string to float")
    value = float(match.group(0))
    if math.isinf(value) and match.group("word") is None:
        raise BadArgument("value too large to convert to float")
    return value


def py_float(line: bytes) -> float:
    try:
        return float(line[:-1])
    except ValueError:
        raise BadArgument("could not convert string to float") from None


def c_memo_key(line: bytes) -> int:
    """GET/PUT keys: PyLong_FromString(s, NULL, 10), then a Py_ssize_t."""
    value = _python_int(_c_string(line), 10)
    if isinstance(value, BigInt) or not -(2**63) <= value < 2**63:
        raise BadArgument("memo key does not fit in Py_ssize_t")
    return value


def py_memo_key(line: bytes) -> int:
    value = _python_int(line[:-1], 10)
    if isinstance(value, BigInt):
        raise BadArgument("memo key too long")
    return value
