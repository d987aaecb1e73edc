"""inventory -> read once -> hash + sniff + scan -> a finished ScanReport."""

from __future__ import annotations

import mmap
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

import aisbom.forked as forked
import aisbom.hashing as hashing
import aisbom.keras_code as keras_code
from aisbom.errors import TargetError
from aisbom.findings import Finding
from aisbom.inventory import Entry, walk
from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.severity import ExitCode, Severity
from aisbom.sources.base import Resolved, check_scanned_hashes
from aisbom.version import __version__
from aisbom.wording import counted

if TYPE_CHECKING:
    from aisbom.scanners.frame.context import Data, ScanContext

# A file that could not be read: the scan is an error (exit 2) whatever --fail-on says, since
# nothing can be said of bytes never seen.
# A file that changed while it was scanned is the same: what was judged is not what is there.
UNREAD_RULES = frozenset({"file-unreadable", "file-changed"})
# Findings that mean part of the target was not analysed: such a scan never exits 0.
INCOMPLETE_RULES = UNREAD_RULES | frozenset(
    {
        "scan-limit",
        "scan-error",
        "symlink-outside-target",
        "format-not-analysed",
        "code-unanalysable",
        "model-code-elsewhere-unchecked",
    }
)


@dataclass(frozen=True, slots=True)  # (no __dict__: one object a file for the collector, not two)
class FileResult:
    """One file's scan: its size, hash, format and findings."""

    path: str
    size: int | None
    sha256: str | None
    format: str
    findings: tuple[Finding, ...]
    # Findings an allow file silenced (each names it in `silenced_by`): shown, never counted.
    silenced: tuple[Finding, ...] = ()

    @property
    def readable(self) -> bool:
        """Its bytes were read (and hashed, unless the scan took no hash)."""
        return self.format not in _UNREAD_FORMATS and not any(f.rule in UNREAD_RULES for f in self.findings)


@dataclass(frozen=True)
class ScanReport:
    """A whole scan: every file's result, the policy, and the verdict and exit code."""

    target: str
    tool_version: str
    policy: Policy
    files: tuple[FileResult, ...]
    # Files of the target that --include/--exclude left out, by path: named, never scanned.
    excluded: tuple[str, ...] = ()
    # False for `scan --no-hash`: no file was hashed, so no BOM, lock or signature may rest on it.
    hashed: bool = True

    @property
    def findings(self) -> list[Finding]:
        return [f for file in self.files for f in file.findings]

    @property
    def silenced(self) -> list[Finding]:
        """What the allow files in force silenced, each naming its file (`silenced_by`)."""
        return [f for file in self.files for f in file.silenced]

    def counts(self) -> dict[str, int]:
        counts = {s.label: 0 for s in sorted(Severity, reverse=True)}
        for finding in self.findings:
            counts[finding.severity.label] += 1
        return counts

    def failing(self) -> list[Finding]:
        """Findings that fail the scan under its policy; an unread file is an error, not one of them."""
        return [
            f for f in self.findings if f.rule not in UNREAD_RULES and self.policy.fails(f.severity, f.rule)
        ]

    @property
    def incomplete(self) -> bool:
        return any(f.rule in INCOMPLETE_RULES for f in self.findings)

    @property
    def unread(self) -> list[FileResult]:
        """Files whose bytes could not be read (a read error, a FIFO, a link to a device ...)."""
        return [f for f in self.files if any(x.rule in UNREAD_RULES for x in f.findings)]

    @property
    def error(self) -> str | None:
        """Why this scan is an error (exit 2) rather than a verdict on the target, or None. A target
        with nothing read is never clean: a mistyped or emptied path must not pass a CI job."""
        if not any(f.readable for f in self.files):
            held = "holds no file to scan" if not self.files else "has no file that could be read"
            return f"nothing was scanned: {self.target} {held}"
        unread = len(self.unread)
        if unread:
            return f"{counted(unread, 'file')} could not be read"
        return None

    @property
    def exit_code(self) -> ExitCode:
        if self.error is not None:
            return ExitCode.ERROR
        if self.failing() or self.incomplete:
            return ExitCode.UNSAFE
        return ExitCode.CLEAN

    @property
    def unsafe(self) -> bool:
        """True unless the scan is clean: something failed the policy, was not fully analysed, or
        could not be read. What a loader guard asks before it loads anything."""
        return self.exit_code != ExitCode.CLEAN

    @property
    def verdict(self) -> str:
        """clean | unsafe | error: the exit code in words, as every output and the lock say it."""
        return _VERDICTS[self.exit_code]


