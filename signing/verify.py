"""Expected (signed) manifest vs actual model: which files were modified, are missing, are extra."""

from __future__ import annotations

from dataclasses import dataclass

from aisbom.terminal_text import shown


@dataclass(frozen=True)
class Modified:
    name: str
    expected: str
    actual: str
    # "" when `expected`/`actual` are the whole file's digests. A shard signature says which
    # bytes differ ("START-END", digests of that range), or "size" when the file's length
    # differs (`expected`/`actual` are then lengths in bytes).
    part: str = ""


@dataclass(frozen=True)
class ManifestDiff:
    hash_type: str = "sha256"
    modified: tuple[Modified, ...] = ()
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    matched: int = 0
    # Files the signature does not list, tolerated on request (--ignore-unsigned-files).
    unsigned: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.modified or self.missing or self.extra)


def compare(
    expected: dict[str, str],
    actual: dict[str, str],
    present: set[str] | frozenset[str] = frozenset(),
    hash_type: str = "sha256",
    *,
    ignore_unsigned: bool = False,
) -> ManifestDiff:
    """`actual` holds digests of the present files that the signature names; `present` is every
    file found (so names in `present` but not in `expected` are the extra ones, or the unsigned
    ones with `ignore_unsigned`)."""
    present = set(present) | set(actual)
    modified = tuple(
        Modified(name, digest, actual[name])
        for name, digest in sorted(expected.items())
        if name in actual and actual[name] != digest
    )
    missing = tuple(sorted(name for name in expected if name not in present))
    unlisted = tuple(sorted(name for name in present if name not in expected))
    matched = sum(1 for name, digest in expected.items() if actual.get(name) == digest)
    if ignore_unsigned:
        return ManifestDiff(hash_type, modified, missing, (), matched, unsigned=unlisted)
    return ManifestDiff(hash_type, modified, missing, unlisted, matched)


def format_diff(diff: ManifestDiff) -> list[str]:
    """Human lines, one block per problem, names in sorted order; names with control characters
    made visible (terminal_text), since they come from the files and the signature."""
    lines: list[str] = []
    for m in diff.modified:
        if m.part == "size":
            lines.append(f"  modified  {shown(m.name)}")
            lines.append(f"            expected {m.expected} bytes")
            lines.append(f"            actual   {m.actual} bytes")
            continue
        lines.append(f"  modified  {shown(m.name)}" + (f" (bytes {m.part})" if m.part else ""))
        lines.append(shown(f"            expected {diff.hash_type}:{m.expected}"))
        lines.append(shown(f"            actual   {diff.hash_type}:{m.actual}"))
    lines.extend(f"  missing   {shown(name)}" for name in diff.missing)
    lines.extend(f"  extra     {shown(name)}" for name in diff.extra)
    return lines


def format_unsigned(diff: ManifestDiff) -> list[str]:
    """The files tolerated because the signature does not list them."""
    return [f"  unsigned  {shown(name)}" for name in diff.unsigned]
