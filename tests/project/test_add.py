"""`aisbom add`: scan first, then declare (aisbom.toml), lock (aisbom.lock) and log."""

from __future__ import annotations

import json

from _project_helpers import BENIGN_MODEL, MALICIOUS_MODEL, PROMPT, Project, minilm_dir, sha256


def test_add_each_kind_declares_locks_and_logs(system: Project) -> None:
    manifest = system.manifest
    for header in (
        "[assets.faq]",
        "[assets.base]",
        "[assets.chat]",
        "[assets.system-prompt]",
        "[assets.generation]",
    ):
        assert header in manifest
    assert 'trained_on = ["faq"]' in manifest and 'fine_tuned_from = "base"' in manifest

    lock = system.lock["assets"]
    assert {name: entry["kind"] for name, entry in lock.items()} == {
        "faq": "dataset",
        "base": "model",
        "chat": "model",
        "system-prompt": "prompt",
        "generation": "config",
    }
    assert lock["faq"]["files"]["train.csv"]["sha256"] == sha256(system.root / "data/faq/train.csv")
    assert set(lock["faq"]["files"]) == {"train.csv", "test.csv"}
    assert lock["base"]["files"]["base.pt"]["format"] == "pytorch-zip"
    assert lock["system-prompt"]["files"]["system.txt"] == {
        "format": "text",
        "sha256": sha256(system.root / "prompts/system.txt"),
        "size": len(PROMPT),
    }
    assert all(entry["scan"]["verdict"] == "clean" for entry in lock.values())
    assert all(entry["locked_at"] == "2025-01-01T00:00:00Z" for entry in lock.values())

    events = system.events()
    assert [(e["event"], e["asset"], e["file"]) for e in events] == [
        ("added", "faq", None),
        ("added", "base", None),
        ("added", "chat", None),
        ("added", "system-prompt", "system.txt"),
        ("added", "generation", "generation.json"),
    ]
    prompt = events[3]
    assert prompt["old_sha256"] is None and prompt["new_sha256"] == sha256(system.root / "prompts/system.txt")
    assert prompt["time"] == "2025-01-01T00:00:00Z" and prompt["command"] == "add"
    assert events[0]["new_sha256"] == lock["faq"]["digest"]  # a dataset is logged by its digest


def test_add_refuses_an_unsafe_model_and_records_nothing(project: Project) -> None:
    project.write("prompts/system.txt", PROMPT)
    project.ok("add", "prompt", "prompts/system.txt")
    project.copy(MALICIOUS_MODEL, "models/evil.pkl")
    before = (project.manifest, project.lock, project.events())

    run = project.ok("add", "model", "models/evil.pkl", code=1)
    assert "pickle-dangerous-global" in run.out  # the findings are printed
    assert "refused" in run.out and "--allow-unsafe" in run.out
    assert (project.manifest, project.lock, project.events()) == before

    run = project.ok("add", "model", "models/evil.pkl", "--allow-unsafe")
    entry = project.lock["assets"]["evil"]
    assert entry["scan"]["verdict"] == "unsafe"
    findings = entry["files"]["evil.pkl"]["findings"]
    assert any(f["rule"] == "pickle-dangerous-global" and f["severity"] == "critical" for f in findings)


def test_add_a_real_hugging_face_model_directory(project: Project) -> None:
    model = minilm_dir()
    run = project.ok("add", "model", str(model), "--name", "minilm", "--format", "json")
    result = json.loads(run.out)
    assert result["created"] is True and result["assets"][0]["action"] == "added"
    entry = project.lock["assets"]["minilm"]
    assert entry["source"] == model.as_posix()  # outside the project: by its absolute path
    assert entry["files"]["model.safetensors"]["sha256"] == sha256(model / "model.safetensors")
    assert entry["files"]["1_Pooling/config.json"]["format"] == "json"
    high = [
        f
        for file in entry["files"].values()
        for f in file.get("findings", [])
        if f["severity"] in ("high", "critical")
    ]
    assert high == []
    assert "1 unchanged." in project.ok("status").out


def test_add_keeps_the_users_comments_and_layout(project: Project) -> None:
    handwritten = (
        "# Our assistant. Reviewed by the AI board every quarter.\n"
        "[system]\n"
        'name = "acme-support"   # as in the service catalogue\n'
        'version = "2.3"\n'
        "\n"
        "[assets.system-prompt]\n"
        'kind = "prompt"\n'
        'source = "prompts/system.txt"  # owned by the product team\n'
    )
    project.write("aisbom.toml", handwritten)
    project.write("prompts/system.txt", PROMPT)
    project.copy(BENIGN_MODEL, "models/base.pt")
    project.ok("add", "model", "models/base.pt", "--name", "base")
    text = project.manifest
    assert text.startswith(handwritten)
    assert text[len(handwritten) :] == '\n[assets.base]\nkind = "model"\nsource = "models/base.pt"\n'


def test_add_from_a_subdirectory_finds_the_project_and_stores_a_root_relative_path(project: Project) -> None:
    project.write("aisbom.toml", '[system]\nname = "x"\n')
    project.write("prompts/system.txt", PROMPT)
    import os

    os.chdir(project.root / "prompts")
    project.ok("add", "prompt", "system.txt")
    assert 'source = "prompts/system.txt"' in project.manifest
    assert not (project.root / "prompts" / "aisbom.toml").exists()


def test_add_rejects_bad_relations_and_duplicates_without_writing(project: Project) -> None:
    project.copy(BENIGN_MODEL, "models/base.pt")
    project.write("prompts/system.txt", PROMPT)
    project.ok("add", "prompt", "prompts/system.txt")
    before = project.manifest

    run = project.ok("add", "model", "models/base.pt", "--trained-on", "nope", code=2)
    assert "trained_on names 'nope', which is not declared" in run.err
    run = project.ok("add", "model", "models/base.pt", "--trained-on", "system", code=2)
    assert "a prompt, not a dataset" in run.err
    run = project.ok("add", "prompt", "prompts/system.txt", code=2)
    assert "already declared" in run.err
    run = project.ok("add", "prompt", "prompts/nothing.txt", "--name", "other", code=2)
    assert "no such file or directory" in run.err
    assert project.manifest == before
