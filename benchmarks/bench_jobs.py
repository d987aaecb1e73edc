"""Every job of a release and of a consumer, timed against the references of issue 16 in one run.

    python benchmarks/bench_jobs.py [--files 8] [--file-mb 128] [--big-mb 8192] [--small-files 20000]
                                    [--repeat 5] [--peers /path/to/peers/venv] [--jobs scan,big,...]

Workloads, generated in a temporary directory (removed afterwards) with torch.save:
  dir    --files PyTorch checkpoints of --file-mb MiB each (float32 storages)
  big    one PyTorch checkpoint of --big-mb MiB
  small  --small-files files of 4 KiB

The `floor` job times benchmarks/floor.py, the least a Python program can do for a scan (fork,
map and hash; then the same behind a click command line) and for a BOM (plus cyclonedx-python-lib
in a third process; then checked by its schema, as DESIGN.md requires): the bounds under
aisbom's ratios on this machine.

Each command runs in a process of its own, alternately with its reference (A B A B ...), after
one warm-up run of each (the page cache holds the files: the figures are CPU-bound, as on a
machine that just downloaded the model; and the bytecode of every module is written, as an
install does, even with PYTHONDONTWRITEBYTECODE set). For every pair: the median wall and CPU time of each,
the median of the pairwise ratios A/B (wall and CPU: on a loaded machine the CPU ratio is the
steadier one), and A's peak RSS (ru_maxrss of the process, from wait4). Peers (picklescan,
modelscan, model_signing's CLI) are run from --peers, a virtual environment of their own, so
they never enter aisbom's dependencies; a peer that is not there is left out of the table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HASHLIB = """
import hashlib, os, sys
target = sys.argv[1]
paths = [target] if os.path.isfile(target) else sorted(
    os.path.join(root, n) for root, _, names in os.walk(target) for n in names
)
for path in paths:
    digest, f = hashlib.sha256(), open(path, "rb")
    while chunk := f.read(1 << 20):
        digest.update(chunk)
"""

AISBOM = [sys.executable, "-m", "aisbom"]
# As an installed aisbom runs: from bytecode (pip compiles it; the warm-up run writes it here).
# With PYTHONDONTWRITEBYTECODE set, every run would compile every module it imports again.
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mib: float


def run_once(command: list[str]) -> Run:
    start = os.times().elapsed
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENVIRONMENT)
    _, status, usage = os.wait4(child.pid, 0)
    wall = os.times().elapsed - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"benchmark command failed ({status}): {' '.join(command)}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


@dataclass
class Pair:
    name: str
    a: list[Run]
    b: list[Run]
    reference: str
    target: str

    def row(self) -> str:
        wall_a = statistics.median(r.wall for r in self.a)
        cpu_a = statistics.median(r.cpu for r in self.a)
        wall_b = statistics.median(r.wall for r in self.b)
        cpu_b = statistics.median(r.cpu for r in self.b)
        wall_ratio = statistics.median(x.wall / y.wall for x, y in zip(self.a, self.b, strict=True))
        cpu_ratio = statistics.median(x.cpu / y.cpu for x, y in zip(self.a, self.b, strict=True))
        rss = max(r.rss_mib for r in self.a)
        return (
            f"| {self.name} | {wall_a:.2f} / {cpu_a:.2f} | {self.reference} {wall_b:.2f} / {cpu_b:.2f} "
            f"| {wall_ratio:.2f} | {cpu_ratio:.2f} | {rss:.0f} | {self.target} |"
        )


def pair(
    name: str, a: list[str], b: list[str], reference: str, target: str, repeat: int, job: str
) -> Pair | None:
    if job not in WANTED:
        return None
    run_once(a), run_once(b)  # warm-up: the page cache, .pyc files
    runs_a, runs_b = [], []
    for _ in range(repeat):
        runs_a.append(run_once(a))
        runs_b.append(run_once(b))
    result = Pair(name, runs_a, runs_b, reference, target)
    print(result.row(), flush=True)
    return result


def checkpoint(path: Path, megabytes: int) -> None:
    """torch.save of float32 zeros, in a process of its own: this one stays small, so the peak RSS
    the runs it forks report is theirs, not torch's."""
    script = "import sys, torch; torch.save({'weight': torch.zeros(int(sys.argv[2]) // 4)}, sys.argv[1])"
    subprocess.run([sys.executable, "-c", script, str(path), str(megabytes << 20)], check=True)


