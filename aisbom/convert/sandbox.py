"""`aisbom convert --sandbox`: what cannot be read statically is loaded by its own loader, in a
bubblewrap jail, and only a checked safetensors file comes out.

The static path is tried first; the jail is used only for what it refuses as unsafe, as needing
code, or as a layout it does not read. The child (`sandbox_child.py`, run with `python -I`) gets:
- no network: its own network namespace (a loopback of its own, nothing listening on it);
- a read-only view of the system: /usr, the Python installation and the packages it imports,
  and ld.so's cache; nothing else of the host (no /home, no /root beyond Python, no /etc);
- the input, read-only, as /input/NAME; one writable directory, /output, which is a fresh
  staging directory beside the destination; /tmp in memory;
- its own PID, IPC, UTS and user namespaces, no capabilities, no new privileges (bubblewrap
  sets PR_SET_NO_NEW_PRIVS), a new session (no terminal to inject keys into), and death with
  its parent;
- limits: CPU seconds (RLIMIT_CPU), address space (RLIMIT_AS), size of any file it writes
  (RLIMIT_FSIZE), no core dumps; and a wall-clock timeout here, after which the jail is killed
  (its PID namespace dies with it, so nothing it started outlives it).

Afterwards the expected output file, and only it, is moved to its destination once the scanner
finds it a clean safetensors file carrying exactly the source record it was given; whatever else
the child left in /output is deleted and named. Where bubblewrap is missing or cannot build the
jail, nothing is loaded: one line says why, and nothing falls back to an unjailed load.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aisbom.convert import converter
from aisbom.convert.converter import (
    SANDBOXED,
    Converted,
    Job,
    make_directory_of,
    source_record,
    write_index,
)
from aisbom.convert.errors import ConversionError, NeedsCode, SandboxUnavailable, UnsafeInput, Unsupported
from aisbom.convert.safetensors_file import Staging
from aisbom.convert.static import stem_of
from aisbom.limits import GiB, Limits, MiB
from aisbom.pipeline import scan_target
from aisbom.wording import counted

_ANSWER_LIMIT = 1 * MiB  # bytes of the child's stdout read
_STDERR_LIMIT = 4000


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: float
    memory: int  # bytes of address space
    file_size: int  # bytes of any one file the child writes
    wall_seconds: float

    @classmethod
    def for_input(
        cls, source: Path, *, cpu_seconds: float | None = None, memory_mib: int | None = None
    ) -> SandboxLimits:
        """Defaults that grow with the input: loading it needs its size in memory at least."""
        size = _input_size(source)
        cpu = cpu_seconds or 300 + 60 * size / GiB
        memory = memory_mib * MiB if memory_mib else 8 * GiB + 3 * size
        return cls(cpu, memory, file_size=2 * size + 256 * MiB, wall_seconds=2 * cpu + 60)


def convert_sandboxed(
    src: Path, out: Path, *, allow_code: bool, limits: SandboxLimits, scan_limits: Limits | None = None
) -> list[Converted]:
    """Static where possible, else in the jail. Raises SandboxUnavailable, NeedsCode (the safe
    loader refused and code is not allowed) or ConversionError."""
    scan_limits = scan_limits or Limits()
    try:
        return converter.convert(src, out, limits=scan_limits)
    except UnsafeInput as exc:
        failing = len(exc.report.failing()) or len(exc.report.findings)
        verdict = "incomplete" if exc.report.incomplete else "unsafe"
        why = f"the scan found it {verdict} ({counted(failing, 'finding')})"
    except (NeedsCode, Unsupported) as exc:
        why = f"static reading refused it: {exc.args[0]}"
    command = bwrap_path()
    plan = converter.plan_jobs(src, out, scan_limits)
    done: list[Converted] = []
    with Staging() as staging:
        for job in plan.jobs:
            make_directory_of(job.output)
            done.append(_jailed(command, job, staging, allow_code, limits, why))
        if plan.index is not None:
            write_index(plan.index, done, staging, SANDBOXED)
    return done


def bwrap_path() -> str:
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable("the sandbox needs Linux namespaces (bubblewrap); this is " + sys.platform)
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailable("the sandbox needs bubblewrap: install the 'bubblewrap' package (bwrap)")
    return found


def _jailed(
    bwrap: str, job: Job, staging: Staging, allow_code: bool, limits: SandboxLimits, why: str
) -> Converted:
    report = scan_target(job.source)  # for the record: its SHA-256 (the jail loads it whatever it says)
    result = report.files[0]
    if result.sha256 is None:
        raise ConversionError(f"cannot read {job.source}")
    record = source_record(job.source, result.sha256, SANDBOXED)
    workdir = Path(tempfile.mkdtemp(prefix=".aisbom-sandbox-", dir=job.output.parent))
    try:
        answer = _run(bwrap, job, workdir, result.format, allow_code, record, limits)
        produced = workdir / "out.safetensors"
        extra = sorted(p.name for p in workdir.iterdir() if p.name != "out.safetensors")
        nbytes = _check_output(produced, record)
        staging.adopt(produced, job.output)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    notes = [why, f"loaded in the sandbox with {answer.get('loader')}"]
    if extra:
        notes.append(f"discarded what else the jailed loader wrote: {', '.join(extra)}")
    if answer.get("skipped"):
        notes.append(f"values that are not plain data were not kept: {', '.join(answer['skipped'])}")
    return Converted(
        source=job.source,
        output=job.output,
        names=tuple(answer.get("tensors", [])),
        nbytes=nbytes,
        aliases=dict(answer.get("aliases", {})),
        values=tuple(answer.get("values", [])),
        method=SANDBOXED,
        notes=tuple(notes),
    )


def _run(
    bwrap: str,
    job: Job,
    workdir: Path,
    fmt: str,
    allow_code: bool,
    record: dict[str, str],
    limits: SandboxLimits,
) -> dict:
    inside = f"/input/{job.source.name}"
    request = {
        "input": inside,
        "output": "/output/out.safetensors",
        "format": fmt,
        "allow_code": allow_code,
        "stem": stem_of(job.source.name),
        "metadata": record,
    }
    command = [
        bwrap,
        *jail_arguments(),
        "--ro-bind", str(job.source.resolve()), inside,
        "--bind", str(workdir), "/output",
        "--chdir", "/output",
        sys.executable, "-I", "-m", "aisbom.convert.sandbox_child", json.dumps(request),
    ]  # fmt: skip
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(  # noqa: S603 (a fixed command line of our own)
            command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, preexec_fn=_limiter(limits)
        )
        try:
            code = process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            process.kill()  # bwrap: its PID namespace, and all the jail started, dies with it
            process.wait()
            raise ConversionError(
                f"the jailed loader did not finish within {limits.wall_seconds:g}s"
            ) from None
        stdout.seek(0)
        lines = stdout.read(_ANSWER_LIMIT).decode("utf-8", "replace").splitlines()
        stderr.seek(0, os.SEEK_END)
        stderr.seek(max(0, stderr.tell() - _STDERR_LIMIT))
        err = stderr.read().decode("utf-8", "replace").strip()
    answers = [_json(line) for line in lines]
    if not any(a.get("started") for a in answers):
        last = err.splitlines()[-1] if err else f"exit status {code}"
        raise SandboxUnavailable(f"the sandbox could not be set up: {last}")
    final = next((a for a in reversed(answers) if "started" not in a), None)
    if final is None:
        raise ConversionError(f"the jailed loader died: {_death(code, err, limits)}")
    if "error" in final:
        if final.get("refused"):
            raise NeedsCode(f"{final['error']}; --allow-code lets the jailed loader run the file's code")
        raise ConversionError(f"the jailed loader failed: {final['error']}")
    return final


def jail_arguments() -> list[str]:
    """bwrap's arguments for the jail, without the input, the output and the command."""
    args = [
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "HOME", "/tmp",
        "--setenv", "OMP_NUM_THREADS", "1",
        "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
        "--ro-bind", "/usr", "/usr",
        "--proc", "/proc",
        "--dev", "/dev",
        "--tmpfs", "/tmp",
    ]  # fmt: skip
    if os.geteuid() == 0:
        args += ["--cap-drop", "ALL"]  # unprivileged, bwrap keeps none anyway
    for top in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
        host = Path("/") / top
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    if Path("/etc/ld.so.cache").is_file():
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for path in _python_paths():
        args += ["--ro-bind", path, path]
    return args


