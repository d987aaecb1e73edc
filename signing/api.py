"""Sign a model, verify a model: the two flows the CLI commands run.

sign:   walk + hash → OMS statement → signer → bundle file
verify: bundle file → verifier (signature) → statement (checked) → walk + hash → diff
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aisbom.signing.base import Signer, Verifier
from aisbom.signing.bundle import dumps, read_bundle, write_bundle
from aisbom.signing.errors import StatementError, TargetReadError
from aisbom.signing.manifest import (
    DEFAULT_IGNORES,
    Manifest,
    build_manifest,
    hash_files,
    is_ignored,
    normalize_ignore,
    walk,
)
from aisbom.signing.statement import SINGLE_FILE_COMPAT_NAME, decode_statement, encode_statement
from aisbom.signing.verify import ManifestDiff, compare

DEFAULT_SIGNATURE_NAME = "model.sig"


def default_signature_path(target: Path) -> Path:
    """`TARGET/model.sig` for a directory (model_signing's name), `TARGET.sig` for a file."""
    target = Path(target)
    if target.is_dir():
        return target / DEFAULT_SIGNATURE_NAME
    return target.with_name(target.name + ".sig")


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
) -> SignResult:
    """Hash `target`, sign its OMS statement, write the bundle to `signature`.

    `single_file_dot_name`: name a single-file model's resource "." (what model_signing
    1.1.1 writes and requires) instead of its basename (what OMS v1.0 specifies).
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
    )
    bundle = signer.sign(encode_statement(manifest))
    write_bundle(signature, dumps(bundle))
    return SignResult(manifest, signature)


@dataclass(frozen=True)
class VerifyResult:
    diff: ManifestDiff
    signer: str
    expected: Manifest

    @property
    def ok(self) -> bool:
        return self.diff.ok


def verification_ignores(
    expected: Manifest, *, user: Iterable[str] = (), signature_name: str | None = None
) -> list[str]:
    """Paths left out of the comparison.

    The signature file and the user's `--ignore` paths always; the default exclusions and the
    ones the signature records only where they do not cover a file the signature lists (a file
    that was signed is always checked).
    """
    ignores = set(user)
    if signature_name is not None:
        ignores.add(signature_name)
    for p in set(DEFAULT_IGNORES) | set(expected.ignore_paths):
        if not any(is_ignored(name, [p]) for name in expected.resources):
            ignores.add(p)
    return sorted(ignores)


def verify_model(
    target: Path,
    verifier: Verifier,
    *,
    signature: Path | None = None,
    ignore: Iterable[str] = (),
) -> VerifyResult:
    """Check the signature, then compare every file of `target` with what it signs."""
    target = Path(target)
    is_dir = _check_target(target)
    signature = Path(signature) if signature is not None else default_signature_path(target)
    user_ignores = _user_ignores(target, is_dir, ignore)

    verified = verifier.verify(read_bundle(signature))
    expected = decode_statement(verified.payload)

    resources = dict(expected.resources)
    if expected.single_file:
        if is_dir:
            raise StatementError("the signature is for a single file, but the target is a directory")
        resources = {target.name: resources.pop(SINGLE_FILE_COMPAT_NAME)}

    if is_dir:
        sig_name = _name_inside(target, signature)
        ignores = verification_ignores(expected, user=user_ignores, signature_name=sig_name)
    else:
        ignores = []
    fileset = walk(target, ignores=ignores, allow_symlinks=expected.allow_symlinks)
    to_hash = {name: path for name, path in fileset.files.items() if name in resources}
    actual = hash_files(to_hash, expected.hash_type, follow_symlinks=expected.allow_symlinks)
    diff = compare(resources, actual, set(fileset.files), expected.hash_type)
    return VerifyResult(diff=diff, signer=verified.signer, expected=expected)
