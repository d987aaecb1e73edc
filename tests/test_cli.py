"""The scan command as a user meets it: exit codes, reports, options, errors."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aisbom.cli import cli

EVIL = b"cos\nsystem\n(S'touch aisbom-marker'\ntR."


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["scan", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    (tmp_path / "weights.pkl").write_bytes(pickle.dumps({"w": [0.5, 1.5]}, protocol=4))
    (tmp_path / "config.json").write_text('{"model_type": "demo"}')
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "notes.txt").write_text("nothing to see\n")
    return tmp_path


def test_clean_directory_exits_0_and_lists_every_file(model_dir: Path):
    code, out, _ = run(str(model_dir))
    assert code == 0, out
    for name in ("weights.pkl", "config.json", "sub/notes.txt"):
        assert name in out
    assert "CLEAN" in out


def test_malicious_file_exits_1_and_names_it(model_dir: Path):
    (model_dir / "sub" / "innocent.safetensors").write_bytes(EVIL)
    code, out, _ = run(str(model_dir))
    assert code == 1
    assert "sub/innocent.safetensors" in out
    assert "os.system('touch aisbom-marker')" in out
    assert not (Path.cwd() / "aisbom-marker").exists()


def test_json_report_follows_the_documented_schema(model_dir: Path):
    (model_dir / "evil.bin").write_bytes(EVIL)
    code, out, _ = run(str(model_dir), "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["schema_version"] == "1.0"
    assert report["tool"]["name"] == "aisbom"
    assert report["summary"]["verdict"] == "unsafe" and report["summary"]["exit_code"] == 1
    by_path = {f["path"]: f for f in report["files"]}
    assert set(by_path) == {"config.json", "evil.bin", "sub/notes.txt", "weights.pkl"}
    evil = by_path["evil.bin"]
    assert evil["format"] == "pickle" and evil["size"] == len(EVIL)
    import hashlib

    assert evil["sha256"] == hashlib.sha256(EVIL).hexdigest()
    finding = next(f for f in evil["findings"] if f["rule"] == "pickle-dangerous-global")
    assert finding["severity"] == "critical"
    assert finding["location"] == {"file": "evil.bin", "member": None, "offset": 0}
    assert finding["evidence"]["global"] == "os.system"


def test_output_file_gets_the_report_and_stdout_stays_empty(model_dir: Path, tmp_path_factory):
    out_file = tmp_path_factory.mktemp("out") / "report.json"
    code, out, _ = run(str(model_dir), "--format", "json", "-o", str(out_file))
    assert code == 0 and out == ""
    assert json.loads(out_file.read_text())["summary"]["verdict"] == "clean"


def test_fail_on_threshold(tmp_path: Path):
    # medium: an unknown class constructed (built with a state, its __setstate__ would run: high)
    (tmp_path / "custom.pkl").write_bytes(b"\x80\x02cmy_pkg.models\nNet\n)\x81.")
    assert run(str(tmp_path))[0] == 0
    assert run(str(tmp_path), "--fail-on", "medium")[0] == 1
    assert run(str(tmp_path), "--strict")[0] == 1


def test_allow_file_trusts_a_custom_class(tmp_path: Path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "custom.pkl").write_bytes(b"cmy_pkg.models\nbuild_net\n(tR.")  # high: unknown call
    allow = tmp_path / "allow.txt"
    allow.write_text("# our own code\nmy_pkg.models:build_net\n")
    assert run(str(model))[0] == 1
    assert run(str(model), "--allow", str(allow))[0] == 0


def test_bad_allow_file_is_a_usage_error(tmp_path: Path):
    allow = tmp_path / "allow.txt"
    allow.write_text("not a valid entry!\n")
    code, _, err = run(str(tmp_path), "--allow", str(allow))
    assert code == 2
    assert "line 1" in err


def test_missing_target_is_exit_2_with_one_line(tmp_path: Path):
    code, out, err = run(str(tmp_path / "nope"))
    assert code == 2
    assert "no such file or directory" in err
    assert "Traceback" not in out + err


def test_single_file_target(tmp_path: Path):
    target = tmp_path / "model.pt"
    target.write_bytes(EVIL)
    code, out, _ = run(str(target), "--format", "json")
    assert code == 1
    assert [f["path"] for f in json.loads(out)["files"]] == ["model.pt"]


def test_symlink_out_of_the_target_is_reported_not_followed(tmp_path: Path):
    outside = tmp_path / "outside.pkl"
    outside.write_bytes(EVIL)
    model = tmp_path / "model"
    model.mkdir()
    (model / "link.pkl").symlink_to(outside)
    (model / "loop").symlink_to(model / "loop")
    (model / "inside.pkl").symlink_to(model / "link.pkl")
    (model / "config.json").write_text("{}")  # read: the scan is incomplete, not nothing scanned
    code, out, _ = run(str(model), "--format", "json")
    report = json.loads(out)
    rules = {f["path"]: [x["rule"] for x in f["findings"]] for f in report["files"]}
    assert rules["link.pkl"] == ["symlink-outside-target"]
    assert rules["loop"] == ["symlink-outside-target"]
    assert "symlink-outside-target" in rules["inside.pkl"]
    assert code == 1  # an incomplete scan never exits 0
    assert report["summary"]["complete"] is False


def test_fifo_is_not_opened(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe")
    code, out, _ = run(str(tmp_path), "--format", "json")  # would hang if it opened the FIFO
    [entry] = json.loads(out)["files"]
    assert entry["format"] == "special"


def test_internal_scanner_error_is_a_finding_not_a_crash(tmp_path: Path, monkeypatch):
    from aisbom.scanners.frame import registry

    def broken(data, ctx):
        raise ValueError("boom")

    monkeypatch.setitem(registry._loaded, registry.FORMATS["pickle"].checks[0], broken)
    (tmp_path / "a.pkl").write_bytes(pickle.dumps([1]))
    (tmp_path / "b.txt").write_text("fine\n")
    code, out, _ = run(str(tmp_path), "--format", "json")
    files = {f["path"]: f for f in json.loads(out)["files"]}
    assert files["a.pkl"]["findings"][0]["rule"] == "scan-error"
    assert "b.txt" in files
    assert code == 1


def test_python_dash_m_and_console_script_agree(tmp_path: Path):
    (tmp_path / "evil.bin").write_bytes(EVIL)
    module = subprocess.run([sys.executable, "-m", "aisbom", "scan", str(tmp_path)], capture_output=True)
    assert module.returncode == 1, module.stderr
    version = subprocess.run([sys.executable, "-m", "aisbom", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "aisbom" in version.stdout


def test_a_symlink_named_as_the_target_is_scanned(tmp_path: Path):
    real = tmp_path / "real.pkl"
    real.write_bytes(EVIL)
    link = tmp_path / "link.pkl"
    link.symlink_to(real)
    code, out, _ = run(str(link), "--format", "json")
    assert code == 1
    [entry] = json.loads(out)["files"]
    assert entry["path"] == "link.pkl" and entry["format"] == "pickle"


def test_hugging_face_cache_snapshot_links_into_blobs_are_scanned(tmp_path: Path):
    repo = tmp_path / "hub" / "models--org--demo"
    (repo / "blobs").mkdir(parents=True)
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (repo / "blobs" / "aaaa").write_bytes(EVIL)
    (repo / "blobs" / "bbbb").write_text('{"model_type": "demo"}')
    (snapshot / "pytorch_model.bin").symlink_to("../../blobs/aaaa")
    (snapshot / "config.json").symlink_to("../../blobs/bbbb")
    (snapshot / "escape.bin").symlink_to(tmp_path / "elsewhere.bin")
    (tmp_path / "elsewhere.bin").write_bytes(b"x")
    code, out, _ = run(str(snapshot), "--format", "json")
    files = {f["path"]: f for f in json.loads(out)["files"]}
    assert files["config.json"]["format"] == "json"
    assert files["pytorch_model.bin"]["format"] == "pickle"
    assert any(f["rule"] == "pickle-dangerous-global" for f in files["pytorch_model.bin"]["findings"])
    assert files["escape.bin"]["findings"][0]["rule"] == "symlink-outside-target"
    assert code == 1
