"""`aisbom status` and the audit log: every prompt or config change logged once, with hashes."""

from __future__ import annotations

import json

from _project_helpers import PROMPT, Project, sha256


def modified_events(project: Project) -> list[dict]:
    return [e for e in project.events() if e["event"] in ("new", "modified", "missing")]


def test_prompt_change_is_logged_once_then_accepted(system: Project) -> None:
    prompt = system.root / "prompts/system.txt"
    old = sha256(prompt)
    assert "5 unchanged." in system.ok("status").out
    assert modified_events(system) == []

    prompt.write_text(PROMPT + "Never reveal internal discount codes.\n", encoding="utf-8")
    new = sha256(prompt)
    run = system.ok("status", code=1)
    assert "modified  prompt  system-prompt" in run.out
    assert f"modified system.txt  {old[:12]} -> {new[:12]}" in run.out
    [event] = modified_events(system)
    assert event["event"] == "modified" and event["asset"] == "system-prompt" and event["kind"] == "prompt"
    assert (event["file"], event["old_sha256"], event["new_sha256"]) == ("system.txt", old, new)
    assert event["time"] == "2025-01-01T00:00:00Z" and event["command"] == "status"

    log = (system.root / "aisbom-audit.jsonl").read_bytes()
    system.ok("status", code=1)  # seen before: nothing new to log
    assert (system.root / "aisbom-audit.jsonl").read_bytes() == log

    run = system.ok("lock")
    assert "locked    prompt  system-prompt" in run.out
    accepted = [e for e in system.events() if e["event"] == "accepted"]
    assert [(e["asset"], e["file"], e["old_sha256"], e["new_sha256"]) for e in accepted] == [
        ("system-prompt", "system.txt", old, new)
    ]
    assert system.lock["assets"]["system-prompt"]["files"]["system.txt"]["sha256"] == new
    assert "5 unchanged." in system.ok("status").out
    assert len(modified_events(system)) == 1


def test_a_revert_is_a_change_of_its_own(system: Project) -> None:
    config = system.root / "config/generation.json"
    original = config.read_text(encoding="utf-8")
    a = sha256(config)
    config.write_text('{"temperature": 1.5}\n', encoding="utf-8")
    b = sha256(config)
    system.ok("status", code=1)
    config.write_text(original, encoding="utf-8")
    system.ok("status")  # back to the locked content: unchanged, but the way back is logged
    assert [(e["old_sha256"], e["new_sha256"]) for e in modified_events(system)] == [(a, b), (b, a)]


def test_lock_logs_a_change_that_status_never_saw(system: Project) -> None:
    prompt = system.root / "prompts/system.txt"
    old = sha256(prompt)
    prompt.write_text("Be terse.\n", encoding="utf-8")
    system.ok("lock")
    events = [(e["event"], e["command"], e["old_sha256"], e["new_sha256"]) for e in system.events()[5:]]
    assert events == [("modified", "lock", old, sha256(prompt)), ("accepted", "lock", old, sha256(prompt))]


def test_new_and_missing_files_in_a_locked_dataset(system: Project) -> None:
    digest = system.lock["assets"]["faq"]["digest"]
    system.write("data/faq/extra.csv", "question,answer\nshipping?,free\n")
    (system.root / "data/faq/test.csv").unlink()
    run = system.ok("status", "--format", "json", code=1)
    doc = json.loads(run.out)
    faq = next(a for a in doc["assets"] if a["name"] == "faq")
    assert faq["state"] == "modified"
    assert [(c["path"], c["state"]) for c in faq["changes"]] == [
        ("extra.csv", "new"),
        ("test.csv", "missing"),
    ]
    assert doc["clean"] is False and doc["counts"]["modified"] == 1
    assert doc["audit_events"] == []  # datasets are logged when the lock takes them, by digest

    system.ok("lock")
    entry = system.lock["assets"]["faq"]
    assert set(entry["files"]) == {"extra.csv", "train.csv"}
    [accepted] = [e for e in system.events() if e["event"] == "accepted"]
    assert (accepted["asset"], accepted["file"], accepted["old_sha256"], accepted["new_sha256"]) == (
        "faq",
        None,
        digest,
        entry["digest"],
    )
    system.ok("status")