_VERDICTS = {ExitCode.CLEAN: "clean", ExitCode.UNSAFE: "unsafe", ExitCode.ERROR: "error"}

Progress = Callable[[int], None]  # called with the bytes of each file as it finishes


class ByteWatcher(Protocol):
    """A progress display that also follows the bytes read inside files not yet finished (a
    large file takes seconds): given as `progress`, it is told the total first."""

    def __call__(self, size: int) -> None: ...  # a file of `size` bytes finished

    def expect(self, total: int, inside: Callable[[], int]) -> None:
        """`total` bytes to scan; `inside()` gives the bytes read so far of unfinished files,
        cheap enough to ask at each redraw."""


Select = Callable[[str], bool]  # whether to scan a file, by its path relative to the target

# Tests drive the race of a file changed under its scan through this hook: called with the
# file's path once its bytes are hashed (or, without hashing, mapped) and before they are judged.
between_passes: Callable[[str], None] | None = None

# Work of the caller's for this process while the workers hash large files (`aisbom bom` starts
# a thread that imports what the BOM needs then): one short step a call (the workers wait for
# their next job meanwhile), False once nothing is left; called after the small files, first
# once the workers are forked. A step must not raise.
meanwhile: Callable[[], bool] | None = None


def scan_target(
    target: Path,
    *,
    policy: Policy | None = None,
    limits: Limits | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    select: Select | None = None,
    hashed: bool = True,
) -> ScanReport:
    """Scan a file or directory. Raises TargetError only if the target itself is unusable;
    every problem with a file inside it becomes a finding on that file. `select` leaves files
    out (--include/--exclude): the report names them as excluded. Without `hashed`, no file is
    hashed and the tensor data of large files is never read (`scan --no-hash`)."""
    policy = policy or Policy()
    limits = limits or Limits()
    _root, entries = walk(target)
    excluded: tuple[str, ...] = ()
    if select is not None:
        excluded = tuple(e.path for e in entries if not select(e.path))
        entries = [e for e in entries if select(e.path)]
    workers = workers or _cores()
    results: list[FileResult | None] = [None] * len(entries)
    # Large files are hashed and scanned in child processes, on every core at once, and a file
    # truncated under its mapping ends only its child (aisbom.forked); small files are cheaper
    # here than a child's start, and this process scans them while the children run.
    large = [i for i, e in enumerate(entries) if e.size > hashing.MAPPED_ABOVE and not e.problem]
    if not forked.can_fork():
        large = []
    expect = getattr(progress, "expect", None)
    inside = _BytesInside(large) if expect is not None else None
    if expect is not None and inside is not None:
        expect(sum(e.size for e in entries if not e.problem), inside.total)

    def finish(i: int, result: FileResult) -> None:
        results[i] = result
        if inside is not None:
            inside.finished(i)
        if progress is not None:
            progress(result.size or 0)

    large_set = set(large)
    small = [i for i in range(len(entries)) if i not in large_set]
    # Jobs for the workers: the large files first, then, when there are many small files,
    # batches of them. This process takes the batches from the back of the queue (and scans
    # the small files that are not shared) while the workers take jobs from its front.
    shared = _batches(small, workers) if forked.can_fork() else []
    jobs: list[int | tuple[int, ...]] = [*large, *shared]
    queue = deque(range(len(jobs)))
    own = deque(small if not shared else ())

    def scan_small() -> bool:
        """One small file, so that the workers are given their next job between any two."""
        if not own and queue and isinstance(jobs[queue[-1]], tuple):
            own.extend(jobs[queue.pop()])  # type: ignore[arg-type]
        if not own:  # (a large file is only ever mapped by a worker)
            return meanwhile is not None and meanwhile()
        i = own.popleft()
        finish(i, scan_entry(entries[i], policy, limits, hashed=hashed))
        return True

    def in_child(job: int | tuple[int, ...]) -> dict[str, object]:
        if isinstance(job, tuple):
            batch = [scan_entry(entries[i], policy, limits, hashed=hashed) for i in job]
            return {"batch": [_result_json(result) for result in batch]}
        reading = inside.writer(job) if inside is not None else None
        return _result_json(scan_entry(entries[job], policy, limits, hashed=hashed, reading=reading))

    if shared:
        # This process scans a batch before the workers fork: they inherit the checks (and the
        # sniffer's recognisers) it imported, rather than each importing them again.
        while scan_small() and own:
            pass
    # Otherwise the workers are forked before the scanners are imported: each imports what it
    # needs while it hashes its first file (`_hash_and_scan`), so start-up and hashing overlap.
    children = workers if large or workers == 1 else workers - 1  # this process is one of them
    for job, answer in forked.run_all(jobs, in_child, workers=children, between=scan_small, queue=queue):
        if isinstance(job, int):
            finish(job, _child_result(entries[job], answer, policy, limits))
        elif isinstance(answer, forked.ChildDied):  # nothing mapped: scanned here, as it would have been
            for i in job:
                finish(i, scan_entry(entries[i], policy, limits, hashed=hashed))
        else:
            for i, one in zip(job, answer["batch"], strict=True):
                finish(i, _child_result(entries[i], one, policy, limits))
    files = _with_findings(
        tuple(r for r in results if r is not None),
        keras_code.shipped_modules([f for r in results if r for f in r.findings], [e.path for e in entries]),
    )
    return ScanReport(
        target=str(target),
        tool_version=__version__,
        policy=policy,
        files=files,
        excluded=excluded,
        hashed=hashed,
    )


