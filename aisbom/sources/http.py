"""https:// targets: stream one file into the cache, hashing it on the way.

Layout: `<cache>/<sha256 of the URL>/` holds `.download.part` (bytes so far) and
`.download.json` (the validators a resume needs) while a transfer is under way, and the finished
file under its own name afterwards. A file gets its final name only after every byte arrived
and the expected hash (if any) matched, so a complete-looking file is always a complete one. A
broken transfer keeps its `.part` and resumes with `Range` + `If-Range`, but only when the
state file proves the part's bytes are the ones this user received (partial.py): anyone who can
write the cache could otherwise plant bytes the server never sent. A wrong hash deletes it.

Each resolve downloads again (resuming a broken transfer, never trusting an earlier finished
file): the cache holds what was scanned, it does not vouch for anything.

requests does the HTTP (a transitive dependency anyway: sigstore uses it); redirects are
followed here, one hop at a time, so that every hop passes the same http/https policy and the
resume headers go along.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import aisbom.hashing as hashing
from aisbom.limits import Limits
from aisbom.provenance import ACQUIRED_BY_DOWNLOAD, FileSource, Provenance
from aisbom.sources.base import (
    BadSpecError,
    DownloadError,
    DownloadProgress,
    HashMismatchError,
    InsecureURLError,
    NetworkError,
    Resolved,
    SizeLimitError,
)
from aisbom.sources.network import RETRY_STATUSES, Timeouts, failure, retry_after, through
from aisbom.sources.partial import ProvenPart, Validators, proven_part, resume_key, state_json
from aisbom.version import __version__
from aisbom.wording import counted

# urllib3 2 fills a whole read before returning it, and drops it if the connection breaks
# meanwhile: smaller reads lose less of a broken transfer (and cost little: 64 KiB at a time).
_CHUNK = 64 * 1024
_PART = ".download.part"
_STATE = ".download.json"
_LOCK = ".download.lock"
_REDIRECTS = (301, 302, 303, 307, 308)
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_CHECKPOINT = 64 << 20  # a transfer killed outright loses at most this much of its part


def default_cache_dir() -> Path:
    explicit = os.environ.get("AISBOM_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("aisbom", appauthor=False))


def fetch_url(
    url: str,
    *,
    cache_dir: Path | None = None,
    expected_sha256: str | None = None,
    allow_http: bool = False,
    progress: DownloadProgress | None = None,
    limits: Limits | None = None,
) -> Resolved:
    limits = limits or Limits()
    timeouts = Timeouts.from_env()
    url, expected = _expected_hash(url, expected_sha256)
    _check_url(url, allow_http)
    directory = (cache_dir or default_cache_dir()) / hashlib.sha256(url.encode()).hexdigest()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the cache directory {directory}: {exc.strerror or exc}") from None

    from filelock import FileLock, Timeout

    lock = FileLock(str(directory / _LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise DownloadError(
            f"another aisbom process is downloading {_public(url)} into {directory}; try again later"
        ) from None
    try:
        return _download(url, directory, expected, allow_http, progress, limits, timeouts)
    finally:
        lock.release()
        _remove_if_empty(directory)


def _download(
    url: str,
    directory: Path,
    expected: str | None,
    allow_http: bool,
    progress: DownloadProgress | None,
    limits: Limits,
    timeouts: Timeouts,
) -> Resolved:
    import requests

    part, state_file = directory / _PART, directory / _STATE
    key = resume_key()
    proven, why = proven_part(part, _read_state(state_file, url), key)
    notes: tuple[str, ...] = ()
    if proven is None and why:
        notes = (
            f"{_public(url)}: a partial download in the cache was not resumed: {why}; downloading again",
        )
    if proven is None:
        _discard(part, state_file)
    with requests.Session() as session:
        resume = _resume_headers(proven)
        response, final_url = _get(session, url, allow_http, limits, resume, timeouts)
        if not resume or response.status_code == 200:
            proven = None
        elif not _resumable(response, proven):  # a 206 of something else, or a 416
            response.close()
            proven = None
            response, final_url = _get(session, url, allow_http, limits, {}, timeouts)
        if response.status_code != 200 and proven is None:
            response.close()
            raise DownloadError(f"unexpected HTTP {response.status_code} from {_public(final_url)}")
        with response:
            resolved = _receive(
                response, url, final_url, directory, expected, proven, key, progress, limits, timeouts
            )
    return dataclasses.replace(resolved, notes=notes)


def _receive(
    response: Any,
    url: str,
    final_url: str,
    directory: Path,
    expected: str | None,
    proven: ProvenPart | None,
    key: bytes | None,
    progress: DownloadProgress | None,
    limits: Limits,
    timeouts: Timeouts,
) -> Resolved:
    import requests

    part, state_file = directory / _PART, directory / _STATE
    resume_from = proven.size if proven is not None else 0
    headers = response.headers
    encoded = headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    length = _int(headers.get("Content-Length")) if not encoded else None
    total = resume_from + length if length is not None else None
    if total is not None and total > limits.max_download_size:
        _discard(part, state_file)
        raise SizeLimitError(
            f"{_public(url)} is {total} bytes, over the download limit of {limits.max_download_size}"
        )
    _remove_finished(directory)  # an earlier download of this URL: this one replaces it, or fails
    etag, last_modified = headers.get("ETag"), headers.get("Last-Modified")
    if proven is not None:  # a 206 carries the validators of the part it continues
        etag, last_modified = proven.validators.etag, proven.validators.last_modified
    validators = Validators(url, etag, last_modified)
    # A decoded body cannot be resumed by byte ranges: keep no state then.
    resumable = not encoded and key is not None

    def checkpoint(out: Any, size: int) -> None:
        """Make the bytes so far resumable: on disk, then proven in the state file."""
        if resumable:
            out.flush()
            os.fsync(out.fileno())
            _write_state(state_file, state_json(key, validators, size, digest))

    digest = proven.digest if proven is not None else hashing.new_hasher("sha256")
    received = resume_from
    if resumable:
        _write_state(state_file, state_json(key, validators, resume_from, digest))
    try:
        with open(part, "r+b" if resume_from else "wb") as out:
            out.seek(resume_from)
            out.truncate()  # whatever followed the proven bytes is not trusted
            saved = received
            try:
                for chunk in response.iter_content(_CHUNK):
                    received += len(chunk)
                    if received > limits.max_download_size:
                        out.close()
                        _discard(part, state_file)
                        raise SizeLimitError(
                            f"{_public(url)} is over the download limit of {limits.max_download_size} bytes"
                        )
                    digest.update(chunk)
                    out.write(chunk)
                    if progress is not None:
                        progress(received, total)
                    if received - saved >= _CHECKPOINT:
                        checkpoint(out, received)
                        saved = received
            except (requests.exceptions.RequestException, KeyboardInterrupt):
                checkpoint(out, received)
                raise
            out.flush()
            os.fsync(out.fileno())
    except requests.exceptions.RequestException as exc:  # reset, timeout, broken chunk ...
        raise NetworkError(_interrupted(url, received, total, failure(exc, timeouts))) from None
    except OSError as exc:
        raise DownloadError(f"cannot write {part}: {exc.strerror or exc}") from None
    if total is not None and received != total:
        if resumable:  # the body ended early: what arrived is on disk (fsynced above) and resumable
            _write_state(state_file, state_json(key, validators, received, digest))
        raise NetworkError(_interrupted(url, received, total, None))

    actual = digest.hexdigest()
    if expected is not None and actual != expected:
        _discard(part, state_file)
        raise HashMismatchError(
            f"SHA-256 mismatch: expected {expected}, got {actual}; the download was deleted",
            path=_public(url),
        )
    name = _filename(headers.get("Content-Disposition"), final_url)
    final = directory / name
    acquired = datetime.now(timezone.utc).replace(microsecond=0)
    os.replace(part, final)
    state_file.unlink(missing_ok=True)

    source = _public(url)
    final_public = _public(final_url, drop_query=True)
    return Resolved(
        final,
        Provenance(
            source_url=source,
            acquired_at=acquired,
            acquired_by=ACQUIRED_BY_DOWNLOAD,
            file_urls={name: source},
            upstream_sha256={name: expected} if expected else {},
            files={
                name: FileSource(
                    etag=_bare_etag(etag),
                    size=total,
                    last_modified=last_modified,
                    final_url=final_public if final_public != _public(url, drop_query=True) else None,
                    acquired_at=acquired,
                    acquired_by=ACQUIRED_BY_DOWNLOAD,
                )
            },
        ),
        None,
    )


def _get(
    session: Any, url: str, allow_http: bool, limits: Limits, extra: dict[str, str], timeouts: Timeouts
) -> tuple[Any, str]:
    """GET `url`, following at most limits.max_redirects redirects; returns (response, final URL)."""
    headers = {"Accept-Encoding": "identity", "User-Agent": f"aisbom/{__version__}", **extra}
    current = url
    for _hop in range(limits.max_redirects + 1):
        response = _request(session, current, headers, timeouts)
        location = response.headers.get("Location")
        if response.status_code in _REDIRECTS and location:
            response.close()
            target = urljoin(current, location)
            _check_url(target, allow_http, redirected_from=current)
            current = target
            continue
        if response.status_code == 416 and "Range" in extra:
            return response, current  # the caller starts again without a range
        if response.status_code >= 400:
            response.close()
            raise DownloadError(f"{_status(response)} from {_public(current)}")
        if response.status_code not in (200, 206):
            response.close()
            raise DownloadError(f"unexpected HTTP {response.status_code} from {_public(current)}")
        return response, current
    raise DownloadError(f"too many redirects (more than {limits.max_redirects}) from {_public(url)}")


def _request(session: Any, url: str, headers: dict[str, str], timeouts: Timeouts) -> Any:
    """One GET, asked again after a 429 or 5xx answer (network.py says how often and how long);
    any other failure to get an answer is a NetworkError at once."""
    import requests

    attempt = 0
    while True:
        attempt += 1
        try:
            response = session.get(
                url,
                headers=headers,
                stream=True,
                allow_redirects=False,
                timeout=(timeouts.connect, timeouts.read),
            )
        except requests.exceptions.RequestException as exc:
            raise NetworkError(
                f"cannot fetch {_public(url)}: {through(failure(exc, timeouts), url)}"
            ) from None
        if response.status_code not in RETRY_STATUSES:
            return response
        retry = retry_after(response.status_code, response.headers.get("Retry-After"), attempt)
        response.close()
        if retry.wait is None:
            raise NetworkError(f"{_status(response)} from {_public(url)}{retry.why}; try again later")
        time.sleep(retry.wait)


def _status(response: Any) -> str:
    return f"HTTP {response.status_code} {response.reason or ''}".rstrip()


def _resume_headers(proven: ProvenPart | None) -> dict[str, str]:
    if proven is None:
        return {}
    etag = proven.validators.etag
    validator = etag if etag and not etag.startswith("W/") else proven.validators.last_modified
    if not validator:  # If-Range needs a strong ETag or a date; without one a resume could splice two files
        return {}
    return {"Range": f"bytes={proven.size}-", "If-Range": validator}


def _resumable(response: Any, proven: ProvenPart | None) -> bool:
    """A 206 that continues exactly where the proven part ends, of the same file (same ETag)."""
    if response.status_code != 206 or proven is None:
        return False
    match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
    if not match or int(match.group(1)) != proven.size:
        return False
    etag = response.headers.get("ETag")
    return etag is None or etag == proven.validators.etag


def _expected_hash(url: str, option: str | None) -> tuple[str, str | None]:
    """Split off a `#sha256=HEX` fragment (fragments are never sent); it must agree with --sha256."""
    base, _, fragment = url.partition("#")
    from_fragment = None
    if fragment.lower().startswith("sha256="):
        from_fragment = fragment[len("sha256=") :]
        if not _HEX64.match(from_fragment):
            raise BadSpecError(f"#sha256= in {url!r} is not 64 hex digits")
        from_fragment = from_fragment.lower()
    if option is not None:
        if not _HEX64.match(option.strip()):
            raise BadSpecError(f"--sha256 {option!r} is not 64 hex digits")
        option = option.strip().lower()
        if from_fragment is not None and from_fragment != option:
            raise BadSpecError(f"--sha256 {option} and the URL's #sha256={from_fragment} disagree")
    return base, option or from_fragment


def _check_url(url: str, allow_http: bool, *, redirected_from: str | None = None) -> None:
    parts = urlsplit(url)
    via = f" (redirected from {_public(redirected_from)})" if redirected_from else ""
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise InsecureURLError(f"refusing to fetch {_public(url)}{via}: only https:// URLs are followed")
    if scheme == "http" and not allow_http and not _loopback(parts.hostname):
        raise InsecureURLError(
            f"refusing plain http:// to {parts.hostname}{via}: anyone on the path can change the bytes; "
            "use https://, or --allow-http if you must"
        )


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _filename(disposition: str | None, final_url: str) -> str:
    """The server's Content-Disposition name, else the last segment of the final URL's path;
    reduced to one safe path component (no separators, no leading dots, no control characters)."""
    name = None
    if disposition:
        from email.message import Message

        message = Message()
        message["Content-Disposition"] = disposition
        name = message.get_filename()  # handles filename*=UTF-8''... as well as filename="..."
    if not name:
        name = unquote(urlsplit(final_url).path.rstrip("/").rsplit("/", 1)[-1])
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in name if c.isprintable()).strip().lstrip(".")[:200]
    return name or "download"


def _public(url: str, *, drop_query: bool = False) -> str:
    """The URL without user:password (and, for URLs we were redirected to, without the query,
    which in signed URLs is a credential), fit to be printed and recorded in a BOM."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "" if drop_query else parts.query, ""))


