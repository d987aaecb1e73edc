"""Names of files relative to a model, as a signature's manifest and an AI-BOM record them: the
one rule both the signing statement and `verify --bom` hold a recorded name to."""

from __future__ import annotations

import posixpath
import re

_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


def name_problem(name: object) -> str | None:
    """Why `name` is not a normalized relative `/` path with no `..`, `.` or empty part (as a
    phrase: "is absolute", "contains '..'" ...); None if it is one."""
    if not isinstance(name, str) or not name:
        return "is not a non-empty string"
    if "\x00" in name:
        return "contains a NUL byte"
    if name.startswith("/") or _DRIVE.match(name) or name.startswith("\\"):
        return "is absolute"
    parts = name.split("/")
    if ".." in parts or any(p == ".." for p in name.split("\\")):
        return "contains '..'"
    if "" in parts or "." in parts or posixpath.normpath(name) != name:
        return "is not a normalized relative path"
    return None
