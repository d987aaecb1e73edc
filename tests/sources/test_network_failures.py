"""Every way the network fails, against servers on loopback (or a name that cannot resolve):
an https:// source fails in one line; an hf:// source uses the revision the cache holds, as the
Hugging Face client does, and says so, or fails in one line with the HF_HUB_OFFLINE=1 hint.
Which answers are asked again, and for how long, is aisbom/sources/network.py's to say."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _servers import (
    Hub,
    Served,
    Site,
    refused_port,
    resetting_server,
    self_signed_certificate,
    serve,
    serve_tls,
    silent_server,
    unanswered_syn_server,
)
from _sources_helpers import SAFETENSORS, TINY_COMMIT
from huggingface_hub import close_session

from aisbom.errors import UsageError
from aisbom.provenance import ACQUIRED_FROM_CACHE_MTIME
from aisbom.sources import DownloadError, NetworkError, NotInCacheError, resolve
from aisbom.sources.network import MAX_ATTEMPTS, MAX_RETRY_WAIT

SiteURL = tuple[Site, str]
BODY = SAFETENSORS.read_bytes()
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def direct(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No proxy from the machine's environment, and short timeouts (the defaults are 15 s and 60 s).
    huggingface_hub's shared client keeps the proxies it was made with: a fresh one afterwards."""
    for name in (*PROXY_VARIABLES, "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AISBOM_CONNECT_TIMEOUT", "1")
    monkeypatch.setenv("AISBOM_READ_TIMEOUT", "1")
    yield
    close_session()


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --- https:// ------------------------------------------------------------------------------


def test_url_host_not_found(tmp_path: Path):
    with pytest.raises(NetworkError) as caught:
        resolve("https://nothing.invalid/m.safetensors", cache_dir=tmp_path)
    message = one_line(caught)
    assert message.startswith("cannot fetch https://nothing.invalid/m.safetensors: host not found (DNS: ")


def test_url_connection_refused(tmp_path: Path):
    url = f"http://127.0.0.1:{refused_port()}/m.safetensors"
    with pytest.raises(NetworkError) as caught:
        resolve(url, cache_dir=tmp_path)
    assert one_line(caught) == f"cannot fetch {url}: connection refused"
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_url_connection_reset(tmp_path: Path):
    with resetting_server() as base, pytest.raises(NetworkError) as caught:
        resolve(f"{base}/m.safetensors", cache_dir=tmp_path)
    assert one_line(caught) == f"cannot fetch {base}/m.safetensors: connection reset by the other end"


def test_url_tls_failure_is_neither_retried_nor_downgraded(tmp_path: Path):
    cert, key = self_signed_certificate()
    the_site = Site(files={"/m.bin": Served(b"x")})
    with serve_tls(the_site, cert, key) as base, pytest.raises(NetworkError) as caught:
        resolve(f"{base}/m.bin", cache_dir=tmp_path)
    message = one_line(caught)
    assert message == f"cannot fetch {base}/m.bin: TLS certificate not trusted (self-signed certificate)"
    assert the_site.log == []  # the handshake failed: no request was made, over TLS or without it


def test_url_connect_timeout(tmp_path: Path):
    with unanswered_syn_server() as base, pytest.raises(NetworkError) as caught:
        started = time.monotonic()
        resolve(f"{base}/m.safetensors", cache_dir=tmp_path)
    assert time.monotonic() - started < 5
    assert one_line(caught) == (
        f"cannot fetch {base}/m.safetensors: no connection within 1 s (AISBOM_CONNECT_TIMEOUT)"
    )


