"""`aisbom.snapshot_download`: a Hugging Face snapshot's path is returned only if it scans clean,
with the real huggingface_hub client against a fake Hub on loopback."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from _servers import Hub, HubRepo, serve_hub
from _sources_helpers import TINY_COMMIT, tiny_files

import aisbom

REPO = Path(__file__).resolve().parents[2]
DEMO_PICKLE = REPO / "fixtures" / "demo" / "extra_weights.bin"
EVIL_COMMIT = hashlib.sha1(b"acme/evil").hexdigest()


def test_a_clean_snapshot_is_returned(hub: Hub, hf_env: Path):
    path = aisbom.snapshot_download("acme/tiny", revision="main")
    assert path == hf_env / "models--acme--tiny" / "snapshots" / TINY_COMMIT
    assert sorted(p.name for p in path.iterdir()) == sorted(tiny_files())


def test_an_unclean_snapshot_is_refused_with_its_findings(hf_env: Path, monkeypatch: pytest.MonkeyPatch):
    files = dict(tiny_files(), **{"extra_weights.bin": DEMO_PICKLE.read_bytes()})
    evil = Hub([HubRepo("model", "acme/evil", {EVIL_COMMIT: files}, {"main": EVIL_COMMIT})])
    with serve_hub(evil) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        with pytest.raises(aisbom.UnsafeModelError) as caught:
            aisbom.snapshot_download("acme/evil")
    error = caught.value
    assert error.report.target == "hf://acme/evil"
    assert [(f.rule, f.path) for f in error.report.failing()] == [
        ("pickle-dangerous-global", "extra_weights.bin")
    ]


def test_a_bad_repo_type_is_a_usage_error():
    with pytest.raises(aisbom.UsageError, match="repo_type"):
        aisbom.snapshot_download("acme/tiny", repo_type="space")
