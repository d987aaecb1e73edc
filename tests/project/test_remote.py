"""Remote assets: fetched through aisbom.sources from a real HTTP server on loopback, scanned,
locked with their provenance, compared by the lock without network, and fetched again on request."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _project_helpers import PROMPT, Project

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sources"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bom"))
_servers = pytest.importorskip("_servers", reason="the loopback servers of tests/sources")
pytest.importorskip("aisbom.sources")
from _bom_helpers import by_ref, props, strict_schema_errors  # noqa: E402


@pytest.fixture
def site() -> Iterator[tuple[object, str]]:
    the_site = _servers.Site()
    with _servers.serve(the_site) as base:
        yield the_site, base


def test_a_fetched_prompt_and_dataset_are_locked_with_their_source(
    project: Project, site, tmp_path: Path
) -> None:
    server, base = site
    prompt = PROMPT.encode()
    data = b"question,answer\nopening hours?,9 to 5\n"
    server.files["/prompts/system.txt"] = _servers.Served(prompt)
    server.files["/data/faq.csv"] = _servers.Served(data)
    cache = str(tmp_path / "cache")

    project.ok("add", "prompt", f"{base}/prompts/system.txt", "--allow-http", "--cache-dir", cache)
    project.ok("add", "dataset", f"{base}/data/faq.csv", "--allow-http", "--cache-dir", cache)
    entry = project.lock["assets"]["system"]
    assert entry["source"] == f"{base}/prompts/system.txt"
    assert entry["files"]["system.txt"]["sha256"] == sha256_bytes(prompt)
    assert entry["resolved"]["source_url"] == f"{base}/prompts/system.txt"
    assert entry["resolved"]["acquired_at"].endswith("Z")
    [added] = [e for e in project.events() if e["asset"] == "system"]
    assert (added["event"], added["file"], added["new_sha256"]) == (
        "added",
        "system.txt",
        sha256_bytes(prompt),
    )

    # Without --remote nothing is fetched: the server sees no request.
    requests = len(server.log)
    run = project.ok("status")
    assert "by lock, not fetched" in run.out and len(server.log) == requests

    # The source now serves other bytes: --remote fetches again and sees it; the log records it.
    server.files["/prompts/system.txt"] = _servers.Served(prompt + b"Be terse.\n")
    run = project.ok("status", "--remote", "--allow-http", "--cache-dir", cache, code=1)
    assert "modified  prompt  system" in run.out
    [changed] = [e for e in project.events() if e["event"] == "modified"]
    assert changed["old_sha256"] == sha256_bytes(prompt)

    out = project.root / "bom.json"
    server.files["/prompts/system.txt"] = _servers.Served(prompt)
    project.ok("bom", "-o", str(out))
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert strict_schema_errors(doc) == []
    faq = by_ref(doc)["dataset:faq"]
    assert faq["data"] == [{"type": "dataset", "name": "faq", "contents": {"url": f"{base}/data/faq.csv"}}]
    assert props(faq)["aisbom:acquired_at"].endswith("+00:00")
    rationale = {
        m["requirement"]: m["conformance"]["rationale"] for m in doc["declarations"]["attestations"][0]["map"]
    }
    assert rationale["en-304-223:5.2.4-2.1"].startswith("Evidenced.")


def sha256_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
