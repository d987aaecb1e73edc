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

Prompt and config events are per file. Model and dataset events are per asset (`file` is
null): old and new are the asset digest (SHA-256 of its sha256sum manifest), so a dataset of
100,000 files updates in one line.

The file is only ever appended to: opened with O_APPEND, each batch written in one call and
fsynced, under an exclusive lock so that two concurrent runs cannot log the same change twice.
A torn last line (a crash mid-write) is skipped when reading and never rewritten; the next
batch starts on a new line.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aisbom.errors import AisbomError

AUDIT_NAME = "aisbom-audit.jsonl"
OBSERVED = ("new", "modified", "missing")
EVENTS = (*OBSERVED, "added", "accepted", "removed")


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
        return out

    @classmethod
    def from_json(cls, data: Any) -> AuditEvent:
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
        return cls(
            time=time,
            event=data["event"],
            asset=asset,
            kind=kind,
            file=text("file"),
            old_sha256=text("old_sha256"),
            new_sha256=text("new_sha256"),
            command=text("command") or "",
            tool=text("tool") or "",
            who=text("who"),
            diff=text("diff"),
        )


@dataclass(frozen=True)
class AuditRead:
    events: tuple[AuditEvent, ...]
    problems: tuple[str, ...]  # lines that are not events (a torn last line, a hand edit)

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

    def append(self, events: Sequence[AuditEvent]) -> None:
        """Append the events in one write, fsynced. Never rewrites what is there."""
        if not events:
            return
        payload = "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in events).encode("utf-8")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise AuditError(f"cannot append: {exc.strerror or exc}", path=str(self.path)) from None
        try:
            if _ends_without_newline(fd):
                payload = b"\n" + payload  # a torn last line stays as it is, on its own line
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except OSError as exc:
            raise AuditError(f"cannot append: {exc.strerror or exc}", path=str(self.path)) from None
        finally:
            os.close(fd)


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
    events: list[AuditEvent] = []
    problems: list[str] = []
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            events.append(AuditEvent.from_json(json.loads(raw.decode("utf-8"))))
        except (ValueError, UnicodeDecodeError) as exc:
            where = "last line" if number >= len(lines) - 1 else f"line {number}"
            problems.append(f"{where} is not an audit event ({exc}); skipped")
    return AuditRead(tuple(events), tuple(problems))


def _ends_without_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def _flock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; concurrent runs may then log a change twice
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
