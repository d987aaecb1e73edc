"""Manifest ↔ OMS in-toto statement (the DSSE payload).

Encoding is deterministic: fixed key order, resources sorted by name, compact separators,
ASCII-only JSON; the same manifest always gives the same bytes. Decoding happens only after
the signature over those bytes has been verified, and trusts nothing it has not checked.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from typing import Any

import aisbom.hashing as hashing
from aisbom.signing.errors import StatementError
from aisbom.signing.manifest import Manifest
from aisbom.signing.resource_names import SINGLE_FILE_COMPAT_NAME, check_resource_name

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"

_HEX = re.compile(r"[0-9a-f]+")


def root_digest(digests_hex: list[str]) -> str:
    """The subject digest: SHA-256 over the raw resource digests, in the order listed."""
    h = hashlib.sha256()
    for d in digests_hex:
        h.update(bytes.fromhex(d))
    return h.hexdigest()


def encode_statement(manifest: Manifest) -> bytes:
    """The in-toto statement bytes to sign for `manifest`."""
    algorithm = manifest.hash_type
    if manifest.shard_size is not None:
        from aisbom.signing.shards import shard_algorithm

        algorithm = shard_algorithm(manifest.hash_type, manifest.shard_size)
    resources = [
        {"name": name, "algorithm": algorithm, "digest": digest}
        for name, digest in manifest.sorted_resources()
    ]
    serialization: dict[str, Any] = {"method": "files", "hash_type": manifest.hash_type}
    if manifest.shard_size is not None:
        serialization.update(method="shards", shard_size=manifest.shard_size)
    serialization["allow_symlinks"] = manifest.allow_symlinks
    if manifest.ignore_paths:
        serialization["ignore_paths"] = sorted(manifest.ignore_paths)
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {
                "name": manifest.model_name,
                "digest": {"sha256": root_digest([r["digest"] for r in resources])},
            }
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"resources": resources, "serialization": serialization},
    }
    return json.dumps(statement, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _check_ignore_path(path: object) -> str | None:
    """A recorded exclusion; ones that cannot name anything inside the model are dropped."""
    if not isinstance(path, str) or not path:
        raise StatementError(f"ignore path {path!r} is not a non-empty string")
    norm = posixpath.normpath(path.replace("\\", "/"))
    if norm in (".", ""):
        raise StatementError("the signature ignores the whole model (ignore path '.')")
    if norm.startswith("/") or norm == ".." or norm.startswith("../"):
        return None  # model_signing drops these too: they cannot exclude a file of the model
    return norm


def decode_statement(payload: bytes) -> Manifest:
    """Parse and check a verified DSSE payload; return the manifest it signs.

    Raises `StatementError` for anything that is not an acceptable OMS v1.0 `files` statement.
    """
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise StatementError(f"signed payload is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise StatementError("signed payload is not a JSON object")
    if doc.get("_type") != STATEMENT_TYPE:
        raise StatementError(f"not an in-toto Statement v1 (_type {doc.get('_type')!r})")
    # (imported here: it needs cryptography, which a BOM's root digest does not)
    from aisbom.signing.compat_v0_2 import PREDICATE_TYPE_V0_1, decode_digests_v0_1

    if doc.get("predicateType") == PREDICATE_TYPE_V0_1:
        return decode_digests_v0_1(doc)
    if doc.get("predicateType") != PREDICATE_TYPE:
        raise StatementError(
            f"unsupported predicate type {doc.get('predicateType')!r} (expected {PREDICATE_TYPE})"
        )

    subjects = doc.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise StatementError("statement must have exactly one subject")
    subject = subjects[0]
    subject_name = subject.get("name")
    digest_set = subject.get("digest")
    subject_digest = digest_set.get("sha256") if isinstance(digest_set, dict) else None
    if not isinstance(subject_digest, str):
        raise StatementError("subject has no sha256 digest")

    predicate = doc.get("predicate")
    if not isinstance(predicate, dict):
        raise StatementError("statement has no predicate object")
    serialization = predicate.get("serialization")
    if not isinstance(serialization, dict):
        raise StatementError("predicate has no serialization object")
    method = serialization.get("method")
    if method not in ("files", "shards"):
        raise StatementError(f"serialization method {method!r} is not supported (only 'files' and 'shards')")
    shard_size = _shard_size(serialization)
    hash_type = serialization.get("hash_type")
    if hash_type not in hashing.algorithms():
        raise StatementError(f"hash type {hash_type!r} is not supported")
    allow_symlinks = serialization.get("allow_symlinks")
    if not isinstance(allow_symlinks, bool):
        raise StatementError("serialization.allow_symlinks is not a boolean")
    raw_ignores = serialization.get("ignore_paths", [])
    if not isinstance(raw_ignores, list):
        raise StatementError("serialization.ignore_paths is not a list")
    ignores = sorted({p for p in map(_check_ignore_path, raw_ignores) if p is not None})

    raw_resources = predicate.get("resources")
    if not isinstance(raw_resources, list):
        raise StatementError("predicate has no resources list")
    expected_len = hashing.hex_length(hash_type)
    algorithms = {hash_type}
    if shard_size is not None:
        from aisbom.signing.shards import shard_algorithm

        algorithms.add(shard_algorithm(hash_type, shard_size))
    resources: dict[str, str] = {}
    listed: list[str] = []
    single_file = False
    for res in raw_resources:
        if not isinstance(res, dict):
            raise StatementError("a resource is not an object")
        raw_name = res.get("name")
        if shard_size is not None:
            name, is_dot = _checked_shard_name(raw_name)
            single_file = single_file or is_dot
        elif raw_name == SINGLE_FILE_COMPAT_NAME and len(raw_resources) == 1:
            name = SINGLE_FILE_COMPAT_NAME  # model_signing 1.1.1's name for a single-file model
            single_file = True
        else:
            name = check_resource_name(raw_name)
        algorithm, digest = res.get("algorithm"), res.get("digest")
        if algorithm not in algorithms:
            raise StatementError(f"resource {name!r} uses {algorithm!r}, not {hash_type!r}")
        if not isinstance(digest, str) or not _HEX.fullmatch(digest) or len(digest) != expected_len:
            raise StatementError(f"resource {name!r} has a malformed {hash_type} digest")
        if name in resources:
            raise StatementError(f"resource {name!r} is listed twice")
        resources[name] = digest
        listed.append(digest)

    if root_digest(listed) != subject_digest:
        raise StatementError("subject digest does not match the listed resources")
    if shard_size is not None:
        from aisbom.signing.shards import file_layout

        paths = file_layout(resources, shard_size)  # refuses overlaps, gaps, odd shard lengths
        if single_file and set(paths) != {SINGLE_FILE_COMPAT_NAME}:
            raise StatementError("a shard signature names '.' beside other files")

    return Manifest(
        model_name=subject_name if isinstance(subject_name, str) else "",
        resources=resources,
        hash_type=hash_type,
        allow_symlinks=allow_symlinks,
        ignore_paths=tuple(ignores),
        single_file=single_file,
        shard_size=shard_size,
    )


def _shard_size(serialization: dict[str, Any]) -> int | None:
    """The shard size of a `shards` statement; None for `files`, which must not give one."""
    from aisbom.signing.shards import shard_size_from_json

    size = serialization.get("shard_size")
    if serialization["method"] == "files":
        if size is not None:
            raise StatementError("serialization.shard_size is given for the 'files' method")
        return None
    checked = shard_size_from_json(size)
    if checked is None:
        raise StatementError(f"a 'shards' statement needs a positive integer shard_size, not {size!r}")
    return checked


def _checked_shard_name(raw_name: object) -> tuple[str, bool]:
    """A shard resource name, its path checked like a file's ("." for a single file, as
    model_signing 1.1.1 names it); and whether the path is that "."."""
    from aisbom.signing.shards import parse_shard_name

    shard = parse_shard_name(raw_name)
    if shard.path == SINGLE_FILE_COMPAT_NAME:
        return shard.name, True
    check_resource_name(shard.path)
    return shard.name, False
