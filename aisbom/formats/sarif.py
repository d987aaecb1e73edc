"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

One run; the driver lists every rule of the rule table (so `ruleIndex` is stable across scans),
each result names its rule, level, message and the file (and container member) it is about.
No library writes SARIF for us: `sarif-om` is unmaintained since 2019 and only adds classes over
the same dicts, so the document is built by hand, checked by tests/test_sarif.py.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import aisbom.json_text as json_text
from aisbom.findings import Finding
from aisbom.formats.interface import FormatOptions, ReportFormat
from aisbom.pipeline import ScanReport
from aisbom.rules import RULES, Rule
from aisbom.severity import Severity
from aisbom.version import __version__

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

# SARIF has three levels; GitHub ranks security alerts by `security-severity` (0.0-10.0, CVSS-like).
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
_RULE_INDEX = {rule_id: i for i, rule_id in enumerate(RULES)}


class SarifFormat(ReportFormat):
    def format(self, report: ScanReport, options: FormatOptions) -> str:
        return json_text.dumps(sarif_dict(report))


def sarif_dict(report: ScanReport) -> dict[str, Any]:
    base = _remote_base(report.target) or _base_uri(Path(report.target))
    artifacts: list[dict[str, Any]] = []
    artifact_index: dict[str, int] = {}
    for file in report.files:
        artifact: dict[str, Any] = {"location": {"uri": _join(base, file.path)}}
        if file.size is not None:
            artifact["length"] = file.size
        if file.sha256 is not None:
            artifact["hashes"] = {"sha-256": file.sha256}
        artifact_index[file.path] = len(artifacts)
        artifacts.append(artifact)
    results = [_result(f, base, artifact_index) for f in report.findings + report.silenced]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "aisbom",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_rule(rule) for rule in RULES.values()],
                    }
                },
                "invocations": [_invocation(report)],
                "artifacts": artifacts,
                "results": results,
                "properties": {
                    "target": report.target,
                    "failOn": report.policy.fail_on.label,
                    "strict": report.policy.strict,
                    "allowFiles": [
                        {
                            "path": f.path,
                            "sha256": f.sha256,
                            "entries": sorted(f"{m}:{n}" for m, n in f.entries),
                        }
                        for f in report.policy.allow_files
                    ],
                    "allowDangerous": report.policy.allow_dangerous,
                },
            }
        ],
    }


def _invocation(report: ScanReport) -> dict[str, Any]:
    """How the run ended: its exit code and verdict; why it is an error (nothing scanned, a file
    that could not be read) as a notification, which SARIF viewers show apart from the results."""
    invocation: dict[str, Any] = {
        "executionSuccessful": not report.incomplete and report.error is None,
        "exitCode": int(report.exit_code),
        "exitCodeDescription": report.verdict,
    }
    if report.error is not None:
        invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": report.error}}]
    return invocation


def _rule(rule: Rule) -> dict[str, Any]:
    help_text = f"{rule.trigger}\n\nWhy it matters: {rule.why}\n\nHow to fix: {rule.fix}"
    help_markdown = (
        f"**Triggered by:** {rule.trigger}\n\n**Why it matters:** {rule.why}\n\n**How to fix:** {rule.fix}"
    )
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.trigger},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "tags": ["security", "supply-chain", "ml-model"],
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "precision": "high",
            "problem.severity": "error" if rule.severity >= Severity.HIGH else "warning",
        },
    }


def _result(finding: Finding, base: str, artifact_index: dict[str, int]) -> dict[str, Any]:
    member = finding.member
    text = finding.message if member is None else f"{finding.message} (in {member})"
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {
                "uri": _join(base, finding.path),
                **({"index": artifact_index[finding.path]} if finding.path in artifact_index else {}),
            }
        }
    }
    # A byte offset is only meaningful in the file itself, not inside a decompressed member.
    if finding.offset is not None and member is None:
        location["physicalLocation"]["region"] = {"byteOffset": finding.offset}
    if member is not None:
        location["logicalLocations"] = [
            {"name": finding.members[-1], "fullyQualifiedName": f"{finding.path}!{member}", "kind": "member"}
        ]
    properties: dict[str, Any] = {"severity": finding.severity.label}
    if finding.offset is not None:
        properties["offset"] = finding.offset
    if finding.evidence:
        properties["evidence"] = dict(finding.evidence)
    result = {
        "ruleId": finding.rule,
        "ruleIndex": _RULE_INDEX[finding.rule],
        "level": _LEVEL[finding.severity],
        "message": {"text": text},
        "locations": [location],
        # Binary files have no lines for GitHub to fingerprint; ours keeps alerts stable across scans.
        "partialFingerprints": {"aisbomFinding/v1": _fingerprint(finding)},
        "properties": properties,
    }
    if finding.silenced_by is not None:  # shown as suppressed (GitHub: dismissed), with who did it
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"silenced by allow file {finding.silenced_by}",
            }
        ]
    return result


def _fingerprint(finding: Finding) -> str:
    key = "\0".join((finding.rule, finding.path, finding.member or "", finding.message))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _remote_base(target: str) -> str | None:
    """hf:// and https:// targets (aisbom.sources): files are named under the repository, or
    next to the downloaded file's URL."""
    if target.startswith("hf://"):
        return target
    if target.startswith(("https://", "http://")):
        return target.rsplit("/", 1)[0]
    return None


def _base_uri(target: Path) -> str:
    """Where file paths of the report start, as a URI reference GitHub resolves from the checkout:
    relative to the working directory when the target is inside it, a file: URI otherwise."""
    directory = target if target.is_dir() else target.parent
    absolute = Path(os.path.abspath(directory))
    try:
        relative = absolute.relative_to(Path.cwd())
    except ValueError:
        return absolute.as_uri()
    return PurePosixPath(*relative.parts).as_posix() if relative.parts else ""


def _join(base: str, path: str) -> str:
    quoted = quote(path, safe="/")
    if not base:
        return quoted
    if base.startswith(("file:", "hf://", "https://", "http://")):
        return f"{base.rstrip('/')}/{quoted}"
    return f"{quote(base, safe='/')}/{quoted}"
