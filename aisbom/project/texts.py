"""Copies of prompt and config texts, kept only when a project opts in to diffs in its audit
log (`[audit] diffs = true`): the log itself holds hashes, and a hash cannot show what changed.

Prompts may be confidential, so this is off by default; when on, the copies live in
.aisbom/objects/ under their SHA-256 (content-addressed, written once) and the diffs in the
log. A system BOM never carries the diffs.

The hashes come from the lock and the log, which anyone can edit: a name that is not 64 hex
digits is never used (`../../etc/passwd` in place of a hash would copy any readable file into
the committed log). Only files inside the project are copied, whatever aisbom.toml declares.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from pathlib import Path

from aisbom.hashing import open_regular
from aisbom.project.values import is_sha256

OBJECTS = Path(".aisbom") / "objects"
MAX_TEXT = 256 * 1024  # larger files are not copied: no diff, hashes only
MAX_DIFF = 16 * 1024  # a longer diff is cut, and says so


class TextStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.directory = root / OBJECTS

    def keep(self, path: Path, sha256: str) -> None:
        """Copy `path` if it is small UTF-8 text whose hash is `sha256` (it may have changed since)
        and it lies inside the project (links resolved)."""
        if not is_sha256(sha256) or not _inside(path, self.root):
            return
        target = self.directory / sha256
        if self.text(sha256) is not None:  # kept already (anything else there is replaced)
            return
        data = _read_text(path, sha256, follow_symlinks=True)
        if data is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{sha256}.{os.getpid()}")
        temporary.write_bytes(data)
        os.replace(temporary, target)

    def text(self, sha256: str | None) -> str | None:
        if not is_sha256(sha256):
            return None
        assert sha256 is not None
        # A copy is a regular file whose content is its name (a link planted there is not read).
        data = _read_text(self.directory / sha256, sha256, follow_symlinks=False)
        return None if data is None else data.decode("utf-8")

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


def _read_text(path: Path, sha256: str, *, follow_symlinks: bool) -> bytes | None:
    """The bytes of `path` if it is a regular file of at most MAX_TEXT bytes of UTF-8 text
    whose SHA-256 is `sha256`; else None."""
    try:
        with open_regular(path, follow_symlinks=follow_symlinks) as handle:
            data = handle.read(MAX_TEXT + 1)
        data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if len(data) > MAX_TEXT or hashlib.sha256(data).hexdigest() != sha256:
        return None
    return data


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return False