# What --jobs names: the rows of the table, in its order.
JOBS = (
    "scan", "onecore", "bom", "verify", "release", "sign", "big", "nohash", "small", "smallsign", "startup",
    "floor",
)  # fmt: skip
WANTED: set[str] = set(JOBS)


def make_key(directory: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private, public = directory / "key.pem", directory / "key.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--file-mb", type=int, default=128)
    parser.add_argument("--big-mb", type=int, default=8192)
    parser.add_argument("--small-files", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--peers", type=Path, help="a virtual environment with picklescan, modelscan")
    parser.add_argument(
        "--jobs",
        default=",".join(JOBS),
        help=f"the jobs to run, comma-separated (default: all of {','.join(JOBS)})",
    )
    args = parser.parse_args()
    WANTED.clear()
    WANTED.update(args.jobs.split(","))
    if WANTED - set(JOBS):
        parser.error(f"unknown jobs: {', '.join(sorted(WANTED - set(JOBS)))}")
    repeat = args.repeat
    peers = args.peers / "bin" if args.peers else None
    with tempfile.TemporaryDirectory(prefix="aisbom-bench-") as scratch:
        work = Path(scratch)
        model, big, small, out = work / "model", work / "big.pt", work / "small", work / "out"
        for directory in (model, small, out):
            directory.mkdir()
        dir_jobs = {"scan", "onecore", "bom", "verify", "release", "sign", "floor"}
        for i in range(args.files if WANTED & dir_jobs else 0):
            checkpoint(model / f"shard-{i}.pt", args.file_mb)
        if WANTED & {"big", "nohash"}:
            checkpoint(big, args.big_mb)
        for i in range(args.small_files if WANTED & {"small", "smallsign"} else 0):
            (small / f"{i:06d}.bin").write_bytes(os.urandom(4096))
        private, public = make_key(work)
        hashlib_loop = [sys.executable, "-c", HASHLIB]
        size = f"{args.files} x {args.file_mb} MiB"
        print(
            f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; model {size}; "
            f"checkpoint {args.big_mb} MiB; {args.small_files} small files; medians of {repeat}\n"
        )
        print(
            "| job | aisbom wall / CPU s | reference wall / CPU s | ratio wall | ratio CPU | peak MiB "
            "| target |"
        )
        print("|---|---|---|---|---|---|---|")
        scan = [*AISBOM, "scan", str(model), "--format", "json"]
        pair(f"scan of {size}", scan, [*hashlib_loop, str(model)], "hashlib", "<= 0.6", repeat, "scan")
        if shutil.which("taskset") and len(os.sched_getaffinity(0)) > 1:  # the scan on one core
            one_core = ["taskset", "-c", str(min(os.sched_getaffinity(0)))]
            pair(
                "scan on 1 core (1 worker)",
                [*one_core, *scan],
                [*hashlib_loop, str(model)],
                "hashlib",
                "",
                repeat,
                "onecore",
            )
        bom = out / "model.cdx.json"
        pair("bom", [*AISBOM, "bom", str(model), "-o", str(bom)], scan, "scan", "<= 1.1", repeat, "bom")
        sig = out / "model.sig"
        if "verify" in WANTED:
            subprocess.run([*AISBOM, "bom", str(model), "-o", str(bom)], check=True)
            subprocess.run(
                [*AISBOM, "sign", str(model), "--key", str(private), "--signature", str(sig)], check=True
            )
        verify = [
            *AISBOM,
            "verify",
            str(model),
            "--signature",
            str(sig),
            "--key",
            str(public),
            "--bom",
            str(bom),
        ]
        pair("verify --signature --bom", verify, scan, "scan", "<= 1.1", repeat, "verify")
        release = [
            *AISBOM,
            "bom",
            str(model),
            "-o",
            str(out / "r.cdx.json"),
            "--sign-key",
            str(private),
            "--sign-model",
            "--model-signature",
            str(out / "r.sig"),
        ]
        pair("release: bom --sign-key --sign-model", release, scan, "scan", "<= 1.1", repeat, "release")
        for algorithm in ("sha256", "blake2b", "blake3"):
            sign = [*AISBOM, "sign", str(model), "--key", str(private), "--signature", str(out / "s.sig")]
            pair(
                f"sign --hash {algorithm}",
                [*sign, "--hash", algorithm],
                [*hashlib_loop, str(model)],
                "hashlib",
                "",
                repeat,
                "sign",
            )
        ms = shutil.which("model_signing")
        ms_sign = (
            [ms, "sign", "key", "--private_key", str(private), "--signature", str(out / "ms.sig")]
            if ms
            else []
        )
        if ms:
            pair(
                "sign (sha256)",
                [*AISBOM, "sign", str(model), "--key", str(private), "--signature", str(out / "s.sig")],
                [*ms_sign, str(model)],
                "model_signing",
                "",
                repeat,
                "sign",
            )
        big_scan = [*AISBOM, "scan", str(big), "--format", "json"]
        pair(
            f"scan of one {args.big_mb} MiB checkpoint",
            big_scan,
            [*hashlib_loop, str(big)],
            "hashlib",
            "<= 1.05, <= 300 MB",
            repeat,
            "big",
        )
        for tool, command in (("picklescan", ["-p", str(big)]), ("modelscan", ["-p", str(big)])):
            if peers is not None and (peers / tool).exists():
                pair(
                    f"scan --no-hash of the {args.big_mb} MiB checkpoint",
                    [*big_scan, "--no-hash"],
                    [str(peers / tool), *command],
                    tool,
                    "<= 2 x picklescan",
                    repeat,
                    "nohash",
                )
        small_scan = [*AISBOM, "scan", str(small), "--format", "json"]
        if ms:
            pair(
                f"scan of {args.small_files} files of 4 KiB",
                small_scan,
                [*ms_sign, str(small)],
                "model_signing",
                "<= 0.25",
                repeat,
                "small",
            )
            small_sign = [
                *AISBOM,
                "sign",
                str(small),
                "--key",
                str(private),
                "--signature",
                str(out / "t.sig"),
            ]
            pair(
                "sign of the small files",
                small_sign,
                [*ms_sign, str(small)],
                "model_signing",
                "<= 0.5",
                repeat,
                "smallsign",
            )
        # The least any Python program can take for these jobs here (benchmarks/floor.py): the
        # bounds under the targets of scan (hashing only) and of bom (cyclonedx-python-lib's part).
        floor = [sys.executable, str(Path(__file__).with_name("floor.py")), str(model)]
        floor_bom = [*floor, "--bom", str(out / "floor.cdx.json")]
        by_hashlib = [*hashlib_loop, str(model)]
        pair("floor: fork, map, hash", floor, by_hashlib, "hashlib", "", repeat, "floor")
        pair("floor, its CLI by click", [*floor, "--click"], by_hashlib, "hashlib", "", repeat, "floor")
        pair("floor with a cyclonedx BOM", floor_bom, floor, "floor", "", repeat, "floor")
        pair("the same, checked by its schema", [*floor_bom, "--check"], floor, "floor", "", repeat, "floor")
        bare = [sys.executable, "-c", "pass"]
        starts = (("aisbom --version", ["--version"]), ("aisbom scan --help", ["scan", "--help"]))
        for name, command in starts:
            pair(name, [*AISBOM, *command], bare, "python -c pass", "+0.1 s", repeat, "startup")


if __name__ == "__main__":
    main()
