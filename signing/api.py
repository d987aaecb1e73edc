"""Sign a model, verify a model: the flows the CLI commands run.

sign:   walk + hash → OMS statement → signer → bundle file
verify: bundle file → verifier (signature) → statement (checked) → walk + hash → diff
hashes: expected digests from elsewhere (an AI-BOM) → walk + hash → the same diff
bytes:  a single-file signature over bytes already read (a BOM checked before it is parsed)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aisbom.signing import shards
from aisbom.signing.base import Signer, Verifier
from aisbom.signing.bundle import dumps, read_bundle, write_bundle
from aisbom.signing.errors import StatementError, TargetReadError
from aisbom.signing.manifest import (
    DEFAULT_IGNORES,
    Manifest,
    build_manifest,
    hash_bytes,
    hash_files,
    is_ignored,
    model_name,
    normalize_ignore,
    walk,
)
from aisbom.signing.resource_names import SINGLE_FILE_COMPAT_NAME, default_signature_path
from aisbom.signing.statement import decode_statement, encode_statement
from aisbom.signing.verify import ManifestDiff, compare


def _name_inside(target: Path, path: Path) -> str | None:
    """`path` as a resource-style name if it lies inside the directory `target`."""
    root = os.path.realpath(target)
    full = os.path.realpath(path)
    if full == root or os.path.commonpath([root, full]) != root:
        return None
    return Path(os.path.relpath(full, root)).as_posix()


def _check_target(target: Path) -> bool:
    """True for a directory, False for a file; otherwise a clear error."""
    if target.is_dir():
        return True
    if target.is_file():
        return False
    if not os.path.lexists(target):
        raise TargetReadError("no such file or directory", path=str(target))
    raise TargetReadError("target is neither a regular file nor a directory", path=str(target))


def _user_ignores(target: Path, is_dir: bool, ignore: Iterable[str]) -> list[str]:
    ignore = list(ignore)
    if ignore and not is_dir:
        raise TargetReadError("--ignore applies only to a directory target", path=str(target))
    return [normalize_ignore(p, target=target) for p in ignore]


@dataclass(frozen=True)
class SignResult:
    manifest: Manifest
    signature: Path


def sign_model(
    target: Path,
    signer: Signer,
    *,
    signature: Path | None = None,
    ignore: Iterable[str] = (),
    allow_symlinks: bool = False,
    single_file_dot_name: bool = False,
    ignore_git_paths: bool = True,
    shard_size: int | None = None,
    check: Callable[[Manifest], None] | None = None,
    hash_type: str = "sha256",
    known: Mapping[str, str] | None = None,
) -> SignResult:
    """Hash `target`, sign its OMS statement, write the bundle to `signature`.

    `single_file_dot_name`: name a single-file model's resource "." (what model_signing
    1.1.1 writes and requires) instead of its basename (what OMS v1.0 specifies).
    `ignore_git_paths`: leave out .git, .gitattributes, .github and .gitignore (the default).
    `shard_size`: sign byte ranges of that many bytes instead of whole files (OMS `shards`).
    `hash_type`: each file's (or shard's) digest, sha256, blake2b or blake3 (OMS allows all three).
    `known`: digests of `hash_type` by name that were already taken (a scan's), not taken again.
    A model with nothing to sign (no file after the exclusions; for shards, no non-empty file)
    is refused: OMS v1.0 §6.1 requires at least one, and such a signature vouches for nothing.
    `check(manifest)` runs before anything is signed, and may raise to stop it.
    """
    target = Path(target)
    is_dir = _check_target(target)
    signature = Path(signature) if signature is not None else default_signature_path(target)
    ignores = _user_ignores(target, is_dir, ignore)
    if is_dir and (inside := _name_inside(target, signature)) is not None:
        ignores.append(inside)
    manifest = build_manifest(
        target,
        ignore_paths=ignores,
        allow_symlinks=allow_symlinks,
        single_file_name=SINGLE_FILE_COMPAT_NAME if single_file_dot_name else None,
        ignore_git_paths=ignore_git_paths,
        shard_size=shard_size,
        hash_type=hash_type,
        known=known,
    )
    if not manifest.resources:
        what = "no non-empty file" if shard_size is not None else "no file"
        raise TargetReadError(f"nothing to sign: the model has {what} after the exclusions", path=str(target))
    if check is not None:
        check(manifest)
    bundle = signer.sign(encode_statement(manifest))
    write_bundle(signature, dumps(bundle))
    return SignResult(manifest, signature)


@dataclass(frozen=True)
class VerifyResult:
    diff: ManifestDiff
    signer: str
    expected: Manifest
    # The digests computed (of `expected.hash_type`), by name: a second check of the same files
    # against another list (an AI-BOM) reuses them instead of reading every byte again.
    actual: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.diff.ok


def verification_ignores(
    expected: Manifest,
    *,
    user: Iterable[str] = (),
    signature_name: str | None = None,
    ignore_git_paths: bool = True,
) -> list[str]:
    """Paths left out of the comparison.

    The signature file and the user's `--ignore` paths always; the default exclusions (unless
    not `ignore_git_paths`) and the ones the signature records only where they do not cover a
    file the signature lists (a file that was signed is always checked).
    """
    ignores = set(user)
    if signature_name is not None:
        ignores.add(signature_name)
    signed = expected.file_names()
    for p in (set(DEFAULT_IGNORES) if ignore_git_paths else set()) | set(expected.ignore_paths):
        if not any(is_ignored(name, [p]) for name in signed):
            ignores.add(p)
    return sorted(ignores)


def verify_model(
    target: Path,
    verifier: Verifier,
    *,
    signature: Path | None = None,
    ignore: Iterable[str] = (),
    ignore_unsigned: bool = False,
    ignore_git_paths: bool = True,
) -> VerifyResult:
    """Check the signature, then compare every file of `target` with what it signs.

    `ignore_unsigned`: files the signature does not list are tolerated (and listed as unsigned
    in the result) rather than failing as extra; every listed file is still checked.
    """
    target = Path(target)
    is_dir = _check_target(target)
    signature = Path(signature) if signature is not None else default_signature_path(target)
    user_ignores = _user_ignores(target, is_dir, ignore)

    verified = verifier.verify(read_bundle(signature))
    expected = decode_statement(verified.payload)
    resources = _named_resources(expected, target.name)
    if expected.single_file and is_dir:
        raise StatementError("the signature is for a single file, but the target is a directory")

    if is_dir:
        sig_name = _name_inside(target, signature)
        ignores = verification_ignores(
            expected, user=user_ignores, signature_name=sig_name, ignore_git_paths=ignore_git_paths
        )
    else:
        ignores = []
    if expected.shard_size is not None:
        diff = _compare_shards(target, resources, expected, ignores, ignore_unsigned)
        return VerifyResult(diff=diff, signer=verified.signer, expected=expected)
    diff, actual = _compare_files(
        target,
        resources,
        expected.hash_type,
        ignores,
        expected.allow_symlinks,
        ignore_unsigned=ignore_unsigned,
    )
    return VerifyResult(diff=diff, signer=verified.signer, expected=expected, actual=actual)


def verify_hashes(
    target: Path,
    resources: Mapping[str, str],
    *,
    hash_type: str = "sha256",
    ignore: Iterable[str] = (),
    leave_out: Iterable[Path | None] = (),
    allow_symlinks: bool = False,
    known: Mapping[str, str] | None = None,
    ignore_unsigned: bool = False,
) -> ManifestDiff:
    """Compare the files of `target` with `resources` (name → hex digest) that come from
    somewhere other than a signature, such as an AI-BOM: the walk, exclusions and diff of
    `verify_model`.

    `leave_out`: files (the BOM itself, signatures) that are not part of the model when they
    lie inside a directory target, unless `resources` lists them. The default exclusions
    (`.git` …) apply only where they cover no listed file. `known`: digests of `hash_type`
    already computed in this run (by `verify_model`), by name; those files are not read again.
    """
    target = Path(target)
    is_dir = _check_target(target)
    user_ignores = _user_ignores(target, is_dir, ignore)
    ignores: list[str] = []
    if is_dir:
        not_model = [
            name
            for path in leave_out
            if path is not None
            and (name := _name_inside(target, Path(path))) is not None
            and name not in resources
        ]
        listed = Manifest(model_name(target), dict(resources), hash_type, allow_symlinks)
        ignores = verification_ignores(listed, user=[*user_ignores, *not_model])
    diff, _ = _compare_files(
        target, resources, hash_type, ignores, allow_symlinks, known, ignore_unsigned=ignore_unsigned
    )
    return diff


def verify_bytes(data: bytes, name: str, verifier: Verifier, signature: Path) -> VerifyResult:
    """Check a single-file signature over `data`, the content of a file named `name` that the
    caller has already read: what is verified is exactly what the caller goes on to use."""
    verified = verifier.verify(read_bundle(Path(signature)))
    expected = decode_statement(verified.payload)
    resources = _named_resources(expected, name)
    if expected.shard_size is not None:  # the same byte ranges, cut from the bytes in hand
        actual = {
            f"{name}:{start}:{end}": hash_bytes(data[start:end], expected.hash_type)
            for start, end in shards.ranges(len(data), expected.shard_size)
        }
        present = set(actual)
    else:
        actual = {name: hash_bytes(data, expected.hash_type)}
        present = {name}
    diff = compare(resources, actual, present, expected.hash_type)
    return VerifyResult(diff=diff, signer=verified.signer, expected=expected, actual=actual)


def _named_resources(expected: Manifest, file_name: str) -> dict[str, str]:
    """The signed resources; model_signing 1.1.1's "." for a single file becomes its name."""
    resources = dict(expected.resources)
    if expected.single_file and expected.shard_size is not None:
        dot = SINGLE_FILE_COMPAT_NAME + ":"
        return {file_name + ":" + name.removeprefix(dot): digest for name, digest in resources.items()}
    if expected.single_file:
        resources = {file_name: resources.pop(SINGLE_FILE_COMPAT_NAME)}
    return resources


