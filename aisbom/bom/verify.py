"""A model against the file hashes in its AI-BOM: the consumer's gate when a BOM comes with it.

Every `file` component in the BOM's component tree (at any depth: aisbom nests a model's files
under its `machine-learning-model` component) names a file by its '/'-separated path relative
to the model — for a single-file model, its file name — and carries its SHA-256. A BOM to verify
against must name each file safely (relative, no `..`, normalized), once, with exactly one
SHA-256; anything else is an invalid BOM for this purpose, never a silent skip. The comparison
itself (walk, exclusions, diff) is the one `aisbom verify` runs for a signature.
"""

from __future__ import annotations

import re
from typing import Any

from aisbom.bom.check import BomError
from aisbom.relative_paths import name_problem

SHA256 = "SHA-256"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def file_hashes(doc: dict[str, Any], *, source: str) -> dict[str, str]:
    """Name → lowercase hex SHA-256 of every file component of `doc`, or BomError."""
    found: dict[str, str] = {}
    stack = list(reversed(_children(doc)))
    while stack:
        component = stack.pop()
        stack.extend(reversed(_children(component)))
        if component.get("type") != "file":
            continue
        name = component.get("name")
        problem = name_problem(name)
        if problem is not None:
            raise BomError(
                f"file component {name!r} {problem}: a file must be named by its path relative to the model",
                path=source,
            )
        assert isinstance(name, str)
        digests = {
            str(h.get("content", "")).lower()
            for h in component.get("hashes", [])
            if isinstance(h, dict) and h.get("alg") == SHA256
        }
        if not digests:
            raise BomError(f"file component {name!r} has no SHA-256 hash: it cannot be verified", path=source)
        if len(digests) > 1:
            raise BomError(
                f"file component {name!r} lists {len(digests)} different SHA-256 hashes", path=source
            )
        (digest,) = digests
        if not _HEX64.fullmatch(digest):
            raise BomError(f"file component {name!r} has a malformed SHA-256 hash", path=source)
        if name in found:
            raise BomError(f"file component {name!r} is listed twice", path=source)
        found[name] = digest
    if not found:
        raise BomError("the BOM lists no file components: there is nothing to verify against", path=source)
    return found


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    children = node.get("components", [])
    return [c for c in children if isinstance(c, dict)] if isinstance(children, list) else []


__all__ = ["SHA256", "file_hashes"]
