"""How a count reads in a message: "1 file", "2 files", never "1 files"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, the noun in the plural unless the count is exactly one."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def agree(count: int, singular: str, plural: str) -> str:
    """The verb (or word) that agrees with `count`: agree(1, "follows", "follow")."""
    return singular if count == 1 else plural
