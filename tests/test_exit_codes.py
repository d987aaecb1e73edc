"""Exit codes as documented, wherever a scan becomes one: `scan` (every output), `bom`, `add` and
`lock`. A file that cannot be read is exit 2 whatever --fail-on says, and reported as an error,
not as unsafe; a target with nothing to scan is never clean."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aisbom.cli import cli
from aisbom.version import __version__

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "fixtures" / "demo"
BENIGN = REPO / "fixtures" / "benign" / "pytorch" / "state_dict.pt"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def with_fifo(tmp_path: Path) -> Path:
    """A benign model next to a FIFO: a file that is not read (reading it could block forever)."""
    model = tmp_path / "model"
    model.mkdir()
    shutil.copyfile(BENIGN, model / "weights.pt")
    os.mkfifo(model / "pipe")
    return model


@pytest.mark.parametrize("fail_on", ["critical", "high", "medium"])
def test_an_unread_file_is_exit_2_whatever_fail_on_says(with_fifo: Path, fail_on: str):
    code, out, _ = run("scan", str(with_fifo), "--fail-on", fail_on)
    assert code == 2
    files = [
        line.split() for line in out.splitlines() if line.startswith("  ") and not line.startswith("   ")
    ]
    lines = {words[1]: words[0] for words in files}
    assert lines == {"pipe": "ERROR", "weights.pt": "ok"}  # an error, never labelled UNSAFE
    assert "Result: ERROR: 1 file could not be read" in out


def test_an_unread_file_next_to_an_unsafe_one_is_still_exit_2(with_fifo: Path):
    shutil.copyfile(DEMO / "extra_weights.bin", with_fifo / "extra_weights.bin")
    code, out, _ = run("scan", str(with_fifo), "--format", "json")
    summary = json.loads(out)["summary"]
    assert code == 2 and summary["exit_code"] == 2 and summary["verdict"] == "error"
    assert summary["error"] == "1 file could not be read"
    assert summary["failing"] == 1  # the os.system call; the unread FIFO is not counted as unsafe


def test_a_read_error_is_exit_2(tmp_path: Path):
    """/proc/self/mem is a regular file whose first page cannot be read (EIO): a real I/O error."""
    if not Path("/proc/self/mem").exists():
        pytest.skip("needs Linux /proc")
    code, out, _ = run("scan", "/proc/self/mem", "--format", "json", "--fail-on", "critical")
    report = json.loads(out)
    assert code == 2 and report["summary"]["verdict"] == "error"
    assert report["summary"]["error"] == "nothing was scanned: /proc/self/mem has no file that could be read"
    [file] = report["files"]
    assert file["sha256"] is None and file["findings"][0]["rule"] == "file-unreadable"


def test_an_empty_directory_is_not_clean(tmp_path: Path):
    empty = tmp_path / "models"
    empty.mkdir()
    code, out, _ = run("scan", str(empty))
    assert code == 2
    assert out.splitlines()[-1] == f"Result: ERROR: nothing was scanned: {empty} holds no file to scan"
    assert "CLEAN" not in out


def test_nothing_scanned_in_json_and_sarif(tmp_path: Path):
    code, out, _ = run("scan", str(tmp_path), "--format", "json")
    summary = json.loads(out)["summary"]
    assert code == 2
    assert (summary["files"], summary["verdict"], summary["exit_code"]) == (0, "error", 2)
    assert summary["error"].startswith("nothing was scanned")

    code, out, _ = run("scan", str(tmp_path), "--format", "sarif")
    [invocation] = json.loads(out)["runs"][0]["invocations"]
    assert code == 2
    assert invocation["exitCode"] == 2 and invocation["exitCodeDescription"] == "error"
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and note["message"]["text"].startswith("nothing was scanned")


def test_clean_json_and_sarif_say_no_error():
    code, out, _ = run("scan", str(DEMO / "model.pt"), "--format", "json")
    assert code == 0 and json.loads(out)["summary"]["error"] is None
    code, out, _ = run("scan", str(DEMO / "model.pt"), "--format", "sarif")
    [invocation] = json.loads(out)["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True and "toolExecutionNotifications" not in invocation


def test_bom_of_nothing_or_of_an_unread_file_writes_nothing(tmp_path: Path, with_fifo: Path):
    out = tmp_path / "model.cdx.json"
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run("bom", str(empty), "-o", str(out))
    assert code == 2 and "nothing was scanned" in err and not out.exists()

    code, _, err = run("bom", str(with_fifo), "-o", str(out))
    assert code == 2 and not out.exists()
    assert "1 file could not be read; no BOM written" in err
    assert "pipe: not a regular file" in err


def test_bom_of_a_directory_holding_only_its_own_output(tmp_path: Path):
    """Every file excluded (here: the BOM an earlier run wrote there) is nothing scanned."""
    model = tmp_path / "model"
    model.mkdir()
    previous = model / "model.cdx.json"
    previous.write_text("{}\n")
    code, _, err = run("bom", str(model), "-o", str(previous))
    assert code == 2 and "nothing was scanned" in err
    assert previous.read_text() == "{}\n"


def test_add_refuses_nothing_and_unread_files_even_with_allow_unsafe(
    tmp_path: Path, with_fifo: Path, monkeypatch: pytest.MonkeyPatch
):
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    (project / "empty").mkdir()
    code, out, _ = run("add", "model", "empty")
    assert code == 2 and "not added: nothing was scanned" in out

    code, out, _ = run("add", "model", str(with_fifo), "--allow-unsafe", "--format", "json")
    [asset] = json.loads(out)["assets"]
    assert code == 2 and asset["action"] == "error"
    assert asset["message"] == "not added: 1 file could not be read"
    assert not (project / "aisbom.lock").exists() or "model" not in (project / "aisbom.lock").read_text()


def test_lock_of_an_asset_emptied_since_it_was_added(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "project"
    (project / "model").mkdir(parents=True)
    monkeypatch.chdir(project)
    shutil.copyfile(BENIGN, project / "model" / "weights.pt")
    assert run("add", "model", "model")[0] == 0
    (project / "model" / "weights.pt").unlink()
    code, out, _ = run("lock", "--format", "json")
    [asset] = json.loads(out)["assets"]
    assert code == 2 and asset["action"] == "error"
    assert asset["message"].startswith("not locked: nothing was scanned")


_BROKEN_SCAN = """
import sys
import aisbom.cli, aisbom.pipeline

