"""A project on disk and the operations the commands run on it: add, status, lock, remove.

Every operation that writes holds the project's lock (`AuditLog.exclusive`) from reading the
lock and the audit log to appending to the log, so concurrent runs neither lose a lock entry
nor log one change twice. Files are written in the order that leaves a consistent project if
the process dies between two writes: aisbom.toml, then aisbom.lock, then the audit log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aisbom.errors import AisbomError, UsageError
from aisbom.pipeline import ScanReport
from aisbom.policy import Policy
from aisbom.project.acquire import FetchOptions, acquire, scan_acquired
from aisbom.project.audit import (
    AUDIT_NAME,
    LOG_ACCEPTED,
    LOG_ASSET,
    LOG_KIND,
    AuditError,
    AuditEvent,
    AuditLog,
    AuditRead,
    not_yet_logged,
    who,
)
from aisbom.project.clock import now, stamp
from aisbom.project.lock import LOCK_NAME, Lock, LockedAsset, locked_from_scan, with_links
from aisbom.project.manifest import AUDITED_KINDS, MANIFEST_NAME, Asset, Manifest, find_manifest
from aisbom.project.status import ProjectStatus, compute_status, file_changes, observed_events
from aisbom.project.texts import TextStore
from aisbom.project.tree import TreeFile, hash_tree, project_files, symlinks
from aisbom.severity import ExitCode
from aisbom.sources import Resolved
from aisbom.version import __version__

Progress = Callable[[int], None]
TOOL = f"aisbom {__version__}"


class NoProject(UsageError):
    """No aisbom.toml here or above."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one asset in `add` or `lock`."""

    name: str
    kind: str
    action: str  # added | locked | dropped | unchanged | refused | error
    message: str = ""
    report: ScanReport | None = None  # the scan, when one ran
    warnings: tuple[str, ...] = ()


@dataclass
class Result:
    outcomes: list[Outcome] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)  # appended to the audit log
    warnings: list[str] = field(default_factory=list)
    # Why the audit log is not an intact append-only record (its first broken line, or that
    # it is not the log aisbom.lock recorded); empty when it is.
    log_problems: list[str] = field(default_factory=list)
    log_checked: bool = False

    @property
    def exit_code(self) -> ExitCode:
        if any(o.action == "error" for o in self.outcomes):
            return ExitCode.ERROR
        if any(o.action == "refused" for o in self.outcomes):
            return ExitCode.UNSAFE
        return ExitCode.CLEAN