def test_url_read_timeout(tmp_path: Path):
    with silent_server() as base, pytest.raises(NetworkError) as caught:
        started = time.monotonic()
        resolve(f"{base}/m.safetensors", cache_dir=tmp_path)
    assert time.monotonic() - started < 5
    message = one_line(caught)
    assert message == f"cannot fetch {base}/m.safetensors: no answer within 1 s (AISBOM_READ_TIMEOUT)"


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_url_through_an_unreachable_proxy(scheme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    port = refused_port()
    monkeypatch.setenv(f"{scheme.upper()}_PROXY", f"http://user:secret@127.0.0.1:{port}")
    url = f"{scheme}://127.0.0.1:{refused_port()}/m.safetensors"
    with pytest.raises(NetworkError) as caught:
        resolve(url, cache_dir=tmp_path)
    message = one_line(caught)
    assert message == f"cannot fetch {url}: connection refused via the proxy http://127.0.0.1:{port}"
    assert "secret" not in message


def test_url_through_a_proxy_that_refuses_the_tunnel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    proxy = Site()
    with serve(proxy) as base:
        monkeypatch.setenv("HTTPS_PROXY", base)
        with pytest.raises(NetworkError) as caught:
            resolve("https://example.invalid/m.safetensors", cache_dir=tmp_path)
    assert one_line(caught) == (
        f"cannot fetch https://example.invalid/m.safetensors: the proxy {base} did not open a tunnel: 407 "
        "Proxy Authentication Required"
    )
    assert [(method, path) for method, path, _ in proxy.log] == [("CONNECT", "example.invalid:443")]


def test_url_5xx_is_asked_again_and_then_served(site: SiteURL, tmp_path: Path):
    server, base = site
    server.files["/m.safetensors"] = Served(BODY)
    server.errors["/m.safetensors"] = [(503, {"Retry-After": "0"}), (502, {"Retry-After": "0"})]
    resolved = resolve(f"{base}/m.safetensors", cache_dir=tmp_path)
    assert resolved.path.read_bytes() == BODY
    assert [method for method, path, _ in server.log] == ["GET"] * 3


def test_url_5xx_without_retry_after_backs_off(site: SiteURL, tmp_path: Path):
    server, base = site
    server.files["/m.safetensors"] = Served(BODY)
    server.errors["/m.safetensors"] = [(500, {})]
    started = time.monotonic()
    resolve(f"{base}/m.safetensors", cache_dir=tmp_path)
    assert 1 <= time.monotonic() - started < 5  # the first backoff is 1 s


def test_url_5xx_every_time_gives_up_after_the_last_attempt(site: SiteURL, tmp_path: Path):
    server, base = site
    server.files["/m.safetensors"] = Served(BODY)
    server.errors["/m.safetensors"] = [(503, {"Retry-After": "0"})] * 10
    with pytest.raises(NetworkError) as caught:
        resolve(f"{base}/m.safetensors", cache_dir=tmp_path)
    assert one_line(caught) == (
        f"HTTP 503 Service Unavailable from {base}/m.safetensors after {MAX_ATTEMPTS} attempts "
        f"(waits as Retry-After asks, at most {MAX_RETRY_WAIT:.0f} s each); try again later"
    )
    assert len(server.log) == MAX_ATTEMPTS


def test_url_429_waits_as_retry_after_asks(site: SiteURL, tmp_path: Path):
    server, base = site
    server.files["/m.safetensors"] = Served(BODY)
    server.errors["/m.safetensors"] = [(429, {"Retry-After": "1"})]
    started = time.monotonic()
    resolve(f"{base}/m.safetensors", cache_dir=tmp_path)
    assert 1 <= time.monotonic() - started < 5
    assert len(server.log) == 2


def test_url_429_with_an_http_date_in_the_past_is_asked_again_at_once(site: SiteURL, tmp_path: Path):
    server, base = site
    server.files["/m.safetensors"] = Served(BODY)
    server.errors["/m.safetensors"] = [(429, {"Retry-After": "Wed, 01 Jan 2025 00:00:00 GMT"})]
    started = time.monotonic()
    resolve(f"{base}/m.safetensors", cache_dir=tmp_path)
    assert time.monotonic() - started < 1 and len(server.log) == 2


def test_url_429_asking_for_a_long_wait_is_not_waited_for(site: SiteURL, tmp_path: Path):
    server, base = site
    server.files["/m.safetensors"] = Served(BODY)
    server.errors["/m.safetensors"] = [(429, {"Retry-After": "120"})]
    with pytest.raises(NetworkError) as caught:
        resolve(f"{base}/m.safetensors", cache_dir=tmp_path)
    assert one_line(caught) == (
        f"HTTP 429 Too Many Requests from {base}/m.safetensors, which asks to retry after 120 s, longer than "
        f"aisbom waits ({MAX_RETRY_WAIT:.0f} s); try again later"
    )
    assert len(server.log) == 1


def test_url_4xx_is_an_answer_and_not_asked_again(site: SiteURL, tmp_path: Path):
    server, base = site
    with pytest.raises(DownloadError) as caught:
        resolve(f"{base}/missing.bin", cache_dir=tmp_path)
    assert not isinstance(caught.value, NetworkError)
    assert len(server.log) == 1


@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_a_bad_timeout_setting_is_a_usage_error(value: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("AISBOM_READ_TIMEOUT", value)
    with pytest.raises(UsageError, match=f"AISBOM_READ_TIMEOUT='{value}': expected a number of seconds"):
        resolve("https://example.invalid/m.bin", cache_dir=tmp_path)


# --- hf:// ---------------------------------------------------------------------------------


@pytest.fixture
def cached(hub: Hub, hf_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """acme/tiny@main in the cache (downloaded from the fake Hub); HF_HUB_OFFLINE stays unset."""
    resolve("hf://acme/tiny@main")
    yield hf_env


def assert_from_cache(cache: Path, reason: str) -> None:
    resolved = resolve("hf://acme/tiny@main")
    assert resolved.path == cache.resolve() / "models--acme--tiny" / "snapshots" / TINY_COMMIT
    (note,) = resolved.notes
    endpoint = os.environ["HF_ENDPOINT"]
    assert note == (
        f"hf://acme/tiny@main: cannot reach {endpoint}: {reason}; using commit {TINY_COMMIT} from the "
        "Hugging Face cache, as huggingface_hub does (HF_HUB_OFFLINE=1 skips the network)"
    )
    prov = resolved.provenance
    assert prov is not None and prov.revision == TINY_COMMIT
    # Labelled as offline reads are: the time is the cached file's, and the record says so.
    assert prov.acquired_by == ACQUIRED_FROM_CACHE_MTIME
    assert {f.acquired_by for f in prov.files.values()} == {ACQUIRED_FROM_CACHE_MTIME}
    assert prov.upstream_sha256  # the cached tree listing still gives the Hub's LFS sha256
    assert prov.file_urls["config.json"].startswith(f"{endpoint}/acme/tiny/resolve/{TINY_COMMIT}/")


def test_hub_refused_with_the_revision_cached(cached: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{refused_port()}")
    assert_from_cache(cached, "connection refused")


def test_hub_refused_and_nothing_cached(hf_env: Path, monkeypatch: pytest.MonkeyPatch):
    endpoint = f"http://127.0.0.1:{refused_port()}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    with pytest.raises(NetworkError) as caught:
        resolve("hf://acme/tiny@main")
    assert one_line(caught) == (
        f"hf://acme/tiny@main ({endpoint}): cannot reach the Hub: connection refused; the Hugging Face "
        f"cache at {hf_env.resolve()} does not hold it either; check the network, or run `hf download "
        "acme/tiny --revision main` where the Hub is reachable (HF_HUB_OFFLINE=1 then reads the cache "
        "without trying the network)"
    )


def test_hub_refused_and_another_revision_cached(cached: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{refused_port()}")
    with pytest.raises(NetworkError) as caught:
        resolve("hf://acme/tiny@v2")
    assert "cannot reach the Hub: connection refused; the Hugging Face cache at" in one_line(caught)


def test_hub_host_not_found(cached: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
    resolved = resolve("hf://acme/tiny@main")
    (note,) = resolved.notes
    assert "cannot reach https://hub.invalid: host not found (DNS: " in note


def test_hub_connection_reset(cached: Path, monkeypatch: pytest.MonkeyPatch):
    with resetting_server() as base:
        monkeypatch.setenv("HF_ENDPOINT", base)
        assert_from_cache(cached, "connection reset by the other end")


def test_hub_tls_failure_uses_the_cache_and_never_plain_http(cached: Path, monkeypatch: pytest.MonkeyPatch):
    cert, key = self_signed_certificate()
    the_site = Site()
    with serve_tls(the_site, cert, key) as base:
        monkeypatch.setenv("HF_ENDPOINT", base)
        assert_from_cache(cached, "TLS certificate not trusted (self-signed certificate)")
    assert the_site.log == []


def test_hub_connect_timeout(cached: Path, monkeypatch: pytest.MonkeyPatch):
    with unanswered_syn_server() as base:
        monkeypatch.setenv("HF_ENDPOINT", base)
        started = time.monotonic()
        assert_from_cache(cached, "no connection within 1 s (AISBOM_CONNECT_TIMEOUT)")
        assert time.monotonic() - started < 5


def test_hub_read_timeout(cached: Path, monkeypatch: pytest.MonkeyPatch):
    with silent_server() as base:
        monkeypatch.setenv("HF_ENDPOINT", base)
        started = time.monotonic()
        assert_from_cache(cached, "no answer within 1 s (AISBOM_READ_TIMEOUT)")
        assert time.monotonic() - started < 5


def test_hub_through_an_unreachable_proxy(cached: Path, monkeypatch: pytest.MonkeyPatch):
    port = refused_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://user:secret@127.0.0.1:{port}")
    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co")  # never reached: the proxy refuses
    close_session()  # httpx reads the proxy variables when the client is made, as in a new process
    resolved = resolve("hf://acme/tiny@main")
    (note,) = resolved.notes
    assert f": connection refused via the proxy http://127.0.0.1:{port}; using commit" in note
    assert "secret" not in note


def test_hub_through_a_proxy_that_refuses_the_tunnel(cached: Path, monkeypatch: pytest.MonkeyPatch):
    """As huggingface_hub: a proxy that answers but refuses is a setting to fix, not a reason to
    use the cache; one line."""
    proxy = Site()
    with serve(proxy) as base:
        monkeypatch.setenv("HTTPS_PROXY", base)
        monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co")
        close_session()
        with pytest.raises(NetworkError) as caught:
            resolve("hf://acme/tiny@main")
    assert one_line(caught) == (
        f"hf://acme/tiny@main (https://huggingface.co): the proxy {base} did not open a tunnel: 407 Proxy "
        "Authentication Required (check HTTPS_PROXY and NO_PROXY)"
    )


def test_hub_5xx_every_time_uses_the_cache(cached: Path, hub: Hub):
    hub.errors += [(503, {"Retry-After": "0"})] * MAX_ATTEMPTS
    requests_before = len(hub.log)
    assert_from_cache(
        cached,
        f"HTTP 503 after {MAX_ATTEMPTS} attempts "
        f"(waits as Retry-After asks, at most {MAX_RETRY_WAIT:.0f} s each)",
    )
    assert len(hub.log) - requests_before == MAX_ATTEMPTS  # then the cache, without more requests


def test_hub_5xx_once_is_asked_again(hub: Hub, hf_env: Path):
    hub.errors.append((502, {"Retry-After": "0"}))
    resolved = resolve("hf://acme/tiny@main")
    assert resolved.notes == () and resolved.provenance is not None
    assert resolved.provenance.revision == TINY_COMMIT
    assert hub.log[:2] == [("GET", "/api/models/acme/tiny/revision/main?blobs=true")] * 2


def test_hub_429_asking_for_a_long_wait_uses_the_cache_at_once(cached: Path, hub: Hub):
    hub.errors.append((429, {"Retry-After": "3600"}))
    started = time.monotonic()
    assert_from_cache(
        cached,
        f"HTTP 429, which asks to retry after 3600 s, longer than aisbom waits ({MAX_RETRY_WAIT:.0f} s)",
    )
    assert time.monotonic() - started < 5


def test_hub_download_failing_after_the_hub_answered(hub: Hub, hf_env: Path):
    """The Hub answers, its CDN does not: nothing to fall back to, one line."""
    hub.cdn_errors += [(503, {"Retry-After": "0"})] * 10
    with pytest.raises(NetworkError) as caught:
        resolve("hf://acme/tiny@main")
    message = one_line(caught)
    assert message.startswith(f"hf://acme/tiny@main ({os.environ['HF_ENDPOINT']}): ") and "503" in message


def test_hub_answers_are_not_network_failures(hub: Hub, hf_env: Path):
    """A Hub that says "no such repository" was reached: no cache stands in for its answer."""
    with pytest.raises(DownloadError) as caught:
        resolve("hf://acme/absent")
    assert not isinstance(caught.value, NetworkError)


def test_offline_still_touches_no_network(cached: Path, offline: list[object]):
    resolved = resolve("hf://acme/tiny@main")
    assert resolved.notes == () and offline == []
    with pytest.raises(NotInCacheError):
        resolve("hf://acme/tiny@v2")
