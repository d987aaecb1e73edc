"""The working tree against the lock: which assets are new, modified, missing or unchanged.

Local assets are hashed again (not scanned: the lock holds the scan of the locked bytes).
Remote assets are compared by their lock entry only, without network, unless asked to fetch:
their files live in a download cache, not in the project.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from aisbom.errors import TargetError
from aisbom.project.audit import AuditEvent, AuditRead
from aisbom.project.lock import Lock, LockedAsset
from aisbom.project.manifest import Asset, Manifest
from aisbom.project.tree import TreeFile, hash_tree, project_files

ASSET_STATES = ("new", "modified", "missing", "removed", "unchanged")


@dataclass(frozen=True)
class FileChange:
    path: str
    state: str  # new | modified | missing
    locked_sha256: str | None
    current_sha256: str | None


@dataclass(frozen=True)
class AssetStatus:
    name: str
    kind: str
    source: str
    state: str  # one of ASSET_STATES
    files: tuple[FileChange, ...] = ()  # the files that differ from the lock
    file_count: int = 0  # files now (or locked, for a remote or missing asset)
    checked: str = "files"  # files: hashed now | lock: remote, compared by its lock entry only
    note: str | None = None
    current: Mapping[str, TreeFile] | None = None  # what was hashed now (None: not looked at)


@dataclass(frozen=True)
class ProjectStatus:
    assets: tuple[AssetStatus, ...]

    @property
    def clean(self) -> bool:
        return all(a.state == "unchanged" for a in self.assets)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ASSET_STATES, 0)
        for asset in self.assets:
            counts[asset.state] += 1
        return counts


Hasher = Callable[[Asset], "tuple[Path, Mapping[str, TreeFile]]"]


def compute_status(manifest: Manifest, lock: Lock, *, fetch_remote: Hasher | None = None) -> ProjectStatus:
    """Compare every declared asset with the lock. `fetch_remote`, when given, fetches a remote
    asset and hashes it (`aisbom status --remote`)."""
    root = manifest.root
    exclude = project_files(root)
    out = []
    for asset in manifest.assets.values():
        locked = lock.assets.get(asset.name)
        if asset.remote:
            out.append(_remote(asset, locked, fetch_remote))
            continue
        try:
            current = hash_tree(
                asset.local_path(root), exclude, links=True, outside_allowed=outside_links(locked)
            )
        except TargetError as exc:
            files = tuple(
                FileChange(p, "missing", sha, None)
                for p, sha in sorted((locked.hashes() if locked else {}).items())
            )
            out.append(
                AssetStatus(
                    asset.name,
                    asset.kind,
                    asset.source,
                    "missing",
                    files,
                    len(files),
                    note=str(exc),
                )
            )
            continue
        out.append(_compare(asset, locked, current))
    for name, locked in lock.assets.items():
        if name not in manifest.assets:
            out.append(
                AssetStatus(
                    name,
                    locked.kind,
                    locked.source,
                    "removed",
                    file_count=len(locked.files),
                    checked="lock",
                    note="no longer declared in aisbom.toml; `aisbom lock` drops it from the lock",
                )
            )
    return ProjectStatus(tuple(out))


def outside_links(locked: LockedAsset | None) -> frozenset[str]:
    """The links out of the asset that its lock accepted: hashed through the link every time."""
    if locked is None:
        return frozenset()
    return frozenset(p for p, f in locked.files.items() if f.leaves_asset and f.sha256 is not None)


def _compare(asset: Asset, locked: LockedAsset | None, current: Mapping[str, TreeFile]) -> AssetStatus:
    if locked is None:
        files = tuple(FileChange(p, "new", None, f.sha256) for p, f in sorted(current.items()))
        return AssetStatus(
            asset.name,
            asset.kind,
            asset.source,
            "new",
            files,
            len(current),
            note="not locked yet",
            current=current,
        )
    changes = file_changes(locked.hashes(), {p: f.sha256 for p, f in current.items()})
    note = _declaration_change(asset, locked)
    state = "modified" if changes or note else "unchanged"
    return AssetStatus(
        asset.name, asset.kind, asset.source, state, changes, len(current), note=note, current=current
    )


def _remote(asset: Asset, locked: LockedAsset | None, fetch: Hasher | None) -> AssetStatus:
    if locked is None:
        return AssetStatus(asset.name, asset.kind, asset.source, "new", checked="lock", note="not locked yet")
    note = _declaration_change(asset, locked)
    if note or fetch is None:
        return AssetStatus(
            asset.name,
            asset.kind,
            asset.source,
            "modified" if note else "unchanged",
            file_count=len(locked.files),
            checked="lock",
            note=note,
        )
    _path, current = fetch(asset)
    changes = file_changes(locked.hashes(), {p: f.sha256 for p, f in current.items()})
    return AssetStatus(
        asset.name,
        asset.kind,
        asset.source,
        "modified" if changes else "unchanged",
        changes,
        len(current),
        note="fetched again: the source now serves other bytes than were locked" if changes else None,
        current=current,
    )


def _declaration_change(asset: Asset, locked: LockedAsset) -> str | None:
    if locked.kind != asset.kind:
        return f"declared as a {asset.kind}, locked as a {locked.kind}"
    if locked.source != asset.source:
        return f"source changed from {locked.source} to {asset.source}"
    return None


def file_changes(
    locked: Mapping[str, str | None], current: Mapping[str, str | None]
) -> tuple[FileChange, ...]:
    out = []
    for path in sorted(set(locked) | set(current)):
        if path not in current:
            out.append(FileChange(path, "missing", locked[path], None))
        elif path not in locked:
            out.append(FileChange(path, "new", None, current[path]))
        elif locked[path] != current[path]:
            out.append(FileChange(path, "modified", locked[path], current[path]))
    return tuple(out)


def observed_events(
    status: AssetStatus,
    locked: LockedAsset | None,
    read: AuditRead,
    *,
    time: str,
    command: str,
    tool: str,
    who: str | None,
) -> list[AuditEvent]:
    """The audit events for what changed in a prompt or config asset since the log last saw it:
    one per file whose content differs from the last recorded one. Nothing when the tree was
    not looked at (a remote asset compared by its lock)."""
    if status.current is None and status.state != "missing":
        return []
    last = read.last_seen(status.name)
    locked_hashes = locked.hashes() if locked else {}
    current = status.current or {}
    events = []
    for path in sorted(set(current) | set(locked_hashes) | {p for p in last if p is not None}):
        before = last[path] if path in last else locked_hashes.get(path)
        file = current.get(path)
        if file is not None and file.sha256 is None:
            continue  # unreadable now: status reports it; its content is unknown, so nothing to log
        now = file.sha256 if file is not None else None
        if before == now:
            continue
        event = "new" if before is None else "missing" if now is None else "modified"
        events.append(
            AuditEvent(time, event, status.name, status.kind, path, before, now, command, tool, who)
        )
    return events
