"""hf:// targets: a Hugging Face repository at a revision, through the huggingface_hub client.

Online, `snapshot_download` fills the standard Hugging Face cache (shared with transformers and
the `hf` CLI), then `model_info`/`dataset_info(files_metadata=True)` give the size, git blob id
and LFS sha256 the Hub publishes for every file of that commit. Offline (HF_HUB_OFFLINE=1), the
same call with `local_files_only` resolves the revision from the cache's refs/ and touches no
network; what the Hub published then comes from the commit's tree listing that huggingface_hub
caches beside the snapshots (`trees/<commit>.json`), read here (the client's own reader drops
the LFS field).

The cache is writable by anyone who shares it, or restores it in CI, so nothing in it is taken
on its own word; every file is checked against what the Hub published for the commit:

- a regular file by its git blob id (sha1 over its content; such files are small), an LFS file
  by its sha256, which the caller compares with the scan's own SHA-256 (`check_scanned_hashes`),
  so large files are read once; the size too. A mismatch means the cache was modified after
  download: a hard error. A blob's name (its ETag) proves nothing: it is whatever the writer
  chose, so the ETag recorded is the published one.
- a file in the snapshot that the commit's listing does not hold was put there by someone else:
  it is scanned like every file, named in a note and in `Provenance.unverified`, and given no
  Hub URL, ETag or time.
- a snapshot whose commit has no listing in the cache (filled by `hf_hub_download`, or an older
  client) cannot be checked: a note says so, and its files are recorded as unverified, without
  Hub URLs or hashes. Run once with the network to check them.

The acquisition time is the blob's modification time, recorded as such ("cache-mtime"),
because nothing else in the cache says when the bytes arrived. Only a blob this run wrote is
recorded as a "download".

huggingface_hub never executes what it downloads; neither does anything here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import aisbom.hashing as hashing
from aisbom.provenance import ACQUIRED_BY_DOWNLOAD, ACQUIRED_FROM_CACHE_MTIME, FileSource, Provenance
from aisbom.sources.base import (
    BadSpecError,
    DownloadError,
    DownloadProgress,
    HashMismatchError,
    NetworkError,
    NotInCacheError,
    Resolved,
)
from aisbom.sources.network import (
    RETRY_STATUSES,
    Timeouts,
    failure,
    retry_after,
    through,
)
from aisbom.wording import counted

DEFAULT_ENDPOINT = "https://huggingface.co"
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TRUE = {"1", "ON", "YES", "TRUE"}  # as huggingface_hub reads its boolean variables
_MAX_LISTING = 256 << 20  # a tree listing larger than this is not one huggingface_hub wrote


def disable_hub_telemetry() -> None:
    """aisbom sends no telemetry, and neither may the Hugging Face client it drives: unless told
    not to, huggingface_hub 2 adds torch's version and a guess at which AI agent runs it to every
    user-agent, and fetches `{endpoint}/api/agent-harnesses` about once a day to make that guess.
    It reads HF_HUB_DISABLE_TELEMETRY once, when imported, into its constants: so the variable is
    set before it is imported, and the constant too when it was imported already (a program using
    aisbom's API may have imported transformers first)."""
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    constants: Any = sys.modules.get("huggingface_hub.constants")  # imported already, or None
    if constants is not None:
        constants.HF_HUB_DISABLE_TELEMETRY = True


disable_hub_telemetry()  # before anything below imports huggingface_hub


@dataclass(frozen=True)
class HfRef:
    repo_type: str  # "model" | "dataset"
    repo_id: str  # "org/name"
    revision: str  # as the user gave it, "main" by default
    subpath: str  # '/'-separated path inside the repository, or ""

    @property
    def display(self) -> str:
        kind = "datasets/" if self.repo_type == "dataset" else ""
        sub = f"/{self.subpath}" if self.subpath else ""
        return f"hf://{kind}{self.repo_id}{sub}@{self.revision}"


def parse_spec(spec: str) -> HfRef:
    """`hf://[datasets/|models/]ORG/NAME[/SUB/PATH][@REVISION]`. The revision may contain '/'
    (`refs/pr/1`), so it is whatever follows the last '@'."""
    rest = spec.split("://", 1)[1]
    repo_type = "model"
    for prefix, kind in (("datasets/", "dataset"), ("models/", "model")):
        if rest.startswith(prefix):
            repo_type, rest = kind, rest[len(prefix) :]
            break
    else:
        if rest.startswith("spaces/"):
            raise BadSpecError(f"{spec}: Spaces are not supported (models and datasets are)")
    location, at, revision = rest.rpartition("@") if "@" in rest else (rest, "", "")
    if at and not revision:
        raise BadSpecError(f"{spec}: empty revision after '@'")
    revision = revision or "main"
    if not _REVISION.match(revision) or ".." in revision.split("/") or revision.endswith("/"):
        raise BadSpecError(f"{spec}: {revision!r} is not a valid revision (a branch, tag or commit)")
    parts = location.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise BadSpecError(f"{spec}: expected hf://ORG/NAME[@REVISION] or hf://datasets/ORG/NAME[@REVISION]")
    repo_id = f"{parts[0]}/{parts[1]}"
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise BadSpecError(f"{spec}: {exc}") from None
    sub = parts[2:]
    if any(p in ("", ".", "..") or "\\" in p for p in sub):
        raise BadSpecError(f"{spec}: bad path inside the repository: {'/'.join(sub)!r}")
    return HfRef(repo_type, repo_id, revision, "/".join(sub))


def hub_cache_dir() -> Path:
    """The Hugging Face cache, from the environment as it is now. (huggingface_hub reads these
    variables once, at import; reading them here keeps one process consistent with its env.)"""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(os.path.expandvars(explicit)).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "~/.cache")
    home = os.environ.get("HF_HOME") or os.path.join(xdg, "huggingface")
    return Path(os.path.expandvars(home)).expanduser() / "hub"


