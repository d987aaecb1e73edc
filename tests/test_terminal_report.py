"""The terminal report as a person meets it: the verdict first and last, a why and a fix under
every finding, clean files collapsed in large targets, -q, several targets, --include/--exclude,
colours and the progress bar only on a terminal (run through a real pseudo-terminal), `aisbom
rules`, and examples at the end of every --help."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aisbom.cli import cli
from aisbom.rules import RULES

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "fixtures" / "demo"
EVIL = DEMO / "extra_weights.bin"
CLEAN = REPO / "fixtures" / "benign" / "safetensors" / "model.safetensors"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_the_verdict_comes_first_and_last_and_each_finding_says_why_and_what_to_do():
    code, out = run("scan", str(DEMO))
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("aisbom ") and "(3 files" in lines[0]
    assert lines[1] == lines[-1] == "Result: UNSAFE (1 critical, 2 low); failing at high or above"
    rule = RULES["pickle-dangerous-global"]
    assert f"             why: {rule.brief_why} — fix: {rule.remedy}" in lines
    i = lines.index("             call: os.system('touch aisbom-marker')")
    assert lines[i - 1].startswith("    CRITICAL pickle-dangerous-global: calls os.system")
    assert lines[i + 1].startswith("             why: loading it runs this code")


def test_every_rule_has_a_one_line_why_and_remedy():
    for rule in RULES.values():
        assert rule.brief_why and rule.remedy, rule.id
        assert len(rule.brief_why) + len(rule.remedy) <= 125, rule.id


def test_clean_files_are_collapsed_above_a_few_hundred_and_listed_on_request(tmp_path: Path):
    for i in range(250):
        (tmp_path / f"note{i:03}.txt").write_text(f"note {i}\n")
    shutil.copy(EVIL, tmp_path / "zz_evil.bin")
    code, out = run("scan", str(tmp_path))
    assert code == 1
    assert "note000.txt" not in out
    assert "  ok     250 clean files not listed (--show-clean)" in out.splitlines()
    assert "UNSAFE zz_evil.bin" in out
    assert len(out.splitlines()) < 20
    code, listed = run("scan", str(tmp_path), "--show-clean")
    assert "note000.txt" in listed and "note249.txt" in listed and "not listed" not in listed


def test_quiet_prints_only_the_verdict_and_the_failing_findings():
    code, out = run("scan", str(DEMO), "-q")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"{DEMO}: Result: UNSAFE (1 critical, 2 low); failing at high or above"
    assert lines[1].startswith("    CRITICAL extra_weights.bin: pickle-dangerous-global")
    assert "model.pt" not in out and "pickle-format" not in out  # neither clean files nor low findings
    code, out = run("scan", str(CLEAN), "-q")
    assert (code, out) == (0, f"{CLEAN}: Result: CLEAN (no findings); failing at high or above\n")


def test_several_targets_in_one_run_exit_with_the_worst(tmp_path: Path):
    code, out = run("scan", str(CLEAN), str(DEMO))
    assert code == 1
    assert out.count("Result: ") == 4 and out.splitlines()[-1] == "All 2 targets: UNSAFE"
    code, out = run("scan", str(CLEAN), str(tmp_path / "missing"))
    assert code == 2 and out.splitlines()[-1] == "All 2 targets: ERROR"
    assert "no such file or directory" in out
    code, out = run("scan", str(CLEAN), str(DEMO), "--format", "json")
    assert code == 2 and "takes one TARGET" in out


def test_include_and_exclude(tmp_path: Path):
    shutil.copytree(DEMO, tmp_path / "demo")
    code, out = run("scan", str(tmp_path / "demo"), "--exclude", "*.bin")
    assert code == 0
    assert "(2 files, 2.0 KiB; 1 excluded by --include/--exclude)" in out.splitlines()[0]
    code, out = run("scan", str(tmp_path / "demo"), "--include", "*.bin")
    assert code == 1 and "(1 file, 40 B; 2 excluded" in out
    code, out = run("scan", str(tmp_path / "demo"), "--include", "*.onnx")
    assert code == 2 and "nothing was scanned" in out


def test_rules_lists_and_explains():
    code, out = run("rules")
    assert code == 0 and len(out.splitlines()) == len(RULES)
    assert re.search(r"^keras-lambda\s+high\s+Keras model carries Python bytecode$", out, re.M)
    code, out = run("rules", "keras-lambda")
    assert code == 0
    assert out.startswith("keras-lambda: Keras model carries Python bytecode\nDefault severity: high\n")
    assert "remove the Lambda layer" in out and "CVE-2024-3660" in out
    code, out = run("rules", "pickle-dangerus")
    assert code == 2 and "did you mean pickle-dangerous-global" in out


def test_every_help_ends_with_examples():
    commands = [[]] + [[name] for name in cli.all_commands()]
    assert {"scan", "rules", "bom", "sign", "verify"} <= set(cli.all_commands())
    for command in commands:
        code, out = run(*command, "--help")
        assert code == 0, command
        tail = out.rstrip().split("\n\n")[-1].splitlines()
        assert tail[0].strip() == "Examples:", command
        assert len(tail) > 1 and tail[1].strip().startswith("aisbom "), (command, tail)


def _on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run aisbom with stdout and stderr on a real pseudo-terminal; return its exit code and
    everything the terminal received."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "aisbom", *args],
        stdin=subprocess.DEVNULL,
        stdout=child,
        stderr=child,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm-256color", **env},
        cwd=REPO,
    )
    os.close(child)
    received = b""
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(main)
    return process.wait(timeout=60), received.decode("utf-8", "replace")


@pytest.fixture
def no_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


def test_on_a_terminal_colours_and_a_progress_bar(no_no_color: None):
    code, seen = _on_a_terminal(["scan", "fixtures/demo"], {})
    assert code == 1
    assert "\x1b[31m\x1b[1mUNSAFE" in seen  # the verdict in bold red
    assert "scanning" in seen and "files," in seen  # the bar, on stderr (the same terminal)
    plain = ANSI.sub("", seen)
    assert "Result: UNSAFE (1 critical, 2 low)" in plain


def test_no_color_on_a_terminal(no_no_color: None):
    code, seen = _on_a_terminal(["scan", "fixtures/demo", "--no-progress"], {"NO_COLOR": "1"})
    assert code == 1 and "Result: UNSAFE" in seen
    assert not ANSI.search(seen)


def test_off_a_terminal_no_colour_and_no_progress():
    process = subprocess.run(
        [sys.executable, "-m", "aisbom", "scan", "fixtures/demo"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")},
    )
    assert process.returncode == 1
    assert process.stderr == ""  # no bar
    assert "\x1b" not in process.stdout
    assert process.stdout.splitlines()[1].startswith("Result: UNSAFE")
