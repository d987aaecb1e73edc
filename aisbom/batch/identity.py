"""Which revision of a target is there now, said cheaply, so that a rerun can skip what it already
scanned. Each identity is a short string, compared for equality only:

- a local path: `stat:` and a digest of every file's relative path, size and modification time
  (what make and rsync trust; `--rescan` when content may change under an unchanged mtime);
- hf://ORG/NAME@COMMIT (a full 40-hex commit): the commit; after resolving, the commit the
  branch or tag resolved to;
- an https:// URL: after downloading, the SHA-256 pinned by --sha256/#sha256=, else its ETag;
- s3://: the ETag of the object, or a digest of every name and ETag under the prefix: one
  LIST request (aisbom.sources.s3).

None means "not known without resolving": the job then resolves first and compares after.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from aisbom.sources import Resolved
from aisbom.sources.s3 import etag_identity, list_s3

_COMMIT = re.compile(r"@([0-9a-f]{40})$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def identity_before(target: str) -> str | None:
    """The target's identity without downloading anything (None when that needs the source)."""
    if _SCHEME.match(target) is None:
        return local_identity(Path(target))
    if target.lower().startswith("s3://"):
        return list_s3(target).identity
    if target.lower().startswith("hf://"):
        pinned = _COMMIT.search(target)
        return pinned.group(1) if pinned else None
    return None


def identity_after(target: str, resolved: Resolved) -> str | None:
    """The identity of what `resolve` made local."""
    prov = resolved.provenance
    if prov is None:
        return local_identity(resolved.path)
    if prov.revision:
        return prov.revision
    if prov.source_url.startswith("s3://"):
        pairs = [(name, source.etag or "") for name, source in prov.files.items()]
        return etag_identity(pairs, single=resolved.path.is_file())
    if len(prov.upstream_sha256) == 1:
        return "sha256:" + next(iter(prov.upstream_sha256.values()))
    etags = sorted((name, source.etag) for name, source in prov.files.items() if source.etag)
    if len(etags) == 1 and len(prov.files) == 1:
        return "etag:" + etags[0][1]
    return None


def local_identity(path: Path) -> str | None:
    """Digest of (relative path, size, mtime) of every file under `path`; None if it cannot be read."""
    try:
        top = os.lstat(path)
    except OSError:
        return None
    digest = hashlib.sha256()
    if not os.path.isdir(path):
        digest.update(f"{top.st_size}\0{top.st_mtime_ns}\0{top.st_mode}".encode())
        return "stat:" + digest.hexdigest()[:32]
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            rel = os.path.relpath(full, path)
            digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_mode}\n".encode("utf-8", "replace"))
    return "stat:" + digest.hexdigest()[:32]
