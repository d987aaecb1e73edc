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
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

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
) -> Iterator[tuple[T, JSON | ChildDied]]:
    """Run `work(job)` for every job in a child of its own, at most `workers` at a time, and
    yield (job, its JSON answer or ChildDied) as each finishes. `between`, when given, is
    called while children run and returns False once it has nothing more to do: the parent
    does its own share of the work (small files) instead of waiting."""
    pending = list(jobs)
    pending.reverse()
    running: dict[int, tuple[T, int, bytearray]] = {}  # read end -> (job, pid, answer so far)
    selector = selectors.DefaultSelector()
    busy_parent = between is not None
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                job = pending.pop()
                read_end, pid = _start(job, work)
                running[read_end] = (job, pid, bytearray())
                selector.register(read_end, selectors.EVENT_READ)
            if busy_parent:
                assert between is not None
                busy_parent = between()
                timeout: float | None = 0
            else:
                timeout = None
            for key, _ in selector.select(timeout):
                fd = key.fd
                chunk = os.read(fd, 1 << 16)
                if chunk:
                    running[fd][2].extend(chunk)
                    continue
                selector.unregister(fd)
                os.close(fd)
                job, pid, answer = running.pop(fd)
                yield job, _answer(pid, answer)
        while busy_parent and between is not None:
            busy_parent = between()
    finally:
        for fd, (_, pid, _) in running.items():  # the caller stopped early: end what still runs
            os.close(fd)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        selector.close()


def _start(job: T, work: Callable[[T], JSON]) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer, then leave at once (no cleanup of the parent's state)
        status = 0
        try:
            os.close(read_end)
            faulthandler.disable()  # a signal that ends the child is the parent's to report
            data = json.dumps(work(job)).encode("utf-8", "surrogateescape")
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
        except BaseException:  # noqa: BLE001 - any failure is the parent's to report
            status = 70
        os._exit(status)
    os.close(write_end)
    return read_end, pid


def _answer(pid: int, answer: bytearray) -> JSON | ChildDied:
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return ChildDied(os.WTERMSIG(status), None)
    code = os.WEXITSTATUS(status)
    if code != 0:
        return ChildDied(None, code)
    try:
        value = json.loads(answer.decode("utf-8", "surrogateescape"))
    except ValueError:
        return ChildDied(None, code)
    return value if isinstance(value, dict) else ChildDied(None, code)
