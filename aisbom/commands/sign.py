"""`aisbom sign TARGET`: write an OMS v1.0 signature (a Sigstore bundle) for a model."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aisbom.commands._signers import SIGN_OPTIONS, SigningMethod
from aisbom.errors import AisbomError
from aisbom.severity import ExitCode

_PATH = click.Path(dir_okay=False, path_type=Path)


@click.command()
@click.argument("target", type=click.Path(path_type=Path))
@click.option(
    "--signature",
    type=_PATH,
    help="Where to write the signature. Default: TARGET/model.sig for a directory, TARGET.sig for a file.",
)
@click.option("--key", "key", type=_PATH, help="ECDSA private key (PEM, P-256/384/521).")
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
def sign(
    target: Path,
    signature: Path | None,
    key: Path | None,
    certificate: Path | None,
    chain: tuple[Path, ...],
    sigstore: bool,
    identity_token: str | None,
    trust_config: Path | None,
    ignore: tuple[str, ...],
    allow_symlinks: bool,
    single_file_dot_name: bool,
) -> None:
    """Sign a model file or directory (OpenSSF model_signing compatible).

    Every file is hashed (SHA-256) into an in-toto statement (predicate
    https://model_signing/signature/v1.0), signed as DSSE and written as a Sigstore bundle.
    Choose one method: --key PRIV.pem, --certificate LEAF.pem --chain CA.pem --key PRIV.pem,
    or --sigstore. Default exclusions: .git, .gitattributes, .github, .gitignore and the
    signature file. An AI-BOM signs like any single-file model (`aisbom bom --sign-key …` does it
    as it writes one). Exit status: 0 signed, 2 usage or I/O error.
    """
    method = SigningMethod(key, certificate, chain, sigstore, identity_token, trust_config)
    method.check(SIGN_OPTIONS)

    from aisbom.signing.api import sign_model

    try:
        signer = method.signer()
        result = sign_model(
            target,
            signer,
            signature=signature,
            ignore=ignore,
            allow_symlinks=allow_symlinks,
            single_file_dot_name=single_file_dot_name,
        )
    except AisbomError as exc:
        click.echo(f"aisbom: error: {exc}", err=True)
        sys.exit(ExitCode.ERROR)
    except Exception as exc:  # never a traceback: one line, exit 2
        click.echo(f"aisbom: error: signing failed: {type(exc).__name__}: {exc}", err=True)
        sys.exit(ExitCode.ERROR)
    count = len(result.manifest.resources)
    click.echo(f"Signed {count} file{'s' if count != 1 else ''} of {target}: {result.signature}")
    sys.exit(ExitCode.CLEAN)
