"""`--engine local`: a pool of worker processes on this machine.

Processes, not threads: scanning is Python work that holds the GIL. They are forked from the
driver when it runs a single thread (the `aisbom batch` command: a worker then starts in
milliseconds, with aisbom already imported), else spawned, so that no lock held by another
thread of the driver is inherited half-taken.

A worker that dies (killed, out of memory) breaks the whole pool in concurrent.futures, and
nothing says which of the jobs in flight killed it. Those jobs are then run one at a time, each
in a pool of its own, at most MAX_ATTEMPTS times: the one that kills its worker every time is
recorded as failed, and the others, which only shared its pool, are done.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from aisbom.batch.engines.interface import OnDone
from aisbom.batch.job import Job, Outcome, failed, run_job

MAX_ATTEMPTS = 3

Work = Callable[[Job], Outcome]


class LocalEngine:
    def __init__(self, workers: int, work: Work = run_job) -> None:
        self.workers = max(1, workers)
        self.work = work  # what a worker does with a job (a module-level function: it is pickled)

    def run(self, jobs: Iterable[Job], on_done: OnDone) -> None:
        pending: Iterator[Job] = iter(jobs)
        while True:
            suspects = self._pooled(pending, on_done)
            if suspects is None:
                return
            for job in suspects:
                self._alone(job, on_done)

    def _pooled(self, pending: Iterator[Job], on_done: OnDone) -> list[Job] | None:
        """Run jobs on the pool until they are all done (None), or the pool breaks: then the jobs
        that were in flight, not done."""
        in_flight: dict[Future[Outcome], Job] = {}
        broken = False
        pool = ProcessPoolExecutor(self.workers, mp_context=_start_method())
        try:
            while True:
                while len(in_flight) < 2 * self.workers:  # every worker busy, and no more
                    job = next(pending, None)
                    if job is None:
                        break
                    in_flight[pool.submit(self.work, job)] = job
                if not in_flight:
                    return None
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    job = in_flight.pop(future)
                    try:
                        on_done(future.result())
                    except BrokenProcessPool:
                        broken = True
                        in_flight[future] = job
                    except Exception as exc:  # the outcome could not come back (pickling ...)
                        on_done(failed(job, f"{type(exc).__name__}: {exc}"))
                if broken:
                    return list(in_flight.values())
        finally:
            pool.shutdown(wait=not broken, cancel_futures=True)

    def _alone(self, job: Job, on_done: OnDone) -> None:
        for _attempt in range(MAX_ATTEMPTS):
            with ProcessPoolExecutor(1, mp_context=_start_method()) as pool:
                try:
                    outcome = pool.submit(self.work, job).result()
                except BrokenProcessPool:
                    continue
                except Exception as exc:
                    outcome = failed(job, f"{type(exc).__name__}: {exc}")
            on_done(outcome)
            return
        on_done(
            failed(job, f"the worker process scanning it died, {MAX_ATTEMPTS} times (killed, out of memory?)")
        )


def _start_method() -> multiprocessing.context.BaseContext:
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        import aisbom.pipeline  # noqa: F401  (imported once, here, rather than in every worker)

        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")