def test_missing_prompt_is_logged_and_cannot_be_locked(system: Project) -> None:
    prompt = system.root / "prompts/system.txt"
    old = sha256(prompt)
    prompt.unlink()
    run = system.ok("status", code=1)
    assert "missing   prompt  system-prompt" in run.out
    [event] = modified_events(system)
    assert (event["event"], event["old_sha256"], event["new_sha256"]) == ("missing", old, None)
    run = system.ok("lock", code=2)
    assert "cannot lock" in run.out
    assert system.lock["assets"]["system-prompt"]["files"]["system.txt"]["sha256"] == old

    system.ok("remove", "system-prompt")
    assert "[assets.system-prompt]" not in system.manifest
    assert "system-prompt" not in system.lock["assets"]
    assert system.events()[-1]["event"] == "removed"
    system.ok("status")


def test_remove_is_refused_while_another_asset_depends_on_it(system: Project) -> None:
    run = system.ok("remove", "faq", code=2)
    assert "chat depends on it" in run.err
    assert "[assets.faq]" in system.manifest


def test_hand_edits_of_the_manifest_show_as_new_and_removed(system: Project) -> None:
    system.write("prompts/refusal.txt", "I cannot help with that.\n")
    text = system.manifest.replace(
        '[assets.generation]\nkind = "config"\nsource = "config/generation.json"\n', ""
    )
    (system.root / "aisbom.toml").write_text(
        text + '\n[assets.refusal]\nkind = "prompt"\nsource = "prompts/refusal.txt"\n', encoding="utf-8"
    )
    doc = json.loads(system.ok("status", "--format", "json", code=1).out)
    states = {a["name"]: a["state"] for a in doc["assets"]}
    assert states["refusal"] == "new" and states["generation"] == "removed"
    [event] = modified_events(system)  # a prompt declared by hand is logged when first seen
    assert (event["event"], event["asset"], event["old_sha256"]) == ("new", "refusal", None)

    system.ok("lock")
    assert set(system.lock["assets"]) == {"faq", "base", "chat", "system-prompt", "refusal"}
    tail = {(e["event"], e["asset"]) for e in system.events()[-2:]}
    assert tail == {("removed", "generation"), ("added", "refusal")}
    system.ok("status")


def test_the_log_is_only_appended_to_and_survives_a_torn_last_line(system: Project) -> None:
    log = system.root / "aisbom-audit.jsonl"
    with log.open("ab") as handle:
        handle.write(b'{"time": "2025-01-01T00:00:00Z", "event": "modif')  # a crash mid-write
    before = log.read_bytes()
    (system.root / "prompts/system.txt").write_text("changed\n", encoding="utf-8")
    run = system.ok("status", code=1)
    assert "last line is not an audit event" in run.err
    after = log.read_bytes()
    assert after.startswith(before)  # never rewritten
    new_lines = after[len(before) :].decode().splitlines()
    assert new_lines[0] == ""  # the torn line is closed, then the event starts on its own line
    assert json.loads(new_lines[1])["event"] == "modified"
    assert "modified" in system.ok("audit").out


def test_no_record_is_a_dry_run(system: Project) -> None:
    (system.root / "prompts/system.txt").write_text("changed\n", encoding="utf-8")
    system.ok("status", "--no-record", code=1)
    assert modified_events(system) == []


def test_status_without_a_project_is_a_usage_error(project: Project) -> None:
    run = project.ok("status", code=2)
    assert "no aisbom.toml" in run.err


def test_diffs_are_logged_only_when_the_project_opts_in(system: Project) -> None:
    prompt = system.root / "prompts/system.txt"
    prompt.write_text(PROMPT + "Be terse.\n", encoding="utf-8")
    system.ok("status", code=1)
    assert "diff" not in modified_events(system)[0]  # default: hashes only
    assert not (system.root / ".aisbom").exists()

    system.ok("lock")
    text = system.manifest + "\n[audit]\ndiffs = true\n"
    (system.root / "aisbom.toml").write_text(text, encoding="utf-8")
    system.ok("lock", "--rescan")  # nothing changed: the opt-in alone logs nothing
    prompt.write_text(PROMPT + "Be terse. Answer in English.\n", encoding="utf-8")
    system.ok("status", code=1)  # no copy of the previous text yet: no diff
    assert "diff" not in modified_events(system)[-1]
    prompt.write_text(PROMPT + "Answer in English.\n", encoding="utf-8")
    system.ok("status", code=1)
    diff = modified_events(system)[-1]["diff"]
    assert diff.splitlines()[:2] == ["--- a/system.txt", "+++ b/system.txt"]
    assert "-Be terse. Answer in English.\n+Answer in English.\n" in diff
    assert "+Answer in English." in system.ok("audit").out
    system.ok("lock")
    doc_log = system.ok("bom", "--reproducible").out
    assert "Answer in English" not in doc_log  # a published BOM carries hashes, never the text
