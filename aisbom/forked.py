"""Jobs run in forked child processes, several at once, each answering in JSON over a pipe.

Large files are hashed and scanned through a memory mapping. Should another process truncate
the file meanwhile, touching a page past its new end raises SIGBUS, which Python cannot catch:
in a child, it ends that child, and the parent reports it for that file and goes on. The
children also run on every core at once, hashing and parsing alike (threads share one
interpreter lock while they parse). Where there is no fork (Windows, which also refuses to
truncate a mapped file), the jobs run one after the other in this process.
"""

from __future__ import annotations

import faulthandler
import json
import os
import selectors
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")
JSON = dict[str, Any]


class ChildDied(Exception):
    """The child ended without an answer: killed by `signal` (a number), or it exited `status`."""

    def __init__(self, signal_number: int | None, status: int | None) -> None:
        self.signal = signal_number
        self.status = status
        name = signal.Signals(signal_number).name if signal_number else f"exit status {status}"
        super().__init__(f"the process reading it ended with {name}")


def can_fork() -> bool:
    return hasattr(os, "fork")


def run_all(
    jobs: Iterable[T],
    work: Callable[[T], JSON],
    *,
    workers: int,
    between: Callable[[], bool] | None = None,
    queue: deque[int] | None = None,
) -> Iterator[tuple[T, JSON | ChildDied]]:
    """Run `work(job)` for every job in child processes, at most `workers` at a time, and yield
    (job, its JSON answer or ChildDied) as each finishes. A child takes job after job (so it
    imports the scanners it needs once); one that dies is replaced. `between`, when given, is
    called while children run and returns False once it has nothing more to do: the parent
    does its own share of the work (small files) instead of only waiting. `queue`, when given,
    holds the indices of the jobs still to give, in order: the children take them from its
    front, and `between` may take some from its back to do them itself (they are not yielded)."""
    every = list(jobs)
    pending = deque(range(len(every))) if queue is None else queue
    idle: list[_Child] = []
    busy: dict[int, _Child] = {}  # answer pipe -> child
    selector = selectors.DefaultSelector()
    busy_parent = between is not None
    try:
        while pending or busy:
            while pending and len(busy) < max(1, workers):
                child = idle.pop() if idle else _Child(every, work)
                child.give(pending.popleft())
                busy[child.answers] = child
                selector.register(child.answers, selectors.EVENT_READ)
            if busy_parent:
                assert between is not None
                busy_parent = between()
            for key, _ in selector.select(0 if busy_parent else None):
                child = busy[key.fd]
                outcome = child.read()
                if outcome is None:
                    continue  # more of the answer to come
                selector.unregister(key.fd)
                del busy[key.fd]
                if isinstance(outcome, ChildDied):
                    child.close()
                else:
                    idle.append(child)
                yield every[child.job], outcome
        while busy_parent and between is not None:
            busy_parent = between()
    finally:
        selector.close()
        for child in idle:
            child.close()
        for child in busy.values():  # the caller stopped early
            child.close(kill=True)


# This process's ends of every child's pipes.
_PARENT_ENDS: set[int] = set()


class _Child:
    """One forked worker. Jobs go down a pipe as indices into the list it was forked with (a
    job is never serialised); answers come back as JSON, each after its length."""

    def __init__(self, jobs: list[Any], work: Callable[[Any], JSON]) -> None:
        jobs_read, self._jobs_write = os.pipe()
        self.answers, answers_write = os.pipe()
        self._buffer = bytearray()
        self.job = -1
        self.pid = os.fork()
        if self.pid == 0:
            # The other children's pipes too: a child holding one open would keep its owner
            # from ever seeing the end of its jobs.
            for fd in (self._jobs_write, self.answers, *_PARENT_ENDS):
                os.close(fd)
            _serve(jobs, work, jobs_read, answers_write)
        os.close(jobs_read)
        os.close(answers_write)
        _PARENT_ENDS.update((self._jobs_write, self.answers))

    def give(self, job: int) -> None:
        self.job = job
        os.write(self._jobs_write, b"%d\n" % job)

    def read(self) -> JSON | ChildDied | None:
        chunk = os.read(self.answers, 1 << 16)
        if not chunk:
            return self._died()
        self._buffer.extend(chunk)
        if len(self._buffer) < 8:
            return None
        length = int.from_bytes(self._buffer[:8], "big")
        if len(self._buffer) < 8 + length:
            return None
        data = bytes(self._buffer[8 : 8 + length])
        del self._buffer[: 8 + length]
        try:
            value = json.loads(data)
        except ValueError:
            value = None
        return value if isinstance(value, dict) else ChildDied(None, None)

    def _died(self) -> ChildDied:
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if os.WIFSIGNALED(status):
            return ChildDied(os.WTERMSIG(status), None)
        return ChildDied(None, os.WEXITSTATUS(status))

    def close(self, *, kill: bool = False) -> None:
        """Let the child go (it ends when its job pipe closes), or kill it if it is busy."""
        for fd in (self._jobs_write, self.answers):
            os.close(fd)
            _PARENT_ENDS.discard(fd)
        if self.pid:
            if kill:
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0


def _serve(jobs: list[Any], work: Callable[[Any], JSON], jobs_read: int, answers: int) -> NoReturn:
    """The child: answer each job index read, until the pipe closes; then leave at once (none of
    the parent's state is cleaned up by a child)."""
    status = 0
    try:
        faulthandler.disable()  # a signal that ends the child is the parent's to report
        with os.fdopen(jobs_read, "rb") as requests:
            for line in requests:
                data = json.dumps(work(jobs[int(line)])).encode()
                view = memoryview(len(data).to_bytes(8, "big") + data)
                while view:
                    view = view[os.write(answers, view) :]
    except BaseException:  # noqa: BLE001 - the parent reports the job as not answered
        status = 70
    os._exit(status)