# Small files shared with the workers go in batches of this many (a few tens of milliseconds of
# work each), and only when there are at least two batches: fewer are not worth a fork.
_BATCH = 128


def _batches(small: list[int], workers: int) -> list[tuple[int, ...]]:
    """The small files to share with the workers, in batches; none when this process alone
    should scan them (a single core, or too few of them)."""
    if workers < 2 or len(small) < 2 * _BATCH:
        return []
    return [tuple(small[n : n + _BATCH]) for n in range(0, len(small), _BATCH)]


def scan_resolved(
    resolved: Resolved,
    *,
    policy: Policy | None = None,
    progress: Progress | None = None,
    limits: Limits | None = None,
    select: Select | None = None,
    hashed: bool = True,
) -> ScanReport:
    """Scan what a source made local (`aisbom.sources.resolve`). For a remote source, the SHA-256
    the scan computed of each file must then match the one the source published: the sources do
    not hash large files themselves, so that each byte is read once, by the scan. Raises
    HashMismatchError, or TargetError when the target itself is unusable."""
    report = scan_target(
        resolved.path, policy=policy, limits=limits, progress=progress, select=select, hashed=hashed
    )
    if hashed:
        check_scanned_hashes(resolved.provenance, {f.path: f.sha256 for f in report.files})
    return with_code_elsewhere(report, policy=policy, limits=limits, hashed=hashed)


