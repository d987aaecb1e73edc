"""A Hugging Face cache is writable by whoever shares it or restores it in CI. Each test fills a
real cache through the real client from a fake Hub on loopback, then changes it by hand as such
a writer would, and checks that aisbom neither passes the change nor records it as the Hub's."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from _servers import Hub
from _sources_helpers import TINY_COMMIT, go_offline, tiny_files

from aisbom.cli import cli
from aisbom.errors import TargetError
from aisbom.pipeline import scan_target
from aisbom.sources import HashMismatchError, check_scanned_hashes, resolve

REPO = "models--acme--tiny"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tampered_weights() -> bytes:
    weights = bytearray(tiny_files()["model.safetensors"])
    weights[-1] ^= 1  # a tensor byte: still a valid safetensors file, of the same size
    return bytes(weights)


def scanned(path: Path) -> dict[str, str | None]:
    return {f.path: f.sha256 for f in scan_target(path).files}


def test_the_client_cached_a_listing_with_the_lfs_hashes(hub: Hub, hf_env: Path) -> None:
    """What the other tests rely on: the listing in trees/ holds what the Hub published."""
    resolve("hf://acme/tiny@main")
    listing = json.loads((hf_env / REPO / "trees" / f"{TINY_COMMIT}.json").read_text())
    weights = tiny_files()["model.safetensors"]
    assert listing["files"]["model.safetensors"]["lfs_sha256"] == sha256(weights)


def test_a_swapped_weights_blob_named_by_its_own_hash_is_refused_offline(
    hub: Hub, hf_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing says model.safetensors is A; the attacker stores B (same size) as blobs/<B>,
    a perfectly consistent blob, and re-points the snapshot link to it."""
    resolve("hf://acme/tiny@main")
    evil = tampered_weights()
    (hf_env / REPO / "blobs" / sha256(evil)).write_bytes(evil)
    link = hf_env / REPO / "snapshots" / TINY_COMMIT / "model.safetensors"
    link.unlink()
    link.symlink_to(f"../../blobs/{sha256(evil)}")
    go_offline(monkeypatch)

    with pytest.raises(HashMismatchError) as caught:
        resolve("hf://acme/tiny@main")
    weights = tiny_files()["model.safetensors"]
    assert f"its blob is named {sha256(evil)} but the Hub's LFS sha256 is {sha256(weights)}" in str(
        caught.value
    )


def test_weights_replaced_by_a_regular_file_are_caught_by_the_scan(
    hub: Hub, hf_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve("hf://acme/tiny@main")
    link = hf_env / REPO / "snapshots" / TINY_COMMIT / "model.safetensors"
    link.unlink()
    link.write_bytes(tampered_weights())  # no link, so no blob name to compare
    go_offline(monkeypatch)

    resolved = resolve("hf://acme/tiny@main")
    assert resolved.provenance is not None
    assert resolved.provenance.upstream_sha256["model.safetensors"] == sha256(
        tiny_files()["model.safetensors"]
    )
    with pytest.raises(
        HashMismatchError, match=f"SHA-256 of model.safetensors is {sha256(tampered_weights())}"
    ):
        check_scanned_hashes(resolved.provenance, scanned(resolved.path))
    # And through the CLI: an error (exit 2), never a report or a BOM of the swapped bytes.
    from click.testing import CliRunner

    run = CliRunner().invoke(cli, ["bom", "hf://acme/tiny@main"])
    assert run.exit_code == 2 and "but the source said" in run.stderr


def test_a_listing_edited_to_match_a_swapped_blob_is_still_caught_online(hub: Hub, hf_env: Path) -> None:
    """Online, what the Hub answers now is the reference, not the cached listing."""
    resolve("hf://acme/tiny@main")
    evil = tampered_weights()
    (hf_env / REPO / "blobs" / sha256(evil)).write_bytes(evil)
    link = hf_env / REPO / "snapshots" / TINY_COMMIT / "model.safetensors"
    link.unlink()
    link.symlink_to(f"../../blobs/{sha256(evil)}")
    trees = hf_env / REPO / "trees" / f"{TINY_COMMIT}.json"
    listing = json.loads(trees.read_text())
    listing["files"]["model.safetensors"]["lfs_sha256"] = sha256(evil)
    trees.write_text(json.dumps(listing))
    with pytest.raises(HashMismatchError):
        resolve("hf://acme/tiny@main")


@pytest.mark.parametrize("online", [False, True])
def test_a_file_planted_in_a_snapshot_gets_no_hub_url(
    hub: Hub, hf_env: Path, monkeypatch: pytest.MonkeyPatch, online: bool
) -> None:
    resolve("hf://acme/tiny@main")
    snapshot = hf_env / REPO / "snapshots" / TINY_COMMIT
    planted = b"planted\n"
    (hf_env / REPO / "blobs" / sha256(planted)).write_bytes(planted)
    (snapshot / "extra.txt").symlink_to(f"../../blobs/{sha256(planted)}")
    (snapshot / "notes.txt").write_bytes(planted)  # and one as a plain file
    if not online:
        go_offline(monkeypatch)

    resolved = resolve("hf://acme/tiny@main")

    prov = resolved.provenance
    assert prov is not None
    for name in ("extra.txt", "notes.txt"):
        assert name not in prov.file_urls and name not in prov.files and name not in prov.upstream_sha256
        assert prov.unverified[name].startswith(f"not a file of commit {TINY_COMMIT}")
        assert any(f"{name} is in the cached snapshot but not in commit" in n for n in resolved.notes)
    assert set(prov.file_urls) == set(tiny_files())  # the real files keep theirs
    assert {"extra.txt", "notes.txt"} <= set(scanned(resolved.path))  # and the planted ones are scanned


def test_a_snapshot_without_a_listing_is_said_to_be_unverifiable_in_the_bom_command(
    hub: Hub, hf_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing removed (or never written, as hf_hub_download leaves a cache), a file replaced
    by a regular file: nothing can tell, and aisbom says so instead of vouching for it."""
    from click.testing import CliRunner

    resolve("hf://acme/tiny@main")
    (hf_env / REPO / "trees" / f"{TINY_COMMIT}.json").unlink()
    link = hf_env / REPO / "snapshots" / TINY_COMMIT / "model.safetensors"
    link.unlink()
    link.write_bytes(tampered_weights())
    go_offline(monkeypatch)

    run = CliRunner().invoke(cli, ["scan", "hf://acme/tiny@main"])
    assert "UNVERIFIED: the Hugging Face cache holds no listing of the commit" in run.stderr
    resolved = resolve("hf://acme/tiny@main")
    assert resolved.provenance is not None and resolved.provenance.file_urls == {}


def test_a_fifo_planted_as_a_blob_does_not_hang(
    hub: Hub, hf_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve("hf://acme/tiny@main")
    link = hf_env / REPO / "snapshots" / TINY_COMMIT / "config.json"
    link.unlink()
    os.mkfifo(link)
    go_offline(monkeypatch)
    with pytest.raises(TargetError):  # the client calls the snapshot incomplete: one line, no hang
        resolve("hf://acme/tiny@main")
