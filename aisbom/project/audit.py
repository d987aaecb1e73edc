"""aisbom-audit.jsonl: the append-only audit log of a project's assets (EN 304 223 5.2.4-3).

One JSON object per line, keys in a fixed order. Events:

- `new`, `modified`, `missing`: a prompt or config file was seen to appear, change or disappear
  in the working tree (by `aisbom status`, `aisbom lock` or `aisbom add`). `old_sha256` is the
  last content the log knows of (the previous event's `new_sha256`, else the locked hash), so
  a change and its revert are two events and repeating `status` adds none.
- `added`: an asset entered the inventory and the lock (`aisbom add`, or `aisbom lock` of an
  asset declared by hand).
- `accepted`: the lock took the working tree's content (`aisbom lock`): old and new locked hash.
- `removed`: an asset left the inventory (`aisbom remove`).
- `log-accepted`: `aisbom lock --accept-audit-log` took the log as it is although its chain
  was broken or it was not the log the lock recorded (two branches that both appended to it
  were merged): old and new are the log's recorded and current head; the breaks before this
  line are reported as accepted, not as broken.

Prompt and config events are per file. Model and dataset events are per asset (`file` is
null): old and new are the asset digest (SHA-256 of its sha256sum manifest), so a dataset of
100,000 files updates in one line.

The file is only ever appended to: opened with O_APPEND, each batch written in one call and
fsynced, under an exclusive lock so that two concurrent runs cannot log the same change twice.
A torn last line (a crash mid-write) is skipped when reading and never rewritten; the next
batch starts on a new line.

The log is committed, so anyone can edit it: it is hash-chained. Each line aisbom writes ends
with `before_sha256`, the SHA-256 of every byte of the log before that line, so changing,
removing or inserting a line breaks the chain at the next line, and reading names the first
broken one. `aisbom lock` records the head (SHA-256 and size of the whole log) in aisbom.lock,
so even a log rewritten consistently from the first line is caught: the log must begin with
the bytes the lock recorded. A log written before the chain (no `before_sha256`) is read as
it is, its lines reported as unchained; the first chained line seals every byte before it, and
the next `aisbom lock` records the head (both say so), after which a rewrite of those lines
is caught too.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aisbom.hashing as hashing
from aisbom.errors import AisbomError
from aisbom.project import values
from aisbom.project.clock import parse

AUDIT_NAME = "aisbom-audit.jsonl"
OBSERVED = ("new", "modified", "missing")
LOG_ACCEPTED = "log-accepted"
EVENTS = (*OBSERVED, "added", "accepted", "removed", LOG_ACCEPTED)
# The asset and kind a `log-accepted` event names: the log itself.
LOG_ASSET, LOG_KIND = AUDIT_NAME, "log"
KINDS = ("model", "dataset", "prompt", "config", "?", LOG_KIND)  # "?": removed, kind unknown
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class AuditError(AisbomError):
    """The audit log cannot be read or appended to."""


@dataclass(frozen=True)
class AuditEvent:
    time: str  # UTC, ISO 8601
    event: str  # one of EVENTS
    asset: str
    kind: str
    file: str | None  # path inside the asset; None for an event about the whole asset
    old_sha256: str | None
    new_sha256: str | None
    command: str  # the aisbom command that wrote it
    tool: str  # "aisbom X.Y.Z"
    who: str | None = None  # the login name that ran it
    diff: str | None = None  # unified diff of the text, only when the project opts in
    # SHA-256 of every byte of the log before this line; set when the line is written (append).
    before_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "time": self.time,
            "event": self.event,
            "asset": self.asset,
            "kind": self.kind,
            "file": self.file,
            "old_sha256": self.old_sha256,
            "new_sha256": self.new_sha256,
            "command": self.command,
            "who": self.who,
            "tool": self.tool,
        }
        if self.diff is not None:
            out["diff"] = self.diff
        if self.before_sha256 is not None:
            out["before_sha256"] = self.before_sha256
        return out

    @classmethod
    def from_json(cls, data: Any) -> AuditEvent:
        """The event a line holds, every value checked (values.py): a hash read here becomes a
        file name in .aisbom/objects/, a file a path inside an asset. Raises ValueError."""
        if not isinstance(data, dict) or data.get("event") not in EVENTS:
            raise ValueError("not an aisbom audit event")

        def text(key: str) -> str | None:
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{key} is not a string")
            return value

        time, asset, kind = text("time"), text("asset"), text("kind")
        if not (time and asset and kind):
            raise ValueError("time, asset or kind missing")
        parse(time)  # ValueError if it is not a time
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        file = text("file")
        return cls(
            time=time,
            event=data["event"],
            asset=values.asset_name(asset, "asset"),
            kind=kind,
            file=None if file is None else values.file_name(file, "file"),
            old_sha256=values.sha256_or_none(data.get("old_sha256"), "old_sha256"),
            new_sha256=values.sha256_or_none(data.get("new_sha256"), "new_sha256"),
            command=text("command") or "",
            tool=text("tool") or "",
            who=text("who"),
            diff=text("diff"),
            before_sha256=values.sha256_or_none(data.get("before_sha256"), "before_sha256"),
        )


@dataclass(frozen=True)
class LogHead:
    """The log as a whole at one moment: SHA-256 and size of all its bytes, and its number of
    events. aisbom.lock records it; the log must still begin with those bytes later."""

    sha256: str
    size: int
    entries: int

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "entries": self.entries}

    @classmethod
    def from_json(cls, data: Any) -> LogHead:
        if not isinstance(data, dict):
            raise ValueError("audit_log is not an object")
        sha = values.sha256_or_none(data.get("sha256"), "audit_log sha256")
        size = values.size_or_none(data.get("size"), "audit_log size")
        entries = values.size_or_none(data.get("entries"), "audit_log entries")
        if sha is None or size is None or entries is None:
            raise ValueError("audit_log needs sha256, size and entries")
        return cls(sha, size, entries)


@dataclass(frozen=True)
class Chain:
    """What the hash chain of a log says. `broken` names the first line whose chain does not
    hold (None: it holds); `accepted` the breaks a later `log-accepted` line took as they are."""

    head: LogHead
    unchained: int = 0  # events written before the chain existed (and not sealed by a chained line)
    first_chained: int | None = None  # line number of the first chained event
    broken: str | None = None
    accepted: tuple[str, ...] = ()
    _data: bytes = dataclasses.field(default=b"", repr=False)  # the log as read, to check a head

    def extends(self, locked: LogHead | None) -> str | None:
        """None if the log begins with the bytes of the head the lock recorded, else why not."""
        if locked is None:
            return None
        if self.head.size < locked.size:
            return (
                f"it is {self.head.size} bytes, shorter than the {locked.size} bytes ({locked.entries} "
                "events) aisbom.lock recorded: lines were removed"
            )
        if hashlib.sha256(self._data[: locked.size]).hexdigest() != locked.sha256:
            return (
                f"its first {locked.size} bytes are not the ones aisbom.lock recorded "
                f"(sha256 {locked.sha256[:12]}, {locked.entries} events): the log was rewritten"
            )
        return None

    def notes(self) -> list[str]:
        """What a reader should be told about the chain even when it holds."""
        out = [f"{a}; accepted by a later log-accepted event" for a in self.accepted]
        if self.unchained and self.first_chained is None:
            out.append(
                f"{self.unchained} event{'s' if self.unchained != 1 else ''} written without a hash "
                "chain (by an aisbom before the chain); the next line aisbom appends seals them, "
                "and `aisbom lock` records the log's head"
            )
        return out


@dataclass(frozen=True)
class AuditRead:
    events: tuple[AuditEvent, ...]
    problems: tuple[str, ...]  # lines that are not events (a torn last line, a hand edit)
    chain: Chain = dataclasses.field(default_factory=lambda: Chain(LogHead(_EMPTY_SHA256, 0, 0)))

    def integrity(self, locked: LogHead | None) -> list[str]:
        """Why this log cannot be trusted as an append-only record: its first broken line, or
        that it is not the log aisbom.lock recorded. Empty if neither."""
        out = []
        if self.chain.broken:
            out.append(self.chain.broken)
        rewritten = self.chain.extends(locked)
        if rewritten:
            out.append(rewritten)
        return out

    def notes(self, locked: LogHead | None) -> list[str]:
        """What a reader should be told about the chain even when it holds."""
        out = self.chain.notes()
        if locked is None and self.chain.first_chained is not None:
            out.append(
                "aisbom.lock records no head of this log, so a rewrite of it from the first line "
                "cannot be detected; `aisbom lock` records one"
            )
        return out

    def last_seen(self, asset: str) -> dict[str | None, str | None]:
        """Per file of `asset` (None: the asset as a whole), the content the log last recorded.
        A `removed` event forgets the asset: a later asset of the same name starts afresh."""
        seen: dict[str | None, str | None] = {}
        for event in self.events:
            if event.asset != asset:
                continue
            if event.event == "removed":
                seen = {}
            else:
                seen[event.file] = event.new_sha256
        return seen


def who() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment (containers without a passwd entry)
        return None


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> AuditRead:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return AuditRead((), ())
        except OSError as exc:
            raise AuditError(f"cannot read: {exc.strerror or exc}", path=str(self.path)) from None
        return _parse(data)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the project's lock while deciding what to append and appending it. The lock is
        taken on the directory itself: it creates no file, and (unlike aisbom.toml, which is
        replaced when saved) its inode never changes."""
        try:
            fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:  # Windows opens no directories: run unlocked, as without fcntl
            yield
            return
        try:
            _flock(fd)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def append(self, events: Sequence[AuditEvent]) -> list[AuditEvent]:
        """Append the events in one write, fsynced, each chained to every byte before it.
        Never rewrites what is there. Returns the events as written (with their chain digest)."""
        if not events:
            return []
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise AuditError(f"cannot append: {exc.strerror or exc}", path=str(self.path)) from None
        try:
            digest = _digest_of(fd)
            payload = b""
            if _ends_without_newline(fd):
                payload = b"\n"  # a torn last line stays as it is, on its own line
                digest.update(payload)
            written_events = []
            for event in events:
                event = dataclasses.replace(event, before_sha256=digest.hexdigest())
                line = (json.dumps(event.to_json(), ensure_ascii=False) + "\n").encode("utf-8")
                digest.update(line)
                payload += line
                written_events.append(event)
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except OSError as exc:
            raise AuditError(f"cannot append: {exc.strerror or exc}", path=str(self.path)) from None
        finally:
            os.close(fd)
        return written_events