def with_code_elsewhere(
    report: ScanReport,
    *,
    policy: Policy | None = None,
    limits: Limits | None = None,
    hashed: bool = True,
    cache: Path | None = None,
) -> ScanReport:
    """The report with the code of the other repositories its model imports from (auto_map
    `org/repo--module.Class`) scanned from the Hugging Face cache, offline, and restated on the
    file that names them; a repository the cache does not hold makes the scan incomplete."""
    if not any(f.rule == "model-code-elsewhere" for f in report.findings):
        return report  # (nothing to look up: the sources and their network stack stay unimported)
    import aisbom.code_elsewhere as code_elsewhere  # here: most scans have nothing to look up
    from aisbom.sources.hf import hub_cache_dir

    limits = limits or Limits()
    added: list[Finding] = []
    for lookup in code_elsewhere.lookups(report.findings, cache or hub_cache_dir(), limits):
        if lookup.snapshot is not None:
            try:
                code = code_elsewhere.is_code
                other = scan_target(lookup.snapshot, policy=policy, limits=limits, select=code, hashed=hashed)
            except TargetError as exc:
                lookup = replace(lookup, snapshot=None, why_not=str(exc))
        if lookup.snapshot is None:
            added.append(code_elsewhere.unchecked(lookup))
        else:
            added += code_elsewhere.restated(lookup, other.findings, {f.path: f.sha256 for f in other.files})
    return replace(report, files=_with_findings(report.files, added)) if added else report


def _with_findings(files: tuple[FileResult, ...], findings: list[Finding]) -> tuple[FileResult, ...]:
    """The files, each with the findings on its path added after its own."""
    if not findings:
        return files
    added: dict[str, list[Finding]] = {}
    for finding in findings:
        added.setdefault(finding.path, []).append(finding)
    return tuple(replace(f, findings=f.findings + tuple(added.get(f.path, ()))) for f in files)


def scan_entry(
    entry: Entry,
    policy: Policy,
    limits: Limits,
    *,
    hashed: bool = True,
    reading: Callable[[int], None] | None = None,
) -> FileResult:
    """Hash and scan one file from one read of it. The file must not change meanwhile (same
    inode, size, modification and change time from open to the end of the scan): a file that
    did is scanned once more, and if it changes again it is judged by nobody (`file-changed`).
    `reading` is told the bytes of a large file hashed so far, as they are (progress)."""
    if entry.problem:
        fmt = "symlink" if "symlink" in entry.problem else "special"
        return _not_read(entry, policy, limits, entry.problem_rule or "file-unreadable", entry.problem, fmt)
    try:
        for _attempt in range(2):
            result = _scan_unchanged(entry, policy, limits, hashed, reading)
            if result is not None:
                return result
    except _Replaced:
        why = "another file took its place after the target was walked; not read"
        return _not_read(entry, policy, limits, "file-changed", why, "changed")
    except OSError as exc:
        why = f"cannot read file: {exc.strerror or exc}"
        return _not_read(entry, policy, limits, "file-unreadable", why, "unreadable")
    why = "file changed while it was scanned, twice in a row; not judged"
    return _not_read(entry, policy, limits, "file-changed", why, "changed")


def _not_read(entry: Entry, policy: Policy, limits: Limits, rule: str, why: str, kind: str) -> FileResult:
    ctx = _dispatch().context_for_file(entry.path, limits, policy, source=str(entry.absolute))
    ctx.report(rule, why)
    return _result(entry, None, None, kind, ctx)


def _scan_unchanged(
    entry: Entry, policy: Policy, limits: Limits, hashed: bool, reading: Callable[[int], None] | None
) -> FileResult | None:
    """The file's result, or None if it changed between its open and the end of its scan."""
    ctx = _dispatch().context_for_file(entry.path, limits, policy, source=str(entry.absolute))
    # The walk saw a regular file; should it have been swapped for a link or a FIFO since,
    # refuse the link and do not block on the FIFO.
    fd, info = hashing.open_regular_fd(entry.absolute)
    try:
        before = _identity(info)
        if entry.identity is not None and before[:2] != entry.identity:
            raise _Replaced  # a link or a rename put another file at this path: maybe outside
        if before[2] <= hashing.MAPPED_ABOVE:
            data: Data = hashing.read_to_end(fd, before[2])
            result = _hash_and_scan(entry, data, hashed, ctx)
        else:
            # Hashing reads every page of the mapping (dropping each from the process once
            # hashed, so it does not grow with the file), and the scanners then touch only the
            # pages they parse, from the cache: the bytes judged are the bytes hashed.
            with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mapped:
                result = _hash_and_scan(entry, mapped, hashed, ctx, reading)
        # The path's lstat, taken while the descriptor holds the file open: the same device and
        # inode are then the very file read (no other file can have its inode while it is open),
        # with the size and times an fstat of it would give; and a parser that reopens the file
        # by its path (HDF5's) read this same file. One system call, not an fstat and an lstat.
        try:
            after = _identity(os.stat(entry.absolute, follow_symlinks=False))
        except OSError:
            return None
    finally:
        os.close(fd)
    return result if after == before else None


