"""A download cache is writable by whoever shares it or restores it in CI. These tests plant
partial downloads in it by hand, as such a writer would, against a real server on loopback:
a part is resumed only when its bytes are proven to be the ones this user received."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from _servers import LAST_MODIFIED, Served, Site, strong_etag
from _sources_helpers import SAFETENSORS

from aisbom.provenance import ACQUIRED_BY_DOWNLOAD
from aisbom.sources import DownloadError, resolve

BIG = SAFETENSORS.read_bytes() * 1500
SiteURL = tuple[Site, str]


@pytest.fixture(autouse=True)
def own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This user's key lives outside the cache, here under tmp_path."""
    monkeypatch.setenv("AISBOM_STATE", str(tmp_path / "state"))
    return tmp_path / "state" / "resume.key"


def url_dir(cache: Path, url: str) -> Path:
    return cache / hashlib.sha256(url.encode()).hexdigest()


def serve_big(site: SiteURL, *, breaks: int = 0) -> str:
    server, base = site
    server.files["/big.safetensors"] = Served(
        BIG, break_after=200_000 if breaks else None, breaks_left=breaks
    )
    return f"{base}/big.safetensors"


def test_a_planted_part_with_the_servers_real_etag_is_downloaded_again(site: SiteURL, tmp_path: Path) -> None:
    server, _ = site
    url = serve_big(site)
    cache = tmp_path / "cache"
    directory = url_dir(cache, url)
    directory.mkdir(parents=True)
    evil = b"\x80\x04EVIL" + BIG[9:100_000]  # bytes the server never sent
    (directory / ".download.part").write_bytes(evil)
    (directory / ".download.json").write_text(
        json.dumps({"url": url, "etag": strong_etag(BIG), "last_modified": LAST_MODIFIED}), encoding="utf-8"
    )

    resolved = resolve(url, cache_dir=cache)

    assert "Range" not in server.log[-1][2] and "If-Range" not in server.log[-1][2]
    assert resolved.path.read_bytes() == BIG
    [note] = resolved.notes
    assert "a partial download in the cache was not resumed: it carries no proof of its bytes" in note
    prov = resolved.provenance
    assert prov is not None and prov.files["big.safetensors"].acquired_by == ACQUIRED_BY_DOWNLOAD


def test_a_part_proven_with_another_key_is_downloaded_again(
    site: SiteURL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attacker runs aisbom under their own key against a copy of the file they changed,
    and leaves a well-formed proof: it does not verify under this user's key."""
    server, _ = site
    url = serve_big(site, breaks=1)
    cache = tmp_path / "cache"
    monkeypatch.setenv("AISBOM_STATE", str(tmp_path / "attacker"))
    with pytest.raises(DownloadError):
        resolve(url, cache_dir=cache)
    monkeypatch.setenv("AISBOM_STATE", str(tmp_path / "state"))

    resolved = resolve(url, cache_dir=cache)

    assert "Range" not in server.log[-1][2]
    assert resolved.path.read_bytes() == BIG
    assert "its bytes are not the ones this user received" in resolved.notes[0]


def test_a_byte_changed_in_a_proven_part_is_caught(site: SiteURL, tmp_path: Path) -> None:
    server, _ = site
    url = serve_big(site, breaks=1)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError):
        resolve(url, cache_dir=cache)
    part = url_dir(cache, url) / ".download.part"
    data = bytearray(part.read_bytes())
    data[100] ^= 0xFF
    part.write_bytes(bytes(data))

    resolved = resolve(url, cache_dir=cache)

    assert "Range" not in server.log[-1][2]
    assert resolved.path.read_bytes() == BIG


def test_bytes_appended_to_a_proven_part_are_cut_off(site: SiteURL, tmp_path: Path) -> None:
    server, _ = site
    url = serve_big(site, breaks=1)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError):
        resolve(url, cache_dir=cache)
    part = url_dir(cache, url) / ".download.part"
    kept = part.stat().st_size
    with part.open("ab") as handle:
        handle.write(b"EVIL" * 1000)

    resolved = resolve(url, cache_dir=cache)

    assert server.log[-1][2]["Range"] == f"bytes={kept}-"  # from the proven end, not the file's
    assert resolved.path.read_bytes() == BIG
    assert resolved.notes == ()


def test_a_genuine_part_is_resumed_and_its_proof_names_its_size(
    site: SiteURL, tmp_path: Path, own_key: Path
) -> None:
    server, _ = site
    url = serve_big(site, breaks=1)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError):
        resolve(url, cache_dir=cache)
    directory = url_dir(cache, url)
    state = json.loads((directory / ".download.json").read_text(encoding="utf-8"))
    assert state["size"] == (directory / ".download.part").stat().st_size and len(state["proof"]) == 64
    assert own_key.stat().st_mode & 0o077 == 0  # the key is private to this user

    resolved = resolve(url, cache_dir=cache)
    assert server.log[-1][2]["Range"] == f"bytes={state['size']}-"
    assert resolved.path.read_bytes() == BIG


def test_a_key_that_others_can_read_is_not_used(site: SiteURL, tmp_path: Path, own_key: Path) -> None:
    server, _ = site
    url = serve_big(site, breaks=1)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError):
        resolve(url, cache_dir=cache)
    own_key.chmod(0o644)
    resolved = resolve(url, cache_dir=cache)
    assert "Range" not in server.log[-1][2]
    assert "no key to check it with" in resolved.notes[0]
