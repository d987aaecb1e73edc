"""`aisbom verify TARGET --signature SIG | --bom BOM.json`: the gate before a model is deployed."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from aisbom.commands._scanning import source_options
from aisbom.commands._signers import CHOOSE_ONE, METHODS, VerificationMethod
from aisbom.errors import AisbomError
from aisbom.severity import ExitCode
from aisbom.signing.errors import SigningError, VerificationFailure
from aisbom.terminal_text import shown

if TYPE_CHECKING:
    from aisbom.provenance import Provenance
    from aisbom.signing.api import VerifyResult
    from aisbom.signing.base import Verifier
    from aisbom.signing.verify import ManifestDiff

_PATH = click.Path(dir_okay=False, path_type=Path)


EXAMPLES = """\b
Examples:
  aisbom verify ./model --key release.pub
  aisbom verify ./model --bom model.cdx.json --bom-signature model.cdx.json.sig --key release.pub
  aisbom verify ./model --identity you@example.com --issuer https://github.com/login/oauth
"""


@click.command(epilog=EXAMPLES)
@click.argument("target")
@click.option(
    "--signature",
    type=_PATH,
    help="Signature to check. Default: TARGET/model.sig for a directory (for hf://, the repository's "
    "own model.sig), TARGET.sig for a file.",
)
@click.option(
    "--key", "key", type=_PATH, help="ECDSA public key (PEM) the model (or its BOM) was signed with."
)
@click.option(
    "--certificate-chain",
    "certificate_chain",
    multiple=True,
    type=_PATH,
    help="Trusted CA certificate(s) (PEM) for certificate-signed models. Repeatable.",
)
@click.option(
    "--certificate-identity",
    metavar="NAME",
    help="With --certificate-chain: the signer expected, its certificate's subject (RFC 4514, or its "
    "common name) or one of its subject alternative names (e-mail, URI, DNS name).",
)
@click.option(
    "--certificate-issuer",
    metavar="NAME",
    help="With --certificate-chain: the CA expected to have issued the signing certificate (its "
    "name, RFC 4514 or common name).",
)
@click.option("--identity", help="Keyless: the signer identity expected (an e-mail, a workflow URL …).")
@click.option(
    "--issuer", help="Keyless: the OIDC issuer expected (https://token.actions.githubusercontent.com …)."
)
@click.option(
    "--trust-config",
    type=_PATH,
    help="Keyless: Sigstore trust configuration or trusted root, used as given (default: "
    "Sigstore's production instance, its trust root refreshed as sigstore-python does).",
)
@click.option(
    "--offline",
    is_flag=True,
    help="Keyless: no network; use the cached trust root (or the one shipped in sigstore-python).",
)
@click.option("--staging", is_flag=True, help="Keyless: Sigstore's staging instance (for tests).")
@click.option(
    "--bom",
    "bom",
    type=_PATH,
    help="AI-BOM (CycloneDX JSON): every file of TARGET must match the SHA-256 of its file components.",
)
@click.option(
    "--bom-signature",
    type=_PATH,
    help="Signature over the --bom file (a single-file OMS bundle), checked with the same --key, "
    "--certificate-chain or --identity/--issuer before the BOM is used.",
)
@click.option(
    "--ignore",
    "ignore",
    multiple=True,
    metavar="PATH",
    help="Also leave PATH (relative to TARGET) out of the comparison. Repeatable.",
)
@click.option(
    "--ignore-unsigned-files",
    is_flag=True,
    help="Files the signature (or BOM) does not list do not fail verification; they are listed "
    "as unsigned. Every listed file is still checked.",
)
@click.option(
    "--ignore-git-paths/--no-ignore-git-paths",
    default=True,
    show_default=True,
    help="Skip .git, .gitattributes, .github and .gitignore at the top of TARGET (where they hold "
    "no signed file).",
)
@click.option(
    "--allow-symlinks",
    is_flag=True,
    help="With --bom: follow symlinks that stay inside TARGET (default: refuse them). A signature "
    "records its own setting.",
)
@source_options
def verify(
    target: str,
    signature: Path | None,
    key: Path | None,
    certificate_chain: tuple[Path, ...],
    certificate_identity: str | None,
    certificate_issuer: str | None,
    identity: str | None,
    issuer: str | None,
    trust_config: Path | None,
    offline: bool,
    staging: bool,
    bom: Path | None,
    bom_signature: Path | None,
    ignore: tuple[str, ...],
    ignore_unsigned_files: bool,
    ignore_git_paths: bool,
    allow_symlinks: bool,
    sha256: str | None,
    allow_http: bool,
    cache_dir: Path | None,
) -> None:
    """Verify a model against its OMS / model_signing signature, its AI-BOM, or both.

    The signature is checked with exactly one of --key PUB.pem, --certificate-chain CA.pem
    (with --certificate-identity NAME and/or --certificate-issuer CA for the signer expected: a
    trusted CA vouches for every certificate it issued), or --identity ID --issuer URL (Sigstore
    keyless: the trust root is refreshed first unless --offline); then every file is re-hashed,
    and each modified, missing and extra one is named with its expected and actual hashes.
    Signatures from every released model_signing (v0.2.0 on) and model-signing (Go) verify,
    whole-file or sharded.

    With --bom BOM.json, the files are compared with the SHA-256 hashes the BOM lists (its file
    components, named relative to TARGET); the model's signature is then checked only if
    --signature is given, and --bom-signature SIG checks the BOM's own signature before the BOM
    is used. Everything given must pass. Exit status: 0 every signature is valid and every file
    matches, 1 one is not or they do not, 2 usage or I/O error, or an invalid BOM.

    TARGET may also be hf://ORG/NAME[@REV] or an https:// URL, fetched as `aisbom scan` fetches
    it (an https:// TARGET needs --signature or --bom). A Hugging Face cache snapshot is checked
    as its files: its links into the repository's blobs/ are followed, each file named by its
    path in the snapshot, so a signature or BOM made on a plain copy of the files verifies too.
    """
    method = VerificationMethod(
        key,
        certificate_chain,
        identity,
        issuer,
        trust_config,
        staging,
        offline,
        certificate_identity=certificate_identity,
        certificate_issuer=certificate_issuer,
    )
    method.check()
    methods = method.count
    if bom is None:
        if bom_signature is not None:
            raise click.UsageError("--bom-signature needs --bom")
        if allow_symlinks:
            raise click.UsageError("--allow-symlinks applies to --bom (a signature records its own setting)")
        if methods != 1:
            raise click.UsageError(CHOOSE_ONE)
    elif signature is not None or bom_signature is not None:
        if methods != 1:
            raise click.UsageError(f"--signature and --bom-signature need a verification method: {METHODS}")
    elif methods:
        raise click.UsageError(
            "with --bom, --key, --certificate-chain and --identity check a signature: add --signature "
            "(the model's) and/or --bom-signature (the BOM's)"
        )

    from aisbom.commands._scanning import resolve_target

    if method.any_signer:
        click.echo(
            "aisbom: note: --certificate-chain alone accepts any code-signing certificate its CAs issued; "
            "--certificate-identity (and --certificate-issuer) name the signer expected",
            err=True,
        )
    try:
        verifier = method.verifier() if methods else None
        options = _Options(ignore, ignore_unsigned_files, ignore_git_paths)
        resolved = resolve_target(target, sha256, allow_http, cache_dir, progress=None)
        model = Model(
            resolved.path, target if resolved.provenance else str(resolved.path), resolved.provenance
        )
        if model.provenance is not None and not model.path.is_dir() and bom is None and signature is None:
            raise click.UsageError(shown(f"{target} is remote: give --signature FILE"))
        if bom is None:
            assert verifier is not None
            code = _verify_signature(model, verifier, signature, options)
        else:
            code = _verify_with_bom(model, bom, bom_signature, verifier, signature, options, allow_symlinks)
    except click.UsageError:
        raise
    except SigningError as exc:
        if exc.exit_code == ExitCode.UNSAFE:
            click.echo(shown(f"FAILED: {target}: {exc}"))
        else:
            click.echo(shown(f"aisbom: error: {exc}"), err=True)
        sys.exit(exc.exit_code)
    except AisbomError as exc:
        click.echo(shown(f"aisbom: error: {exc}"), err=True)
        sys.exit(ExitCode.ERROR)
    except Exception as exc:  # never a traceback: one line, exit 2
        click.echo(shown(f"aisbom: error: verification failed: {type(exc).__name__}: {exc}"), err=True)
        sys.exit(ExitCode.ERROR)
    sys.exit(code)


@dataclass(frozen=True)
class Model:
    """What is verified: `path` on this machine, `shown` as the user named it (an hf:// target
    is verified in the cache), and where a fetched one came from."""

    path: Path
    shown: str
    provenance: Provenance | None


@dataclass(frozen=True)
class _Options:
    """What to leave out of a comparison, for the signature and the BOM alike."""

    ignore: tuple[str, ...]
    ignore_unsigned: bool
    ignore_git_paths: bool


def _verify_signature(model: Model, verifier: Verifier, signature: Path | None, options: _Options) -> int:
    """The model against its signature alone (raises for a signature that does not verify)."""
    result = _verify_model(model, verifier, signature, options)
    _echo_signature_result(model.shown, result)
    return ExitCode.CLEAN if result.ok else ExitCode.UNSAFE


def _verify_model(
    model: Model, verifier: Verifier, signature: Path | None, options: _Options
) -> VerifyResult:
    """verify_model; for a fetched model, the files it hashed must also be what the source
    published (the Hub's LFS sha256), else the cache was changed: an error, not a verdict."""
    from aisbom.signing.api import verify_model
    from aisbom.sources import check_scanned_hashes

    result = verify_model(
        model.path,
        verifier,
        signature=signature,
        ignore=options.ignore,
        ignore_unsigned=options.ignore_unsigned,
        ignore_git_paths=options.ignore_git_paths,
    )
    if model.provenance is not None:
        check_scanned_hashes(model.provenance, _whole_file_hashes(model.path, result))
    return result


def _whole_file_hashes(path: Path, result: VerifyResult) -> dict[str, str]:
    """The SHA-256 of each file the signature covers. A shard signature holds none (a source
    publishes whole-file hashes): its files present are hashed whole, a second read."""
    if result.expected.shard_size is None:
        return dict(result.actual)
    from aisbom.signing.manifest import hash_file

    if not path.is_dir():
        return {path.name: hash_file(path, follow_symlinks=True)}
    present = (name for name in result.expected.file_names() if (path / name).is_file())
    return {name: hash_file(path / name, follow_symlinks=True) for name in present}


def _echo_unsigned(diff: ManifestDiff) -> None:
    from aisbom.signing.verify import format_unsigned

    if diff.unsigned:
        count = len(diff.unsigned)
        click.echo(
            shown(f"  {count} unsigned file{'s' if count != 1 else ''} ignored (--ignore-unsigned-files):")
        )
        for line in format_unsigned(diff):
            click.echo(line)


def _echo_signature_result(target: str, result: VerifyResult) -> None:
    from aisbom.signing.verify import format_diff

    diff = result.diff
    if diff.ok:
        click.echo(
            shown(f"Verified: {target}: {_files_match(diff.matched)} the signature by {result.signer}")
        )
        _echo_unsigned(diff)
        return
    click.echo(
        shown(
            f"FAILED: {target}: signature by {result.signer} is valid, but "
            f"{len(diff.modified)} modified, {len(diff.missing)} missing, {len(diff.extra)} extra"
        )
    )
    for line in format_diff(diff):
        click.echo(line)
    _echo_unsigned(diff)


def _verify_with_bom(
    model: Model,
    bom: Path,
    bom_signature: Path | None,
    verifier: Verifier | None,
    signature: Path | None,
    options: _Options,
    allow_symlinks: bool,
) -> int:
    """BOM signature (if any) → BOM → model signature (if any) → files against the BOM."""
    from aisbom.bom.diff import parse_bom, read_bom_bytes
    from aisbom.bom.verify import file_hashes
    from aisbom.signing.api import default_signature_path, verify_bytes, verify_hashes
    from aisbom.signing.verify import format_diff

    target = model.path

    data = read_bom_bytes(bom)  # read once: the bytes whose signature is checked are the ones used
    if bom_signature is not None:
        assert verifier is not None
        try:
            checked = verify_bytes(data, bom.name, verifier, bom_signature)
        except VerificationFailure as exc:
            click.echo(shown(f"FAILED: BOM {bom}: its signature {bom_signature} does not verify: {exc}"))
            return ExitCode.UNSAFE
        if not checked.ok:
            click.echo(
                shown(
                    f"FAILED: BOM {bom}: signature by {checked.signer} is valid, "
                    "but the BOM differs from what it signs"
                )
            )
            for line in format_diff(checked.diff):
                click.echo(line)
            return ExitCode.UNSAFE
        click.echo(shown(f"Verified: BOM {bom}: signed by {checked.signer}"))
    # The model's signature is checked (its files hashed) while a child process checks the BOM
    # against its schema; what it finds is told, or raised, once the BOM is known to be valid.
    outcome: list[VerifyResult | Exception] = []

    def check_model() -> None:
        assert verifier is not None
        try:
            outcome.append(_verify_model(model, verifier, signature, options))
        except Exception as exc:  # noqa: BLE001 - raised again below, after the BOM's check
            outcome.append(exc)

    meanwhile = check_model if signature is not None else None
    expected = file_hashes(parse_bom(data, source=str(bom), meanwhile=meanwhile), source=str(bom))

    code = ExitCode.CLEAN
    known = None
    if signature is not None:
        (result,) = outcome
        if isinstance(result, VerificationFailure):
            click.echo(shown(f"FAILED: {model.shown}: {result}"))
            code = ExitCode.UNSAFE
        elif isinstance(result, Exception):
            raise result
        else:
            _echo_signature_result(model.shown, result)
            if not result.ok:
                code = ExitCode.UNSAFE
            allow_symlinks = allow_symlinks or result.expected.allow_symlinks
            if result.expected.hash_type == "sha256" and result.expected.shard_size is None:
                known = result.actual

    diff = verify_hashes(
        target,
        expected,
        ignore=options.ignore,
        ignore_unsigned=options.ignore_unsigned,
        # The BOM, its signature and the model's are not model files (unless the BOM lists them).
        leave_out=(
            bom,
            bom_signature,
            default_signature_path(bom),
            signature,
            default_signature_path(target),
        ),
        allow_symlinks=allow_symlinks,
        known=known,
    )
    if diff.ok:
        click.echo(shown(f"Verified: {model.shown}: {_files_match(diff.matched)} the BOM {bom}"))
        _echo_unsigned(diff)
        return code
    click.echo(
        shown(
            f"FAILED: {model.shown}: {len(diff.modified)} modified, {len(diff.missing)} missing, "
            f"{len(diff.extra)} extra against the BOM {bom}"
        )
    )
    for line in format_diff(diff):
        click.echo(line)
    _echo_unsigned(diff)
    return ExitCode.UNSAFE


def _files_match(count: int) -> str:
    return f"{count} file matches" if count == 1 else f"{count} files match"
