"""JSON documents as text that is valid UTF-8, whatever file names they carry.

A file name that is not UTF-8 reaches Python as a string with lone surrogates (os.fsdecode's
surrogateescape): written as is, the report is not UTF-8 and no JSON reader takes it. Each lone
surrogate is written as its JSON escape instead (\\udcff): the document stays valid UTF-8, and a
reader gets back the very string aisbom had (Python's json gives os.fsencode the original bytes).
"""

from __future__ import annotations

import json
import re
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps(document: Any) -> str:
    """`document` as indented JSON text (non-ASCII kept as is), ending with a newline."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
