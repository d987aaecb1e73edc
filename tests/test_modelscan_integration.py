"""modelscan users get aisbom's engine: `aisbom integrations modelscan-settings` writes a settings
file, and the real `modelscan` CLI run with it reports aisbom's findings, in modelscan's JSON
report and severities, on the fixtures."""

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

REPO = Path(__file__).resolve().parents[1]
MODELSCAN = shutil.which("modelscan", path=str(Path(sys.executable).parent)) or shutil.which("modelscan")
SCANNER = "aisbom.integrations.modelscan.AisbomScan"

pytestmark = pytest.mark.skipif(
    MODELSCAN is None and not os.environ.get("CI"), reason="needs modelscan (.ci/run installs it)"
)


@pytest.fixture
def settings(tmp_path: Path) -> Path:
    path = tmp_path / "modelscan-settings.toml"
    result = CliRunner().invoke(cli, ["integrations", "modelscan-settings", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


def modelscan(target: Path, settings: Path, report: Path) -> subprocess.CompletedProcess[str]:
    assert MODELSCAN is not None, "modelscan is not installed"
    return subprocess.run(
        [
            MODELSCAN,
            "scan",
            "-p",
            str(target),
            "--settings-file",
            str(settings),
            "-r",
            "json",
            "-o",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_modelscan_reports_aisboms_findings(settings: Path, tmp_path: Path):
    target = tmp_path / "model"
    shutil.copytree(REPO / "fixtures" / "demo", target)
    shutil.copy(REPO / "fixtures" / "benign" / "safetensors" / "model.safetensors", target)
    report_path = tmp_path / "report.json"
    result = modelscan(target, settings, report_path)
    assert result.returncode == 1, result.stdout + result.stderr  # modelscan's "issues found"
    report = json.loads(report_path.read_text())
    assert report["errors"] == []
    issues = report["issues"]
    assert issues and {i["scanner"] for i in issues} == {SCANNER}  # modelscan's own scanners are off
    critical = [i for i in issues if i["severity"] == "CRITICAL"]
    assert [(i["source"], i["rule"], i["operator"]) for i in critical] == [
        ("extra_weights.bin", "pickle-dangerous-global", "os.system")
    ]
    assert report["summary"]["total_issues_by_severity"]["CRITICAL"] == 1
    assert "model.safetensors" in report["summary"]["scanned"]["scanned_files"]  # a format modelscan skips


def test_a_clean_file_has_no_issue(settings: Path, tmp_path: Path):
    report_path = tmp_path / "report.json"
    clean = REPO / "fixtures" / "benign" / "safetensors" / "model.safetensors"
    result = modelscan(clean, settings, report_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(report_path.read_text())["issues"] == []


def test_a_malicious_pickle_modelscan_reads_by_extension(settings: Path, tmp_path: Path):
    # A dotted global that a denylist of module names misses; aisbom resolves it.
    pickle = REPO / "fixtures" / "malicious" / "pickle" / "dotted_logging_os_system.pkl"
    report_path = tmp_path / "report.json"
    assert modelscan(pickle, settings, report_path).returncode == 1
    issues = json.loads(report_path.read_text())["issues"]
    assert any(i["rule"] == "pickle-dangerous-global" and i["severity"] == "CRITICAL" for i in issues)
