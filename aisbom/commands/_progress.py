"""Byte-counting progress bars on stderr, for long scans and downloads on a terminal."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn


class _Bar:
    """A transient rich bar on stderr; entering it gives the subclass's `advance` callback."""

    def __init__(self, description: str, *columns: ProgressColumn | str, **fields: Any) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self._progress: Progress = Progress(*columns, console=Console(stderr=True), transient=True)
        self._task = self._progress.add_task(description, total=None, **fields)

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


class ByteProgress(_Bar):
    """Files and bytes scanned so far, and the throughput."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            FileSizeColumn,
            TextColumn,
            TimeElapsedColumn,
            TransferSpeedColumn,
        )

        super().__init__(
            "scan",
            TextColumn("scanning"),
            BarColumn(),
            TextColumn("{task.fields[files]} files,"),
            FileSizeColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            files=0,
        )
        self._lock = threading.Lock()
        self._files = 0

    def advance(self, size: int) -> None:
        with self._lock:
            self._files += 1
            self._progress.update(self._task, advance=size, files=self._files)


class DownloadProgressBar(_Bar):
    """Bytes received of one download; `advance(received, total)` is aisbom.sources' callback."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn

        super().__init__(
            "download", TextColumn("downloading"), BarColumn(), DownloadColumn(), TransferSpeedColumn()
        )

    def advance(self, received: int, total: int | None) -> None:
        self._progress.update(self._task, completed=received, total=total)
