"""Byte-counting progress bars on stderr, for long scans and downloads on a terminal."""

from __future__ import annotations

import threading
from types import TracebackType


class ByteProgress:
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("scanning"),
            BarColumn(),
            TextColumn("{task.completed} files, {task.fields[mib]:.0f} MiB"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task("scan", total=None, mib=0.0)
        self._lock = threading.Lock()
        self._bytes = 0

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._progress.start()
        return self.advance

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def advance(self, size: int) -> None:
        with self._lock:
            self._bytes += size
            self._progress.update(self._task, advance=1, mib=self._bytes / 2**20)


class DownloadProgressBar:
    """Bytes received of one download; `advance(received, total)` is aisbom.sources' callback."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self._progress = Progress(
            TextColumn("downloading"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task("download", total=None)

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._progress.start()
        return self.advance

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def advance(self, received: int, total: int | None) -> None:
        self._progress.update(self._task, completed=received, total=total)
