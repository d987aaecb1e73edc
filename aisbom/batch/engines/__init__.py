"""Engines run jobs (batch/job.py) and hand each Outcome back as it finishes, in any order.

`local`: a process pool on this machine. `ray`: one Ray task per target, on a cluster or a local
Ray instance (an optional extra). Neither schedules anything of its own beyond keeping a bounded
number of jobs in flight, so that a list of a million targets is never all submitted at once.
"""

from __future__ import annotations

from aisbom.batch.engines.interface import Engine

ENGINES = ("local", "ray")


def get_engine(name: str, workers: int, address: str | None) -> Engine:
    if name == "ray":
        from aisbom.batch.engines.ray_tasks import RayEngine

        return RayEngine(workers, address)
    from aisbom.batch.engines.local import LocalEngine

    return LocalEngine(workers)
