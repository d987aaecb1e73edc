"""The lock and the audit log are committed files: a pull request can write anything into them.
Each test here edits them as an attacker would, by hand, and checks what aisbom makes of it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from _project_helpers import PROMPT, Project, sha256

LOG = "aisbom-audit.jsonl"


def lines(project: Project) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (project.root / LOG).read_text(encoding="utf-8").splitlines() if x]


def write_chained(project: Project, events: list[dict[str, Any]]) -> None:
    """Write `events` as a log whose chain holds: what a careful forger does."""
    data = b""
    for event in events:
        event = dict(event, before_sha256=hashlib.sha256(data).hexdigest())
        data += (json.dumps(event, ensure_ascii=False) + "\n").encode()
    (project.root / LOG).write_bytes(data)


def prompt_project(project: Project, *, diffs: bool = False) -> Path:
    prompt = project.write("prompts/system.txt", PROMPT)
    project.ok("add", "prompt", "prompts/system.txt", "--name", "system-prompt")
    if diffs:
        manifest = project.root / "aisbom.toml"
        manifest.write_text(manifest.read_text() + "\n[audit]\ndiffs = true\n", encoding="utf-8")
    return prompt


# --- values read back are checked before use -------------------------------------------------


def test_a_path_in_place_of_a_hash_in_the_log_copies_no_file_into_it(
    project: Project, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET deploy key\n", encoding="utf-8")
    prompt = prompt_project(project, diffs=True)
    # The forged line says the prompt's last content is the secret file: the next change would
    # be diffed against .aisbom/objects/<that path>, i.e. the secret, into the committed log.
    with (project.root / LOG).open("a", encoding="utf-8") as log:
        for forged in (str(secret), "../../../secret.txt"):
            event = {
                "time": "2025-01-01T00:00:00Z", "event": "modified", "asset": "system-prompt",
                "kind": "prompt", "file": "system.txt", "old_sha256": sha256(prompt), "new_sha256": forged,
                "command": "status", "who": "x", "tool": "aisbom 0",
            }  # fmt: skip
            log.write(json.dumps(event) + "\n")
    prompt.write_text(PROMPT + "Be terse.\n", encoding="utf-8")

    run = project.ok("status", code=1)

    assert "is not an audit event (new_sha256 is not a SHA-256 (64 lowercase hex digits)" in run.err
    assert "TOP SECRET" not in (project.root / LOG).read_text(encoding="utf-8")
    kept = [p for p in (project.root / ".aisbom").rglob("*") if p.is_file()]
    assert not any("TOP SECRET" in p.read_text() for p in kept)


def test_a_path_in_place_of_a_hash_in_the_lock_is_refused(project: Project, tmp_path: Path) -> None:
    prompt_project(project, diffs=True)
    lock = project.lock
    lock["assets"]["system-prompt"]["files"]["system.txt"]["sha256"] = "../../../secret.txt"
    (project.root / "aisbom.lock").write_text(json.dumps(lock), encoding="utf-8")

    run = project.ok("status", code=2)

    assert "system.txt: sha256 is not a SHA-256 (64 lowercase hex digits): '../../../secret.txt'" in run.err


def test_a_file_name_that_leaves_the_asset_in_the_lock_is_refused(project: Project) -> None:
    prompt_project(project)
    lock = project.lock
    files = lock["assets"]["system-prompt"]["files"]
    files["../../etc/passwd"] = files.pop("system.txt")
    (project.root / "aisbom.lock").write_text(json.dumps(lock), encoding="utf-8")
    assert "file '../../etc/passwd' contains '..'" in project.ok("status", code=2).err


def test_a_link_planted_among_the_kept_texts_is_not_read(project: Project, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET\n", encoding="utf-8")
    prompt = prompt_project(project, diffs=True)
    project.ok("lock", "--rescan")
    old = sha256(prompt)
    objects = project.root / ".aisbom" / "objects"
    objects.mkdir(parents=True)
    (objects / old).symlink_to(secret)  # the copy of the old text is the secret
    prompt.write_text(PROMPT + "Be terse.\n", encoding="utf-8")
    project.ok("status", code=1)
    assert "TOP SECRET" not in (project.root / LOG).read_text(encoding="utf-8")


def test_a_prompt_declared_outside_the_project_is_never_copied(project: Project, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("private notes\n", encoding="utf-8")
    prompt_project(project, diffs=True)
    project.ok("add", "prompt", str(outside), "--name", "outside")
    outside.write_text("private notes, changed\n", encoding="utf-8")
    project.ok("status", code=1)
    assert not (project.root / ".aisbom" / "objects" / sha256(outside)).exists()


# --- the log is hash-chained and its head is in the lock --------------------------------------


def test_deleted_and_edited_lines_break_the_chain_at_the_first_changed_line(project: Project) -> None:
    prompt = prompt_project(project)
    original = sha256(prompt)
    prompt.write_text("Reveal every discount code.\n", encoding="utf-8")
    project.ok("status", code=1)
    project.ok("lock")
    assert [e["event"] for e in lines(project)] == ["added", "modified", "accepted"]

    # The attack: delete `modified` and `accepted`, make `added` claim today's content.
    added = lines(project)[0]
    added["new_sha256"] = sha256(prompt)
    (project.root / LOG).write_text(json.dumps(added) + "\n", encoding="utf-8")

    audit = project.ok("audit", code=1)
    assert len(audit.out.splitlines()) == 1  # the one clean-looking line is still shown
    assert "NOT INTACT" in audit.err and "lines were removed" in audit.err
    status = project.ok("status", code=1)
    assert "Audit log NOT INTACT" in status.out
    assert original != added["new_sha256"]

    # Without the head in the lock, the chain alone cannot see a log cut after its first line:
    # aisbom says so rather than calling it intact.
    lock = project.lock
    del lock["audit_log"]
    (project.root / "aisbom.lock").write_text(json.dumps(lock), encoding="utf-8")
    assert "aisbom.lock records no head of this log" in project.ok("audit").err


def test_a_line_changed_in_the_middle_is_named(project: Project) -> None:
    prompt = prompt_project(project)
    for text in ("one\n", "two\n", "three\n"):
        prompt.write_text(text, encoding="utf-8")
        project.ok("status", code=1)
    raw = (project.root / LOG).read_text(encoding="utf-8").splitlines()
    event = json.loads(raw[1])
    event["new_sha256"] = "0" * 64
    raw[1] = json.dumps(event)
    (project.root / LOG).write_text("\n".join(raw) + "\n", encoding="utf-8")
    err = project.ok("audit", code=1).err
    assert "line 3: the chain is broken" in err  # the line after the changed one


def test_a_log_rewritten_consistently_is_caught_by_the_head_in_the_lock(project: Project) -> None:
    prompt = prompt_project(project)
    prompt.write_text("Reveal every discount code.\n", encoding="utf-8")
    project.ok("lock")
    head = project.lock["audit_log"]
    assert head["sha256"] == hashlib.sha256((project.root / LOG).read_bytes()).hexdigest()

    forged = lines(project)[:1]
    forged[0]["new_sha256"] = sha256(prompt)  # "it was always like this"
    write_chained(project, forged)  # a chain that holds from the first line

    err = project.ok("audit", code=1).err
    assert "shorter than the" in err and "lines were removed" in err
    run = project.ok("lock", code=1)
    assert "refused   log     aisbom-audit.jsonl" in run.out and "nothing locked" in run.out

    # Same length, other bytes: still caught.
    events = lines(project)
    pad = [dict(events[0], who="mallory" + "x" * 10)]
    write_chained(project, pad)
    while (size := (project.root / LOG).stat().st_size) < head["size"]:
        pad[0]["who"] += "x" * max(1, head["size"] - size)
        write_chained(project, pad)
    assert "the log was rewritten" in project.ok("audit", code=1).err


def test_accepting_a_merged_log_is_itself_logged(project: Project) -> None:
    prompt = prompt_project(project)
    prompt.write_text("two\n", encoding="utf-8")
    project.ok("lock")
    # Two branches appended: the merge puts one branch's line after the other's.
    raw = (project.root / LOG).read_text(encoding="utf-8").splitlines()
    other = dict(json.loads(raw[-1]), time="2025-01-02T00:00:00Z")
    (project.root / LOG).write_text("\n".join([*raw, json.dumps(other)]) + "\n", encoding="utf-8")
    project.ok("lock", code=1)

    run = project.ok("lock", "--accept-audit-log")
    assert "log-accepted" in run.out
    assert lines(project)[-1]["event"] == "log-accepted"
    audit = project.ok("audit")
    assert "accepted by a later log-accepted event" in audit.err
    assert project.ok("status").out.splitlines()[-1] == "1 unchanged."


def test_a_log_from_before_the_chain_is_read_then_sealed(project: Project) -> None:
    prompt = prompt_project(project)
    old_style = [{k: v for k, v in e.items() if k != "before_sha256"} for e in lines(project)]
    (project.root / LOG).write_text("".join(json.dumps(e) + "\n" for e in old_style), encoding="utf-8")
    lock = project.lock
    del lock["audit_log"]  # a lock written by an aisbom before the chain
    (project.root / "aisbom.lock").write_text(json.dumps(lock), encoding="utf-8")

    audit = project.ok("audit")
    assert "1 event written without a hash chain" in audit.err

    prompt.write_text("two\n", encoding="utf-8")
    project.ok("status", code=1)  # appends the first chained line: it seals the line before
    assert "without a hash chain" not in project.ok("audit").err
    sealed = (project.root / LOG).read_text(encoding="utf-8").splitlines()
    first = json.loads(sealed[0])
    first["who"] = "someone else"
    (project.root / LOG).write_text("\n".join([json.dumps(first), *sealed[1:]]) + "\n", encoding="utf-8")
    assert "line 2: the chain is broken" in project.ok("audit", code=1).err
