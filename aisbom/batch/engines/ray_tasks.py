"""`--engine ray`: one Ray task per target, scheduled by Ray on a cluster or a local instance.

Ray does the scheduling, the spreading over nodes and the retries: a task whose worker process
or node dies is run again (up to MAX_RETRIES times) by Ray itself; after that the target is one
failed index line. This module only keeps a bounded number of tasks in flight (backpressure:
`in_flight` tasks, by default four per CPU the cluster has) and hands each result back as it
finishes, so the driver writes DIR as the run goes. A job comes back as text (batch/job.py): the
workers need no access to DIR, only to the targets.

`address` None starts a local Ray instance for the run (with `workers` CPUs, listening on loopback
only) and stops it at the end; "auto", HOST:PORT or ray://HOST:PORT joins a cluster that already
runs. A driver that has already
called ray.init (a notebook, a test) is used as it is. Ray is an optional extra.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from aisbom.batch.engines.interface import OnDone
from aisbom.batch.job import Job, failed, run_job
from aisbom.errors import UsageError

MAX_RETRIES = 3


class RayEngine:
    def __init__(self, workers: int, address: str | None, in_flight: int | None = None) -> None:
        self.workers = max(1, workers)
        self.address = address
        self.in_flight = in_flight
        self.startup_seconds: float | None = None  # starting or joining Ray, for the summary

    def run(self, jobs: Iterable[Job], on_done: OnDone) -> None:
        ray = _import_ray()
        started_here = False
        if not ray.is_initialized():
            began = time.monotonic()
            _start(ray, self.address, self.workers)
            self.startup_seconds = time.monotonic() - began
            started_here = True
        try:
            self._run(ray, iter(jobs), on_done)
        finally:
            if started_here:
                ray.shutdown()

    def _run(self, ray: Any, pending: Iterator[Job], on_done: OnDone) -> None:
        task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)(run_job)
        limit = self.in_flight or max(2, 4 * int(ray.cluster_resources().get("CPU", self.workers)))
        in_flight: dict[Any, Job] = {}
        while True:
            while len(in_flight) < limit:
                job = next(pending, None)
                if job is None:
                    break
                in_flight[task.options(name=f"aisbom-scan:{job.target[:200]}").remote(job)] = job
            if not in_flight:
                return
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                job = in_flight.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as exc:  # retries spent: the worker or node kept dying
                    outcome = failed(
                        job, f"the Ray task scanning it failed {MAX_RETRIES + 1} times: {_why(exc)}"
                    )
                on_done(outcome)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError("--engine ray needs Ray: pip install 'aisbom[ray]'") from None
    return ray


def _start(ray: Any, address: str | None, workers: int) -> None:
    options: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    try:
        if address is None:  # nobody else needs to reach a local instance: loopback only
            ray.init(num_cpus=workers, include_dashboard=False, _node_ip_address="127.0.0.1", **options)
        else:
            ray.init(address=address, **options)
    except Exception as exc:  # Ray says what went wrong in many ways: one line, exit 2
        where = f"join the Ray cluster at {address}" if address else "start a local Ray instance"
        raise UsageError(f"cannot {where}: {_why(exc)}") from None


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
