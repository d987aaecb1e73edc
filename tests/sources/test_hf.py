"""hf:// targets through the real huggingface_hub client: online against a fake Hub on
loopback (into a real cache), then offline from that cache with no network at all."""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from _servers import Hub, git_blob_id
from _sources_helpers import (
    DATASET_COMMIT,
    MINILM_COMMIT,
    TINY_COMMIT,
    TINY_COMMIT_2,
    go_offline,
    minilm_files,
    tiny_files,
)

from aisbom.pipeline import scan_target
from aisbom.provenance import ACQUIRED_BY_DOWNLOAD, ACQUIRED_FROM_CACHE_MTIME
from aisbom.sources import (
    BadSpecError,
    DownloadError,
    HashMismatchError,
    NotInCacheError,
    check_scanned_hashes,
    resolve,
)

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def scanned_hashes(path: Path) -> dict[str, str | None]:
    return {f.path: f.sha256 for f in scan_target(path).files}


def test_online_downloads_into_the_cache_and_records_what_the_hub_published(hub: Hub, hf_env: Path):
    endpoint = os.environ["HF_ENDPOINT"]
    before = datetime.now(timezone.utc).replace(microsecond=0)

    resolved = resolve("hf://acme/tiny@main")

    snapshot = hf_env / "models--acme--tiny" / "snapshots" / TINY_COMMIT
    assert resolved.path == snapshot and resolved.kind_hint == "model"
    assert (hf_env / "models--acme--tiny" / "refs" / "main").read_text() == TINY_COMMIT
    prov = resolved.provenance
    assert prov is not None
    assert (prov.hf_repo, prov.repo_type, prov.revision, prov.requested_revision) == (
        "acme/tiny",
        "model",
        TINY_COMMIT,
        "main",
    )
    assert prov.source_url == f"{endpoint}/acme/tiny"
    files = tiny_files()
    assert prov.file_urls == {p: f"{endpoint}/acme/tiny/resolve/{TINY_COMMIT}/{p}" for p in files}
    weights = files["model.safetensors"]
    assert prov.upstream_sha256 == {"model.safetensors": sha256(weights)}  # the LFS oid
    # ETags as the Hub served them: the LFS sha256, the git blob id of the others.
    assert {p: s.etag for p, s in prov.files.items()} == {
        "README.md": git_blob_id(files["README.md"]),
        "config.json": git_blob_id(files["config.json"]),
        "model.safetensors": sha256(weights),
    }
    assert {p: s.size for p, s in prov.files.items()} == {p: len(b) for p, b in files.items()}
    assert prov.acquired_by == ACQUIRED_BY_DOWNLOAD
    assert all(s.acquired_by == ACQUIRED_BY_DOWNLOAD for s in prov.files.values())
    assert prov.acquired_at is not None and before <= prov.acquired_at <= datetime.now(timezone.utc)
    # One API call both resolves the revision and lists what the Hub publishes of each file.
    assert hub.log[0] == ("GET", "/api/models/acme/tiny/revision/main?blobs=true")
    check_scanned_hashes(prov, scanned_hashes(resolved.path))  # the scan agrees with the Hub


def test_offline_resolves_main_from_the_cache_without_any_network(
    hub: Hub, hf_env: Path, monkeypatch: pytest.MonkeyPatch
):
    online = resolve("hf://acme/tiny@main")
    assert online.provenance is not None
    requests_online = len(hub.log)
    blob = hf_env / "models--acme--tiny" / "blobs" / sha256(tiny_files()["model.safetensors"])
    downloaded_at = datetime.fromtimestamp(blob.stat().st_mtime, timezone.utc).replace(microsecond=0)

    attempts = go_offline(monkeypatch)
    offline = resolve("hf://acme/tiny@main")

    assert attempts == [] and len(hub.log) == requests_online
    prov = offline.provenance
    assert prov is not None and offline.path == online.path
    assert prov.revision == TINY_COMMIT and prov.requested_revision == "main"
    # Default endpoint: the URLs name the public Hub, in its resolve/<commit>/<path> form.
    assert prov.file_urls["model.safetensors"] == (
        f"https://huggingface.co/acme/tiny/resolve/{TINY_COMMIT}/model.safetensors"
    )
    assert prov.upstream_sha256 == online.provenance.upstream_sha256
    etags = {p: s.etag for p, s in online.provenance.files.items()}
    assert {p: s.etag for p, s in prov.files.items()} == etags
    # The cached listing (huggingface_hub >= 2) still gives the sizes the Hub published.
    assert {p: s.size for p, s in prov.files.items()} == {p: len(b) for p, b in tiny_files().items()}
    # Offline the only clock is the blob's mtime, and the record says that is what it is.
    assert prov.acquired_by == ACQUIRED_FROM_CACHE_MTIME
    assert prov.files["model.safetensors"].acquired_at == downloaded_at
    assert prov.files["model.safetensors"].acquired_by == ACQUIRED_FROM_CACHE_MTIME


