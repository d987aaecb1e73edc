"""Byte-counting progress bars on stderr, for long scans and downloads on a terminal."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn


class _Bar:
    """A transient rich bar on stderr; entering it gives the subclass's `advance` callback."""

    def __init__(
        self,
        description: str,
        *columns: ProgressColumn | str,
        pull: Callable[[], None] | None = None,
        **fields: Any,
    ) -> None:
        from rich.console import Console
        from rich.progress import Progress

        class _Pulling(Progress):
            """Asks `pull` for the figures before each redraw, rather than being told them."""

            def get_renderables(self):  # type: ignore[no-untyped-def]
                if pull is not None and self.tasks:  # (rich renders once before any task)
                    pull()
                yield from super().get_renderables()

        self._progress: Progress = _Pulling(
            *columns, console=Console(stderr=True), transient=True, refresh_per_second=4
        )
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
    """Files and bytes scanned so far of the total, the throughput and the time left. The bytes
    read inside large files count as they are read: the scan hands over how to ask for them
    (`expect`), and the bar asks only when it redraws (four times a second, on its own thread),
    so a file or a chunk read costs two additions, never a redraw or a flush."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._files = 0
        self._done = 0  # bytes of the files finished
        self._total: int | None = None
        self._inside: Callable[[], int] = lambda: 0
        super().__init__(
            "scan",
            TextColumn("scanning"),
            BarColumn(),
            TextColumn("{task.fields[files]} files,"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            files=0,
            pull=self._pull,
        )

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._progress.start()
        return self  # called per finished file; `expect` gives the total and the bytes inside

    def __call__(self, size: int) -> None:
        self._files += 1  # on the scanning thread only: the redraw reads, never writes these
        self._done += size

    def expect(self, total: int, inside: Callable[[], int]) -> None:
        self._total = total
        self._inside = inside

    def _pull(self) -> None:
        done = self._done + self._inside()
        if self._total is not None:
            done = min(done, self._total)  # a file scanned twice (it changed) reads its bytes twice
        self._progress.update(self._task, completed=done, total=self._total, files=self._files)


class DownloadProgressBar(_Bar):
    """Bytes received of one download; `advance(received, total)` is aisbom.sources' callback."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn

        super().__init__(
            "download", TextColumn("downloading"), BarColumn(), DownloadColumn(), TransferSpeedColumn()
        )

    def advance(self, received: int, total: int | None) -> None:
        self._progress.update(self._task, completed=received, total=total)