def cached_snapshot(spec: str, commit: str, cache_dir: Path | None = None) -> Path | None:
    """Where the Hugging Face cache holds `spec` (an hf:// target) at `commit`, without network
    and without huggingface_hub: its snapshot directory (or the file or directory its sub-path
    names), or None if the cache does not hold it. Nothing here checks the files: a caller
    compares them with hashes it trusts (an inventory's lock) before using them."""
    ref = parse_spec(spec)
    if not _SHA1.match(commit):
        return None
    cache = (cache_dir or hub_cache_dir()).expanduser()
    snapshot = cache / f"{ref.repo_type}s--{ref.repo_id.replace('/', '--')}" / "snapshots" / commit
    target = snapshot / ref.subpath if ref.subpath else snapshot
    return target if target.exists() else None


def offline() -> bool:
    """Offline if the environment says so now, or said so when huggingface_hub was imported
    (the library then refuses every request itself)."""
    from huggingface_hub import constants

    flags = (os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "").upper()
    return flags in _TRUE or bool(getattr(constants, "HF_HUB_OFFLINE", False))


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def resolve_hf(
    spec: str, *, cache_dir: Path | None = None, progress: DownloadProgress | None = None
) -> Resolved:
    disable_hub_telemetry()  # again: the constant may have been set back since this module loaded
    ref = parse_spec(spec)
    cache = (cache_dir or hub_cache_dir()).expanduser().resolve()
    base = endpoint()
    from_cache = offline()
    timeouts = Timeouts.from_env()
    started = datetime.now(timezone.utc).timestamp()
    unreachable = None  # why the Hub could not be reached, when the cache stands in for it
    published: dict[str, dict[str, Any]] = {}
    with _bounded_hub_session(timeouts, enabled=not from_cache):
        online_commit = None
        if not from_cache:
            try:
                online_commit, published = _published_online(ref, ref.revision, base, timeouts)
            except _HubUnreachable as exc:  # as huggingface_hub does: the cache, if it holds the revision
                unreachable, from_cache = exc.reason, True
        snapshot = _snapshot(
            ref, cache, base, from_cache, unreachable, timeouts, show_progress=progress is not None
        )
        commit = snapshot.name
        if not _SHA1.match(commit):
            raise NotInCacheError(
                f"{ref.display}: the cache returned {snapshot}, which is not a commit snapshot"
            )
        if not from_cache and commit != online_commit:
            # The branch moved between the two calls, or huggingface_hub could not reach the Hub
            # this time and answered from its cache: ask about the commit in hand.
            try:
                _, published = _published_online(ref, commit, base, timeouts)
            except _HubUnreachable as exc:
                unreachable, from_cache = exc.reason, True
    listing: dict[str, dict[str, Any]] | None = published
    no_listing = None  # why the cache cannot be checked against what the Hub published
    if from_cache:
        listing, no_listing = _published_cached(ref, commit, cache)
    finished = datetime.now(timezone.utc).timestamp()
    target = snapshot / ref.subpath if ref.subpath else snapshot
    if not (target.is_file() or target.is_dir()):
        raise DownloadError(f"{ref.display}: no {ref.subpath!r} in {ref.repo_id} at commit {commit}")

    cached = _cached_files(ref, cache, commit)
    repo_prefix = "datasets/" if ref.repo_type == "dataset" else ""
    file_urls: dict[str, str] = {}
    upstream: dict[str, str] = {}
    files: dict[str, FileSource] = {}
    unverified: dict[str, str] = {}
    for repo_path, (blob, etag, mtime) in sorted(cached.items()):
        rel = _relative(repo_path, ref.subpath, target)
        if rel is None:
            continue
        if listing is None:
            unverified[rel] = "the cache holds no listing of the commit to check it against"
            continue
        meta = listing.get(repo_path)
        if meta is None:
            unverified[rel] = f"not a file of commit {commit}: put in the cache by someone else"
            continue
        sha256 = _verify(ref, repo_path, blob, etag, meta)
        if sha256:
            upstream[rel] = sha256
        file_urls[rel] = f"{base}/{repo_prefix}{ref.repo_id}/resolve/{commit}/{quote(repo_path)}"
        written_now = not from_cache and started <= mtime <= finished
        files[rel] = FileSource(
            etag=sha256 or meta.get("blob_id"),
            size=meta.get("size"),
            acquired_at=datetime.fromtimestamp(mtime, timezone.utc).replace(microsecond=0),
            acquired_by=ACQUIRED_BY_DOWNLOAD if written_now else ACQUIRED_FROM_CACHE_MTIME,
        )
    # The repository was complete in hand when its last file arrived; if any time is a cache
    # mtime, so is the whole record's.
    times = [f.acquired_at for f in files.values() if f.acquired_at is not None]
    notes: list[str] = []
    if unreachable is not None:
        notes.append(
            f"{ref.display}: cannot reach {base}: {unreachable}; using commit {commit} from the Hugging "
            "Face cache, as huggingface_hub does (HF_HUB_OFFLINE=1 skips the network)",
        )
    if listing is None and unverified:
        notes.append(
            f"{ref.display}: UNVERIFIED: {no_listing}, so the {len(unverified)} cached file"
            f"{'s' if len(unverified) != 1 else ''} of commit {commit} cannot be checked against what "
            "the Hub published; they are recorded without Hub URLs or hashes (run once with the network "
            "to check them)"
        )
    elif unverified:
        notes += [
            f"{ref.display}: {rel} is in the cached snapshot but not in commit {commit}'s listing: someone "
            "else put it there; it is scanned, and recorded without a Hub URL"
            for rel in unverified
        ]
    return Resolved(
        target,
        Provenance(
            source_url=f"{base}/{repo_prefix}{ref.repo_id}",
            acquired_at=max(times) if times else None,
            acquired_by=(
                ACQUIRED_FROM_CACHE_MTIME
                if any(f.acquired_by == ACQUIRED_FROM_CACHE_MTIME for f in files.values())
                else ACQUIRED_BY_DOWNLOAD
            )
            if files
            else None,
            revision=commit,
            requested_revision=ref.revision if ref.revision != commit else None,
            hf_repo=ref.repo_id,
            repo_type=ref.repo_type,
            file_urls=file_urls,
            upstream_sha256=upstream,
            files=files,
            facts_from_cache=from_cache,
            unverified=unverified,
        ),
        ref.repo_type,
        tuple(notes),
    )


