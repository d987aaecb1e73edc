"""Scan policy: what fails the scan, and which extra globals the user trusts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from aisbom.errors import UsageError
from aisbom.severity import Severity

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class Policy:
    fail_on: Severity = Severity.HIGH
    # --strict: anything outside the allowlist fails, whatever its severity.
    strict: bool = False
    # Extra exact globals the user trusts, as (module, qualname).
    extra_allowed: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    def fails(self, severity: Severity, rule: str) -> bool:
        if severity >= self.fail_on:
            return True
        return self.strict and rule.startswith("pickle-unknown")


def load_allowlist_file(path: Path) -> frozenset[tuple[str, str]]:
    """Read a user allowlist: one `module:qualname` (or `module.qualname`) per line, # comments.

    `module:qualname` is exact. `module.qualname` is split at the last dot, which is what most
    people mean (`mypkg.models.MyNet` -> module `mypkg.models`, name `MyNet`).
    """
    try:
        text = path.read_text(encoding="utf-8")
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
        if not (module and name and _DOTTED.match(module) and _DOTTED.match(name)):
            raise UsageError(
                f"line {number}: expected 'module:qualname' or 'module.qualname', got {raw.strip()!r}",
                path=str(path),
            )
        entries.add((module, name))
    return frozenset(entries)