def _cores() -> int:
    """The cores this process may run on (a container's or taskset's limit), else all of them."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


class _BytesInside:
    """The bytes hashed so far of each large file, written by the child that hashes it into
    memory shared with this process, and read by a progress display when it redraws: no pipe,
    no system call and no flush per chunk. A slot is zeroed once its file is finished."""

    def __init__(self, jobs: list[int]) -> None:
        self._slots = {job: n for n, job in enumerate(jobs)}
        # Anonymous and shared: the children forked later write into this same memory.
        self._memory = mmap.mmap(-1, 8 * max(1, len(jobs)))
        self._counts = memoryview(self._memory).cast("Q")

    def writer(self, job: int) -> Callable[[int], None]:
        slot = self._slots[job]

        def write(done: int) -> None:
            self._counts[slot] = done

        return write

    def finished(self, job: int) -> None:
        slot = self._slots.get(job)
        if slot is not None:
            self._counts[slot] = 0

    def total(self) -> int:
        return sum(self._counts)


class _Replaced(Exception):
    """The file at an entry's path is not the one the walk saw there."""


def _identity(info: os.stat_result) -> tuple[int, int, int, int, int]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _hash_and_scan(
    entry: Entry, data: Data, hashed: bool, ctx: ScanContext, reading: Callable[[int], None] | None = None
) -> FileResult:
    digest = None
    if hashed:
        if isinstance(data, bytes):
            digest = hashing.hash_bytes(data)
        else:
            warming = _Warming.start(data)
            try:
                digest = hashing.hash_mapping(data, reading=reading)
            finally:
                warming.join()
    if isinstance(data, mmap.mmap) and hasattr(mmap, "MADV_RANDOM"):
        # The scanners jump about (a zip's directory at the end, HDF5 superblocks at 512, 1024
        # ... 32 MiB): without this each jump reads the device's read-ahead (MBs) from disk.
        data.madvise(mmap.MADV_RANDOM)
    if between_passes is not None:
        between_passes(entry.path)
    return _scan_data(entry, data, digest, ctx)


def _dispatch() -> ModuleType:
    """The scanners' entry points, imported on first use: a scan of large files only hands them
    to its workers, and the parent process of such a scan never imports a scanner."""
    if not _imported:
        import aisbom.scanners.frame.dispatch as dispatch

        _imported.append(dispatch)
    return _imported[0]


_imported: list[ModuleType] = []  # (an import statement per call cost ~1 us a file)


class _Warming:
    """The checks most model files need, imported on a thread while this process hashes its
    first large file (hashlib releases the interpreter lock on each 8 MiB update): a worker
    forked before any scanner was imported has them by the time the file is hashed, for nearly
    no time of its own. Joined before the file is scanned: no thread outlives it."""

    _started = False  # once per process (a forked worker starts with its parent's False)

    def __init__(self, thread: threading.Thread | None) -> None:
        self._thread = thread
        self._interval = 0.0

    @classmethod
    def start(cls, data: Data) -> _Warming:
        if cls._started:
            return cls(None)
        cls._started = True
        thread = threading.Thread(target=_preload, args=(data,), name="aisbom-preload", daemon=True)
        warming = cls(thread)
        # The hashing thread waits for the lock at each update: switch often meanwhile.
        warming._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(warming._interval, 0.0005))
        assert warming._thread is not None
        warming._thread.start()
        return warming

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            sys.setswitchinterval(self._interval)
            self._thread = None


