"""What proves that the bytes of a partial download are the ones this user received.

A broken transfer keeps `.download.part` and `.download.json` in the cache to be resumed. The
cache can be written by others (a shared cache, one restored in CI), and a part file with any
bytes plus the server's real ETag would make the next run fetch only the rest and record the
whole file as downloaded. So the state file carries a proof: an HMAC, under a key that never
leaves this user's state directory (not the cache), of the URL, the validators, the number of
bytes and their SHA-256. A part is resumed only when the proof holds for exactly its first
`size` bytes (anything after them is cut off); otherwise it is downloaded again. A cache
restored on another machine, or written by another user, is never resumed from: its key is not
this one.

The key is 32 random bytes in `<user state dir>/aisbom/resume.key` (mode 0600), made on first
use. Where it cannot be kept (a read-only home), nothing is resumed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aisbom.hashing as hashing

_KEY_SIZE = 32
_DOMAIN = b"aisbom partial download v1\0"


@dataclass(frozen=True)
class Validators:
    """What the server said of the file a part belongs to."""

    url: str
    etag: str | None
    last_modified: str | None


def key_path() -> Path:
    explicit = os.environ.get("AISBOM_STATE")
    if explicit:
        return Path(explicit).expanduser() / "resume.key"
    from platformdirs import user_state_dir

    return Path(user_state_dir("aisbom", appauthor=False)) / "resume.key"


def resume_key() -> bytes | None:
    """This user's key, made if there is none; None if it cannot be read or made safely."""
    path = key_path()
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:  # another process made it meanwhile
        try:
            return _read_key(path)
        except OSError:
            return None
    except OSError:
        return None
    key = secrets.token_bytes(_KEY_SIZE)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def _read_key(path: Path) -> bytes:
    """The key, if it is a regular file of the right size that only this user can read."""
    with hashing.open_regular(path) as handle:
        info = os.fstat(handle.fileno())
        key = handle.read(_KEY_SIZE + 1)
    private = not (info.st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    if len(key) != _KEY_SIZE or not private or info.st_uid != getattr(os, "getuid", lambda: info.st_uid)():
        raise PermissionError(f"{path} is not a private key file of {_KEY_SIZE} bytes")
    return key


def proof(key: bytes, validators: Validators, size: int, sha256_hex: str) -> str:
    message = json.dumps(
        [validators.url, validators.etag, validators.last_modified, size, sha256_hex], ensure_ascii=True
    ).encode()
    return hmac.new(key, _DOMAIN + message, hashlib.sha256).hexdigest()


def state_json(key: bytes | None, validators: Validators, size: int, digest: Any) -> dict[str, Any]:
    """What `.download.json` holds: the validators, and (with a key) the proof of `size` bytes
    whose running SHA-256 is `digest` (a hashlib object; not consumed)."""
    state: dict[str, Any] = {
        "url": validators.url,
        "etag": validators.etag,
        "last_modified": validators.last_modified,
    }
    if key is not None and size > 0:
        state["size"] = size
        state["proof"] = proof(key, validators, size, digest.copy().hexdigest())
    return state


@dataclass(frozen=True)
class ProvenPart:
    validators: Validators
    size: int  # the bytes of the part the proof covers (the part is cut to this length)
    digest: Any  # the running SHA-256 of those bytes, to go on with


def proven_part(part: Path, state: dict[str, Any] | None, key: bytes | None) -> tuple[ProvenPart | None, str]:
    """The part's first bytes, if the state's proof holds for them under `key`; else None and
    why (empty when there was no part to resume)."""
    if state is None or not part.exists():
        return None, ""
    size, claimed = state.get("size"), state.get("proof")
    if key is None:
        return None, "no key to check it with"
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0 or not isinstance(claimed, str):
        return None, "it carries no proof of its bytes"
    validators = Validators(
        str(state.get("url")), _text(state.get("etag")), _text(state.get("last_modified"))
    )
    digest = hashing.new_hasher("sha256")
    try:
        with hashing.open_regular(part) as handle:
            read = hashing.update_from_range(digest, handle, 0, size)
    except OSError as exc:
        return None, f"it cannot be read ({exc.strerror or exc})"
    if read != size:
        return None, f"it holds {read} bytes, fewer than the {size} its proof covers"
    if not hmac.compare_digest(proof(key, validators, size, digest.copy().hexdigest()), claimed):
        return None, "its bytes are not the ones this user received (or it was made with another key)"
    return ProvenPart(validators, size, digest), ""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