class _HubUnreachable(Exception):
    """The Hub could not be asked: no answer, or 5xx/429 after the retries (network.py)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _snapshot(
    ref: HfRef,
    cache: Path,
    base: str,
    local_only: bool,
    unreachable: str | None,
    timeouts: Timeouts,
    *,
    show_progress: bool,
) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    kwargs: dict[str, Any] = {}
    if ref.subpath:  # fetch the part asked for ('*' also matches '/')
        kwargs["allow_patterns"] = [ref.subpath, f"{ref.subpath}/*"]
    if not show_progress:
        kwargs["tqdm_class"] = _silent_tqdm()
    where = f"{ref.display} ({base})"
    try:
        return Path(
            snapshot_download(
                ref.repo_id,
                repo_type=ref.repo_type,
                revision=ref.revision,
                cache_dir=cache,
                endpoint=base,
                local_files_only=local_only,
                **kwargs,
            )
        )
    except LocalEntryNotFoundError as exc:
        incomplete = type(exc).__name__ == "IncompleteSnapshotError"
        what = "is incomplete in" if incomplete else "is not in"
        kind = " --repo-type dataset" if ref.repo_type == "dataset" else ""
        fetch_first = f"`hf download {ref.repo_id}{kind} --revision {ref.revision}`"
        cause = unreachable or _hub_failure(exc.__cause__, timeouts, base)
        if cause is not None:  # online, and the Hub could not be reached
            holds = "holds only part of it" if incomplete else "does not hold it either"
            raise NetworkError(
                f"{where}: cannot reach the Hub: {cause}; the Hugging Face cache at {cache} {holds}; "
                f"check the network, or run {fetch_first} where the Hub is reachable (HF_HUB_OFFLINE=1 "
                "then reads the cache without trying the network)"
            ) from None
        hint = "run without HF_HUB_OFFLINE=1" if local_only else f"check the network and {base}"
        raise NotInCacheError(
            f"{ref.display} {what} the Hugging Face cache at {cache}; {hint}, or run {fetch_first} first"
        ) from None
    except GatedRepoError:
        raise DownloadError(f"{where}: gated repository; log in (`hf auth login`) with access") from None
    except RepositoryNotFoundError:
        raise DownloadError(f"{where}: repository not found (or private without a token)") from None
    except RevisionNotFoundError:
        raise DownloadError(f"{where}: revision {ref.revision!r} not found") from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        error = NetworkError if status in RETRY_STATUSES else DownloadError
        raise error(f"{where}: {_first_line(exc)}") from None
    except ValueError as exc:
        raise BadSpecError(f"{ref.display}: {_first_line(exc)}") from None
    except Exception as exc:
        cause = _hub_failure(exc, timeouts, base)
        if cause is not None:  # a transfer broke off, a proxy refused the tunnel ...
            raise NetworkError(f"{where}: {cause}; run again to resume") from None
        if isinstance(exc, OSError):
            raise DownloadError(f"{where}: {exc.strerror or _first_line(exc)}") from None
        raise


def _published_online(
    ref: HfRef, revision: str, base: str, timeouts: Timeouts
) -> tuple[str, dict[str, dict[str, Any]]]:
    """The commit `revision` names on the Hub, and what the Hub publishes for each of its files:
    size, git blob id, LFS sha256. 429 and 5xx are asked again (network.py); a Hub that cannot
    be asked raises _HubUnreachable, a Hub that answers no raises DownloadError."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    api = HfApi(endpoint=base)
    info_of = api.dataset_info if ref.repo_type == "dataset" else api.model_info
    where = f"{ref.display} ({base})"
    attempt = 0
    while True:
        attempt += 1
        try:
            info = info_of(ref.repo_id, revision=revision, files_metadata=True, timeout=_timeout(timeouts))
            break
        except GatedRepoError:
            raise DownloadError(f"{where}: gated repository; log in (`hf auth login`) with access") from None
        except RepositoryNotFoundError:
            raise DownloadError(f"{where}: repository not found (or private without a token)") from None
        except RevisionNotFoundError:
            raise DownloadError(f"{where}: revision {revision!r} not found") from None
        except HfHubHTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status not in RETRY_STATUSES:
                raise DownloadError(f"{where}: {_first_line(exc)}") from None
            assert status is not None and exc.response is not None
            retry = retry_after(status, exc.response.headers.get("Retry-After"), attempt)
            if retry.wait is None:
                raise _HubUnreachable(f"HTTP {status}{retry.why}") from None
            time.sleep(retry.wait)
        except Exception as exc:
            cause = _hub_failure(exc, timeouts, base)
            if cause is None:
                raise
            if isinstance(exc, getattr(_httpx(), "ProxyError", ())):
                # As huggingface_hub: a proxy that answers but refuses is a setting to fix, not a
                # reason to use the cache (an unreachable proxy is, like any unreachable host).
                raise NetworkError(f"{where}: {cause} (check HTTPS_PROXY and NO_PROXY)") from None
            raise _HubUnreachable(cause) from None
    if not info.sha or not _SHA1.match(info.sha):
        raise DownloadError(f"{where}: the Hub did not say which commit {revision!r} is")
    out: dict[str, dict[str, Any]] = {}
    for sibling in info.siblings or []:
        out[sibling.rfilename] = {
            "size": sibling.size,
            "blob_id": sibling.blob_id,
            "lfs_sha256": sibling.lfs.sha256 if sibling.lfs else None,
        }
    return info.sha, out


