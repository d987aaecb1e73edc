"""Scan policy: what fails the scan, and which extra globals the user trusts (allow files).

A global an allow file lists is not trusted silently: what it would have been reported as is kept
as a silenced finding that every output shows, with the file that silenced it; and a known
code-execution gadget is silenced only when the user also says --allow-dangerous
(`aisbom.scanners.pickles.policy.silencing` decides).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import aisbom.hashing as hashing
from aisbom.errors import UsageError
from aisbom.severity import Severity

# Compiled on first use (re caches it): only a scan given allow files reads one.
_DOTTED = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"


@dataclass(frozen=True)
class AllowFile:
    """One --allow file: where it was, what it held (its SHA-256), and the globals it lists."""

    path: str  # as the user gave it
    sha256: str
    entries: frozenset[tuple[str, str]]  # (module, qualname)


@dataclass(frozen=True)
class Policy:
    """What fails a scan: the severity threshold, strictness and allowlists."""

    fail_on: Severity = Severity.HIGH
    # --strict: anything outside the allowlist fails, whatever its severity.
    strict: bool = False
    # Extra exact globals the user trusts, as (module, qualname): every allow file's entries
    # (or, for a policy built in code, the trusted globals themselves).
    extra_allowed: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    allow_files: tuple[AllowFile, ...] = ()
    # --allow-dangerous: an allow file may silence a known code-execution gadget too.
    allow_dangerous: bool = False

    def fails(self, severity: Severity, rule: str) -> bool:
        if severity >= self.fail_on:
            return True
        return self.strict and rule.startswith("pickle-unknown")

    def allowed_by(self, module: str, name: str) -> str | None:
        """The allow file that lists (module, name) (the first, if several do), "the policy"
        for a global trusted in code, or None."""
        for allow_file in self.allow_files:
            if (module, name) in allow_file.entries:
                return allow_file.path
        return "the policy" if (module, name) in self.extra_allowed else None


def with_allow_files(policy: Policy, allow_files: tuple[AllowFile, ...]) -> Policy:
    """`policy` with `allow_files` in force (their entries trusted as extra globals)."""
    extra = policy.extra_allowed.union(*(f.entries for f in allow_files))
    return replace(policy, allow_files=policy.allow_files + allow_files, extra_allowed=extra)


def load_allow_file(path: Path) -> AllowFile:
    """Read a user allowlist: one `module:qualname` (or `module.qualname`) per line, # comments.

    `module:qualname` is exact. `module.qualname` is split at the last dot, which is what most
    people mean (`mypkg.models.MyNet` -> module `mypkg.models`, name `MyNet`).
    """
    try:
        content = path.read_bytes()
        text = content.decode("utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read allowlist: {exc.strerror or exc}", path=str(path)) from None
    except UnicodeDecodeError:
        raise UsageError("allowlist is not UTF-8 text", path=str(path)) from None
    entries: set[tuple[str, str]] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if ":" in line:
            module, _, name = line.partition(":")
        else:
            module, _, name = line.rpartition(".")
        module, name = module.strip(), name.strip()
        if not (module and name and re.match(_DOTTED, module) and re.match(_DOTTED, name)):
            raise UsageError(
                f"line {number}: expected 'module:qualname' or 'module.qualname', got {raw.strip()!r}",
                path=str(path),
            )
        entries.add((module, name))
    return AllowFile(str(path), hashing.hash_bytes(content), frozenset(entries))