def _bare_etag(etag: str | None) -> str | None:
    if not etag:
        return None
    weak = etag.startswith("W/")
    bare = etag[2:] if weak else etag
    return ("W/" if weak else "") + bare.strip('"')


def _interrupted(url: str, received: int, total: int | None, why: str | None) -> str:
    amount = f"{received} of {counted(total, 'byte')}" if total is not None else counted(received, "byte")
    because = f" ({why})" if why else ""
    return f"transfer of {_public(url)} broke off after {amount}{because}; run again to resume"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _read_state(state_file: Path, url: str) -> dict[str, Any] | None:
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("url") == url else None


def _write_state(state_file: Path, state: dict[str, Any]) -> None:
    temporary = state_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
    os.replace(temporary, state_file)


def _discard(part: Path, state_file: Path) -> None:
    part.unlink(missing_ok=True)
    state_file.unlink(missing_ok=True)


def _remove_finished(directory: Path) -> None:
    for old in directory.iterdir():
        if not old.name.startswith(".") and old.is_file():
            old.unlink(missing_ok=True)


def _remove_if_empty(directory: Path) -> None:
    """A failed first attempt (404, wrong hash ...) leaves no directory behind, only its lock."""
    try:
        if {p.name for p in directory.iterdir()} <= {_LOCK}:
            (directory / _LOCK).unlink(missing_ok=True)
            directory.rmdir()
    except OSError:
        pass  # another process is using it
