"""How long, on how many workers and at what cost `aisbom batch` scans a registry: a simulation
over a synthetic index of repositories (docs/scale.md explains the model and quotes a run).

    python benchmarks/batch_cost.py --repos 10000 --workers 8 32 128 --worker-mb-s 1000 \\
        --node-gbit 10 --nodes-per 8 --target-s 0.05 --dollars-per-worker-hour 0.05

Repository sizes: by default an ASSUMED log-normal distribution (median 300 MB, sigma 2.2,
clipped to 1 KB .. 2 TB): a guess at a public hub's long tail (many small fine-tunes and
adapters, a few checkpoints of hundreds of GB), not a measurement. Give --sizes FILE (one size
in bytes per line, e.g. the `usedStorage` of each repository from the Hugging Face Hub API, or
an `aws s3 ls --recursive --summarize` of a bucket, aggregated per prefix) to use real sizes.

Model: one task per repository, handed to the first free worker in list order (Ray with a
bounded queue does about this). A task takes target_s (resolve, walk, report, index line) plus
bytes / rate, where rate is the smaller of the worker's own scan rate (--worker-mb-s) and its
share of its node's network (--node-gbit / --nodes-per workers on a node). Downloads and scans
are not overlapped (a worker downloads, then scans), which is how `aisbom batch` works.
With --split-gb, a repository larger than that is as many tasks of at most that size, each with
its own target_s, in its place in the list (as `--split-mb` on Ray: parts go first). Splitting
applies to local paths only (a mirror on a file system every node mounts).
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
from pathlib import Path


def synthetic_sizes(count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    median, sigma = 300e6, 2.2
    return [int(min(max(rng.lognormvariate(math.log(median), sigma), 1e3), 2e12)) for _ in range(count)]


def split(sizes: list[int], part_bytes: float | None) -> list[int]:
    """Each size above part_bytes as parts of at most part_bytes, in its place."""
    if not part_bytes:
        return sizes
    tasks: list[int] = []
    for size in sizes:
        parts = max(1, math.ceil(size / part_bytes))
        tasks.extend([size // parts] * (parts - 1) + [size - size // parts * (parts - 1)])
    return tasks


def simulate(sizes: list[int], workers: int, rate_bytes_s: float, target_s: float) -> float:
    """Makespan in seconds: list scheduling of one task per repository on `workers` workers."""
    free_at = [0.0] * workers
    heapq.heapify(free_at)
    for size in sizes:
        start = heapq.heappop(free_at)
        heapq.heappush(free_at, start + target_s + size / rate_bytes_s)
    return max(free_at)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=10000)
    parser.add_argument("--sizes", type=Path, help="one repository size in bytes per line")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--worker-mb-s", type=float, default=1000.0, help="scan rate of one worker")
    parser.add_argument("--node-gbit", type=float, default=10.0, help="network of one node, Gbit/s")
    parser.add_argument("--nodes-per", type=int, default=8, help="workers per node")
    parser.add_argument("--target-s", type=float, default=0.05, help="fixed cost of one target, s")
    parser.add_argument("--dollars-per-worker-hour", type=float, default=0.05)
    parser.add_argument("--dollars-per-gb-transfer", type=float, default=0.0)
    parser.add_argument("--split-gb", type=float, help="split repositories larger than this into parts")
    args = parser.parse_args()

    if args.sizes:
        sizes = [int(line) for line in args.sizes.read_text().split()]
    else:
        sizes = synthetic_sizes(args.repos, args.seed)
    total = sum(sizes)
    ordered = sorted(sizes)
    print(
        f"{len(sizes)} repositories, {total / 1e12:.1f} TB; median {ordered[len(sizes) // 2] / 1e6:.0f} MB, "
        f"p99 {ordered[int(len(sizes) * 0.99)] / 1e9:.0f} GB, largest {ordered[-1] / 1e9:.0f} GB"
    )
    network_share = args.node_gbit * 1e9 / 8 / args.nodes_per
    rate = min(args.worker_mb_s * 1e6, network_share)
    print(
        f"per worker: {rate / 1e6:.0f} MB/s (scan {args.worker_mb_s:.0f} MB/s, network share "
        f"{network_share / 1e6:.0f} MB/s), {args.target_s} s per target"
    )
    tasks = split(sizes, args.split_gb * 1e9 if args.split_gb else None)
    if len(tasks) != len(sizes):
        print(f"split above {args.split_gb} GB: {len(tasks)} tasks")
    for workers in args.workers:
        seconds = simulate(tasks, workers, rate, args.target_s)
        bound = max(total / (rate * workers), max(tasks) / rate)
        cost = (
            workers * seconds / 3600 * args.dollars_per_worker_hour
            + total / 1e9 * args.dollars_per_gb_transfer
        )
        print(
            f"{workers:5d} workers: {seconds / 3600:6.2f} h (lower bound {bound / 3600:.2f} h: all bytes, "
            f"or the largest task alone), {workers * seconds / 3600:7.0f} worker-hours, ${cost:,.0f}"
        )


if __name__ == "__main__":
    main()