def _published_cached(
    ref: HfRef, commit: str, cache: Path
) -> tuple[dict[str, dict[str, Any]] | None, str | None]:
    """What the Hub published per file of this commit, from the tree listing huggingface_hub
    caches beside the snapshots (`trees/<commit>.json`, written by `snapshot_download` since
    huggingface_hub 1.22), read here because the client's `get_cached_repo_tree` drops the LFS
    sha256. Returns (listing, None), or (None, why there is none to use)."""
    folder = cache / f"{ref.repo_type}s--{ref.repo_id.replace('/', '--')}"
    path = folder / "trees" / f"{commit}.json"
    try:
        with hashing.open_regular(path) as handle:
            data = json.loads(handle.read(_MAX_LISTING + 1))
    except FileNotFoundError:
        return None, "the Hugging Face cache holds no listing of the commit (trees/ has none)"
    except (OSError, ValueError) as exc:
        return None, f"its listing {path} cannot be read ({_first_line(exc)})"
    try:
        if not isinstance(data, dict) or data.get("format_version") != 1:
            raise ValueError("format_version is not 1")
        entries = data["files"]
        if not isinstance(entries, dict):
            raise ValueError("'files' is not an object")
        return {name: _listed(info) for name, info in entries.items()}, None
    except (KeyError, TypeError, ValueError) as exc:
        return None, f"its listing {path} is not in the form huggingface_hub writes ({_first_line(exc)})"


