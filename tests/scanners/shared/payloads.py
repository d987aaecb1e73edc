"""Payloads and helpers shared by the scanner tests. Payloads are only ever scanned."""

from __future__ import annotations

import pickle
import struct

from aisbom.findings import Finding
from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file, scan_blob

# A protocol-0 pickle that would run os.system when loaded.
EVIL = b"cos\nsystem\n(S'touch aisbom-marker'\ntR."
# The same call as a protocol-2 pickle, for payloads followed by filler bytes.
_COMMAND = b"touch aisbom-marker"
EVIL2 = b"\x80\x02cos\nsystem\nX" + struct.pack("<I", len(_COMMAND)) + _COMMAND + b"\x85R."
BENIGN = pickle.dumps({"weights": [1.0, 2.0], "name": "ok"}, protocol=2)
MiB = 1024 * 1024


def scan(data: bytes, limits: Limits | None = None) -> tuple[str, list[Finding]]:
    ctx = context_for_file("x", limits or Limits(), Policy())
    fmt = scan_blob(data, ctx)
    return fmt, ctx.sink


def where(findings: list[Finding], rule: str) -> list[tuple[str, ...]]:
    return [f.members for f in findings if f.rule == rule]


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def evidence(finding: Finding) -> dict[str, str]:
    return dict(finding.evidence)
