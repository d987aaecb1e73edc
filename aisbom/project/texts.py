"""Copies of prompt and config texts, kept only when a project opts in to diffs in its audit
log (`[audit] diffs = true`): the log itself holds hashes, and a hash cannot show what changed.

Prompts may be confidential, so this is off by default; when on, the copies live in
.aisbom/objects/ under their SHA-256 (content-addressed, written once) and the diffs in the
log. A system BOM never carries the diffs.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from pathlib import Path

OBJECTS = Path(".aisbom") / "objects"
MAX_TEXT = 256 * 1024  # larger files are not copied: no diff, hashes only
MAX_DIFF = 16 * 1024  # a longer diff is cut, and says so


class TextStore:
    def __init__(self, root: Path) -> None:
        self.directory = root / OBJECTS

    def keep(self, path: Path, sha256: str) -> None:
        """Copy `path` if it is small UTF-8 text whose hash is `sha256` (it may have changed since)."""
        target = self.directory / sha256
        if target.exists():
            return
        try:
            if path.stat().st_size > MAX_TEXT:
                return
            data = path.read_bytes()
            data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return
        if hashlib.sha256(data).hexdigest() != sha256:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{sha256}.{os.getpid()}")
        temporary.write_bytes(data)
        os.replace(temporary, target)

    def text(self, sha256: str | None) -> str | None:
        if sha256 is None:
            return None
        try:
            return (self.directory / sha256).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def diff(self, name: str, old: str | None, new: str | None) -> str | None:
        before, after = self.text(old), self.text(new)
        if before is None or after is None:
            return None
        lines = difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{name}", f"b/{name}"
        )
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        if len(text) > MAX_DIFF:
            text = text[:MAX_DIFF] + f"... (diff cut at {MAX_DIFF} characters)\n"
        return text