def test_offline_follows_each_ref_to_its_own_commit(hub: Hub, monkeypatch: pytest.MonkeyPatch):
    resolve("hf://acme/tiny@main")
    resolve("hf://acme/tiny@v2")
    go_offline(monkeypatch)
    main, v2 = resolve("hf://acme/tiny@main"), resolve("hf://acme/tiny@v2")
    assert main.provenance is not None and v2.provenance is not None
    assert (main.provenance.revision, v2.provenance.revision) == (TINY_COMMIT, TINY_COMMIT_2)
    assert (v2.path / "config.json").read_bytes() != (main.path / "config.json").read_bytes()
    by_commit = resolve(f"hf://acme/tiny@{TINY_COMMIT_2}")
    assert by_commit.provenance is not None and by_commit.provenance.requested_revision is None


def test_offline_and_not_in_the_cache_says_where_and_what_to_do(offline: list[object], hf_env: Path):
    with pytest.raises(NotInCacheError) as caught:
        resolve("hf://acme/absent@main")
    message = str(caught.value)
    assert message == (
        f"hf://acme/absent@main is not in the Hugging Face cache at {hf_env.resolve()}; run without "
        "HF_HUB_OFFLINE=1, or run `hf download acme/absent --revision main` first"
    )
    assert offline == []


def test_a_real_model_from_a_cache_the_client_filled(
    minilm_cache: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, hf_env: Path
):
    cache, _ = minilm_cache
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    attempts = go_offline(monkeypatch)

    resolved = resolve(f"hf://{MINILM}@main")

    assert attempts == []
    prov = resolved.provenance
    assert prov is not None and prov.revision == MINILM_COMMIT
    files = minilm_files()
    assert set(prov.file_urls) == set(files)  # nested files too (1_Pooling/config.json)
    assert prov.file_urls["1_Pooling/config.json"] == (
        f"https://huggingface.co/{MINILM}/resolve/{MINILM_COMMIT}/1_Pooling/config.json"
    )
    assert prov.upstream_sha256 == {p: sha256(files[p]) for p in ("model.safetensors", "tokenizer.json")}
    report = scan_target(resolved.path)
    assert [f.path for f in report.files] == sorted(files)
    assert report.exit_code == 0 and not report.incomplete  # blobs/ links are the snapshot's content
    check_scanned_hashes(prov, {f.path: f.sha256 for f in report.files})


def test_a_subdirectory_of_a_repository(
    minilm_cache: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, hf_env: Path
):
    monkeypatch.setenv("HF_HUB_CACHE", str(minilm_cache[0]))
    go_offline(monkeypatch)
    resolved = resolve(f"hf://{MINILM}/1_Pooling@main")
    assert resolved.path.name == "1_Pooling"
    prov = resolved.provenance
    assert prov is not None and list(prov.file_urls) == ["config.json"]  # relative to the target
    assert prov.file_urls["config.json"].endswith(f"/resolve/{MINILM_COMMIT}/1_Pooling/config.json")
    report = scan_target(resolved.path)
    assert [f.path for f in report.files] == ["config.json"] and not report.incomplete


def test_a_single_file_of_a_repository(
    minilm_cache: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, hf_env
):
    monkeypatch.setenv("HF_HUB_CACHE", str(minilm_cache[0]))
    go_offline(monkeypatch)
    resolved = resolve(f"hf://{MINILM}/model.safetensors@main")
    assert resolved.path.name == "model.safetensors" and resolved.path.is_file()
    prov = resolved.provenance
    weights = minilm_files()["model.safetensors"]
    assert prov is not None and prov.upstream_sha256 == {"model.safetensors": sha256(weights)}
    assert list(prov.file_urls) == ["model.safetensors"]
    check_scanned_hashes(prov, scanned_hashes(resolved.path))


def test_a_dataset_repository(hub: Hub, monkeypatch: pytest.MonkeyPatch):
    endpoint = os.environ["HF_ENDPOINT"]
    online = resolve("hf://datasets/acme/prompts@main")
    go_offline(monkeypatch)
    offline = resolve("hf://datasets/acme/prompts")  # @main by default
    for resolved, base in ((online, endpoint), (offline, "https://huggingface.co")):
        assert resolved.kind_hint == "dataset"
        prov = resolved.provenance
        assert prov is not None and prov.repo_type == "dataset" and prov.revision == DATASET_COMMIT
        assert prov.source_url == f"{base}/datasets/acme/prompts"
        assert prov.file_urls["data/train.jsonl"] == (
            f"{base}/datasets/acme/prompts/resolve/{DATASET_COMMIT}/data/train.jsonl"
        )
        assert "datasets--acme--prompts" in resolved.path.parts


