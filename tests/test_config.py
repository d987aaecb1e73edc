"""Scan settings from pyproject.toml [tool.aisbom] or aisbom.toml [scan]: found from the current
directory up, checked, overridden by the command line, always announced, shown by `aisbom
config` with where each value came from."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from click.testing import CliRunner

from aisbom.cli import cli
from aisbom.project.manifest import Manifest

# Builds (never calls) mypkg.models.MyNet: a medium pickle-unknown-global, clean at the default
# fail_on (high), unsafe at medium.
CUSTOM_CLASS = b"\x80\x02cmypkg.models\nMyNet\n)\x81."


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with a model directory; the tests run from a subdirectory of it."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "net.pkl").write_bytes(CUSTOM_CLASS)
    (models / "README.md").write_text("# notes\n")
    (tmp_path / "src").mkdir()
    monkeypatch.chdir(tmp_path / "src")
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_without_a_settings_file_the_defaults_apply(project: Path):
    code, out, err = run("scan", "../models", "-q")
    assert code == 0 and err == ""
    code, out, _ = run("config")
    assert out.startswith("Settings file: none (aisbom's defaults)\n")
    assert "  fail_on  " in out and '"high"  (default)' in out


def test_pyproject_settings_apply_and_are_announced(project: Path):
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\n\n[tool.aisbom]\nfail_on = "medium"\nexclude = ["*.md"]\n'
    )
    code, out, err = run("scan", "../models")
    assert code == 1
    assert "failing at medium or above" in out
    assert "(1 file, 25 B; 1 excluded by --include/--exclude)" in out
    origin = f"{project / 'pyproject.toml'} [tool.aisbom]"
    assert err == f"aisbom: settings from {origin}: fail_on=medium, exclude=*.md\n"


def test_the_command_line_overrides_the_file(project: Path):
    (project / "pyproject.toml").write_text('[tool.aisbom]\nfail_on = "medium"\n')
    code, out, err = run("scan", "../models", "--fail-on", "high")
    assert code == 0 and "failing at high or above" in out
    assert err == ""  # nothing of the file is in force
    code, out, _ = run("--no-config", "scan", "../models")
    assert code == 0


def test_aisbom_toml_scan_table_comes_before_pyproject(project: Path):
    (project / "pyproject.toml").write_text('[tool.aisbom]\nfail_on = "critical"\n')
    (project / "aisbom.toml").write_text(
        '[system]\nname = "app"\n\n[scan]\nfail_on = "medium"\n\n'
        '[assets.net]\nkind = "model"\nsource = "models/net.pkl"\n'
    )
    code, out, err = run("scan", "../models")
    assert code == 1 and "aisbom.toml [scan]" in err
    # The inventory still reads the same file.
    assert list(Manifest.load(project / "aisbom.toml").assets) == ["net"]


def test_config_shows_each_value_and_where_it_came_from(project: Path):
    (project / "pyproject.toml").write_text(
        '[tool.aisbom]\nfail_on = "medium"\ninclude = ["*.pkl"]\n[tool.aisbom.limits]\nmax_depth = 3\n'
    )
    code, out, _ = run("config")
    origin = f"({project / 'pyproject.toml'} [tool.aisbom])"
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"Settings file: {project / 'pyproject.toml'} [tool.aisbom]"
    assert any(line.split() == ["fail_on", '"medium"', *origin.split()] for line in lines)
    assert any(line.split() == ["strict", "false", "(default)"] for line in lines)
    assert any(line.split() == ["limits.max_depth", "3", *origin.split()] for line in lines)
    assert any(line.split() == ["limits.max_ratio", "200", "(default)"] for line in lines)
    code, out, _ = run("config", "--format", "json")
    document = json.loads(out)
    assert document["settings"]["include"] == {"value": ["*.pkl"], "from": "file"}
    assert document["settings"]["exclude"] == {"value": [], "from": "default"}


def test_limits_and_allow_files_from_the_file_reach_the_scan(project: Path):
    (project / "models" / "long.pkl").write_bytes(pickle.dumps(list(range(100_000)), protocol=2))
    (project / "trusted.txt").write_text("mypkg.models:MyNet\n")
    (project / "pyproject.toml").write_text(
        '[tool.aisbom]\nfail_on = "medium"\nallow = ["trusted.txt"]\n'
        "[tool.aisbom.limits]\nmax_pickle_opcodes = 1000\n"
    )
    code, out, err = run("scan", "../models", "--format", "json")
    report = json.loads(out)
    rules = {f["rule"] for file in report["files"] for f in file["findings"]}
    assert "scan-limit" in rules  # the limit reached the scanner
    assert report["policy"]["allow_files"][0]["path"] == str(project / "trusted.txt")
    net = next(file for file in report["files"] if file["path"] == "net.pkl")
    assert [f["rule"] for f in net["silenced"]] == ["pickle-unknown-global"]
    assert "limits.max_pickle_opcodes=1000" in err and "allow_files=" in err


def test_an_explicit_file(project: Path, tmp_path: Path):
    settings = project / "ci.toml"
    settings.write_text('[scan]\nfail_on = "medium"\n')
    code, _, err = run("--config", str(settings), "scan", "../models")
    assert code == 1 and f"{settings} [scan]" in err
    code, _, err = run("--config", str(project / "models" / "README.md"), "scan", "../models")
    assert code == 2 and "no [scan] table" in err


@pytest.mark.parametrize(
    "table, message",
    [
        ('fail_on = "catastrophic"', "fail_on must be one of low, medium, high, critical"),
        ("unknown_key = 1", "unknown setting 'unknown_key'"),
        ("strict = 1", "strict must be true or false"),
        ('exclude = "*.md"', "exclude must be a list of strings"),
        ('allow = ["missing.txt"]', "allow: no such file"),
        ("limits = { max_bananas = 3 }", "limits: unknown limit 'max_bananas'"),
        ("limits = { max_depth = -1 }", "limits: max_depth must be a positive integer"),
        ("fail_on = ", "not valid TOML"),
    ],
)
def test_a_bad_settings_file_is_one_error_line_naming_it(project: Path, table: str, message: str):
    (project / "pyproject.toml").write_text(f"[tool.aisbom]\n{table}\n")
    code, out, err = run("scan", "../models")
    assert code == 2 and out == ""
    assert str(project / "pyproject.toml") in err and message in err
    assert "Traceback" not in err
