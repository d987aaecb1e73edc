"""Run one of our parser scripts in a child process that a crash or a hang cannot take down with us.

Some formats can only be read through C libraries (libhdf5) that crafted files have crashed or
hung. A segfault in our own process would drop the whole report, so such parsing runs in a
child: a fresh interpreter in isolated mode (`-I`: no user site, no PYTHON* variables, no current
directory on the path) that caps its own address space, with a wall-clock timeout here. A crash,
a timeout or anything unreadable becomes a `Failure` the caller turns into a finding.

Starting an interpreter and importing h5py costs ~150 ms, too much per file for datasets of
many small files, so a child serves request after request: a JSON header line (plus `size`
bytes of payload when the file travels in memory), answered by one JSON line. A child that
crashes, hangs, runs out of memory or answers nonsense is discarded and the next request starts
a new one. Payloads larger than `REUSE_PAYLOAD` get a child of their own, sized for them.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

# Variables the child gets on top of ours: one thread per numerical library (their start-up
# reserves address space per thread) and no HDF5 filter plugins (shared libraries libhdf5
# would otherwise load from HDF5_PLUGIN_PATH when a file asks for an unknown filter).
_CHILD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "HDF5_PLUGIN_PRELOAD": "::",
    "HDF5_USE_FILE_LOCKING": "FALSE",
}
REUSE_PAYLOAD = 64 * 1024 * 1024  # in-memory payloads a long-lived child accepts
_MAX_STDERR = 2000  # characters of the child's stderr quoted in a failure
_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class Failure:
    kind: str  # "crash" | "timeout" | "memory" | "error"
    detail: str


class _Child:
    """One child process running `script`, answering one request at a time."""

    def __init__(self, script: str, memory: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HDF5_PLUGIN")}
        env.update(_CHILD_ENV)
        self.memory = memory
        # A file, not a pipe: a chatty child never blocks on it. Closed in close().
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-I", script, str(memory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
        )

    def ask(self, header: dict, payload: bytes | None, timeout: float) -> dict | Failure:
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        deadline = time.monotonic() + max(timeout, 0.1)
        try:
            process.stdin.write(json.dumps(header).encode() + b"\n")
            if payload:
                process.stdin.write(payload)
            process.stdin.flush()
        except OSError:  # BrokenPipeError: it died, before or while reading
            return self._died()
        answer = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while b"\n" not in answer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.close(kill=True)
                    return Failure("timeout", f"the parser process did not finish within {timeout:g}s")
                chunk = os.read(process.stdout.fileno(), _READ_CHUNK)
                if not chunk:
                    return self._died()
                answer += chunk
        try:
            result = json.loads(answer)  # safe: JSON printed by our own child script
        except ValueError:
            result = None
        if not isinstance(result, dict):
            return self._died(garbled=True)
        if result.get("memory"):
            self.close(kill=True)  # its heap may be in any state after running out
            return Failure("memory", str(result.get("error")))
        return result

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, *, kill: bool = False) -> None:
        process = self.process
        if process.poll() is None:
            if kill:
                process.kill()  # our own child, by its handle
            elif process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()  # it exits at the end of its input
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.stderr.close()

    def _died(self, *, garbled: bool = False) -> Failure:
        process = self.process
        try:
            code = process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            code = None
        self.stderr.seek(0, os.SEEK_END)
        self.stderr.seek(max(0, self.stderr.tell() - _MAX_STDERR))
        stderr = self.stderr.read().decode("utf-8", "replace").strip()
        self.close(kill=True)
        if code is not None and code < 0:
            return Failure("crash", f"the parser process died of {_signal_name(-code)}")
        if "MemoryError" in stderr:
            return Failure("memory", f"the parser process ran out of its {self.memory} bytes of memory")
        last = stderr.splitlines()[-1] if stderr else ("unreadable output" if garbled else "no output")
        return Failure("error", f"the parser process failed (exit {code}): {last}")


class _Slot:
    """Where the long-lived child for one (script, memory) lives; its lock serializes requests."""

    def __init__(self) -> None:
        self.child: _Child | None = None
        self.lock = threading.Lock()


_slots: dict[tuple[str, int], _Slot] = {}
_slots_lock = threading.Lock()


def ask(script: str, header: dict, payload: bytes | None, *, timeout: float, memory: int) -> dict | Failure:
    """Send one request to a child running `script` within `memory` bytes of address space (plus
    room for the payload); return its JSON answer or why there is none."""
    if payload is not None and len(payload) > REUSE_PAYLOAD:
        child = _start(script, memory + len(payload))
        if isinstance(child, Failure):
            return child
        try:
            return child.ask(header, payload, timeout)
        finally:
            child.close()
    key = (script, memory + REUSE_PAYLOAD)
    with _slots_lock:
        slot = _slots.setdefault(key, _Slot())
    with slot.lock:  # one request at a time per child; other threads wait their turn
        for attempt in range(2):
            fresh = slot.child is None or not slot.child.alive()
            if fresh:
                started = _start(script, key[1])
                if isinstance(started, Failure):
                    return started
                slot.child = started
            assert slot.child is not None
            result = slot.child.ask(header, payload, timeout)
            if not isinstance(result, Failure):
                return result
            slot.child = None  # it was closed: the next request starts a fresh one
            # A child that served earlier files may have died in between (killed from outside):
            # only a fresh child's crash is the file's doing. Timeouts are not retried.
            if fresh or result.kind not in ("crash", "error") or attempt:
                return result
        return result


def _start(script: str, memory: int) -> _Child | Failure:
    try:
        return _Child(script, memory)
    except OSError as exc:
        return Failure("error", f"could not start the parser process: {exc}")


@atexit.register
def close_all() -> None:
    """Let every long-lived child finish (they exit at the end of their input)."""
    with _slots_lock:
        for slot in _slots.values():
            with slot.lock:
                if slot.child is not None:
                    slot.child.close()
                    slot.child = None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
