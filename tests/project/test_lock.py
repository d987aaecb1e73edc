"""aisbom.lock and aisbom.toml as files: deterministic, and checked when read."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from _project_helpers import BENIGN_MODEL, PROMPT, Project


def build(project: Project) -> bytes:
    project.write("prompts/system.txt", PROMPT)
    project.write("data/faq/b.csv", "b\n")
    project.write("data/faq/a.csv", "a\n")
    project.copy(BENIGN_MODEL, "models/base.pt")
    project.ok("add", "prompt", "prompts/system.txt")
    project.ok("add", "dataset", "data/faq")
    project.ok("add", "model", "models/base.pt", "--trained-on", "faq")
    return (project.root / "aisbom.lock").read_bytes()


def test_the_lock_is_the_same_bytes_for_the_same_project(
    project: Project, tmp_path: Path, monkeypatch
) -> None:
    first = build(project)
    assert first.endswith(b"}\n")
    twin = Project(tmp_path / "twin")
    twin.root.mkdir()
    monkeypatch.chdir(twin.root)
    assert build(twin) == first

    # Another time changes the times and nothing else (but the audit log's head: the log holds
    # the times too).
    later = Project(tmp_path / "later")
    later.root.mkdir()
    monkeypatch.chdir(later.root)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01
    third = build(later)
    assert third != first
    log = (later.root / "aisbom-audit.jsonl").read_bytes()
    head = {"sha256": hashlib.sha256(log).hexdigest(), "size": len(log), "entries": 3}
    assert later.lock["audit_log"] == head
    first_doc, third_doc = json.loads(first), json.loads(third.replace(b"2026-01-01T", b"2025-01-01T"))
    assert first_doc.pop("audit_log") != third_doc.pop("audit_log")
    assert third_doc == first_doc

    # Locking again (even rescanning) an unchanged project leaves the file as it was.
    later.ok("lock", "--rescan")
    assert (later.root / "aisbom.lock").read_bytes() == third


def test_the_lock_lists_files_in_sorted_order_with_sorted_keys(project: Project) -> None:
    build(project)
    entry = project.lock["assets"]["faq"]
    assert list(entry["files"]) == ["a.csv", "b.csv"]
    assert list(entry) == sorted(entry)


def test_an_unchanged_asset_keeps_its_lock_entry_when_another_changes(project: Project, monkeypatch) -> None:
    build(project)
    before = project.lock["assets"]["base"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    project.write("prompts/system.txt", "v2\n")
    project.ok("lock")
    assert project.lock["assets"]["base"] == before
    assert project.lock["assets"]["system"]["locked_at"] == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[assets.x]\nkind = "model"\nsource = "m"\ntrained-on = ["d"]\n', "unknown key 'trained-on'"),
        (
            '[assets.x]\nkind = "weights"\nsource = "m"\n',
            "kind must be one of model, dataset, prompt, config",
        ),
        ('[assets.x]\nkind = "prompt"\nsource = "p"\nfine_tuned_from = "y"\n', "only a model can be"),
        ('[system]\nuses = ["ghost"]\n', "uses names 'ghost', which is not declared"),
        (
            '[assets.a]\nkind = "model"\nsource = "a"\nfine_tuned_from = "b"\n'
            '[assets.b]\nkind = "model"\nsource = "b"\nfine_tuned_from = "a"\n',
            "fine_tuned_from makes a cycle",
        ),
        ("[system\n", "not valid TOML"),
    ],
)
def test_a_bad_manifest_is_one_line_and_exit_2(project: Project, text: str, message: str) -> None:
    project.write("aisbom.toml", text)
    run = project.ok("status", code=2)
    assert message in run.err and "Traceback" not in run.err


def test_a_lock_aisbom_did_not_write_is_refused(project: Project) -> None:
    build(project)
    (project.root / "aisbom.lock").write_text('{"lock_version": 99, "assets": {}}\n', encoding="utf-8")
    assert "unsupported lock_version 99" in project.ok("status", code=2).err
    (project.root / "aisbom.lock").write_text("{", encoding="utf-8")
    assert "not valid JSON" in project.ok("status", code=2).err


def test_the_project_can_be_named_from_elsewhere(project: Project, tmp_path: Path, monkeypatch) -> None:
    build(project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert "3 unchanged." in project.ok("status", "--project", str(project.root)).out
    shutil.rmtree(project.root / "data")
    assert "missing   dataset faq" in project.ok("status", "--project", str(project.root), code=1).out


def test_concurrent_adds_lose_nothing(project: Project) -> None:
    import subprocess
    import sys

    names = [f"prompt{i}" for i in range(4)]
    for name in names:
        project.write(f"prompts/{name}.txt", f"{name}\n")
    project.write("aisbom.toml", '[system]\nname = "x"\n')
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "aisbom", "add", "prompt", f"prompts/{name}.txt"],
            cwd=project.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in names
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    assert all(f"[assets.{name}]" in project.manifest for name in names)
    assert set(project.lock["assets"]) == set(names)
    assert sorted(e["asset"] for e in project.events()) == names
