"""`aisbom convert --sandbox`: what cannot be read statically is loaded by its own loader inside a
bubblewrap jail. A payload that runs there finds no network, cannot write outside the output
directory, leaves nothing running and stays within its limits; only a checked safetensors file
comes out; where no jail can be built, nothing is loaded."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sandbox_payloads as payloads
from _convert_helpers import read_safetensors, run
from catalog import FIXTURES_DIR, MARKER

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap is not installed (.ci/run installs it)"
)
if os.environ.get("CI") and shutil.which("bwrap") is None:  # CI must run these
    raise RuntimeError("bubblewrap is not installed; .ci/run installs it")


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    """A TCP port on loopback, and the connections it accepted."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    accepted: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, peer = server.accept()
            except OSError:
                continue
            accepted.append(str(peer))
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def processes_with(argv: list[str]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().split(b"\0")[:-1] == [
                a.encode() for a in argv
            ]:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_payload_that_runs_in_the_jail_is_contained(tmp_path: Path, listener, monkeypatch):
    port, accepted = listener
    outside = tmp_path / "escaped.txt"
    tag = f"{31000 + os.getpid() % 1000}.25"
    src = tmp_path / "probe.pkl"
    src.write_bytes(payloads.probe_pickle(port, outside, sleep_tag=tag, memory=3 << 30))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    monkeypatch.chdir(tmp_path)

    code, stdout, err = run(
        "convert",
        "--sandbox",
        "--allow-code",
        "--memory-limit",
        "1536",
        str(src),
        "-o",
        str(out_dir / "probe.safetensors"),
    )

    assert code == 0, err
    metadata, tensors = read_safetensors(out_dir / "probe.safetensors")
    probe = json.loads(metadata["aisbom.values"])["probe"]
    assert probe["connect"] == "ConnectionRefusedError" and accepted == []  # its own empty loopback
    assert (
        probe["write_outside"] in ("FileNotFoundError", "OSError", "PermissionError") and not outside.exists()
    )
    assert probe["memory"] == "MemoryError"  # 3 GiB asked, 1.5 GiB of address space
    assert probe["background"] == "started"
    deadline = time.monotonic() + 5
    while processes_with(["sleep", tag]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with(["sleep", tag]) == []  # its PID namespace died with the jail
    # The marker was made in /output, discarded, and named; it is nowhere outside.
    assert f"discarded what else the jailed loader wrote: {MARKER}" in stdout
    assert sorted(p.name for p in out_dir.iterdir()) == ["probe.safetensors"]
    assert not (tmp_path / MARKER).exists()
    assert list(tensors) == ["weights"] and metadata["aisbom.conversion"] == "sandboxed"


def test_the_same_payload_outside_the_jail_does_connect_and_write(tmp_path: Path, listener):
    """The control: the probe is real. Loaded by plain pickle, nothing stops it."""
    port, accepted = listener
    outside = tmp_path / "escaped.txt"
    src = tmp_path / "probe.pkl"
    src.write_bytes(payloads.probe_pickle(port, outside))
    loader = "import pickle, sys; print(pickle.load(open(sys.argv[1], 'rb'))['probe'])"
    result = subprocess.run(
        [sys.executable, "-c", loader, str(src)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert "'connect': 'connected'" in result.stdout and accepted
    assert outside.read_text() == "escaped" and (tmp_path / MARKER).exists()


def test_the_cpu_time_limit_ends_a_payload_that_never_ends(tmp_path: Path):
    src = tmp_path / "spin.pkl"
    src.write_bytes(payloads.spin_pickle())
    started = time.monotonic()
    code, _, err = run(
        "convert",
        "--sandbox",
        "--allow-code",
        "--cpu-limit",
        "2",
        str(src),
        "-o",
        str(tmp_path / "o.safetensors"),
    )
    assert code == 2 and "CPU time limit is 2s" in err
    assert time.monotonic() - started < 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spin.pkl"]


def test_torch_checkpoints_get_the_safe_loader_first(tmp_path: Path, monkeypatch):
    """weights_only=True refuses the payload; without --allow-code nothing else is tried."""
    monkeypatch.chdir(tmp_path)
    src = FIXTURES_DIR / "malicious/pytorch/zip_data_pkl.pt"
    code, _, err = run("convert", "--sandbox", str(src), "-o", str(tmp_path / "o.safetensors"))
    assert code == 1
    assert (
        "torch.load with weights_only=True refused it: Trying to load unsupported GLOBAL posix.system" in err
    )
    assert "--allow-code" in err
    assert list(tmp_path.iterdir()) == []


def test_torchscript_is_converted_with_allow_code(tmp_path: Path):
    import torch

    src = FIXTURES_DIR / "benign/pytorch/torchscript_traced.pt"
    out = tmp_path / "traced.safetensors"
    code, stdout, err = run("convert", "--sandbox", "--allow-code", str(src), "-o", str(out))
    assert code == 0, err
    assert "loaded in the sandbox with torch.jit.load" in stdout
    metadata, tensors = read_safetensors(out)
    expected = torch.jit.load(str(src)).state_dict()  # the test's own fixture
    assert tensors.keys() == expected.keys()
    for name, tensor in expected.items():
        assert tensors[name][2] == tensor.contiguous().view(-1).view(torch.uint8).numpy().tobytes()
    assert metadata["aisbom.conversion"] == "sandboxed" and len(metadata["aisbom.source_sha256"]) == 64


def test_clean_checkpoints_stay_static_with_sandbox(tmp_path: Path):
    out = tmp_path / "sd.safetensors"
    code, stdout, _ = run(
        "convert", "--sandbox", str(FIXTURES_DIR / "benign/pytorch/state_dict.pt"), "-o", str(out)
    )
    assert code == 0 and "[static]" in stdout
    assert read_safetensors(out)[0]["aisbom.conversion"] == "static"


def test_without_bubblewrap_nothing_is_loaded(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    src = FIXTURES_DIR / "malicious/pytorch/zip_data_pkl.pt"
    code, _, err = run(
        "convert", "--sandbox", "--allow-code", str(src), "-o", str(tmp_path / "o.safetensors")
    )
    assert code == 2 and err.count("\n") == 1
    assert "install the 'bubblewrap' package" in err
    assert list(tmp_path.iterdir()) == []


def test_a_jail_that_cannot_be_built_is_one_line_and_no_load(tmp_path: Path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "bwrap").write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n"
    )
    (fake / "bwrap").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    src = FIXTURES_DIR / "malicious/pytorch/zip_data_pkl.pt"
    code, _, err = run("convert", "--sandbox", "--allow-code", str(src), "-o", str(work / "o.safetensors"))
    assert code == 2
    assert err.strip().endswith(
        "the sandbox could not be set up: bwrap: No permissions to create new namespace"
    )
    assert list(work.iterdir()) == []