@functools.cache
def _python_paths() -> list[str]:
    """What the child's interpreter reads: its prefixes, the import path `python -I` gives it and
    aisbom's own package directory (an editable install lives outside site-packages); minus what
    /usr already holds."""
    import aisbom
    import aisbom.scanners

    probe = subprocess.run(  # noqa: S603 (our own interpreter, printing its import path)
        [
            sys.executable,
            "-I",
            "-c",
            "import json, sys; print(json.dumps([sys.prefix, sys.base_prefix, *sys.path]))",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    try:
        packages = [str(Path(p.__file__).parent) for p in (aisbom, aisbom.scanners) if p.__file__]
        candidates = [*json.loads(probe.stdout), *packages]  # safe: JSON data
    except ValueError:
        raise SandboxUnavailable(f"cannot ask {sys.executable} for its import path") from None
    found: list[str] = []
    for raw in candidates:
        if not isinstance(raw, str) or not os.path.isabs(raw):
            continue
        path = os.path.realpath(raw)
        if not os.path.isdir(path) or path == "/" or path.startswith("/usr/"):
            continue
        if any(path == kept or path.startswith(kept + "/") for kept in found):
            continue
        found = [kept for kept in found if not kept.startswith(path + "/")] + [path]
    return sorted(found)


def _limiter(limits: SandboxLimits):  # type: ignore[no-untyped-def]
    cpu = max(1, int(limits.cpu_seconds))

    def apply() -> None:  # runs in the child between fork and exec: bwrap and the jail inherit it
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _check_output(produced: Path, record: dict[str, str]) -> int:
    """The jail's output is untrusted: a regular file, a clean safetensors file by the scanner,
    with the source record we gave the child, unaltered. Returns its tensors' bytes."""
    if produced.is_symlink() or not produced.is_file():
        raise ConversionError("the jailed loader wrote no safetensors file")
    report = scan_target(produced)
    unexpected = [f for f in report.findings if f.rule != "safetensors-converted"]
    if report.files[0].format != "safetensors" or unexpected:
        found = "; ".join(f.message for f in unexpected[:2]) or report.files[0].format
        raise ConversionError(f"the jailed loader's output is not a clean safetensors file: {found}")
    with open(produced, "rb") as handle:
        length = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(length))  # safe: JSON the scanner just found valid
    metadata = header.get("__metadata__", {})
    if any(metadata.get(key) != value for key, value in record.items()):
        raise ConversionError("the jailed loader's output does not carry the source record it was given")
    return produced.stat().st_size - 8 - length


def _json(line: str) -> dict:
    try:
        value = json.loads(line)  # safe: JSON data
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _death(code: int | None, err: str, limits: SandboxLimits) -> str:
    """Why the jail ended without an answer. bwrap exits 128 + N when its child died of signal N."""
    signal_number = -code if code is not None and code < 0 else (code - 128 if code and code > 128 else 0)
    if signal_number in (signal.SIGXCPU, signal.SIGKILL):
        return (
            f"killed by {signal.Signals(signal_number).name}: its CPU time limit is {limits.cpu_seconds:g}s"
        )
    if "MemoryError" in err or "Cannot allocate memory" in err:
        return f"out of memory (its limit is {limits.memory // MiB} MiB)"
    if signal_number:
        return f"killed by signal {signal_number}"
    return (err.splitlines()[-1] if err else "") or f"exit status {code}"


def _input_size(source: Path) -> int:
    try:
        if source.is_dir():
            return sum(p.stat().st_size for p in source.iterdir() if p.is_file())
        return source.stat().st_size
    except OSError:
        return 0
