"""`--engine ray`: one Ray task per target, scheduled by Ray on a cluster or a local instance.

Ray does the scheduling, the spreading over nodes and the retries: a task whose worker process
or node dies is run again (up to MAX_RETRIES times) by Ray itself; after that the target is one
failed index line. This module only keeps a bounded number of tasks in flight (backpressure:
`in_flight` tasks, by default four per CPU the cluster has) and hands each result back as it
finishes, so the driver writes DIR as the run goes. A job comes back as text (batch/job.py): the
workers need no access to DIR, only to the targets.

A target's task may answer with a Plan instead (a local directory above `--split-mb`): its parts
are then scanned as tasks of their own, before any new target, within the same bound, and a join
task that takes their results (Ray hands them over, and runs it once they are all there) renders
the target's report as one task would have. Parts and joins are retried like targets.

`address` None starts a Ray instance of the run's own (with `workers` CPUs, at 127.0.0.1; Ray's
processes still listen on every interface, behind Ray's token authentication) and stops it at the
end, even where RAY_ADDRESS or `ray start` name another cluster; "auto", HOST:PORT or
ray://HOST:PORT joins a cluster that already runs. A driver that has already called ray.init (a
notebook, a test) is used as it is. Ray is an optional extra.
"""

from __future__ import annotations

import os
import socket
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from aisbom.batch.engines.interface import OnDone
from aisbom.batch.job import Job, Plan, failed, join_parts, run_job
from aisbom.batch.parts import scan_part
from aisbom.errors import UsageError

MAX_RETRIES = 3


class RayEngine:
    def __init__(self, workers: int, address: str | None, in_flight: int | None = None) -> None:
        self.workers = max(1, workers)
        self.address = address
        self.in_flight = in_flight
        self.startup_seconds: float | None = None  # starting or joining Ray, for the summary
        self.split_targets = 0  # targets scanned in parts, and how many parts, for the summary
        self.split_parts = 0

    def run(self, jobs: Iterable[Job], on_done: OnDone) -> None:
        if self.address is not None:
            _check_reachable(self.address)  # before importing Ray, which takes seconds
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
        retried = {"num_cpus": 1, "max_retries": MAX_RETRIES, "retry_exceptions": False}
        scan, part, join = (ray.remote(**retried)(work) for work in (run_job, scan_part, join_parts))
        limit = self.in_flight or max(2, 4 * int(ray.cluster_resources().get("CPU", self.workers)))
        # Tasks whose answer is an Outcome (a target's, a join's) map to their job; a part maps to
        # None: only its join reads its answer.
        in_flight: dict[Any, Job | None] = {}
        parts_to_submit: deque[tuple[Plan, int, list[Any]]] = deque()
        while True:
            while len(in_flight) < limit:
                if parts_to_submit:  # a started target's parts before any new target
                    plan, number, refs = parts_to_submit.popleft()
                    label = f"{number + 1}/{len(plan.parts)}:{plan.job.target[:200]}"
                    ref = part.options(name=f"aisbom-part:{label}")
                    refs.append(ref.remote(plan.resolved.path, plan.parts[number], plan.job.settings.policy))
                    in_flight[refs[-1]] = None
                    if len(refs) == len(plan.parts):
                        joined = join.options(name=f"aisbom-join:{plan.job.target[:200]}").remote(plan, *refs)
                        in_flight[joined] = plan.job
                    continue
                job = next(pending, None)
                if job is None:
                    break
                in_flight[scan.options(name=f"aisbom-scan:{job.target[:200]}").remote(job)] = job
            if not in_flight:
                return
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                job = in_flight.pop(ref)
                if job is None:
                    continue  # a part: its join takes its answer (or its failure)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as exc:  # retries spent: the worker or node kept dying
                    outcome = failed(
                        job, f"a Ray task scanning it failed {MAX_RETRIES + 1} times: {_why(exc)}"
                    )
                if outcome.plan is not None:
                    self.split_targets += 1
                    self.split_parts += len(outcome.plan.parts)
                    answers: list[Any] = []  # the parts' refs, filled as they are submitted
                    parts_to_submit.extend((outcome.plan, n, answers) for n in range(len(outcome.plan.parts)))
                    continue
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
        if address is None:  # "local": a new instance, even where RAY_ADDRESS or `ray start` says another
            ray.init(
                address="local",
                num_cpus=workers,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
                **options,
            )
        else:
            ray.init(address=address, **options)
    except Exception as exc:  # Ray says what went wrong in many ways: one line, exit 2
        where = f"join the Ray cluster at {address}" if address else "start a local Ray instance"
        raise UsageError(f"cannot {where}: {_why(exc)}") from None


def _check_reachable(address: str) -> None:
    """Ray tries an address where nothing answers for minutes (20 times, 30 s each) before it
    gives up: one connection attempt says it at once. `auto` is checked when RAY_ADDRESS names
    the cluster (else Ray finds it, or says there is none, quickly); ray:// is Ray's to check."""
    named = os.environ.get("RAY_ADDRESS") if address == "auto" else address
    if not named or "://" in named or named == "auto":
        return
    host, _, port = named.rpartition(":")
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=10).close()
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise UsageError(
            f"cannot join the Ray cluster at {address}: nothing answers at {named} ({why})"
        ) from None


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
