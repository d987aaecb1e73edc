"""https:// targets, against a real HTTP server on 127.0.0.1: redirects, validators, resume,
hash checks, errors, and what is (not) left in the cache."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from _servers import LAST_MODIFIED, Served, Site, strong_etag
from _sources_helpers import SAFETENSORS

from aisbom.limits import Limits
from aisbom.provenance import ACQUIRED_BY_DOWNLOAD
from aisbom.sources import (
    DownloadError,
    HashMismatchError,
    InsecureURLError,
    SizeLimitError,
    UnknownSchemeError,
    resolve,
)
from aisbom.sources.http import fetch_url

SiteURL = tuple[Site, str]  # the `site` fixture: the server's files and its base URL

# Large enough that a transfer cut after 200 kB leaves a partial file of whole 64 KiB reads.
BIG = SAFETENSORS.read_bytes() * 1500


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache_files(cache: Path) -> list[str]:
    """The files the cache holds, but the download's lock file, which filelock keeps or deletes
    on release depending on its version (3.24 deletes it, 3.10 and 4.x keep it)."""
    return sorted(p.name for p in cache.rglob("*") if p.is_file() and p.name != ".download.lock")


def test_a_plain_file_is_stored_under_its_name_with_its_validators(site: SiteURL, tmp_path: Path):
    server, base = site
    body = SAFETENSORS.read_bytes()
    server.files["/models/model.safetensors"] = Served(body)
    before = datetime.now(timezone.utc).replace(microsecond=0)

    resolved = resolve(f"{base}/models/model.safetensors", cache_dir=tmp_path)

    assert resolved.path.name == "model.safetensors" and resolved.path.read_bytes() == body
    assert resolved.kind_hint is None
    prov = resolved.provenance
    assert prov is not None
    assert prov.source_url == f"{base}/models/model.safetensors"
    assert prov.file_urls == {"model.safetensors": f"{base}/models/model.safetensors"}
    assert prov.acquired_by == ACQUIRED_BY_DOWNLOAD
    assert prov.acquired_at is not None and before <= prov.acquired_at <= datetime.now(timezone.utc)
    assert prov.acquired_at.tzinfo == timezone.utc
    assert prov.upstream_sha256 == {}  # nobody published a hash, and none was given
    source = prov.files["model.safetensors"]
    assert source.etag == strong_etag(body).strip('"')
    assert source.last_modified == LAST_MODIFIED
    assert source.size == len(body)
    assert source.final_url is None  # no redirect
    assert server.log[0][2]["Accept-Encoding"] == "identity"  # bytes as stored, not re-encoded
    assert cache_files(tmp_path) == ["model.safetensors"]


def test_a_redirect_chain_is_followed_and_the_final_url_recorded(site: SiteURL, tmp_path: Path):
    server, base = site
    body = SAFETENSORS.read_bytes()
    server.redirects["/latest"] = (301, "/v2/model")
    server.redirects["/v2/model"] = (302, f"{base}/blobs/abc")  # absolute
    server.redirects["/blobs/abc"] = (307, "/store/weights.safetensors?signature=SECRET")
    server.files["/store/weights.safetensors"] = Served(body)

    resolved = resolve(f"{base}/latest", cache_dir=tmp_path)

    assert [entry[1] for entry in server.log] == [
        "/latest",
        "/v2/model",
        "/blobs/abc",
        "/store/weights.safetensors?signature=SECRET",
    ]
    assert resolved.path.name == "weights.safetensors" and resolved.path.read_bytes() == body
    prov = resolved.provenance
    assert prov is not None and prov.source_url == f"{base}/latest"
    # The query of a URL we were sent to is left out: in signed URLs it is a credential.
    assert prov.files["weights.safetensors"].final_url == f"{base}/store/weights.safetensors"


def test_a_redirect_loop_is_bounded(site: SiteURL, tmp_path: Path):
    server, base = site
    server.redirects["/a"] = (302, "/b")
    server.redirects["/b"] = (302, "/a")
    with pytest.raises(DownloadError, match=r"too many redirects \(more than 10\)"):
        resolve(f"{base}/a", cache_dir=tmp_path)
    assert len(server.log) == 11
    assert cache_files(tmp_path) == []


def test_an_interrupted_transfer_keeps_its_part_and_resumes_with_range_and_if_range(
    site: SiteURL, tmp_path: Path
):
    server, base = site
    served = Served(BIG, break_after=200_000, breaks_left=1)
    server.files["/big.safetensors"] = served
    url = f"{base}/big.safetensors"

    with pytest.raises(DownloadError, match=rf"broke off after \d+ of {len(BIG)} bytes.*run again to resume"):
        resolve(url, cache_dir=tmp_path)
    (directory,) = tmp_path.iterdir()
    part = directory / ".download.part"
    kept = part.stat().st_size
    assert 0 < kept <= 200_000 and part.read_bytes() == BIG[:kept]
    assert not (directory / "big.safetensors").exists()  # never a complete-looking name

    resolved = resolve(url, cache_dir=tmp_path, expected_sha256=sha256(BIG))

    headers = server.log[-1][2]
    assert headers["Range"] == f"bytes={kept}-" and headers["If-Range"] == strong_etag(BIG)
    assert resolved.path.read_bytes() == BIG  # the hash covered the kept bytes and the rest
    assert not part.exists() and not (directory / ".download.json").exists()
    prov = resolved.provenance
    assert prov is not None and prov.upstream_sha256 == {"big.safetensors": sha256(BIG)}


def test_a_part_of_a_file_that_changed_upstream_is_thrown_away(site: SiteURL, tmp_path: Path):
    server, base = site
    server.files["/big.safetensors"] = Served(BIG, break_after=200_000, breaks_left=1)
    url = f"{base}/big.safetensors"
    with pytest.raises(DownloadError):
        resolve(url, cache_dir=tmp_path)

    changed = BIG[::-1]
    server.files["/big.safetensors"] = Served(changed)  # new ETag: If-Range fails, the server sends 200
    resolved = resolve(url, cache_dir=tmp_path)

    assert server.log[-1][2]["If-Range"] == strong_etag(BIG)
    assert resolved.path.read_bytes() == changed


def test_without_a_strong_validator_a_part_is_not_resumed(site: SiteURL, tmp_path: Path):
    server, base = site
    server.files["/weak"] = Served(
        BIG, etag='W/"weak"', last_modified=None, break_after=200_000, breaks_left=1
    )
    with pytest.raises(DownloadError):
        resolve(f"{base}/weak", cache_dir=tmp_path)
    resolved = resolve(f"{base}/weak", cache_dir=tmp_path)
    assert "Range" not in server.log[-1][2]  # If-Range cannot use a weak ETag: start again
    assert resolved.path.read_bytes() == BIG
    prov = resolved.provenance
    assert prov is not None and prov.files["weak"].etag == "W/weak"


def test_a_wrong_expected_hash_is_an_error_and_leaves_nothing(site: SiteURL, tmp_path: Path):
    server, base = site
    body = SAFETENSORS.read_bytes()
    server.files["/model.safetensors"] = Served(body)
    wrong = sha256(b"something else")

    with pytest.raises(HashMismatchError) as caught:
        resolve(f"{base}/model.safetensors", cache_dir=tmp_path, expected_sha256=wrong.upper())

    message = str(caught.value)
    assert f"expected {wrong}, got {sha256(body)}" in message and "\n" not in message
    assert cache_files(tmp_path) == []  # neither the final file nor a .part


def test_a_url_fragment_gives_the_expected_hash(site: SiteURL, tmp_path: Path):
    server, base = site
    body = SAFETENSORS.read_bytes()
    server.files["/model.safetensors"] = Served(body)

    resolved = resolve(f"{base}/model.safetensors#sha256={sha256(body)}", cache_dir=tmp_path)
    prov = resolved.provenance
    assert prov is not None and prov.upstream_sha256 == {"model.safetensors": sha256(body)}
    assert prov.source_url == f"{base}/model.safetensors"

    with pytest.raises(HashMismatchError):
        resolve(f"{base}/model.safetensors#sha256={'0' * 64}", cache_dir=tmp_path)
    assert cache_files(tmp_path) == []  # the earlier download of this URL went too


def test_a_fragment_and_an_option_that_disagree_are_a_usage_error(site: SiteURL, tmp_path: Path):
    _, base = site
    from aisbom.errors import UsageError

    with pytest.raises(UsageError, match="disagree"):
        resolve(f"{base}/m#sha256={'a' * 64}", cache_dir=tmp_path, expected_sha256="b" * 64)
    with pytest.raises(UsageError, match="not 64 hex digits"):
        resolve(f"{base}/m", cache_dir=tmp_path, expected_sha256="abc")


def test_http_errors_name_the_status_and_the_url(site: SiteURL, tmp_path: Path):
    _, base = site
    with pytest.raises(DownloadError) as caught:
        resolve(f"{base}/missing.bin", cache_dir=tmp_path)
    assert str(caught.value) == f"HTTP 404 Not Found from {base}/missing.bin"
    assert cache_files(tmp_path) == []


def test_plain_http_to_another_host_is_refused_without_opt_in(tmp_path: Path):
    # Refused before any connection: nothing listens at this address, and no error says so.
    with pytest.raises(InsecureURLError, match="refusing plain http:// to example.invalid"):
        resolve("http://example.invalid/model.bin", cache_dir=tmp_path)
    assert not tmp_path.exists() or cache_files(tmp_path) == []


def test_a_redirect_from_loopback_to_plain_http_elsewhere_is_refused(site: SiteURL, tmp_path: Path):
    server, base = site
    server.redirects["/model.bin"] = (302, "http://example.invalid/model.bin")
    with pytest.raises(InsecureURLError, match=r"example.invalid \(redirected from .*/model.bin\)"):
        resolve(f"{base}/model.bin", cache_dir=tmp_path)


def test_unknown_schemes_are_a_usage_error(tmp_path: Path):
    with pytest.raises(UnknownSchemeError, match=r"unknown scheme ftp://"):
        resolve("ftp://example.com/model.bin", cache_dir=tmp_path)


def test_a_file_over_the_size_limit_is_refused_from_its_content_length(site: SiteURL, tmp_path: Path):
    server, base = site
    server.files["/big.safetensors"] = Served(BIG)
    with pytest.raises(SizeLimitError, match=f"is {len(BIG)} bytes, over the download limit of 1000"):
        fetch_url(f"{base}/big.safetensors", cache_dir=tmp_path, limits=Limits(max_download_size=1000))
    assert cache_files(tmp_path) == []


def test_content_disposition_names_are_reduced_to_one_safe_component(site: SiteURL, tmp_path: Path):
    server, base = site
    body = SAFETENSORS.read_bytes()
    server.files["/download"] = Served(
        body, disposition='attachment; filename="../../etc/.evil\\\\model.bin"'
    )
    server.files["/download2"] = Served(
        body, disposition="attachment; filename*=UTF-8''mod%C3%A8le.safetensors"
    )

    first = resolve(f"{base}/download", cache_dir=tmp_path)
    second = resolve(f"{base}/download2", cache_dir=tmp_path)

    assert first.path.name == "model.bin" and first.path.parent.parent == tmp_path
    assert second.path.name == "modèle.safetensors"


def test_progress_reports_bytes_and_the_total(site: SiteURL, tmp_path: Path):
    server, base = site
    server.files["/big.safetensors"] = Served(BIG)
    seen: list[tuple[int, int | None]] = []
    resolve(
        f"{base}/big.safetensors", cache_dir=tmp_path, progress=lambda done, total: seen.append((done, total))
    )
    assert seen[-1] == (len(BIG), len(BIG))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_the_default_cache_is_aisbom_cache(site: SiteURL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    server, base = site
    server.files["/m.safetensors"] = Served(SAFETENSORS.read_bytes())
    monkeypatch.setenv("AISBOM_CACHE", str(tmp_path / "cache"))
    resolved = resolve(f"{base}/m.safetensors")
    assert resolved.path.parent.parent == tmp_path / "cache"