def _listed(info: Any) -> dict[str, Any]:
    """One file of a cached listing, every value checked before it is compared with anything."""
    size, blob_id = info["size"], info["blob_id"]
    lfs, lfs_size = info.get("lfs_sha256"), info.get("lfs_size", size)
    if not isinstance(size, int) or not isinstance(blob_id, str) or not _SHA1.match(blob_id):
        raise ValueError("size or blob_id malformed")
    if lfs is not None and not (isinstance(lfs, str) and _SHA256.match(lfs) and isinstance(lfs_size, int)):
        raise ValueError("lfs_sha256 or lfs_size malformed")
    return {"size": lfs_size if lfs else size, "blob_id": blob_id, "lfs_sha256": lfs}


def _hub_failure(exc: BaseException | None, timeouts: Timeouts, base: str) -> str | None:
    """A failure to reach the Hub in words (network.failure), or None for anything else (a
    full disk is not the network's fault). The client is huggingface_hub's httpx (httpx2 from
    huggingface_hub 2): its TransportError; and the socket-level errors, huggingface_hub's
    offline-mode ConnectionError among them."""
    import socket
    import ssl

    if exc is None:
        return None
    transport = getattr(_httpx(), "TransportError", ())
    if not isinstance(exc, (transport, ConnectionError, TimeoutError, socket.gaierror, ssl.SSLError)):
        return None
    return through(failure(exc, timeouts), base)


def _httpx() -> Any:
    """The httpx module huggingface_hub's client comes from (httpx, or httpx2 since 2.0): already
    imported, since its client exists."""
    import sys

    from huggingface_hub import get_session

    return sys.modules[type(get_session()).__module__.split(".")[0]]


def _timeout(timeouts: Timeouts) -> Any:
    return _httpx().Timeout(timeouts.read, connect=timeouts.connect)


@contextmanager
def _bounded_hub_session(timeouts: Timeouts, *, enabled: bool) -> Iterator[None]:
    """huggingface_hub >= 2 gives its shared client no timeout, and `snapshot_download` passes
    none to the API calls it makes: a Hub that accepts a connection and never answers would
    hang aisbom forever. Give that client ours while we use it (a client configured with its
    own timeouts through huggingface_hub.set_client_factory is left alone)."""
    if not enabled:
        yield
        return
    from huggingface_hub import get_session

    session = get_session()
    previous = session.timeout
    unbounded = previous.connect is None and previous.read is None
    if unbounded:
        session.timeout = _timeout(timeouts)
    try:
        yield
    finally:
        if unbounded:
            session.timeout = previous