def _preload(data: Data) -> None:
    """Import the checks of the format `data` sniffs as (the sniffer reads a few of its pages;
    the scan sniffs it again, in order, after the hash)."""
    try:
        from aisbom.scanners.frame import registry
        from aisbom.scanners.frame.sniff import sniff

        _dispatch()
        registry.checks_for(sniff(data))
    except Exception:  # noqa: BLE001, S110 - the scan imports them again and reports what fails
        pass


def _scan_data(entry: Entry, data: Data, digest: str | None, ctx: ScanContext) -> FileResult:
    try:
        fmt = _dispatch().scan_blob(data, ctx)
    except (MemoryError, RecursionError) as exc:
        fmt = "unknown"
        ctx.report(
            "scan-limit",
            f"analysis ran out of resources ({type(exc).__name__}); not fully analysed",
        )
    except Exception as exc:  # a scanner bug must not drop the rest of the report
        fmt = "unknown"
        ctx.report(
            "scan-error",
            f"internal error while scanning ({type(exc).__name__}: {exc}); please report this bug",
            evidence={"exception": type(exc).__name__},
        )
        if os.environ.get("AISBOM_DEBUG"):
            raise
    return _result(entry, len(data), digest, fmt, ctx)


def _result(entry: Entry, size: int | None, digest: str | None, fmt: str, ctx: ScanContext) -> FileResult:
    """The file's result: what its scan found, and apart, what an allow file silenced."""
    if not ctx.sink:  # most files
        return FileResult(entry.path, size, digest, fmt, ())
    found = tuple(f for f in ctx.sink if f.silenced_by is None)
    silenced = tuple(f for f in ctx.sink if f.silenced_by is not None)
    return FileResult(entry.path, size, digest, fmt, found, silenced)


# The format of a file whose bytes were not read (a link left alone, a special file ...).
_UNREAD_FORMATS = frozenset({"symlink", "special", "unreadable", "changed"})


def _result_json(result: FileResult) -> dict[str, object]:
    """A child's answer (aisbom.forked): the result as JSON, read back by `_child_result`."""
    return {
        "size": result.size,
        "sha256": result.sha256,
        "format": result.format,
        "findings": [_finding_json(f) for f in result.findings],
        "silenced": [_finding_json(f) for f in result.silenced],
    }


def _finding_json(finding: Finding) -> list[object]:
    return [
        finding.rule,
        int(finding.severity),
        finding.message,
        list(finding.members),
        finding.offset,
        [list(pair) for pair in finding.evidence],
        finding.silenced_by,
    ]


def _finding_from_json(path: str, value: list[Any]) -> Finding:
    rule, severity, message, members, offset, evidence, silenced_by = value
    return Finding(
        rule,
        Severity(severity),
        message,
        path,
        tuple(members),
        offset,
        tuple((str(k), str(v)) for k, v in evidence),
        silenced_by,
    )


def _child_result(
    entry: Entry, answer: dict[str, Any] | forked.ChildDied, policy: Policy, limits: Limits
) -> FileResult:
    if not isinstance(answer, forked.ChildDied):
        sniffed = answer["format"]  # what the child's scan_entry found
        return FileResult(
            entry.path,
            answer["size"],
            answer["sha256"],
            sniffed,
            tuple(_finding_from_json(entry.path, f) for f in answer["findings"]),
            tuple(_finding_from_json(entry.path, f) for f in answer["silenced"]),
        )
    ctx = _dispatch().context_for_file(entry.path, limits, policy, source=str(entry.absolute))
    if answer.signal == signal.SIGBUS:  # a page past the file's new end: it shrank under the scan
        ctx.report("file-changed", f"file shrank while it was scanned ({answer}); not judged")
        return _result(entry, None, None, "changed", ctx)
    ctx.report("scan-error", f"not analysed: {answer}")
    return _result(entry, None, None, "unreadable", ctx)
