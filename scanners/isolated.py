"""Run one of our parser scripts in a short-lived child process.

Some formats can only be read through C libraries (libhdf5) that crafted files have crashed or
hung. A segfault in our own process would drop the whole report, so such parsing runs in a
child: a fresh interpreter in isolated mode (`-I`: no user site, no PYTHON* variables, no
current directory on the path) that caps its own address space, with a wall-clock timeout
here. The child prints one JSON object; a crash, a timeout or anything unreadable becomes a
`Failure` the caller turns into a finding.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
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
_MAX_STDERR = 2000  # characters of the child's stderr quoted in a failure


@dataclass(frozen=True)
class Failure:
    kind: str  # "crash" | "timeout" | "memory" | "error"
    detail: str


def run_script(
    script: str,
    args: list[str],
    *,
    stdin: bytes | None,
    timeout: float,
    memory: int,
) -> dict | Failure:
    """Run `script` (a path) with `args`; return the JSON object it printed, or why not.

    The script receives `memory` (bytes of address space it must limit itself to) as its first
    argument; it should print {"error": ...} for problems it recognises itself.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("HDF5_PLUGIN")}
    env.update(_CHILD_ENV)
    command = [sys.executable, "-I", script, str(memory), *args]
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
    except OSError as exc:
        return Failure("error", f"could not start the parser process: {exc}")
    try:
        out, err = process.communicate(stdin, timeout=max(timeout, 0.1))
    except subprocess.TimeoutExpired:
        process.kill()  # our own child, by its handle
        process.communicate()
        return Failure("timeout", f"the parser process did not finish within {timeout:g}s")
    stderr = err.decode("utf-8", "replace")[-_MAX_STDERR:].strip()
    if process.returncode < 0:
        return Failure("crash", f"the parser process died of {_signal_name(-process.returncode)}")
    if "MemoryError" in stderr:
        return Failure("memory", f"the parser process ran out of its {memory} bytes of memory")
    try:
        result = json.loads(out)  # safe: JSON printed by our own child script
    except ValueError:
        last = stderr.splitlines()[-1] if stderr else "no output"
        return Failure("error", f"the parser process failed (exit {process.returncode}): {last}")
    if not isinstance(result, dict):
        return Failure("error", "the parser process printed something unexpected")
    return result


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