def broken(*args, **kwargs):
    raise ZeroDivisionError("division by zero\\nsecond line")

aisbom.pipeline.scan_target = broken
sys.argv = ["aisbom", "scan", sys.argv[1]]
aisbom.cli.main()
"""


@pytest.mark.parametrize("debug", [False, True])
def test_an_unexpected_error_is_one_line_and_exit_2_not_a_traceback_that_says_unsafe(debug):
    # A bug anywhere under a command (here: the pipeline itself raising). Left to the interpreter,
    # its traceback exited 1, the status of an unsafe model. AISBOM_DEBUG shows the traceback.
    env = {k: v for k, v in os.environ.items() if k != "AISBOM_DEBUG"}
    if debug:
        env["AISBOM_DEBUG"] = "1"
    command = [sys.executable, "-c", _BROKEN_SCAN, str(BENIGN)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    if debug:
        assert result.returncode == 1  # the interpreter's own status for an uncaught exception
        assert "Traceback" in result.stderr and "ZeroDivisionError: division by zero" in result.stderr
    else:
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            "aisbom: internal error: ZeroDivisionError: division by zero (a bug in aisbom "
            f"{__version__}; please report it, with the traceback that AISBOM_DEBUG=1 shows)"
        ]


def test_a_terminal_in_a_legacy_encoding_gets_the_whole_report_with_escapes():
    # A report holds characters ISO 8859-1 lacks (a dash, an ellipsis): with Python's strict
    # default, the scan stopped halfway through its report.
    env = {**os.environ, "PYTHONIOENCODING": "latin-1"}
    command = [sys.executable, "-m", "aisbom", "scan", str(DEMO)]
    result = subprocess.run(command, capture_output=True, env=env, timeout=120)
    assert result.returncode == 1, result.stderr
    report = result.stdout.decode("latin-1")
    assert "runs this code \\u2014 fix" in report
    assert report.rstrip().endswith("Result: UNSAFE (1 critical, 2 low); failing at high or above")
    assert result.stderr == b""