def _compare_files(
    target: Path,
    resources: Mapping[str, str],
    hash_type: str,
    ignores: list[str],
    allow_symlinks: bool,
    known: Mapping[str, str] | None = None,
    *,
    ignore_unsigned: bool = False,
) -> tuple[ManifestDiff, dict[str, str]]:
    fileset = walk(target, ignores=ignores, allow_symlinks=allow_symlinks)
    to_hash = {name: path for name, path in fileset.files.items() if name in resources}
    actual = {name: digest for name, digest in (known or {}).items() if name in to_hash}
    pending = {name: path for name, path in to_hash.items() if name not in actual}
    actual.update(hash_files(pending, hash_type, follow_symlinks=allow_symlinks))
    diff = compare(dict(resources), actual, set(fileset.files), hash_type, ignore_unsigned=ignore_unsigned)
    return diff, actual


def _compare_shards(
    target: Path, resources: Mapping[str, str], expected: Manifest, ignores: list[str], ignore_unsigned: bool
) -> ManifestDiff:
    assert expected.shard_size is not None
    layout = shards.file_layout(resources, expected.shard_size)
    fileset = walk(target, ignores=ignores, allow_symlinks=expected.allow_symlinks)
    return shards.compare_shards(
        layout,
        fileset.files,
        expected.hash_type,
        follow_symlinks=expected.allow_symlinks,
        ignore_unsigned=ignore_unsigned,
    )
