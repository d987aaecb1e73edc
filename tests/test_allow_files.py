"""An allow file never hides a finding silently: every output names the allow files in force and
each finding they silenced, and a known code-execution gadget is silenced only with
--allow-dangerous. (The demo's os.system call, allowed, used to read `CLEAN (2 low)`.)"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from click.testing import CliRunner

from aisbom.cli import cli

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"
# Calls a function outside the allowlist that is no known gadget (never loaded, only scanned).
TOOL_CALL = b"\x80\x02cmy_pkg.tools\nharmless\nX\x02\x00\x00\x00hi\x85R."


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def allow_system(tmp_path: Path) -> Path:
    path = tmp_path / "allow.txt"
    path.write_text("# trusted\nos:system\n")
    return path


def test_a_known_gadget_is_not_silenced_without_allow_dangerous(allow_system: Path):
    code, out, _ = run("scan", str(DEMO), "--allow", str(allow_system))
    assert code == 1
    assert "CRITICAL pickle-dangerous-global: calls os.system" in out
    assert "allows it, but a known gadget is silenced only with --allow-dangerous" in out
    assert f"Allow file {allow_system} (1 entry, sha256:" in out and "silenced 0 findings" in out


def test_allow_dangerous_silences_it_and_says_so_in_the_text(allow_system: Path):
    code, out, _ = run("scan", str(DEMO), "--allow", str(allow_system), "--allow-dangerous")
    assert code == 0
    lines = out.splitlines()
    assert any(
        line.startswith("  ok     extra_weights.bin") and "(1 finding silenced by --allow)" in line
        for line in lines
    )
    assert "--allow-dangerous: allow files may silence known code-execution gadgets" in lines
    header = lines.index(next(line for line in lines if line.startswith(f"Allow file {allow_system}")))
    assert lines[header].endswith("silenced 1 finding:")
    assert lines[header + 1].startswith(
        "    CRITICAL pickle-dangerous-global (extra_weights.bin): calls os.system"
    )
    assert lines[header + 2].strip() == "call: os.system('touch aisbom-marker')"
    assert lines[-1].startswith("Result: CLEAN (2 low; 1 silenced by --allow)")


def test_json_names_the_allow_file_and_what_it_silenced(allow_system: Path):
    code, out, _ = run(
        "scan", str(DEMO), "--allow", str(allow_system), "--allow-dangerous", "--format", "json"
    )
    report = json.loads(out)
    assert code == 0 and report["summary"]["silenced"] == 1
    [allow_file] = report["policy"]["allow_files"]
    assert allow_file["path"] == str(allow_system) and allow_file["entries"] == ["os:system"]
    assert allow_file["silenced"] == 1 and len(allow_file["sha256"]) == 64
    assert report["policy"]["allow_dangerous"] is True
    files = {f["path"]: f for f in report["files"]}
    [silenced] = files["extra_weights.bin"]["silenced"]
    assert silenced["rule"] == "pickle-dangerous-global" and silenced["silenced_by"] == str(allow_system)
    assert [f["rule"] for f in files["extra_weights.bin"]["findings"]] == ["pickle-format"]


def test_sarif_keeps_the_silenced_result_as_suppressed(allow_system: Path):
    code, out, _ = run(
        "scan", str(DEMO), "--allow", str(allow_system), "--allow-dangerous", "--format", "sarif"
    )
    run_ = json.loads(out)["runs"][0]
    [suppressed] = [r for r in run_["results"] if "suppressions" in r]
    assert suppressed["ruleId"] == "pickle-dangerous-global" and suppressed["level"] == "error"
    assert suppressed["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": f"silenced by allow file {allow_system}"}
    ]
    assert run_["properties"]["allowFiles"][0]["entries"] == ["os:system"]
    assert run_["properties"]["allowDangerous"] is True


def test_cyclonedx_records_the_allow_file_and_the_silenced_finding(allow_system: Path, tmp_path: Path):
    bom = tmp_path / "demo.cdx.json"
    code, _, err = run("bom", str(DEMO), "--allow", str(allow_system), "--allow-dangerous", "-o", str(bom))
    assert code == 0 and "1 silenced by --allow" in err
    doc = json.loads(bom.read_text())
    props = {p["name"]: p["value"] for p in doc["metadata"]["properties"]}
    assert props["aisbom:allow_file"].startswith(f"{allow_system} sha256:")
    assert props["aisbom:allow_file"].endswith(" silenced 1") and props["aisbom:allow_dangerous"] == "true"
    [silenced] = [v for v in doc["vulnerabilities"] if "analysis" in v]
    assert silenced["id"] == "pickle-dangerous-global"
    assert silenced["analysis"] == {
        "state": "not_affected",
        "detail": f"silenced by allow file {allow_system}",
    }


def test_an_ordinary_global_is_silenced_without_allow_dangerous_and_still_shown(tmp_path: Path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "tool.pkl").write_bytes(TOOL_CALL)
    (model / "plain.pkl").write_bytes(pickle.dumps({"w": [1.0]}, protocol=2))
    first, second = tmp_path / "team.txt", tmp_path / "unused.txt"
    first.write_text("my_pkg.tools.harmless\n")
    second.write_text("other_pkg:Thing\n")
    code, out, _ = run("scan", str(model), "--allow", str(first), "--allow", str(second), "--format", "json")
    report = json.loads(out)
    assert code == 0
    silenced = {f["path"]: [x["silenced_by"] for x in f["silenced"]] for f in report["files"]}
    assert silenced == {"plain.pkl": [], "tool.pkl": [str(first)]}
    assert [(f["path"], f["silenced"]) for f in report["policy"]["allow_files"]] == [
        (str(first), 1),
        (str(second), 0),
    ]
    code, out, _ = run("scan", str(model), "--allow", str(first), "--allow", str(second))
    assert f"Allow file {first} (1 entry" in out and f"Allow file {second} (1 entry" in out
    assert "HIGH     pickle-unknown-call (tool.pkl): calls my_pkg.tools.harmless" in out


def test_allow_dangerous_needs_an_allow_file():
    code, _, err = run("scan", str(DEMO), "--allow-dangerous")
    assert code == 2 and "--allow-dangerous applies to --allow files" in err