def test_a_regular_file_changed_in_the_cache_is_caught_by_its_git_blob_id(
    hub: Hub, hf_env: Path, monkeypatch: pytest.MonkeyPatch
):
    resolve("hf://acme/tiny@main")
    config = tiny_files()["config.json"]
    blob = hf_env / "models--acme--tiny" / "blobs" / git_blob_id(config)
    blob.write_bytes(config.replace(b"4", b"5"))  # same size, other content
    go_offline(monkeypatch)
    with pytest.raises(HashMismatchError) as caught:
        resolve("hf://acme/tiny@main")
    assert str(caught.value).startswith(
        f"hf://acme/tiny@main: config.json in the Hugging Face cache does not match what the Hub served: "
        f"its git blob id is {git_blob_id(config.replace(b'4', b'5'))}, expected {git_blob_id(config)}"
    )


def test_an_lfs_file_changed_in_the_cache_is_caught_by_the_scans_hash(
    hub: Hub, hf_env: Path, monkeypatch: pytest.MonkeyPatch
):
    resolve("hf://acme/tiny@main")
    weights = tiny_files()["model.safetensors"]
    blob = hf_env / "models--acme--tiny" / "blobs" / sha256(weights)
    tampered = bytearray(weights)
    tampered[-1] ^= 1  # a tensor byte: still a valid safetensors file, same size
    blob.write_bytes(bytes(tampered))
    go_offline(monkeypatch)

    resolved = resolve("hf://acme/tiny@main")  # large files are not hashed twice: the scan does it
    with pytest.raises(HashMismatchError, match=f"SHA-256 of model.safetensors is {sha256(bytes(tampered))}"):
        check_scanned_hashes(resolved.provenance, scanned_hashes(resolved.path))


def test_a_cache_built_by_hand_without_a_tree_listing(offline: list[object], hf_env: Path):
    """A cache as older clients (and `hf_hub_download`) leave it: refs/, snapshots/ links, blobs/
    named by ETag, and no trees/ listing. A blob's name is whatever its writer chose, so nothing
    can be checked: the files are scanned, and recorded as unverified, with no Hub URL or hash."""
    files = tiny_files()
    repo = hf_env / "models--acme--tiny"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(TINY_COMMIT)
    snapshot = repo / "snapshots" / TINY_COMMIT
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for path, body in files.items():
        etag = sha256(body) if path == "model.safetensors" else git_blob_id(body)
        (repo / "blobs" / etag).write_bytes(body)
        (snapshot / path).symlink_to(f"../../blobs/{etag}")

    resolved = resolve("hf://acme/tiny")

    prov = resolved.provenance
    assert prov is not None and prov.revision == TINY_COMMIT
    assert prov.upstream_sha256 == {} and prov.file_urls == {} and prov.files == {}
    assert set(prov.unverified) == set(files)
    [note] = resolved.notes
    assert note.startswith("hf://acme/tiny@main: UNVERIFIED: the Hugging Face cache holds no listing")
    assert offline == []


def test_a_revision_that_is_not_on_the_hub(hub: Hub):
    with pytest.raises(DownloadError, match=r"revision 'nope' not found"):
        resolve("hf://acme/tiny@nope")


def test_a_repository_that_is_not_on_the_hub(hub: Hub):
    with pytest.raises(DownloadError, match="repository not found"):
        resolve("hf://acme/absent")


@pytest.mark.parametrize(
    "spec, message",
    [
        ("hf://acme", "expected hf://ORG/NAME"),
        ("hf://acme/tiny@", "empty revision"),
        ("hf://acme/tiny@../../etc", "not a valid revision"),
        ("hf://acme/ti--ny", "Cannot have -- or .."),
        ("hf://acme/tiny/../x", "bad path inside the repository"),
        ("hf://spaces/acme/app", "Spaces are not supported"),
    ],
)
def test_malformed_specs_are_usage_errors_before_any_network(spec: str, message: str, offline: list[object]):
    with pytest.raises(BadSpecError, match=message):
        resolve(spec)
    assert offline == []


def test_the_cache_dir_argument_overrides_the_environment(hub: Hub, hf_env: Path, tmp_path: Path):
    resolved = resolve("hf://acme/tiny", cache_dir=tmp_path / "elsewhere")
    assert resolved.path.is_relative_to((tmp_path / "elsewhere").resolve())
    assert not hf_env.exists()


def test_a_local_path_has_no_provenance(tmp_path: Path):
    resolved = resolve(str(tmp_path))
    assert (resolved.path, resolved.provenance, resolved.kind_hint) == (tmp_path, None, None)
    shutil.rmtree(tmp_path)
    assert resolve(str(tmp_path)).path == tmp_path  # a missing path is the scan's to report
