"""Every command that takes a remote target or source prints one line and exits 2 when the
network fails: a refused connection to a URL, and a Hub that refuses with nothing cached. The
commands run in-process with exceptions propagating, so a traceback fails the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _bom_helpers import props, run
from _servers import Hub, Served, Site, refused_port, serve
from _sources_helpers import SAFETENSORS, TINY_COMMIT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


@pytest.fixture
def key(tmp_path: Path) -> tuple[str, str]:
    """(private, public) PEM paths of a P-256 key."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    private.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return str(private), str(public)


@pytest.fixture
def refused_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AISBOM_CACHE", str(tmp_path / "aisbom-cache"))
    return f"http://127.0.0.1:{refused_port()}/model.safetensors"


@pytest.fixture
def refusing_hub(hf_env: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{refused_port()}")
    return "hf://acme/tiny@main"


def commands(target: str, key: tuple[str, str], tmp_path: Path) -> dict[str, list[str]]:
    signature = str(tmp_path / "m.sig")
    return {
        "scan": ["scan", target],
        "bom": ["bom", target, "-o", str(tmp_path / "bom.json")],
        "sign": ["sign", target, "--signature", signature, "--key", key[0]],
        "verify": ["verify", target, "--signature", signature, "--key", key[1]],
        "add": ["add", "model", target, "--project", str(tmp_path / "project"), "--name", "m"],
    }


def assert_one_error_line(code: int, out: str, err: str, expected: str) -> None:
    assert code == 2, out + err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("aisbom: error: ") and expected in lines[0], err


@pytest.mark.parametrize("command", ["scan", "bom", "sign", "verify", "add"])
def test_a_refused_url(command: str, refused_url: str, key: tuple[str, str], tmp_path: Path):
    (tmp_path / "project").mkdir()
    code, out, err = run(*commands(refused_url, key, tmp_path)[command])
    assert_one_error_line(code, out, err, f"cannot fetch {refused_url}: connection refused")


@pytest.mark.parametrize("command", ["scan", "bom", "sign", "verify", "add"])
def test_a_refusing_hub_with_nothing_cached(
    command: str, refusing_hub: str, key: tuple[str, str], tmp_path: Path
):
    (tmp_path / "project").mkdir()
    code, out, err = run(*commands(refusing_hub, key, tmp_path)[command])
    assert_one_error_line(code, out, err, "cannot reach the Hub: connection refused; ")
    assert "HF_HUB_OFFLINE=1" in err


@pytest.mark.parametrize("command", [["lock", "--rescan"], ["status", "--remote"]])
def test_a_project_whose_remote_source_went_away(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AISBOM_CACHE", str(tmp_path / "aisbom-cache"))
    project = tmp_path / "project"
    project.mkdir()
    site = Site(files={"/model.safetensors": Served(SAFETENSORS.read_bytes())})
    with serve(site) as base:
        url = f"{base}/model.safetensors"
        code, out, err = run("add", "model", url, "--project", str(project), "--name", "m")
        assert code == 0, out + err
    # The server is gone: its port refuses.

    code, out, err = run(*command, "--project", str(project))

    assert code == 2, out + err
    text = out + err
    assert "Traceback" not in text
    assert [line for line in text.splitlines() if "connection refused" in line] == [
        next(line for line in text.splitlines() if f"cannot fetch {url}: connection refused" in line)
    ]


def test_bom_of_a_cached_repository_with_the_hub_unreachable(
    hub: Hub, hf_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The issue's case: network down, repository cached, HF_HUB_OFFLINE unset. The cache is used,
    the note says so, and the BOM labels the acquisition as offline reads are labelled."""
    code, _, err = run("scan", "hf://acme/tiny@main")
    assert code == 0, err
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{refused_port()}")
    out = tmp_path / "bom.json"

    code, _, err = run("bom", "hf://acme/tiny@main", "-o", str(out))

    assert code == 0, err
    note, where, wrote, unjustified = err.splitlines()
    assert note.startswith("aisbom: note: hf://acme/tiny@main: cannot reach http://127.0.0.1:")
    assert ": connection refused; using commit " in note
    assert where.startswith(f"aisbom: hf://acme/tiny@main: commit {TINY_COMMIT} (from the cache) at ")
    assert wrote.startswith(f"aisbom: wrote {out} ")
    model = json.loads(out.read_text())["components"][0]
    assert props(model)["aisbom:acquired_by"] == "cache-mtime"
    # The revision and upstream hashes are the cache's word, labelled so; alone they do not make
    # the model well documented (EN 304 223 5.2.3-2).
    assert props(model)["aisbom:upstream_facts_from"] == "hf-cache"
    assert {props(f).get("aisbom:upstream_sha256_from") for f in model["components"]} <= {"hf-cache", None}
    assert "upstream-from-cache" in props(model)["aisbom:documentation_gaps"]
    assert "read from the local Hugging Face cache only" in unjustified
    assert {props(f)["aisbom:acquired_by"] for f in model["components"]} == {"cache-mtime"}
