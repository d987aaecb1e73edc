"""`aisbom verify TARGET --signature SIG`: the gate before a model is deployed."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aisbom.errors import AisbomError
from aisbom.severity import ExitCode

_PATH = click.Path(dir_okay=False, path_type=Path)


@click.command()
@click.argument("target", type=click.Path(path_type=Path))
@click.option(
    "--signature",
    type=_PATH,
    help="Signature to check. Default: TARGET/model.sig for a directory, TARGET.sig for a file.",
)
@click.option("--key", "key", type=_PATH, help="ECDSA public key (PEM) the model was signed with.")
@click.option(
    "--certificate-chain",
    "certificate_chain",
    multiple=True,
    type=_PATH,
    help="Trusted CA certificate(s) (PEM) for certificate-signed models. Repeatable.",
)
@click.option("--identity", help="Keyless: the signer identity expected (an e-mail, a workflow URL …).")
@click.option(
    "--issuer", help="Keyless: the OIDC issuer expected (https://token.actions.githubusercontent.com …)."
)
@click.option(
    "--trust-config",
    type=_PATH,
    help="Keyless: Sigstore trust configuration or trusted root (default: the production root "
    "shipped with sigstore-python; no network).",
)
@click.option(
    "--ignore",
    "ignore",
    multiple=True,
    metavar="PATH",
    help="Also leave PATH (relative to TARGET) out of the comparison. Repeatable.",
)
def verify(
    target: Path,
    signature: Path | None,
    key: Path | None,
    certificate_chain: tuple[Path, ...],
    identity: str | None,
    issuer: str | None,
    trust_config: Path | None,
    ignore: tuple[str, ...],
) -> None:
    """Verify a model against its OMS / model_signing signature.

    Checks the signature with exactly one of --key PUB.pem, --certificate-chain CA.pem, or
    --identity ID --issuer URL (Sigstore keyless, offline), then re-hashes every file and
    names each modified, missing and extra one. Exit status: 0 the signature is valid and
    every file matches, 1 it is not or they do not, 2 usage or I/O error.
    """
    methods = sum([key is not None, bool(certificate_chain), bool(identity or issuer)])
    if methods != 1:
        raise click.UsageError(
            "choose one verification method: --key, --certificate-chain, or --identity with --issuer"
        )
    if bool(identity) != bool(issuer):
        raise click.UsageError("--identity and --issuer go together")
    if trust_config is not None and not identity:
        raise click.UsageError("--trust-config applies to keyless verification (--identity/--issuer)")

    from aisbom.signing.api import verify_model
    from aisbom.signing.errors import SigningError
    from aisbom.signing.verify import format_diff

    try:
        verifier = _make_verifier(key, certificate_chain, identity, issuer, trust_config)
        result = verify_model(target, verifier, signature=signature, ignore=ignore)
    except SigningError as exc:
        if exc.exit_code == ExitCode.UNSAFE:
            click.echo(f"FAILED: {target}: {exc}")
        else:
            click.echo(f"aisbom: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except AisbomError as exc:
        click.echo(f"aisbom: error: {exc}", err=True)
        sys.exit(ExitCode.ERROR)
    except Exception as exc:  # never a traceback: one line, exit 2
        click.echo(f"aisbom: error: verification failed: {type(exc).__name__}: {exc}", err=True)
        sys.exit(ExitCode.ERROR)

    diff = result.diff
    if diff.ok:
        files = f"{diff.matched} file matches" if diff.matched == 1 else f"{diff.matched} files match"
        click.echo(f"Verified: {target}: {files} the signature by {result.signer}")
        sys.exit(ExitCode.CLEAN)
    click.echo(
        f"FAILED: {target}: signature by {result.signer} is valid, but "
        f"{len(diff.modified)} modified, {len(diff.missing)} missing, {len(diff.extra)} extra"
    )
    for line in format_diff(diff):
        click.echo(line)
    sys.exit(ExitCode.UNSAFE)


def _make_verifier(  # type: ignore[no-untyped-def]
    key: Path | None,
    certificate_chain: tuple[Path, ...],
    identity: str | None,
    issuer: str | None,
    trust_config: Path | None,
):
    if key is not None:
        from aisbom.signing.keys import KeyVerifier

        return KeyVerifier(key)
    if certificate_chain:
        from aisbom.signing.certificate import CertificateVerifier

        return CertificateVerifier(certificate_chain)
    from aisbom.signing.keyless import SigstoreVerifier

    assert identity is not None and issuer is not None
    return SigstoreVerifier(identity, issuer, trust_config=trust_config)