def _cached_files(ref: HfRef, cache: Path, commit: str) -> dict[str, tuple[Path, str | None, float]]:
    """repo path -> (blob path, ETag, blob mtime), from huggingface_hub's cache scan."""
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(cache)
    for repo in info.repos:
        if repo.repo_id != ref.repo_id or repo.repo_type != ref.repo_type:
            continue
        blobs = (repo.repo_path / "blobs").resolve()
        for revision in repo.revisions:
            if revision.commit_hash != commit:
                continue
            out = {}
            for f in revision.files:
                repo_path = f.file_path.relative_to(revision.snapshot_path).as_posix()
                blob = Path(f.blob_path)
                # Where files are copies rather than links (no symlinks on the system), nothing
                # in the cache records the ETag.
                etag = blob.name if blob.parent == blobs else None
                out[repo_path] = (blob, etag, f.blob_last_modified)
            return out
    problems = "; ".join(str(w) for w in info.warnings if ref.repo_id.replace("/", "--") in str(w))
    raise NotInCacheError(
        f"{ref.display}: the Hugging Face cache at {cache} holds no readable snapshot {commit}"
        + (f" ({_first_line(problems)})" if problems else "")
    )


def _verify(ref: HfRef, repo_path: str, blob: Path, etag: str | None, meta: dict[str, Any]) -> str | None:
    """Check the cached file against what the Hub published for it (`meta`): its size, and its
    git blob id (regular files) now; return the LFS sha256 the scan's hash must then match. The
    blob's name is not evidence, but a sha256 name that disagrees is caught at once."""
    lfs = meta.get("lfs_sha256")
    if lfs and etag and _SHA256.match(etag) and etag != lfs:
        _tampered(ref, repo_path, f"its blob is named {etag} but the Hub's LFS sha256 is {lfs}")
    try:
        actual_size = os.stat(blob).st_size
    except OSError as exc:
        _tampered(ref, repo_path, f"it cannot be read ({exc.strerror or exc})")
    size = meta.get("size")
    if size is not None and size != actual_size:
        _tampered(ref, repo_path, f"it is {counted(actual_size, 'byte')} but the Hub says {size}")
    if lfs:
        return str(lfs)
    blob_id = meta.get("blob_id")
    if not (blob_id and _SHA1.match(blob_id)):
        _tampered(ref, repo_path, "the Hub published neither an LFS sha256 nor a git blob id for it")
    actual = _git_blob_sha1(ref, repo_path, blob)
    if actual != blob_id:
        _tampered(ref, repo_path, f"its git blob id is {actual}, expected {blob_id}")
    return None


def _git_blob_sha1(ref: HfRef, repo_path: str, path: Path) -> str:
    """git's object id of a file: sha1 over 'blob <size>\\0' and the content. A FIFO or device
    put in the cache is not opened (it could block)."""
    digest = hashlib.sha1(usedforsecurity=False)
    try:
        with hashing.open_regular(path, follow_symlinks=True) as handle:
            digest.update(b"blob %d\0" % os.fstat(handle.fileno()).st_size)
            hashing.update_from(digest, handle)
    except OSError as exc:
        _tampered(ref, repo_path, f"it is not a readable regular file ({exc.strerror or exc})")
    return digest.hexdigest()


def _tampered(ref: HfRef, repo_path: str, why: str) -> NoReturn:
    raise HashMismatchError(
        f"{repo_path} in the Hugging Face cache does not match what the Hub served: {why}; the cache was "
        f"modified after download (delete the snapshot and download it again)",
        path=ref.display,
    )


def _relative(repo_path: str, subpath: str, target: Path) -> str | None:
    """The path the scan reports for this repository file, or None if it is outside the target."""
    if not subpath:
        return repo_path
    if target.is_file():
        return target.name if repo_path == subpath else None
    prefix = subpath + "/"
    return repo_path[len(prefix) :] if repo_path.startswith(prefix) else None


def _silent_tqdm() -> type:
    from huggingface_hub.utils import tqdm as hf_tqdm

    class Silent(hf_tqdm):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return Silent


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
