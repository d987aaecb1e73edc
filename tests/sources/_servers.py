"""Real HTTP servers on 127.0.0.1 for the source tests: a file server with the behaviours a
download must survive, and a small Hugging Face Hub that answers what huggingface_hub asks.

Both are plain http.server handlers in a ThreadingHTTPServer thread, so the clients under test
(requests, huggingface_hub's httpx) talk real HTTP over real sockets.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"


@dataclass
class Served:
    body: bytes
    etag: str | None = None  # sent as is (quotes included); default: a strong ETag of the body
    last_modified: str | None = LAST_MODIFIED
    disposition: str | None = None  # Content-Disposition
    break_after: int | None = None  # send this many body bytes, then drop the connection
    breaks_left: int = 0  # how many GETs break that way


@dataclass
class Site:
    files: dict[str, Served] = field(default_factory=dict)
    redirects: dict[str, tuple[int, str]] = field(default_factory=dict)  # path -> (status, Location)
    # path -> answers given (and used up) before the file: (status, headers), e.g. (503, {}).
    errors: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    log: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # method, path, headers
    lock: threading.Lock = field(default_factory=threading.Lock)


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class _FileHandler(BaseHTTPRequestHandler):
    site: Site
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_CONNECT(self) -> None:
        """As a proxy that wants credentials nobody gave: 407 to every tunnel asked for."""
        with self.site.lock:
            self.site.log.append((self.command, self.path, dict(self.headers)))
        self.send_response(407, "Proxy Authentication Required")
        self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.close_connection = True

    def _serve(self, head: bool) -> None:
        path = urlsplit(self.path).path
        with self.site.lock:
            self.site.log.append((self.command, self.path, dict(self.headers)))
            served = self.site.files.get(path)
            redirect = self.site.redirects.get(path)
            queued = self.site.errors.get(path)
            error = queued.pop(0) if queued else None
            breaking = served is not None and served.break_after is not None and served.breaks_left > 0
            if breaking and not head:
                served.breaks_left -= 1
        if error is not None:
            status, headers = error
            body = b"try again"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if redirect is not None:
            status, location = redirect
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if served is None:
            body = b"not found"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        etag = served.etag if served.etag is not None else strong_etag(served.body)
        body, status, content_range = served.body, 200, None
        wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if_range = self.headers.get("If-Range")
        if wanted and (if_range is None or if_range in (etag, served.last_modified)):
            start = int(wanted.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, content_range = 206, f"bytes {start}-{len(body) - 1}/{len(body)}"
            body = body[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        if served.last_modified:
            self.send_header("Last-Modified", served.last_modified)
        if served.disposition:
            self.send_header("Content-Disposition", served.disposition)
        if content_range:
            self.send_header("Content-Range", content_range)
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if head:
            return
        if breaking:
            assert served.break_after is not None
            self.wfile.write(body[: served.break_after])
            self.wfile.flush()
            self.close_connection = True  # the client sees the body end early
            return
        self.wfile.write(body)


@contextmanager
def serve(site: Site) -> Iterator[str]:
    """Serve `site` on 127.0.0.1; yields the base URL (http://127.0.0.1:PORT)."""
    handler = type("Handler", (_FileHandler,), {"site": site})
    with _running(handler) as base:
        yield base


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that resets or fails the TLS handshake is what some tests are about


@contextmanager
def _running(handler: type[BaseHTTPRequestHandler], ssl_context: Any = None) -> Iterator[str]:
    server = _QuietServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    scheme = "http"
    if ssl_context is not None:
        server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def serve_tls(site: Site, cert_pem: str, key_pem: str) -> Iterator[str]:
    """The same site over TLS with the given (self-signed) certificate."""
    import ssl
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert.write_text(cert_pem)
        key.write_text(key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        handler = type("Handler", (_FileHandler,), {"site": site})
        with _running(handler, context) as base:
            yield base


# --- a small Hugging Face Hub -------------------------------------------------------------


def git_blob_id(body: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()


@dataclass
class HubRepo:
    repo_type: str  # "model" | "dataset"
    repo_id: str
    commits: dict[str, dict[str, bytes]]  # commit sha -> {path: content}
    refs: dict[str, str]  # branch or tag -> commit sha
    lfs: frozenset[str] = frozenset()  # paths stored in LFS (served through a CDN redirect)

    def commit_of(self, revision: str) -> str | None:
        return revision if revision in self.commits else self.refs.get(revision)


@dataclass
class Hub:
    repos: list[HubRepo]
    log: list[tuple[str, str]] = field(default_factory=list)
    user_agents: list[str] = field(default_factory=list)  # of every request, in order
    cdn_base: str = ""  # LFS downloads redirect there: another origin, as cdn-lfs.hf.co is
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Answers given (and used up) before the real ones, to any request: (status, headers).
    errors: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    # The same, for the LFS CDN only.
    cdn_errors: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def find(self, repo_type: str, repo_id: str) -> HubRepo | None:
        return next((r for r in self.repos if r.repo_type == repo_type and r.repo_id == repo_id), None)


_API = re.compile(r"^/api/(models|datasets)/([^/]+/[^/]+)/(revision|tree)/([^/]+)(?:/.*)?$")
_RESOLVE = re.compile(r"^/(datasets/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
_CDN = re.compile(r"^/cdn-lfs/([0-9a-f]{64})$")


class _HubHandler(BaseHTTPRequestHandler):
    hub: Hub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self._route(head=True)

    def do_GET(self) -> None:
        self._route(head=False)

    def _route(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        with self.hub.lock:
            self.hub.log.append((self.command, self.path))
            self.hub.user_agents.append(self.headers.get("User-Agent", ""))
            error = self.hub.errors.pop(0) if self.hub.errors else None
        if error is not None:
            self._error(error[0], "Unavailable", head, error[1])
        elif match := _API.match(path):
            self._api(match, head)
        elif match := _RESOLVE.match(path):
            self._resolve(match, head)
        elif match := _CDN.match(path):
            self._cdn(match.group(1), head)
        else:
            self._error(404, "EntryNotFound", head)

    def _repo(self, kind: str, repo_id: str, revision: str, head: bool) -> tuple[HubRepo, str] | None:
        repo = self.hub.find(kind, repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", head)
            return None
        commit = repo.commit_of(revision)
        if commit is None:
            self._error(404, "RevisionNotFound", head)
            return None
        return repo, commit

    def _api(self, match: re.Match[str], head: bool) -> None:
        kind = "dataset" if match.group(1) == "datasets" else "model"
        found = self._repo(kind, match.group(2), match.group(4), head)
        if found is None:
            return
        repo, commit = found
        files = repo.commits[commit]
        if match.group(3) == "revision":
            siblings = []
            for path, body in sorted(files.items()):
                sibling: dict[str, Any] = {"rfilename": path, "size": len(body), "blobId": git_blob_id(body)}
                if path in repo.lfs:
                    sha = hashlib.sha256(body).hexdigest()
                    sibling["lfs"] = {"sha256": sha, "size": len(body), "pointerSize": 134}
                siblings.append(sibling)
            payload: Any = {"id": repo.repo_id, "sha": commit, "siblings": siblings, "private": False}
        else:
            payload = []
            for path, body in sorted(files.items()):
                entry: dict[str, Any] = {
                    "type": "file",
                    "oid": git_blob_id(body),
                    "size": len(body),
                    "path": path,
                }
                if path in repo.lfs:
                    entry["lfs"] = {
                        "oid": hashlib.sha256(body).hexdigest(),
                        "size": len(body),
                        "pointerSize": 134,
                    }
                payload.append(entry)
        self._send(200, json.dumps(payload).encode(), {"Content-Type": "application/json"}, head)

    def _resolve(self, match: re.Match[str], head: bool) -> None:
        kind = "dataset" if match.group(1) else "model"
        found = self._repo(kind, match.group(2), match.group(3), head)
        if found is None:
            return
        repo, commit = found
        path = match.group(4)
        body = repo.commits[commit].get(path)
        if body is None:
            self._error(404, "EntryNotFound", head, {"X-Repo-Commit": commit})
            return
        if path in repo.lfs:
            sha = hashlib.sha256(body).hexdigest()
            self._send(
                302,
                b"",
                {
                    "Location": f"{self.hub.cdn_base}/cdn-lfs/{sha}",
                    "X-Repo-Commit": commit,
                    "X-Linked-Etag": f'"{sha}"',
                    "X-Linked-Size": str(len(body)),
                    "ETag": f'"{git_blob_id(body)}"',  # the pointer file's, as on the Hub
                },
                head,
            )
            return
        headers = {"X-Repo-Commit": commit, "ETag": f'"{git_blob_id(body)}"'}
        self._send(200, body, headers, head)

    def _cdn(self, sha: str, head: bool) -> None:
        with self.hub.lock:
            error = self.hub.cdn_errors.pop(0) if self.hub.cdn_errors else None
        if error is not None:
            self._error(error[0], "Unavailable", head, error[1])
            return
        for repo in self.hub.repos:
            for files in repo.commits.values():
                for body in files.values():
                    if hashlib.sha256(body).hexdigest() == sha:
                        self._send(200, body, {"ETag": f'"{sha}"'}, head)
                        return
        self._error(404, "EntryNotFound", head)

    def _error(self, status: int, code: str, head: bool, extra: dict[str, str] | None = None) -> None:
        body = json.dumps({"error": code}).encode()
        self._send(
            status, body, {"X-Error-Code": code, "Content-Type": "application/json", **(extra or {})}, head
        )

    def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


@contextmanager
def serve_hub(hub: Hub) -> Iterator[str]:
    """Serve `hub` on 127.0.0.1 (and its LFS CDN on another port); yields the endpoint to put in
    HF_ENDPOINT."""
    handler = type("Handler", (_HubHandler,), {"hub": hub})
    with _running(handler) as cdn, _running(handler) as base:
        hub.cdn_base = cdn
        yield base


# --- servers that fail before HTTP ----------------------------------------------------------


def refused_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections (the kernel does) and never answers: a read timeout. Yields its URL."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@contextmanager
def unanswered_syn_server() -> Iterator[str]:
    """A port whose accept queue is full, so the kernel drops new SYNs: a connect timeout, as an
    unroutable address gives, without leaving loopback. Yields its URL."""
    with socket.socket() as listener, contextlib.ExitStack() as stack:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(4):  # a backlog of 0 still queues one; fill it for good
            client = stack.enter_context(socket.socket())
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", port))
        time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"


@contextmanager
def resetting_server() -> Iterator[str]:
    """Reads a request, then resets the connection (RST, not FIN). Yields its URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.05)
    stop = threading.Event()

    def reset_each() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                with contextlib.suppress(OSError):
                    connection.recv(65536)
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    thread = threading.Thread(target=reset_each, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


def self_signed_certificate() -> tuple[str, str]:
    """A certificate for 127.0.0.1 that nothing trusts, and its key (PEM)."""
    import ipaddress
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )
