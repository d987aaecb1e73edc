"""Fixtures for the source tests: real loopback servers, the Hugging Face environment pointed
at tmp_path, and Hub repositories made of real model files."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import huggingface_hub.constants  # noqa: F401  (before any test sets HF_HUB_OFFLINE: read once)
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "bom"))

from _s3 import Bucket, aws_environment, new_bucket, s3_server  # noqa: E402
from _servers import Hub, HubRepo, Site, serve, serve_hub  # noqa: E402
from _sources_helpers import (  # noqa: E402
    DATASET_COMMIT,
    HF_VARIABLES,
    MINILM_COMMIT,
    TINY_COMMIT,
    TINY_COMMIT_2,
    go_offline,
    minilm_files,
    tiny_files,
)


@pytest.fixture
def hf_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Online, with the Hugging Face cache and home under tmp_path. Returns the hub cache."""
    for name in HF_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path / "hf-hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    return cache


@pytest.fixture
def hub(hf_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    """A fake Hub on loopback with acme/tiny (main -> v1, v2 on a branch) and a dataset;
    HF_ENDPOINT points at it."""
    files = tiny_files()
    changed = dict(files, **{"config.json": b'{"model_type": "tiny", "hidden_size": 8}\n'})
    the_hub = Hub(
        [
            HubRepo(
                "model",
                "acme/tiny",
                {TINY_COMMIT: files, TINY_COMMIT_2: changed},
                {"main": TINY_COMMIT, "v2": TINY_COMMIT_2},
                frozenset({"model.safetensors"}),
            ),
            HubRepo(
                "dataset",
                "acme/prompts",
                {DATASET_COMMIT: {"README.md": b"# Prompts\n", "data/train.jsonl": b'{"text": "hello"}\n'}},
                {"main": DATASET_COMMIT},
            ),
        ]
    )
    with serve_hub(the_hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        yield the_hub


@pytest.fixture(scope="session")
def minilm_cache(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The real all-MiniLM-L6-v2 files, served by a fake Hub and downloaded once by the real
    huggingface_hub client into a Hugging Face cache (weights in LFS, as on the Hub).
    Returns (hub cache, the endpoint it came from); the server is gone afterwards."""
    from huggingface_hub import snapshot_download

    root = tmp_path_factory.mktemp("minilm-hf")
    files = minilm_files()
    lfs = frozenset(p for p in files if p.endswith((".safetensors", "tokenizer.json")))
    the_hub = Hub(
        [
            HubRepo(
                "model",
                "sentence-transformers/all-MiniLM-L6-v2",
                {MINILM_COMMIT: files},
                {"main": MINILM_COMMIT},
                lfs,
            )
        ]
    )
    with pytest.MonkeyPatch.context() as mp, serve_hub(the_hub) as endpoint:
        for name in HF_VARIABLES:
            mp.delenv(name, raising=False)
        mp.setenv("HF_HOME", str(root / "home"))
        snapshot_download(
            "sentence-transformers/all-MiniLM-L6-v2",
            revision="main",
            cache_dir=root / "hub",
            endpoint=endpoint,
        )
    return root / "hub", endpoint


@pytest.fixture
def offline(hf_env: Path, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    return go_offline(monkeypatch)


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    """An empty file server on loopback: tests add files and redirects. Yields (site, base URL)."""
    the_site = Site()
    with serve(the_site) as base:
        yield the_site, base


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 on a loopback port, for the session."""
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Bucket:
    """A new versioned bucket, with the AWS environment (and aisbom's cache) pointed at it."""
    aws_environment(monkeypatch, tmp_path, s3_endpoint)
    return new_bucket(s3_endpoint, versioned=True)
