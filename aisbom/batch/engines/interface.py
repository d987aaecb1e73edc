"""What an engine is: something that runs jobs and hands back each outcome as it finishes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from aisbom.batch.job import Job, Outcome

OnDone = Callable[[Outcome], None]


class Engine(Protocol):
    def run(self, jobs: Iterable[Job], on_done: OnDone) -> None:
        """Run every job; call `on_done` (in this thread) with each outcome as it arrives."""
