"""aisbom.lock: what aisbom resolved and checked for each declared asset.

Per asset: its kind and source as declared when locked, where and when it was acquired
(remote sources), when it was locked, the scan's verdict and policy, and per file its SHA-256,
size, format and findings. With the findings in the lock, the system BOM is built from the
lock alone: the hashes it publishes are the ones that were scanned.

JSON, written whole with sorted keys, two-space indents and a final newline, so the same
state gives the same bytes and a change shows as a small diff. An asset whose files did not
change keeps its entry, times included, byte for byte. `audit_log` is the head of the audit
log when `aisbom lock` last ran (audit.LogHead): the log must still begin with those bytes.

The lock is committed, so anyone can edit it: every value is checked when it is read
(values.py): hashes are hex of the right length, file names relative and normalised.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aisbom.atomic_file import write_atomically
from aisbom.errors import AisbomError
from aisbom.findings import Finding
from aisbom.pipeline import FileResult, ScanReport
from aisbom.policy import Policy
from aisbom.project import values
from aisbom.project.audit import LogHead
from aisbom.project.clock import parse, stamp
from aisbom.project.tree import TreeFile
from aisbom.provenance import Provenance
from aisbom.rules import RULES
from aisbom.severity import Severity
from aisbom.version import __version__

LOCK_NAME = "aisbom.lock"
LOCK_VERSION = 1


class LockError(AisbomError):
    """aisbom.lock cannot be read or is not one aisbom wrote."""


@dataclass(frozen=True)
class LockedFile:
    sha256: str | None  # None: the file could not be read when it was locked (see findings)
    size: int | None
    format: str
    findings: tuple[Finding, ...] = ()
    link: str | None = None  # a symlink: its target as written (project.tree says how it is hashed)
    leaves_asset: bool = False  # a symlink out of the asset, accepted with --allow-unsafe


def _no_files() -> Mapping[str, LockedFile]:
    return MappingProxyType({})


@dataclass(frozen=True)
class LockedAsset:
    name: str
    kind: str
    source: str
    locked_at: str  # UTC, ISO 8601
    scanned_with: str  # "aisbom X.Y.Z"
    verdict: str  # clean | unsafe | error, under the policy below
    fail_on: str
    strict: bool
    single_file: bool  # the source is one file (its path is its name) rather than a directory
    files: Mapping[str, LockedFile] = field(default_factory=_no_files)  # relative path -> file
    provenance: Provenance | None = None  # remote sources only

    @property
    def digest(self) -> str:
        """SHA-256 of the asset's `sha256sum` manifest: one value that changes with any file."""
        return asset_digest({p: f.sha256 for p, f in self.files.items()})

    def hashes(self) -> dict[str, str | None]:
        return {path: file.sha256 for path, file in self.files.items()}

    def report(self, policy: Policy) -> ScanReport:
        """The scan as it was locked, judged under `policy` (the BOM's --fail-on and --strict)."""
        files = tuple(
            FileResult(path, f.size, f.sha256, f.format, f.findings) for path, f in sorted(self.files.items())
        )
        return ScanReport(target=self.source, tool_version=__version__, policy=policy, files=files)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "source": self.source,
            "locked_at": self.locked_at,
            "digest": self.digest,
            "scan": {
                "tool": self.scanned_with,
                "verdict": self.verdict,
                "fail_on": self.fail_on,
                "strict": self.strict,
            },
            "single_file": self.single_file,
            "files": {path: _file_json(f) for path, f in self.files.items()},
        }
        if self.provenance is not None:
            out["resolved"] = _provenance_json(self.provenance)
        return out

    @classmethod
    def from_json(cls, name: str, data: Any) -> LockedAsset:
        try:
            values.asset_name(name, "asset")
            scan = data["scan"]
            files = {
                values.file_name(path, "file"): _file_from_json(path, f) for path, f in data["files"].items()
            }
            return cls(
                name=name,
                kind=str(data["kind"]),
                source=str(data["source"]),
                locked_at=str(data["locked_at"]),
                scanned_with=str(scan["tool"]),
                verdict=str(scan["verdict"]),
                fail_on=str(scan["fail_on"]),
                strict=bool(scan["strict"]),
                single_file=bool(data["single_file"]),
                files=MappingProxyType(dict(sorted(files.items()))),
                provenance=_provenance_from_json(data["resolved"]) if "resolved" in data else None,
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise LockError(
                f"asset {name!r} is not in the form aisbom writes ({type(exc).__name__}: {exc})"
            ) from None


def locked_from_scan(
    name: str,
    kind: str,
    source: str,
    report: ScanReport,
    *,
    locked_at: str,
    single_file: bool,
    provenance: Provenance | None,
) -> LockedAsset:
    files = {
        f.path: LockedFile(f.sha256, f.size, f.format, f.findings)
        for f in sorted(report.files, key=lambda f: f.path)
    }
    return LockedAsset(
        name=name,
        kind=kind,
        source=source,
        locked_at=locked_at,
        scanned_with=f"aisbom {report.tool_version}",
        verdict=report.verdict,
        fail_on=report.policy.fail_on.label,
        strict=report.policy.strict,
        single_file=single_file,
        files=MappingProxyType(files),
        provenance=provenance,
    )


def with_links(locked: LockedAsset, tree: Mapping[str, TreeFile]) -> LockedAsset:
    """The asset's lock entry with its symlinks, from `tree.hash_tree(..., links=True)` of what
    was scanned: a link to a directory inside becomes an entry of its own, a link to a file
    inside notes its target, and a link out of the asset (the scan refused it; the user
    accepted it) is locked with the hash of what it points to, to be hashed every time."""
    files = dict(locked.files)
    for path, now in tree.items():
        if now.link is None:
            continue
        known = files.get(path)
        if known is None:  # a link to a directory: the scan's walk does not list it
            files[path] = LockedFile(now.sha256, now.size, "symlink", link=now.link)
        elif now.leaves_asset:  # the scan did not read it: its hash is the one taken through the link
            files[path] = dataclasses.replace(
                known, sha256=now.sha256, size=now.size, link=now.link, leaves_asset=True
            )
        else:
            files[path] = dataclasses.replace(known, link=now.link)
    return dataclasses.replace(locked, files=MappingProxyType(dict(sorted(files.items()))))


def asset_digest(hashes: Mapping[str, str | None]) -> str:
    manifest = "".join(f"{sha or '-'}  {path}\n" for path, sha in sorted(hashes.items()))
    return hashlib.sha256(manifest.encode("utf-8")).hexdigest()


class Lock:
    """The whole lock file: assets by name."""

    def __init__(
        self, path: Path, assets: dict[str, LockedAsset] | None = None, audit_head: LogHead | None = None
    ) -> None:
        self.path = path
        self.assets: dict[str, LockedAsset] = dict(assets or {})
        self.audit_head = audit_head  # the audit log's head when `aisbom lock` last ran

    @classmethod
    def load(cls, path: Path) -> Lock:
        """The lock at `path`; an empty one if there is no file yet."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise LockError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", path=str(path)) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LockError(f"not valid JSON ({exc.msg} at line {exc.lineno})", path=str(path)) from None
        if not isinstance(data, dict) or data.get("lock_version") != LOCK_VERSION:
            found = data.get("lock_version") if isinstance(data, dict) else None
            raise LockError(
                f"unsupported lock_version {found!r} (this aisbom reads {LOCK_VERSION})", path=str(path)
            )
        assets = data.get("assets")
        if not isinstance(assets, dict):
            raise LockError("no 'assets' object", path=str(path))
        try:
            head = LogHead.from_json(data["audit_log"]) if "audit_log" in data else None
        except ValueError as exc:
            raise LockError(f"audit_log is not in the form aisbom writes ({exc})", path=str(path)) from None
        try:
            assets_read = {name: LockedAsset.from_json(name, entry) for name, entry in assets.items()}
        except LockError as exc:
            raise LockError(str(exc), path=str(path)) from None
        return cls(path, assets_read, head)

    def text(self) -> str:
        doc = {
            "lock_version": LOCK_VERSION,
            "comment": "Written by aisbom (aisbom lock / aisbom add): what each asset of aisbom.toml "
            "resolved to. Do not edit by hand.",
            "assets": {name: asset.to_json() for name, asset in self.assets.items()},
        }
        if self.audit_head is not None:
            doc["audit_log"] = self.audit_head.to_json()
        return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def save(self) -> None:
        write_atomically(self.path, self.text())


def _file_json(file: LockedFile) -> dict[str, Any]:
    out: dict[str, Any] = {"sha256": file.sha256, "size": file.size, "format": file.format}
    if file.findings:
        out["findings"] = [_finding_json(f) for f in file.findings]
    if file.link is not None:
        out["symlink"] = file.link
    if file.leaves_asset:
        out["leaves_asset"] = True
    return out


def _finding_json(finding: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": finding.rule,
        "severity": finding.severity.label,
        "message": finding.message,
    }
    if finding.members:
        out["members"] = list(finding.members)
    if finding.offset is not None:
        out["offset"] = finding.offset
    if finding.evidence:
        out["evidence"] = dict(finding.evidence)
    return out


def _file_from_json(path: str, data: Any) -> LockedFile:
    findings = []
    for item in data.get("findings", []):
        if item["rule"] not in RULES:
            raise ValueError(
                f"{path}: rule {item['rule']!r} is unknown to this aisbom; run `aisbom lock --rescan`"
            )
        findings.append(
            Finding(
                rule=item["rule"],
                severity=Severity.parse(item["severity"]),
                message=str(item["message"]),
                path=path,
                members=tuple(str(m) for m in item.get("members", [])),
                offset=item.get("offset"),
                evidence=tuple((str(k), str(v)) for k, v in item.get("evidence", {}).items()),
            )
        )
    link = data.get("symlink")
    if link is not None and not (isinstance(link, str) and link and "\x00" not in link):
        raise ValueError(f"{path}: symlink is not a link target")
    return LockedFile(
        sha256=values.sha256_or_none(data["sha256"], f"{path}: sha256"),
        size=values.size_or_none(data["size"], f"{path}: size"),
        format=str(data["format"]),
        findings=tuple(findings),
        link=link,
        leaves_asset=data.get("leaves_asset") is True,
    )


def _provenance_json(prov: Provenance) -> dict[str, Any]:
    """Every field the sources recorded, by its own name (the record grows with the sources)."""
    return _plain(prov)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
        return {name: _plain(v) for name, v in fields if v is not None and v != {} and v != ()}
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _provenance_from_json(data: Any) -> Provenance:
    prov: Provenance = _typed(Provenance, data)
    if prov.hf_repo:  # a commit: cached_snapshot makes it a directory name
        values.sha1_or_none(prov.revision, "resolved revision")
    for name, sha in prov.upstream_sha256.items():
        values.file_name(name, "resolved upstream_sha256 file")
        values.sha256_or_none(sha, f"resolved upstream_sha256 of {name}")
    for name in (*prov.file_urls, *prov.files, *prov.unverified):
        values.file_name(name, "resolved file")
    return prov


def _typed(cls: Any, data: Any) -> Any:
    """`cls` (a dataclass) from what `_plain` wrote: times by their `_at` names, mappings of
    per-file records by the record class the field's default names."""
    import aisbom.provenance as provenance

    if not isinstance(data, dict):
        raise ValueError(f"expected an object for {cls.__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            continue  # written by a newer aisbom: ignored, not fatal
        if key.endswith("_at") and isinstance(value, str):
            value = parse(value)
        elif isinstance(value, dict):
            record = getattr(provenance, "FileSource", None) if key == "files" else None
            value = MappingProxyType(
                {k: _typed(record, v) if record is not None else v for k, v in value.items()}
            )
        kwargs[key] = value
    return cls(**kwargs)
