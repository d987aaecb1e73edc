"""Whether bytes may hold Jinja at all: the one test every JSON and text file pays for, kept
apart from the analysis (jinja2 and the abstract evaluator), which is imported only for a file
that passes it."""

from __future__ import annotations

# Bytes without either of these hold no Jinja statement or expression: nothing to analyse.
_JINJA_MARKERS = (b"{%", b"{{")


def looks_like_jinja(raw: bytes) -> bool:
    return any(marker in raw for marker in _JINJA_MARKERS)
