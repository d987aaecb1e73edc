"""The input of a conversion or a static load: scanned first, read only when the scan is clean.

The scan is aisbom's own (`pipeline.scan_target`) at the default policy, so the static path
refuses exactly what `aisbom scan` fails: anything unsafe, and anything it could not fully
analyse. The file is then mapped, not read: storages are copied out of the page cache as they
are written. If the file changes between the scan and the read (another inode, size or
modification time), nothing is converted.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aisbom.hashing as hashing
from aisbom.convert.errors import ConversionError, UnsafeInput
from aisbom.limits import Limits
from aisbom.pipeline import FileResult, ScanReport, scan_target
from aisbom.scanners.frame.context import Data
from aisbom.severity import ExitCode


@dataclass(frozen=True)
class ScannedFile:
    path: Path
    data: Data  # the file, mapped (or its bytes when empty)
    result: FileResult  # its scan: format, SHA-256, findings
    report: ScanReport
    fd: int  # open while the `scanned` block runs: the kernel copies tensors from it

    @property
    def format(self) -> str:
        return self.result.format


def scan_file(path: Path, limits: Limits) -> ScanReport:
    """The scan of one file at the default policy. Raises UnsafeInput unless it is clean."""
    report = scan_target(path, limits=limits)
    if report.exit_code is ExitCode.ERROR:
        raise ConversionError(f"cannot read {path}: {report.findings[0].message if report.findings else ''}")
    if report.exit_code is not ExitCode.CLEAN:
        what = "not fully analysed" if report.incomplete else "unsafe"
        raise UnsafeInput(f"the scan found it {what}; nothing was converted", report, path=str(path))
    return report


@contextmanager
def scanned(path: Path, limits: Limits, *, private: bool = False) -> Iterator[ScannedFile]:
    """Scan `path`, then map it. `private`: a copy-on-write mapping (arrays handed to a caller can
    be written without touching the file), left open for them; otherwise read-only, closed after."""
    if not path.is_file():
        raise ConversionError(f"{path} is not a file")
    before = _identity(os.stat(path))
    report = scan_file(path, limits)
    try:
        handle = hashing.open_regular(path)
    except OSError as exc:
        raise ConversionError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        if _identity(os.fstat(handle.fileno())) != before:
            raise ConversionError(f"{path} changed while it was scanned; run the command again")
        size = os.fstat(handle.fileno()).st_size
        access = mmap.ACCESS_COPY if private else mmap.ACCESS_READ
        data: Data = mmap.mmap(handle.fileno(), 0, access=access) if size else b""
        try:
            yield ScannedFile(path, data, report.files[0], report, handle.fileno())
        finally:
            if isinstance(data, mmap.mmap) and not private:
                with contextlib.suppress(BufferError):  # a view still holds it: closed when it goes
                    data.close()


def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