def not_yet_logged(read: AuditRead, events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Observed changes the log does not already end with (a concurrent run may have logged them)."""
    out = []
    seen: dict[tuple[str, str | None], str | None] = {}
    for event in events:
        key = (event.asset, event.file)
        if key not in seen:
            seen[key] = read.last_seen(event.asset).get(event.file, event.old_sha256)
        if event.event in OBSERVED and seen[key] == event.new_sha256:
            continue
        seen[key] = event.new_sha256
        out.append(event)
    return out


def _parse(data: bytes) -> AuditRead:
    """Every event of the log, and what its chain says: one pass, the running SHA-256 of the
    bytes before each line compared with the digest the line carries."""
    events: list[AuditEvent] = []
    problems: list[str] = []
    lines = data.split(b"\n")
    running = hashlib.sha256()
    unchained, first_chained, broken = 0, None, None
    pending_breaks: list[str] = []  # breaks a later log-accepted event may take as they are
    accepted: list[str] = []
    for number, raw in enumerate(lines, start=1):
        before = running.hexdigest()
        line = raw + b"\n" if number < len(lines) else raw
        running.update(line)
        if not raw.strip():
            continue
        try:
            event = AuditEvent.from_json(json.loads(raw.decode("utf-8")))
        except (ValueError, UnicodeDecodeError) as exc:
            where = "last line" if number >= len(lines) - 1 else f"line {number}"
            problems.append(f"{where} is not an audit event ({exc}); skipped")
            continue
        events.append(event)
        if event.before_sha256 is None:
            if first_chained is None:
                unchained += 1
            else:
                pending_breaks.append(
                    f"line {number} carries no before_sha256 after chained lines: it was inserted "
                    "or rewritten"
                )
        elif event.before_sha256 != before:
            pending_breaks.append(
                f"line {number}: the chain is broken (its before_sha256 is not the SHA-256 of the log "
                "before it): an earlier line was changed, removed or inserted"
            )
        if event.before_sha256 is not None and first_chained is None:
            first_chained = number
        if event.event == LOG_ACCEPTED and event.before_sha256 == before and event.new_sha256 == before:
            accepted += pending_breaks
            pending_breaks = []
    if pending_breaks:
        broken = pending_breaks[0]
    chain = Chain(
        head=LogHead(running.hexdigest(), len(data), len(events)),
        unchained=unchained,
        first_chained=first_chained,
        broken=broken,
        accepted=tuple(accepted),
        _data=data,
    )
    return AuditRead(tuple(events), tuple(problems), chain)


def _digest_of(fd: int) -> Any:
    """The running SHA-256 of everything in the open log."""
    digest = hashing.new_hasher("sha256")
    with open(fd, "rb", buffering=0, closefd=False) as handle:
        hashing.update_from_range(digest, handle, 0, os.fstat(fd).st_size)
    return digest


def _ends_without_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def _flock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; concurrent runs may then log a change twice
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
