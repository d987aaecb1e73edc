"""`aisbom batch --engine ray` on a local Ray instance (one per module, on loopback): the same
index verdicts as `--engine local` over local and S3 targets, every target done although a worker
is killed mid-run, and a rerun that skips what is done."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _batch_helpers import FIXTURES, batch, index, model_list, s3_twins, verdicts
from _s3 import aws_environment, new_bucket, require
from click.testing import CliRunner

require("ray", "ray")
require("s3fs", "s3")
import psutil  # noqa: E402  (installed with ray[default])
import ray  # noqa: E402

FAST_IMPORTS = Path(__file__).resolve().parent / "_fast_imports"


@pytest.fixture(scope="module")
def ray_instance(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One local Ray instance for the module. Its workers inherit the environment of this moment:
    the AWS variables pointing at moto's S3, and _fast_imports first on PYTHONPATH."""
    saved = dict(os.environ)
    patch = pytest.MonkeyPatch()
    aws_environment(patch, tmp_path_factory.mktemp("aws"), s3_endpoint)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FAST_IMPORTS), saved.get("PYTHONPATH")]))
    os.environ["RAY_enable_metrics_collection"] = "0"  # noqa: SIM112 (Ray reads it so, case and all)
    for attempt in (1, 2):  # a loaded machine can make Ray miss its own start-up deadline once
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
            break
        except Exception:
            ray.shutdown()
            if attempt == 2:
                raise
    try:
        yield
    finally:
        ray.shutdown()
        patch.undo()
        os.environ.clear()
        os.environ.update(saved)


def ray_batch(*args: object) -> tuple[int, str]:
    """`aisbom batch ... --engine ray` in this process: it finds Ray initialised and uses it."""
    from aisbom.cli import cli

    result = CliRunner().invoke(cli, ["batch", *map(str, args), "--engine", "ray"], catch_exceptions=False)
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stderr


def test_ray_and_local_engines_give_identical_verdicts(
    ray_instance: None, s3_endpoint: str, tmp_path: Path
) -> None:
    listed, local = model_list(tmp_path)
    remote = s3_twins(new_bucket(s3_endpoint), local)
    listed.write_text("\n".join(local + remote + ["ftp://nowhere/model"]) + "\n")

    code, err = ray_batch(listed, "--out", tmp_path / "ray")
    assert code == 2, err  # the ftp:// line failed; everything else was scanned
    by_local = batch(listed, "--out", tmp_path / "local", "--workers", "2")
    assert by_local.returncode == 2, by_local.stderr
    assert verdicts(tmp_path / "ray") == verdicts(tmp_path / "local")
    assert len(verdicts(tmp_path / "ray")) == 11
    assert "11 targets (10 scanned, 0 already done)" in err

    code, err = ray_batch(listed, "--out", tmp_path / "ray")
    assert "(0 scanned, 10 already done)" in err


def test_a_worker_killed_mid_run_loses_no_target(ray_instance: None, tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.mkdir()
    with (big / "weights.bin").open("wb") as handle:  # sparse: a long scan at no disk cost
        handle.truncate(1536 << 20)
    listed, local = model_list(tmp_path)
    targets = [str(big), *local]
    listed.write_text("\n".join(targets) + "\n")
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_first_worker_titled, args=("aisbom-scan", killed, stop))
    killer.start()
    try:
        code, err = ray_batch(listed, "--out", tmp_path / "out")
    finally:
        stop.set()
        killer.join()
    assert killed, "no scanning worker was seen to kill"
    records = index(tmp_path / "out")
    assert sorted(records) == sorted(targets)
    assert all(r["verdict"] in ("clean", "unsafe") for r in records.values()), records
    assert records[str(big)]["bytes"] == 1536 << 20
    assert code == 1 and "6 targets (6 scanned, 0 already done)" in err


def _kill_first_worker_titled(prefix: str, killed: list[int], stop: threading.Event) -> None:
    """SIGKILL the first Ray worker seen running a task whose name starts with `prefix`."""
    while not stop.is_set() and not killed:
        for process in psutil.process_iter(["pid", "cmdline"]):
            if " ".join(process.info["cmdline"] or []).startswith(f"ray::{prefix}"):
                os.kill(process.info["pid"], signal.SIGKILL)
                killed.append(process.info["pid"])
                return
        time.sleep(0.05)


def _large_model(root: Path) -> Path:
    """A directory of over 1 MB: fixture models with findings, three 1.5 MB shards and a sparse
    384 MiB file (a part that runs long enough to have its worker killed)."""
    model = root / "large"
    shutil.copytree(FIXTURES / "malicious" / "pytorch", model / "pytorch")
    shutil.copytree(FIXTURES / "benign" / "safetensors", model / "safetensors")
    for n in range(3):
        (model / f"shard-{n}.bin").write_bytes(random.Random(n).randbytes(1_500_000))
    with (model / "weights.bin").open("wb") as handle:
        handle.truncate(384 << 20)
    return model


def test_a_target_split_into_parts_gets_the_report_of_the_whole(ray_instance: None, tmp_path: Path) -> None:
    """Above --split-mb a local directory is scanned as one task per part, then joined: its index
    line and its report are those of the same directory scanned as one task, although the worker
    of one part is killed mid-run (Ray runs that part again)."""
    model = _large_model(tmp_path)
    small = str(FIXTURES / "benign" / "pickle")
    listed = tmp_path / "list.txt"
    listed.write_text(f"{model}\n{small}\n")
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_first_worker_titled, args=("aisbom-part", killed, stop))
    killer.start()
    try:
        code, err = ray_batch(listed, "--out", tmp_path / "parts", "--split-mb", "1", "--bom")
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker scanning a part was seen to kill"
    whole_code, whole_err = ray_batch(listed, "--out", tmp_path / "whole", "--split-mb", "0", "--bom")
    assert code == whole_code == 1, err  # the pytorch fixtures are unsafe
    parts = re.search(r"\(1 target in (\d+) parts\)", err)
    assert parts and int(parts.group(1)) >= 5, err
    assert "parts)" not in whole_err and "2 targets (2 scanned, 0 already done)" in err

    split, whole = index(tmp_path / "parts"), index(tmp_path / "whole")
    for target in (str(model), small):
        timeless = {k: v for k, v in split[target].items() if k not in ("scanned_at", "seconds")}
        assert timeless == {k: v for k, v in whole[target].items() if k not in ("scanned_at", "seconds")}
        report = (tmp_path / "parts" / split[target]["report"]).read_bytes()
        assert report == (tmp_path / "whole" / whole[target]["report"]).read_bytes()
        boms = [  # the same but for their serial number and times, the time of the scan included
            json.loads((out / r[target]["bom"]).read_text().replace(r[target]["scanned_at"], "SCANNED"))
            for out, r in ((tmp_path / "parts", split), (tmp_path / "whole", whole))
        ]
        assert boms[0]["components"] == boms[1]["components"]
    assert split[str(model)]["files"] == 22 + len(list((model / "safetensors").iterdir())) + 4
    assert split[str(model)]["verdict"] == "unsafe" and split[str(model)]["bytes"] > 384 << 20
