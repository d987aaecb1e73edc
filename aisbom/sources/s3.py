"""s3://BUCKET/KEY-OR-PREFIX targets: the objects copied into the cache through fsspec's s3fs, with
each object's ETag, version id and last-modified time recorded in the provenance.

Credentials, region and endpoint come from the AWS environment as for any AWS client (profiles,
AWS_PROFILE, AWS_ACCESS_KEY_ID ..., AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3 for MinIO and other
S3-compatible stores). A KEY that names an object is that one file; otherwise every object under
KEY/ (KEY empty: the whole bucket) is copied, keeping the path below the prefix.

Listing, then reading, is a race: every read is made with If-Match on the ETag the listing gave
(s3fs does so), so an object replaced in between is refused (one line: it changed), never mixed
with its successor. Keys that cannot be a relative file name below the prefix (`..`, empty
segments) stop the target: a bucket must not write outside the cache. Each resolve copies again;
the cache holds what was scanned and vouches for nothing.

Requests: one LIST per 1,000 keys, then per object one HEAD (its version id) and one GET per
16 MiB read.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path, PurePosixPath
from typing import Any

from aisbom.limits import Limits
from aisbom.provenance import ACQUIRED_BY_DOWNLOAD, FileSource, Provenance
from aisbom.sources.base import BadSpecError, DownloadError, NetworkError, Resolved, SizeLimitError
from aisbom.sources.network import Timeouts, failure

_CHUNK = 16 << 20


@dataclass(frozen=True)
class S3Object:
    key: str
    name: str  # relative path in the target, '/'-separated
    size: int
    etag: str  # without quotes
    last_modified: datetime | None


@dataclass(frozen=True)
class Listing:
    url: str  # s3://bucket/key as recorded
    bucket: str
    key: str
    single: bool  # KEY names one object (the target is that file)
    objects: tuple[S3Object, ...]

    @property
    def identity(self) -> str:
        """What batch compares between runs: the ETag of one object, or a digest of every
        name and ETag under a prefix."""
        return etag_identity([(o.name, o.etag) for o in self.objects], self.single)


def etag_identity(etags: list[tuple[str, str]], single: bool) -> str:
    """`etag:ETAG` for one object, else `etags:` and a digest of every (name, ETag)."""
    if single:
        return "etag:" + etags[0][1]
    lines = sorted(f"{name}\0{etag}" for name, etag in etags)
    return "etags:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()[:32]


def parse_s3(spec: str) -> tuple[str, str]:
    """(bucket, key) of s3://BUCKET[/KEY]."""
    rest = spec[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket or any(c in bucket for c in "?#\\") or bucket in (".", ".."):
        raise BadSpecError(f"{spec!r} is not s3://BUCKET/KEY-OR-PREFIX")
    return bucket, key.strip("/") if key.endswith("/") else key


def list_s3(spec: str, filesystem: Any = None) -> Listing:
    """What s3://BUCKET/KEY holds now (one LIST request per 1,000 keys). Raises DownloadError."""
    bucket, key = parse_s3(spec)
    fs = filesystem or s3_filesystem()
    url = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    try:
        found: dict[str, dict[str, Any]] = fs.find(f"{bucket}/{key}" if key else bucket, detail=True)
    except Exception as exc:
        raise _error(url, exc) from None
    entries = {path.partition("/")[2]: info for path, info in found.items() if info.get("type") == "file"}
    if key and key in entries:
        info = entries[key]
        return Listing(url, bucket, key, True, (_object(key, PurePosixPath(key).name, info),))
    prefix = f"{key}/" if key else ""
    objects = []
    for object_key, info in sorted(entries.items()):
        if not object_key.startswith(prefix) or object_key.endswith("/"):
            continue  # another key that only starts alike (model2/ for model), or a folder marker
        objects.append(_object(object_key, _relative(url, object_key[len(prefix) :]), info))
    if not objects:
        raise DownloadError(f"{url}: no such object, and no object under that prefix")
    return Listing(url, bucket, key, False, tuple(objects))


def resolve_s3(spec: str, *, cache_dir: Path | None = None, limits: Limits | None = None) -> Resolved:
    """Copy the object(s) of `spec` into `<cache>/s3/<digest of spec>/` and say where they came from."""
    fs = s3_filesystem()
    return copy_listing(list_s3(spec, fs), cache_dir=cache_dir, limits=limits, filesystem=fs)


def copy_listing(
    listing: Listing, *, cache_dir: Path | None = None, limits: Limits | None = None, filesystem: Any = None
) -> Resolved:
    """Copy what `listing` saw, and nothing that replaced it since. Raises DownloadError."""
    from aisbom.sources.http import default_cache_dir

    limits = limits or Limits()
    fs = filesystem or s3_filesystem()
    total = sum(o.size for o in listing.objects)
    if total > limits.max_download_size:
        raise SizeLimitError(
            f"{listing.url} holds {total} bytes, over the download limit of {limits.max_download_size}"
        )
    home = (cache_dir or default_cache_dir()) / "s3" / hashlib.sha256(listing.url.encode()).hexdigest()[:32]
    fresh = home.parent / f".{home.name}.{uuid.uuid4().hex}"
    try:
        files = {o.name: _copy(fs, listing, o, fresh / o.name) for o in listing.objects}
        if home.exists():
            shutil.rmtree(home)
        fresh.rename(home)
    except OSError as exc:
        raise DownloadError(f"{listing.url}: cannot write the cache {home}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    provenance = Provenance(
        source_url=listing.url,
        acquired_at=min((f.acquired_at for f in files.values() if f.acquired_at), default=None),
        acquired_by=ACQUIRED_BY_DOWNLOAD,
        file_urls={
            o.name: _object_url(listing.bucket, o.key, files[o.name].version_id) for o in listing.objects
        },
        files=files,
    )
    return Resolved(home / listing.objects[0].name if listing.single else home, provenance, None)


def s3_filesystem() -> Any:
    """An s3fs filesystem configured from the AWS environment, with aisbom's timeouts."""
    try:
        import s3fs
    except ImportError:
        raise BadSpecError("s3:// targets need s3fs: pip install 'aisbom[s3]'") from None

    timeouts = Timeouts.from_env()
    config = {
        "connect_timeout": timeouts.connect,
        "read_timeout": timeouts.read,
        "retries": {"max_attempts": 3, "mode": "standard"},
    }
    # s3fs retries on top of botocore: once is enough. No listing cache: a listing is a fact
    # about now, and batch workers live long.
    fs = s3fs.S3FileSystem(config_kwargs=config, use_listings_cache=False, skip_instance_cache=True)
    fs.retries = 1
    return fs


def _copy(fs: Any, listing: Listing, obj: S3Object, destination: Path) -> FileSource:
    """Copy one object, reading only the version the listing saw (If-Match on its ETag)."""
    where = f"s3://{listing.bucket}/{obj.key}"
    try:
        head = fs.call_s3("head_object", Bucket=listing.bucket, Key=obj.key, IfMatch=f'"{obj.etag}"')
        acquired = datetime.now(timezone.utc).replace(microsecond=0)
        destination.parent.mkdir(parents=True, exist_ok=True)
        with (
            fs.open(f"{listing.bucket}/{obj.key}", "rb", cache_type="none") as source,
            destination.open("wb") as out,
        ):
            if str(source.details.get("ETag", "")).strip('"') != obj.etag:
                raise _Changed()
            copied = 0
            while chunk := source.read(_CHUNK):
                out.write(chunk)
                copied += len(chunk)
    except OSError as exc:  # local writes, and s3fs's FileExpired / FileNotFoundError / PermissionError
        if (
            isinstance(exc, _Changed)
            or type(exc).__name__ == "FileExpired"
            or "precondition" in str(exc).lower()
        ):
            raise DownloadError(
                f"{where} changed between listing and reading (ETag was {obj.etag}); try again"
            ) from None
        raise _error(where, exc) from None
    except Exception as exc:
        raise _error(where, exc) from None
    if copied != obj.size:
        raise DownloadError(f"{where}: {copied} bytes read, the listing said {obj.size}; try again")
    version = head.get("VersionId")
    modified = head.get("LastModified") or obj.last_modified
    return FileSource(
        etag=obj.etag,
        size=obj.size,
        last_modified=format_datetime(modified.astimezone(timezone.utc), usegmt=True) if modified else None,
        acquired_at=acquired,
        acquired_by=ACQUIRED_BY_DOWNLOAD,
        version_id=version if version and version != "null" else None,
    )


class _Changed(OSError):
    """The object's ETag is no longer the one listed."""


def _object(key: str, name: str, info: dict[str, Any]) -> S3Object:
    return S3Object(
        key, name, int(info.get("size") or 0), str(info.get("ETag", "")).strip('"'), info.get("LastModified")
    )


def _relative(url: str, rest: str) -> str:
    parts = rest.split("/")
    if any(part in ("", ".", "..") for part in parts) or "\\" in rest or "\x00" in rest:
        raise DownloadError(
            f"{url}: the object key {rest!r} cannot be a file name below the prefix; nothing copied"
        )
    return rest


def _object_url(bucket: str, key: str, version: str | None) -> str:
    return f"s3://{bucket}/{key}" + (f"?versionId={version}" if version else "")


def _error(where: str, exc: BaseException) -> DownloadError:
    if isinstance(exc, FileNotFoundError):
        return DownloadError(f"{where}: no such bucket or object")
    if isinstance(exc, PermissionError):
        return DownloadError(f"{where}: access denied ({_first_line(exc)})")
    names = {type(e).__name__ for e in (exc, exc.__cause__, exc.__context__) if e is not None}
    if names & {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
    } or isinstance(exc, ConnectionError):
        return NetworkError(f"{where}: {failure(exc, Timeouts.from_env())}")
    if names & {"NoCredentialsError", "PartialCredentialsError"}:
        return DownloadError(f"{where}: no AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID ...)")
    return DownloadError(f"{where}: {type(exc).__name__}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