class Project:
    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.root = manifest.root
        self.lock = Lock.load(self.root / LOCK_NAME)
        self.audit = AuditLog(self.root / AUDIT_NAME)

    @classmethod
    def open(cls, project_dir: Path | None, cwd: Path) -> Project:
        """The project in `project_dir`, or the nearest one at or above `cwd`."""
        if project_dir is not None:
            path = project_dir / MANIFEST_NAME if project_dir.is_dir() else project_dir
            return cls(Manifest.load(path))
        found = find_manifest(cwd)
        if found is None:
            raise NoProject(f"no {MANIFEST_NAME} in {cwd} or any parent directory (`aisbom add` creates one)")
        return cls(Manifest.load(found))

    @classmethod
    def open_or_create(cls, project_dir: Path | None, cwd: Path) -> tuple[Project, bool]:
        """As `open`; with no project found, a new one in `project_dir` or `cwd` (not saved yet)."""
        try:
            return cls.open(project_dir, cwd), False
        except NoProject:
            pass
        except AisbomError:
            if project_dir is None or (project_dir / MANIFEST_NAME).exists() or project_dir.is_file():
                raise
        directory = (project_dir or cwd).resolve()
        if not directory.is_dir():
            raise UsageError(f"{directory}: no such directory")
        return cls(Manifest.new(directory / MANIFEST_NAME, directory.name or "system")), True

    # --- add -------------------------------------------------------------------------------

    def add(
        self,
        asset: Asset,
        *,
        policy: Policy,
        allow_unsafe: bool = False,
        fetch: FetchOptions | None = None,
        progress: Progress | None = None,
    ) -> Result:
        """Scan the asset, then declare and lock it, or refuse it when the scan is not clean."""
        self.manifest.add(asset)  # in memory: checks the name and relations before any download
        result = Result()
        acquired = acquire(asset.source, self.root, fetch)
        outcome, locked = self._scan(asset, acquired, policy, allow_unsafe, progress, action="added")
        result.outcomes.append(outcome)
        if locked is None:
            return result
        with self.audit.exclusive():
            # What a concurrent run may have written during the scan: add to that, not over it.
            if self.manifest.path.exists():
                self.manifest = Manifest.load(self.manifest.path)
                self.manifest.add(asset)
            self.lock = Lock.load(self.lock.path)
            previous = self.lock.assets.get(asset.name)  # a stale entry of an asset removed by hand
            self.manifest.save()
            self.lock.assets[asset.name] = locked
            self.lock.save()
            events = self._lock_events("added", asset.name, asset.kind, previous, locked, command="add")
            result.events += self._append(events, result)
            self._record_head(result)
        return result

    # --- status ----------------------------------------------------------------------------

    def status(
        self, *, record: bool = True, fetch_remote: bool = False, fetch: FetchOptions | None = None
    ) -> tuple[ProjectStatus, Result]:
        """Compare with the lock and log every prompt or config change not logged yet."""
        result = Result()
        hasher = self._remote_hasher(fetch) if fetch_remote else None
        with self.audit.exclusive():
            status = compute_status(self.manifest, self.lock, fetch_remote=hasher)
            self._check_log(self._read_audit(), result)
            if record:
                try:
                    result.events += self._append(self._observed(status, command="status"), result)
                except AuditError as exc:  # a read-only checkout (CI): still say what changed
                    result.warnings.append(f"changes not logged: {exc}")
        return status, result

    # --- lock ------------------------------------------------------------------------------

    def accept(
        self,
        names: Sequence[str] = (),
        *,
        policy: Policy,
        allow_unsafe: bool = False,
        rescan: bool = False,
        fetch: FetchOptions | None = None,
        progress: Progress | None = None,
        accept_log: bool = False,
    ) -> Result:
        """Take the working tree into the lock: scan every new or modified asset (all of them
        with `rescan`), lock those that are clean, drop the ones no longer declared, and record
        the audit log's head. A log whose chain is broken, or that is not the one the lock
        recorded, is refused (nothing is locked) unless `accept_log`, which takes it as it is
        and says so in the log (a `log-accepted` event)."""
        unknown = [n for n in names if n not in self.manifest.assets and n not in self.lock.assets]
        if unknown:
            raise UsageError(f"no asset named {unknown[0]!r} in {MANIFEST_NAME} or {LOCK_NAME}")
        result = Result()
        with self.audit.exclusive():
            self.lock = Lock.load(self.lock.path)
            read = self._read_audit()
            events: list[AuditEvent] = []
            if self._check_log(read, result):
                if not accept_log:
                    why = "; ".join(result.log_problems)
                    message = (
                        f"nothing locked: {why}; restore {AUDIT_NAME} (and {LOCK_NAME}) from version "
                        "control, or run `aisbom lock --accept-audit-log` to take the log as it is"
                    )
                    result.outcomes.append(Outcome(LOG_ASSET, LOG_KIND, "refused", message))
                    return result
                locked_head = self.lock.audit_head.sha256 if self.lock.audit_head else None
                events.append(
                    self._event(
                        LOG_ACCEPTED, LOG_ASSET, LOG_KIND, None, locked_head, read.chain.head.sha256, "lock"
                    )
                )
            status = compute_status(self.manifest, self.lock)
            events += self._observed(status, command="lock")
            for item in status.assets:
                if names and item.name not in names:
                    continue
                previous = self.lock.assets.get(item.name)
                if item.state == "removed":
                    del self.lock.assets[item.name]
                    events.append(self._event("removed", item.name, item.kind, None, None, None, "lock"))
                    result.outcomes.append(Outcome(item.name, item.kind, "dropped", "no longer declared"))
                    continue
                if item.state == "missing":
                    result.outcomes.append(
                        Outcome(
                            item.name, item.kind, "error", f"cannot lock: {item.note or 'source is missing'}"
                        )
                    )
                    continue
                if item.state == "unchanged" and not rescan:
                    result.outcomes.append(Outcome(item.name, item.kind, "unchanged"))
                    continue
                asset = self.manifest.assets[item.name]
                try:
                    acquired = acquire(asset.source, self.root, fetch)
                except AisbomError as exc:
                    result.outcomes.append(Outcome(item.name, item.kind, "error", str(exc)))
                    continue
                outcome, locked = self._scan(
                    asset,
                    acquired,
                    policy,
                    allow_unsafe,
                    progress,
                    action="added" if previous is None else "locked",
                )
                # A rescan of unchanged bytes keeps the entry (and its time) unless findings changed.
                if locked is not None and previous is not None and _same_scan(previous, locked):
                    locked = previous
                    outcome = Outcome(item.name, item.kind, "unchanged", report=outcome.report)
                result.outcomes.append(outcome)
                if locked is None or locked is previous:
                    continue
                self.lock.assets[item.name] = locked
                action = "added" if previous is None else "accepted"
                events += self._lock_events(action, item.name, item.kind, previous, locked, command="lock")
            self.lock.save()
            result.events += self._append(events, result)
            self._record_head(result, accepted=accept_log)
        return result

    # --- remove ----------------------------------------------------------------------------

    def remove(self, name: str) -> Result:
        result = Result()
        with self.audit.exclusive():
            self.manifest = Manifest.load(self.manifest.path)
            self.lock = Lock.load(self.lock.path)
            kind = (self.manifest.assets.get(name) or self.lock.assets.get(name) or Asset(name, "?", "")).kind
            if name in self.manifest.assets:
                self.manifest.remove(name)
                self.manifest.save()
            elif name not in self.lock.assets:
                raise UsageError(f"no asset named {name!r} in {MANIFEST_NAME} or {LOCK_NAME}")
            previous = self.lock.assets.pop(name, None)
            self.lock.save()
            old = previous.digest if previous else None
            result.events += self._append(
                [self._event("removed", name, kind, None, old, None, "remove")], result
            )
            self._record_head(result)
            result.outcomes.append(Outcome(name, kind, "dropped", "removed from the inventory"))
        return result

    # --- helpers ---------------------------------------------------------------------------

    def _scan(
        self,
        asset: Asset,
        acquired: Resolved,
        policy: Policy,
        allow_unsafe: bool,
        progress: Progress | None,
        *,
        action: str,
    ) -> tuple[Outcome, LockedAsset | None]:
        report = scan_acquired(acquired, self.root, policy, progress)
        warnings = list(acquired.notes)
        if acquired.kind_hint and acquired.kind_hint != asset.kind:
            warnings.append(f"the source looks like a {acquired.kind_hint}, declared as a {asset.kind}")
        if report.error is not None:  # nothing scanned, or a file unread: no hash to record, ever
            message = f"not {action}: {report.error}"
            return Outcome(asset.name, asset.kind, "error", message, report, tuple(warnings)), None
        if report.exit_code != ExitCode.CLEAN and not allow_unsafe:
            message = (
                f"not {action}: {asset.source} is unsafe or not fully analysed; "
                "--allow-unsafe records it anyway"
            )
            return Outcome(asset.name, asset.kind, "refused", message, report, tuple(warnings)), None
        locked = locked_from_scan(
            asset.name,
            asset.kind,
            asset.source,
            report,
            locked_at=stamp(now()),
            single_file=not acquired.path.is_dir(),
            provenance=acquired.provenance,
        )
        if acquired.provenance is None and acquired.path.is_dir():  # a local directory: its links too
            every_link = frozenset(symlinks(acquired.path, project_files(self.root)))
            tree = hash_tree(acquired.path, project_files(self.root), links=True, outside_allowed=every_link)
            locked = with_links(locked, tree)
        return Outcome(asset.name, asset.kind, action, "", report, tuple(warnings)), locked

    def _remote_hasher(self, fetch: FetchOptions | None):  # type: ignore[no-untyped-def]
        def hasher(asset: Asset) -> tuple[Path, dict[str, TreeFile]]:
            acquired = acquire(asset.source, self.root, fetch)
            return acquired.path, hash_tree(acquired.path, project_files(self.root))

        return hasher

    def _observed(self, status: ProjectStatus, *, command: str) -> list[AuditEvent]:
        read = self._read_audit()
        time, login = stamp(now()), who()
        events: list[AuditEvent] = []
        for item in status.assets:
            if item.kind in AUDITED_KINDS and item.state != "removed":
                events += observed_events(
                    item,
                    self.lock.assets.get(item.name),
                    read,
                    time=time,
                    command=command,
                    tool=TOOL,
                    who=login,
                )
        return events

    def _lock_events(
        self,
        action: str,
        name: str,
        kind: str,
        previous: LockedAsset | None,
        locked: LockedAsset,
        *,
        command: str,
    ) -> list[AuditEvent]:
        """Prompt and config: one event per file whose locked content changed. Others: one event
        for the asset, old and new digest."""
        if kind not in AUDITED_KINDS:
            return [
                self._event(
                    action, name, kind, None, previous.digest if previous else None, locked.digest, command
                )
            ]
        old = previous.hashes() if previous else {}
        return [
            self._event(action, name, kind, c.path, c.locked_sha256, c.current_sha256, command)
            for c in file_changes(old, locked.hashes())
        ]

    @staticmethod
    def _event(
        event: str, name: str, kind: str, path: str | None, old: str | None, new: str | None, command: str
    ) -> AuditEvent:
        return AuditEvent(stamp(now()), event, name, kind, path, old, new, command, TOOL, who())

    def _read_audit(self) -> AuditRead:
        return self.audit.read()

    def _check_log(self, read: AuditRead, result: Result) -> bool:
        """Put what is wrong with the log's chain in `result` (once); True if anything is."""
        if not result.log_checked:
            result.log_checked = True
            result.log_problems += read.integrity(self.lock.audit_head)
            result.warnings += [f"{AUDIT_NAME}: {n}" for n in read.notes(self.lock.audit_head)]
        return bool(result.log_problems)

    def _record_head(self, result: Result, *, accepted: bool = False) -> None:
        """Record the log's head in the lock, after this command appended to it (the lock is
        written first, so a crash in between leaves a lock whose head the log still begins
        with). Not over a log that is not intact, unless the user accepted it as it is."""
        if result.log_problems and not accepted:
            return
        head = self._read_audit().chain.head
        if head != self.lock.audit_head:
            self.lock.audit_head = head
            self.lock.save()

    def _append(self, events: list[AuditEvent], result: Result) -> list[AuditEvent]:
        """Append what the log does not already end with; a log that cannot be written is a
        warning for `status` (which must work in a read-only checkout) and an error otherwise."""
        read = self._read_audit()
        result.warnings += [f"{AUDIT_NAME}: {p}" for p in read.problems]
        self._check_log(read, result)
        fresh = not_yet_logged(read, events)
        if self.manifest.audit_diffs:
            fresh = self._with_diffs(fresh)
        return self.audit.append(fresh)

    def _with_diffs(self, events: list[AuditEvent]) -> list[AuditEvent]:
        """Keep a copy of each new prompt/config text, and diff a modification against the copy
        of the previous one (when there is one: the opt-in came later, or the text is large)."""
        store = TextStore(self.root)
        out = []
        for event in events:
            asset = self.manifest.assets.get(event.asset)
            if asset is None or not asset.audited or asset.remote or event.file is None:
                out.append(event)
                continue
            path = asset.local_path(self.root)
            if path.is_dir():
                path = path / event.file
            if event.new_sha256:
                store.keep(path, event.new_sha256)
            if event.event == "modified":
                event = dataclasses.replace(
                    event, diff=store.diff(event.file, event.old_sha256, event.new_sha256)
                )
            out.append(event)
        return out


def _same_scan(a: LockedAsset, b: LockedAsset) -> bool:
    return a.to_json() | {"locked_at": ""} == b.to_json() | {"locked_at": ""}
