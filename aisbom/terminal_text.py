"""Names and values as they may be shown on a terminal or in a text report: control characters
made visible, so a file name cannot move the cursor, erase a line, add a line or change colours.

File names, archive members, pickle globals, URLs, messages of a finding and texts of the audit
log all come from someone else. Printed raw, a name holding `ESC [ 1 A ESC [ 2 K` erases the
`FAILED` line of `aisbom verify` above it and prints a `Verified:` line of its own; a newline
adds report lines. Every one of them goes through `shown` (or, for a text of several lines
made of such values, `shown_lines`) before it reaches a terminal or a text report. JSON, SARIF
and CycloneDX outputs stay exact: they are data, and their encoders escape what they must.

What is escaped: every C0 and C1 control character and DEL (`\\n`, `\\t`, `\\r`, `\\x1b` ...),
Unicode format characters (bidirectional overrides such as U+202E, zero-width characters),
line and paragraph separators, and lone surrogates (the undecodable bytes of a file name,
shown as the byte: `\\xff`). Nothing else changes, so an ordinary name reads as it is. The
output is plain text: no rich markup or click style is interpreted in it, and none is made.
"""

from __future__ import annotations

import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _hidden(char: str) -> bool:
    return char in _NAMED or unicodedata.category(char) in _HIDDEN


def shown(value: object) -> str:
    """`value` as one line of visible text."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # the common case, in C: printable means none of the above
        return text
    return "".join(_escape(c) if _hidden(c) else c for c in text)


def shown_lines(text: str) -> str:
    """A text of several lines: each line as `shown` makes it, the line breaks kept."""
    return "\n".join(shown(line) for line in text.split("\n"))
