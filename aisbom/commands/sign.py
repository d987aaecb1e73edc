"""`aisbom sign TARGET`: write an OMS v1.0 signature (a Sigstore bundle) for a model."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from aisbom.commands._scanning import source_options
from aisbom.commands._signers import SIGN_OPTIONS, SigningMethod
from aisbom.errors import AisbomError
from aisbom.severity import ExitCode
from aisbom.terminal_text import shown
from aisbom.wording import counted

if TYPE_CHECKING:
    from aisbom.signing.manifest import Manifest
    from aisbom.sources import Resolved

_PATH = click.Path(dir_okay=False, path_type=Path)


EXAMPLES = """\b
Examples:
  aisbom sign ./model --key release.pem     # writes ./model/model.sig
  aisbom sign ./model --sigstore            # keyless, in CI with an OIDC token
  aisbom sign model.safetensors --key release.pem --certificate leaf.pem --chain ca.pem
"""


@click.command(epilog=EXAMPLES)
@click.argument("target")
@click.option(
    "--signature",
    type=_PATH,
    help="Where to write the signature. Default: TARGET/model.sig for a directory, TARGET.sig for a file "
    "(a remote TARGET needs --signature: its files are in a download cache).",
)
@click.option("--key", "key", type=_PATH, help="ECDSA private key (PEM, P-256/384/521).")
@click.option(
    "--password-file",
    type=_PATH,
    help="File whose first line is the --key password (or the PIN of a --pkcs11-uri token). "
    "Default: $AISBOM_KEY_PASSWORD, then a prompt on a terminal.",
)
@click.option(
    "--pkcs11-uri",
    metavar="URI",
    help="Sign with a key on a hardware token or HSM: pkcs11:token=…;object=…?module-path=… "
    "(RFC 7512; PIN from pin-value/pin-source, --password-file or $AISBOM_KEY_PASSWORD).",
)
@click.option(
    "--kms",
    metavar="URI",
    help="Sign with a cloud KMS key: awskms:///KEY-ID-ARN-OR-ALIAS (ECC_NIST_P256/384/521, "
    "SIGN_VERIFY; AWS credentials and region as for the AWS CLI).",
)
@click.option(
    "--certificate",
    type=_PATH,
    help="Signing certificate (PEM) for --key; the bundle then carries the certificate chain.",
)
@click.option(
    "--chain",
    multiple=True,
    type=_PATH,
    help="Certificates above --certificate, up to the root (PEM). Repeatable.",
)
@click.option("--sigstore", is_flag=True, help="Keyless signing with Sigstore (needs network).")
@click.option("--staging", is_flag=True, help="With --sigstore: Sigstore's staging instance (for tests).")
@click.option(
    "--identity-token",
    metavar="TOKEN",
    help="OIDC identity token for --sigstore. Default: $SIGSTORE_IDENTITY_TOKEN, then ambient "
    "CI credentials, then a browser sign-in on a terminal.",
)
@click.option(
    "--trust-config",
    type=_PATH,
    help="Sigstore client trust configuration for --sigstore (default: public-good instance).",
)
@click.option(
    "--ignore",
    "ignore",
    multiple=True,
    metavar="PATH",
    help="Leave PATH (relative to TARGET) out of the signature; recorded in it. Repeatable.",
)
@click.option(
    "--ignore-git-paths/--no-ignore-git-paths",
    default=True,
    show_default=True,
    help="Leave .git, .gitattributes, .github and .gitignore (at the top of TARGET) out.",
)
@click.option(
    "--shard-size",
    type=click.IntRange(min=1),
    metavar="BYTES",
    help="Sign each file in byte ranges of this size (OMS 'shards' serialization, as "
    "model_signing's shard serialization) instead of whole files.",
)
@click.option(
    "--hash",
    "hash_type",
    type=click.Choice(["sha256", "blake2b", "blake3"]),
    default="sha256",
    show_default=True,
    help="Digest of each file (OMS allows all three; model_signing verifies each). blake3 is the "
    "fastest on many cores and needs the blake3 package (pip install 'aisbom[blake3]').",
)
@click.option(
    "--allow-symlinks",
    is_flag=True,
    help="Follow symlinks that stay inside TARGET (ones that leave it are always refused).",
)
@click.option(
    "--single-file-dot-name",
    is_flag=True,
    help='Name a single-file model "." in the signature, as model_signing <= 1.1.1 requires, '
    "instead of by its file name as OMS v1.0 specifies.",
)
@source_options
def sign(
    target: str,
    signature: Path | None,
    key: Path | None,
    password_file: Path | None,
    pkcs11_uri: str | None,
    kms: str | None,
    certificate: Path | None,
    chain: tuple[Path, ...],
    sigstore: bool,
    staging: bool,
    identity_token: str | None,
    trust_config: Path | None,
    ignore: tuple[str, ...],
    ignore_git_paths: bool,
    shard_size: int | None,
    hash_type: str,
    allow_symlinks: bool,
    single_file_dot_name: bool,
    sha256: str | None,
    allow_http: bool,
    cache_dir: Path | None,
) -> None:
    """Sign a model file or directory (OpenSSF model_signing compatible).

    Every file is hashed (SHA-256, or --hash blake2b|blake3) into an in-toto statement (predicate
    https://model_signing/signature/v1.0), signed as DSSE and written as a Sigstore bundle.
    Choose one key: --key PRIV.pem, --pkcs11-uri URI (a hardware token or HSM) or --kms URI (a
    cloud KMS), each verified with its public key, or with --certificate LEAF.pem --chain CA.pem
    by the CA; or --sigstore (keyless). Default exclusions: .git, .gitattributes, .github,
    .gitignore and the signature file. A model with nothing to sign is refused. An AI-BOM signs
    like any single-file model (`aisbom bom --sign-key …` does it as it writes one). Exit status:
    0 signed, 2 usage or I/O error (nothing is written).

    TARGET may also be hf://ORG/NAME[@REV] or an https:// URL (fetched as `aisbom scan` fetches
    it; give --signature). A Hugging Face cache snapshot, fetched or named by its path, is
    signed as its files: its links into the repository's blobs/ are followed, each file named
    by its path in the snapshot, so the signature verifies on a plain copy of the same files.
    """
    method = SigningMethod(
        key=key,
        certificate=certificate,
        chain=chain,
        sigstore=sigstore,
        identity_token=identity_token,
        trust_config=trust_config,
        pkcs11_uri=pkcs11_uri,
        kms=kms,
        password_file=password_file,
        staging=staging,
    )
    method.check(SIGN_OPTIONS)

    from aisbom.commands._scanning import resolve_target
    from aisbom.signing.api import sign_model

    try:
        signer = method.signer()  # first: a bad or locked key fails before any download
        resolved = resolve_target(target, sha256, allow_http, cache_dir, progress=None)
        if resolved.provenance is not None and signature is None:
            raise click.UsageError(f"{target} is remote: give --signature FILE (its files are in a cache)")
        result = sign_model(
            resolved.path,
            signer,
            signature=signature,
            ignore=ignore,
            allow_symlinks=allow_symlinks,
            single_file_dot_name=single_file_dot_name,
            ignore_git_paths=ignore_git_paths,
            shard_size=shard_size,
            check=_as_published(resolved),
            hash_type=hash_type,
        )
    except click.UsageError:
        raise
    except AisbomError as exc:
        click.echo(shown(f"aisbom: error: {exc}"), err=True)
        sys.exit(ExitCode.ERROR)
    except Exception as exc:  # never a traceback: one line, exit 2
        click.echo(shown(f"aisbom: error: signing failed: {type(exc).__name__}: {exc}"), err=True)
        sys.exit(ExitCode.ERROR)
    count = len(result.manifest.file_names())
    shards = f" ({counted(len(result.manifest.resources), 'shard')})" if result.manifest.shard_size else ""
    named = target if resolved.provenance else str(resolved.path)
    click.echo(shown(f"Signed {counted(count, 'file')}{shards} of {named}: {result.signature}"))
    sys.exit(ExitCode.CLEAN)


def _as_published(resolved: Resolved) -> Callable[[Manifest], None] | None:
    """For a fetched target: what is signed must be what the source published (the Hub's LFS
    sha256, --sha256), checked before anything is signed."""
    provenance = resolved.provenance
    if provenance is None:
        return None

    def check(manifest: Manifest) -> None:
        from aisbom.sources import check_scanned_hashes

        if manifest.shard_size is not None or manifest.hash_type != "sha256":
            hashes = _whole_file_hashes(resolved.path, manifest)
        else:
            hashes = dict(manifest.resources)
        if manifest.single_file:  # its one resource may be named "." (--single-file-dot-name)
            (digest,) = hashes.values()
            hashes = {resolved.path.name: digest}
        check_scanned_hashes(provenance, hashes)

    return check


def _whole_file_hashes(root: Path, manifest: Manifest) -> dict[str, str]:
    """A shard signature, or one of BLAKE digests, holds no file's SHA-256, which is what a source
    publishes: hash each signed file whole (a second read, for fetched targets signed so only)."""
    from aisbom.signing.manifest import hash_file

    if manifest.single_file:
        return {root.name: hash_file(root, follow_symlinks=True)}
    return {name: hash_file(root / name, follow_symlinks=True) for name in manifest.file_names()}
