"""Proof that scanning runs nothing from the file: every malicious fixture is scanned (through
the CLI, with a JSON report written) in a child process watched by an audit hook
(sys.addaudithook), after the benign fixtures of every family were scanned to warm aisbom's own
lazy imports. The hook records any import of a module not already imported, any exec or
compile, any process started (except aisbom's own HDF5 attribute reader, `-I` and a script of
its own), any socket, any ctypes library loaded and any file opened for writing outside the
report's directory and the temporary directory; the test fails on any of them, and if the
payloads' marker file appears."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from catalog import MALICIOUS

REPO = Path(__file__).resolve().parents[1]

_CHILD = textwrap.dedent(
    r"""
    import json, os, sys
    sys.path.insert(0, sys.argv[1])  # fixtures/
    out_dir, tmp_dir = os.path.realpath(sys.argv[2]), os.path.realpath(sys.argv[3])
    import catalog
    from aisbom.cli import cli

    def scan(path, name):
        report = os.path.join(out_dir, name)
        try:
            cli(["scan", "--format", "json", "-o", report, str(path)], prog_name="aisbom")
        except SystemExit as exc:
            if exc.code not in (0, 1):
                return f"exit {exc.code}"
        return None

    for fixture in catalog.BENIGN:  # warm aisbom's own imports, every family
        scan(fixture.abspath, "warm.json")
    from builders.common import seven_zip  # no benign 7z fixture: one made here
    benign_7z = os.path.join(tmp_dir, "benign.7z")
    with open(benign_7z, "wb") as handle:
        handle.write(seven_zip([("notes.txt", b"plain text")]))
    scan(benign_7z, "warm.json")
    for codec in ("latin-1", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
                  "utf-32-le", "utf-32-be"):  # the fixed codecs aisbom's readers use
        b"".decode(codec)

    import aisbom.scanners.readers.hdf5_attributes as hdf5_reader
    own_scripts = {os.path.realpath(p) for p in [hdf5_reader.__file__]}
    own_dir = os.path.dirname(os.path.realpath(hdf5_reader.__file__))
    before = set(sys.modules)
    events = []
    current = ["(warm-up)"]
    WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def literal_eval_on_stack():
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_name == "literal_eval" and frame.f_globals.get("__name__") == "ast":
                return True
            frame = frame.f_back
        return False

    def inside(path, root):
        return os.path.commonpath([path, root]) == root

    def hook(event, args):
        if event == "import":
            name = args[0]
            if name not in before and name not in sys.modules:
                events.append((current[0], "import", name))
        elif event == "compile" and literal_eval_on_stack():
            pass  # ast.literal_eval: parsed to a syntax tree of literals, never run (NumPy headers)
        elif event in ("exec", "compile"):
            events.append((current[0], event, repr(args)[:200]))
        elif event == "subprocess.Popen":
            executable, argv = args[0], list(args[1] or [])
            ours = (
                os.path.realpath(str(executable)) == os.path.realpath(sys.executable)
                and len(argv) >= 3 and argv[1] == "-I"
                and os.path.dirname(os.path.realpath(str(argv[2]))) == own_dir
            )
            if not ours:
                events.append((current[0], event, repr(args)[:200]))
        elif event.startswith(("os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
                               "socket.", "ctypes.dlopen", "ctypes.dlsym", "winreg", "webbrowser")):
            events.append((current[0], event, repr(args)[:200]))
        elif event == "open":
            path, mode, flags = args
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS
            )
            if writes and isinstance(path, (str, bytes, os.PathLike)):
                real = os.path.realpath(os.fsdecode(path))
                if not (inside(real, out_dir) or inside(real, tmp_dir)):
                    events.append((current[0], "open for writing", real))

    sys.addaudithook(hook)
    errors = {}
    for index, fixture in enumerate(catalog.MALICIOUS):
        current[0] = fixture.path
        error = scan(fixture.abspath, f"report-{index}.json")
        if error:
            errors[fixture.path] = error
    current[0] = "(done)"
    print(json.dumps({"events": events, "errors": errors, "scanned": len(catalog.MALICIOUS)}))
    """
)


def test_scanning_every_malicious_fixture_runs_nothing(tmp_path):
    out_dir, tmp_dir, work = tmp_path / "out", tmp_path / "tmp", tmp_path / "cwd"
    for directory in (out_dir, tmp_dir, work):
        directory.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_dir)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(REPO / "fixtures"), str(out_dir), str(tmp_dir)],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["scanned"] == len(MALICIOUS) > 100
    seen = sorted({(what, detail[:100]) for _, what, detail in answer["events"]})
    assert answer["events"] == [], "\n".join(map(str, seen[:60]))
    assert answer["errors"] == {}
    assert not list(work.iterdir())  # no marker file, nothing else written where the scan ran
    reports = list(out_dir.glob("report-*.json"))
    assert len(reports) == len(MALICIOUS)


def test_the_hook_sees_an_import_and_a_write(tmp_path):
    """The watcher itself can fail: a module imported and a file written after the hook is
    installed are both recorded."""
    probe = textwrap.dedent(
        """
        import json, os, sys
        before = set(sys.modules)
        seen = []
        def hook(event, args):
            if event == "import" and args[0] not in before and args[0] not in sys.modules:
                seen.append(("import", args[0]))
            if event == "open" and isinstance(args[1], str) and "w" in args[1]:
                seen.append(("write", os.path.basename(str(args[0]))))
        sys.addaudithook(hook)
        import colorsys  # noqa: F401  (not imported by anything before)
        open("marker", "w").close()
        print(json.dumps(seen))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert json.loads(done.stdout) == [["import", "colorsys"], ["write", "marker"]]
