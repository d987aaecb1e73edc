"""`aisbom batch --engine ray --address` joins a Ray cluster that runs apart from it: a head node
started by `ray start --head --block` in a process of its own, with its own temporary directory,
ports and authentication token, so that no other Ray instance on this machine is touched, and
stopped by a SIGTERM to that process (which stops every process it started), never `ray stop`
(which stops every Ray process of the machine)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _batch_helpers import batch, model_list, verdicts
from _s3 import require

require("ray", "ray")
import psutil  # noqa: E402  (installed with ray[default])

FAST_IMPORTS = Path(__file__).resolve().parent / "_fast_imports"


@dataclass(frozen=True)
class Cluster:
    address: str  # HOST:PORT of its GCS
    env: dict[str, str]  # what a driver needs to join: its token
    temp_dir: Path

    def drivers(self) -> int:
        """How many logs the drivers (`ray.init` processes) that joined it have left."""
        return len(list(self.temp_dir.glob("session_*/logs/python-core-driver-*")))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # Short: Ray puts socket paths under it, and a socket path must fit in 107 bytes.
    temp_dir = Path(tempfile.mkdtemp(prefix="aisbom-rc-", dir="/tmp"))
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",  # this cluster's own token, not the user's ~/.ray/auth_token
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_enable_metrics_collection": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(FAST_IMPORTS), os.environ.get("PYTHONPATH")])),
    }
    env.pop("RAY_ADDRESS", None)
    port = _free_port()
    command = [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block"]
    command += [f"--port={port}", "--num-cpus=1", "--node-ip-address=127.0.0.1", f"--temp-dir={temp_dir}"]
    command += ["--include-dashboard=false", "--disable-usage-stats"]
    for option in ("--dashboard-port", "--ray-client-server-port", "--dashboard-agent-listen-port"):
        command.append(f"{option}={_free_port()}")  # not the fixed defaults another instance may hold
    log = (temp_dir / "head.log").open("wb")
    head = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not (temp_dir / "ray_current_cluster").exists():  # written once the head is up
            if head.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Ray head did not start:\n{(temp_dir / 'head.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield Cluster(f"127.0.0.1:{port}", env, temp_dir)
    finally:
        _stop(head, temp_dir)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _stop(head: subprocess.Popen[bytes], temp_dir: Path) -> None:
    """SIGTERM the head's `ray start --block`: it drains and stops what it started. Anything of
    this cluster still there after (its processes name its temporary directory) is killed."""
    head.send_signal(signal.SIGTERM)
    try:
        head.wait(timeout=90)
    except subprocess.TimeoutExpired:
        head.kill()
        head.wait()
    for process in psutil.process_iter(["pid", "cmdline"]):
        if str(temp_dir) in " ".join(process.info["cmdline"] or []):
            process.kill()


def test_batch_joins_a_separate_cluster_at_its_address_or_auto_and_never_unasked(
    cluster: Cluster, tmp_path: Path
) -> None:
    """One test, so that the cluster starts once whichever worker of pytest-xdist runs it."""
    listed, targets = model_list(tmp_path)
    before = cluster.drivers()
    joined = batch(
        listed, "--out", tmp_path / "ray", "--engine", "ray", "--address", cluster.address, env=cluster.env
    )
    assert joined.returncode == 1, joined.stderr  # the unsafe fixtures; nothing failed
    assert cluster.drivers() > before  # it ran on that cluster, not on an instance of its own
    assert "5 targets (5 scanned, 0 already done)" in joined.stderr and "starting Ray" in joined.stderr
    batch(listed, "--out", tmp_path / "local", "--workers", "1")
    assert verdicts(tmp_path / "ray") == verdicts(tmp_path / "local") and len(verdicts(tmp_path / "ray")) == 5

    # --address auto: the cluster RAY_ADDRESS names.
    one = tmp_path / "one.txt"
    one.write_text(targets[0] + "\n")
    before = cluster.drivers()
    named = {**cluster.env, "RAY_ADDRESS": cluster.address}
    auto = batch(one, "--out", tmp_path / "auto", "--engine", "ray", "--address", "auto", env=named)
    assert auto.returncode == 0, auto.stderr
    assert cluster.drivers() > before

    # No --address: an instance of the run's own, whatever RAY_ADDRESS says (Ray would join it).
    before = cluster.drivers()
    own = batch(one, "--out", tmp_path / "own", "--engine", "ray", "--workers", "1", env=named)
    assert own.returncode == 0, own.stderr
    assert cluster.drivers() == before


def test_an_address_where_nothing_answers_is_one_line_at_once(tmp_path: Path) -> None:
    """Ray itself would try for minutes; nothing listens on this port."""
    listed, targets = model_list(tmp_path)
    address = f"127.0.0.1:{_free_port()}"
    for args, env in (((address,), {}), (("auto",), {"RAY_ADDRESS": address})):
        began = time.monotonic()
        result = batch(listed, "--out", tmp_path / "out", "--engine", "ray", "--address", *args, env=env)
        assert result.returncode == 2 and time.monotonic() - began < 60
        assert result.stderr.strip().splitlines() == [
            f"aisbom: error: cannot join the Ray cluster at {args[0]}: nothing answers at {address} "
            "(Connection refused)"
        ]
