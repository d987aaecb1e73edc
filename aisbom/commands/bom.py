"""`aisbom bom TARGET -o FILE`: the CycloneDX AI-BOM of a model or a dataset, with its EN 304 223
evidence."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from aisbom.commands._bom_output import as_spdx, describe_error, emit
from aisbom.commands._scanning import policy_options, resolve_target, scan_resolved, source_options
from aisbom.commands._signers import BOM_SIGN_OPTIONS, SigningMethod
from aisbom.commands._system_bom import is_project_target, write_system_bom
from aisbom.errors import AisbomError
from aisbom.severity import ExitCode
from aisbom.terminal_text import shown
from aisbom.wording import counted

if TYPE_CHECKING:
    from aisbom.bom.assets import SignatureRef
    from aisbom.pipeline import ScanReport
    from aisbom.signing.base import Signer
    from aisbom.sources import Resolved

_PATH = click.Path(dir_okay=False, path_type=Path)


EXAMPLES = """\b
Examples:
  aisbom bom ./model -o model.cdx.json
  aisbom bom ./model -o model.cdx.json --reproducible --sign-key release.pem
  aisbom bom hf://datasets/org/name --kind dataset -o data.cdx.json
  aisbom bom -o system.cdx.json             # the whole AI system of ./aisbom.toml
"""


@click.command(epilog=EXAMPLES)
@click.argument("target", required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the BOM to FILE (default: stdout). Nothing is written if the BOM does not validate.",
)
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the BOM of the whole AI system declared in DIR/aisbom.toml (the default without TARGET: "
    "the nearest aisbom.toml at or above the current directory).",
)
@click.option(
    "--kind",
    type=click.Choice(["model", "dataset"]),
    help="What TARGET is. Default: what the source says (hf://datasets/... is a dataset), else a model. "
    "A dataset is a `data` component (type dataset) with its files nested; it has no model card.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["cyclonedx", "spdx"]),
    default="cyclonedx",
    show_default=True,
    help="CycloneDX JSON, or SPDX 3.0.1 JSON-LD with the AI and Dataset profiles (same facts; needs the "
    "spdx-python-model package).",
)
@click.option(
    "--name",
    "model_name",
    metavar="NAME",
    help="The model's name (default: its Hub id, card title or the target's name).",
)
@click.option(
    "--version",
    "model_version",
    metavar="VERSION",
    help="The model's version (default: the revision "
    "a remote source resolved; none for a local model). With --name, gives a local model a purl.",
)
@click.option(
    "--supplier",
    metavar="NAME",
    help="Who supplies the model (default: who its card says shared it, "
    "else the Hugging Face organisation it came from).",
)
@click.option(
    "--model-signature",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The model's OMS signature bundle (aisbom sign / model_signing): referenced from the model "
    "component, after checking that it signs exactly the files the BOM describes (exit 2 if not). "
    "With --sign-model: where the model's signature is written (default TARGET/model.sig).",
)
@click.option(
    "--sign-model",
    is_flag=True,
    help="Sign the model itself first, with the BOM's signing method, from the hashes the scan took "
    "(an OMS / model_signing bundle at --model-signature), and reference it from the BOM: a whole "
    "release (scan, model signature, BOM, BOM signature) reads each file once.",
)
@click.option(
    "--spec-version",
    type=click.Choice(["1.6", "1.7"]),
    default="1.6",
    show_default=True,
    help="CycloneDX version; 1.7 adds citations (which field came from which file).",
)
@click.option(
    "--reproducible",
    is_flag=True,
    help="Leave out the serial number and every timestamp: the same input gives the same bytes.",
)
@click.option(
    "--justify",
    "justification",
    metavar="TEXT",
    help="Why components that are not well documented (no card, licence, source, upstream hash; "
    "unsafe format; findings) are used anyway. Recorded in the BOM (EN 304 223 5.2.3-2).",
)
@click.option(
    "--require-justification",
    is_flag=True,
    help="Exit 2, writing nothing, if a component is not well documented and no --justify is given.",
)
@policy_options("Exit 1 (after writing the BOM) when a finding is at least this severe.")
@click.option("--sign-key", type=_PATH, help="Sign the written BOM with this ECDSA private key (PEM).")
@click.option(
    "--sign-password-file",
    type=_PATH,
    help="File whose first line is the --sign-key password (or the --sign-pkcs11-uri token's PIN).",
)
@click.option(
    "--sign-pkcs11-uri", metavar="URI", help="Sign the BOM with a key on a PKCS #11 token (pkcs11:…)."
)
@click.option("--sign-kms", metavar="URI", help="Sign the BOM with a cloud KMS key (awskms:///…).")
@click.option(
    "--sign-certificate",
    type=_PATH,
    help="Signing certificate (PEM) for --sign-key; the BOM's signature then carries the chain.",
)
@click.option(
    "--sign-chain",
    multiple=True,
    type=_PATH,
    help="Certificates above --sign-certificate, up to the root (PEM). Repeatable.",
)
@click.option("--sign-sigstore", is_flag=True, help="Sign the written BOM keyless with Sigstore (network).")
@click.option("--sign-staging", is_flag=True, help="With --sign-sigstore: Sigstore's staging instance.")
@click.option(
    "--identity-token",
    metavar="TOKEN",
    help="OIDC identity token for --sign-sigstore. Default: $SIGSTORE_IDENTITY_TOKEN, then ambient "
    "CI credentials, then a browser sign-in on a terminal.",
)
@click.option(
    "--sign-trust-config",
    type=_PATH,
    help="Sigstore client trust configuration for --sign-sigstore (default: public-good instance).",
)
@click.option(
    "--bom-signature",
    type=_PATH,
    help="Where to write the BOM's signature. Default: FILE.sig next to the -o FILE.",
)
@source_options
def bom(
    target: str | None,
    output: Path | None,
    project_dir: Path | None,
    kind: str | None,
    output_format: str,
    model_name: str | None,
    model_version: str | None,
    supplier: str | None,
    model_signature: Path | None,
    sign_model: bool,
    spec_version: str,
    reproducible: bool,
    justification: str | None,
    require_justification: bool,
    fail_on: str,
    strict: bool,
    allow_files: tuple[Path, ...],
    allow_dangerous: bool,
    progress: bool | None,
    sign_key: Path | None,
    sign_password_file: Path | None,
    sign_pkcs11_uri: str | None,
    sign_kms: str | None,
    sign_certificate: Path | None,
    sign_chain: tuple[Path, ...],
    sign_sigstore: bool,
    sign_staging: bool,
    identity_token: str | None,
    sign_trust_config: Path | None,
    bom_signature: Path | None,
    sha256: str | None,
    allow_http: bool,
    cache_dir: Path | None,
) -> None:
    """Write the CycloneDX AI-BOM of TARGET (a model directory or file, or with --kind dataset a
    dataset).

    Scans and hashes every file as `aisbom scan` does, imports the model card (README front
    matter and sections, config.json), and records findings as vulnerabilities and what the BOM
    evidences of ETSI EN 304 223 principles 5, 7 and 8. The BOM is checked against the official
    CycloneDX schema before it is written. Exit status: 0 written and clean, 1 written but the
    model is unsafe or not fully analysed, 2 usage or I/O error, invalid BOM, or a missing
    justification with --require-justification.

    With --sign-key PRIV.pem (or --sign-pkcs11-uri URI, --sign-kms URI; each optionally with
    --sign-certificate LEAF.pem --sign-chain CA.pem) or --sign-sigstore, the written FILE is then
    signed as a single-file OMS / model_signing bundle at FILE.sig (or --bom-signature), its one
    resource named "." as model_signing 1.1.1 requires; `aisbom verify --bom FILE --bom-signature
    FILE.sig` checks it. A BOM written but not signed exits 2.

    Without TARGET (or with --project DIR, or with TARGET an aisbom.toml): the BOM of the whole
    AI system of the project (see `aisbom add`), built from aisbom.lock without scanning again:
    the system as the application component, every model, dataset, prompt and config with the
    hashes and scan results it was locked with, sources, revisions and acquisition times, and
    dependencies (system -> the assets it uses, model -> datasets it was trained on and the
    model it was fine-tuned from). Exit 2 if the working tree differs from the lock.

    TARGET may also be hf://ORG/NAME[@REV] (hf://datasets/ORG/NAME[@REV], a dataset unless
    --kind model; with HF_HUB_OFFLINE=1 from the Hugging Face cache only) or an https:// URL: the
    BOM then records the resolved commit, each file's download URL, ETag and size where the
    source gives them, and when the bytes were acquired (or, from the cache, the cached file's
    modification time, marked so).
    """
    method = SigningMethod(
        key=sign_key,
        certificate=sign_certificate,
        chain=sign_chain,
        sigstore=sign_sigstore,
        identity_token=identity_token,
        trust_config=sign_trust_config,
        pkcs11_uri=sign_pkcs11_uri,
        kms=sign_kms,
        password_file=sign_password_file,
        staging=sign_staging,
    )
    _check_model_signing(sign_model, model_signature, method.given)
    signer, bom_signature = _bom_signer(method, output, bom_signature)

    described = (model_name, model_version, supplier)
    if is_project_target(target, project_dir):
        from aisbom.bom.build import BomOptions

        if kind is not None:
            raise click.UsageError("--kind applies to a TARGET; aisbom.toml declares each asset's kind")
        if described != (None, None, None) or model_signature is not None:
            raise click.UsageError(
                "--name, --version, --supplier and --model-signature describe one model TARGET; "
                "aisbom.toml describes the system"
            )
        options = BomOptions(
            spec_version=spec_version,
            reproducible=reproducible,
            justification=justification,
            require_justification=require_justification,
            scanned_at=datetime.now(timezone.utc).replace(microsecond=0),
        )
        write_system_bom(
            target,
            project_dir,
            output,
            options,
            fail_on=fail_on,
            strict=strict,
            allow_files=allow_files,
            allow_dangerous=allow_dangerous,
            signer=signer,
            bom_signature=bom_signature,
            cache_dir=cache_dir,
            output_format=output_format,
        )
    assert target is not None  # without one, is_project_target() is true

    try:
        resolved = resolve_target(target, sha256, allow_http, cache_dir, progress)
        if sign_model and model_signature is None:
            model_signature = _default_model_signature(target, resolved)
        scanned_at = datetime.now(timezone.utc).replace(microsecond=0)
        report: ScanReport = _scan_and_prepare(
            spec_version,
            lambda: scan_resolved(target, resolved, fail_on, strict, allow_files, progress, allow_dangerous),
            signing=sign_model,
        )
        from aisbom.bom.assets import Identity
        from aisbom.bom.build import BomOptions, build_bom

        identity = Identity(name=model_name, version=model_version, supplier=supplier)
        report, signature = _model_signature(
            report, resolved.path, sign_model, model_signature, signer, (output, bom_signature)
        )
        options = BomOptions(
            spec_version=spec_version,
            reproducible=reproducible,
            justification=justification,
            require_justification=require_justification,
            provenance=resolved.provenance,
            scanned_at=scanned_at,
            kind=kind or resolved.kind_hint or "model",
            identity=identity,
            signature=signature,
        )
        built = build_bom(report, resolved.path, options)
        if output_format == "spdx":
            built = as_spdx(built)
    except AisbomError as exc:
        click.echo(shown(f"aisbom: error: {exc}"), err=True)
        sys.exit(ExitCode.ERROR)
    emit(built, report, output, spec_version, signer, bom_signature, how_to_justify="--justify TEXT")


def _scan_and_prepare(
    spec_version: str, scan: Callable[[], ScanReport], *, signing: bool = False
) -> ScanReport:
    """The scan, during which a thread of this process imports the BOM's libraries and compiles
    its schema (about 0.2 s of CPU) while the workers hash, instead of after them: the fixed
    cost of a BOM then shares the cores with the hashing rather than following it. With
    `signing`, the model is signed after the scan: the signing modules are imported then too."""
    import aisbom.pipeline as pipeline

    preparing = _Preparing(spec_version, signing=signing)
    pipeline.meanwhile = preparing.start
    try:
        report = scan()
    finally:
        pipeline.meanwhile = None
        preparing.wait()  # also when the scan failed: no import is left half done at exit
    preparing.finish()
    return report


class _Preparing:
    """The BOM's imports, on a thread. It starts once the workers are forked (`pipeline.meanwhile`
    is first called then): before, it would slow this process's own start of them, the two
    threads sharing the interpreter lock. On a thread, not between the workers' jobs: a step of
    0.1 s there kept a worker that finished a file waiting for its next one. While it runs, the
    lock changes hands often, so that a worker's answer is read (and its next job given) at once."""

    def __init__(self, spec_version: str, *, signing: bool) -> None:
        self._spec_version = spec_version
        self._signing = signing
        self._thread: threading.Thread | None = None
        self._interval = sys.getswitchinterval()

    def start(self) -> bool:
        if self._thread is None:
            self._thread = threading.Thread(target=self._prepare, name="aisbom-bom-prepare", daemon=True)
            sys.setswitchinterval(min(self._interval, 0.0005))
            self._thread.start()
        return False  # nothing left for the scan's own loop to do

    def wait(self) -> None:
        """Wait for the thread, if it started, and hand the lock over at the usual pace again."""
        if self._thread is not None:
            self._thread.join()
            sys.setswitchinterval(self._interval)

    def finish(self) -> None:
        """After `wait`: the imports now, if the scan had no workers to start the thread."""
        if self._thread is None:
            self._prepare()

    def _prepare(self) -> None:
        # Only early: the BOM imports them again, and fails there if it must.
        with contextlib.suppress(Exception):
            import aisbom.bom.build  # noqa: F401 - the BOM's own modules
            from aisbom.bom import library

            library.prepare()
        with contextlib.suppress(Exception):
            from aisbom.bom import check

            check.prepare(self._spec_version, strict=True)
        if self._signing:
            with contextlib.suppress(Exception):
                import aisbom.bom.model_signature  # noqa: F401
                import aisbom.signing.api  # noqa: F401


def _model_signature(
    report: ScanReport,
    root: Path,
    sign_model: bool,
    model_signature: Path | None,
    signer: Signer | None,
    outputs: tuple[Path | None, Path | None],
) -> tuple[ScanReport, SignatureRef | None]:
    """The report without this command's outputs, and the model signature the BOM references:
    signed now from the scan's hashes (--sign-model), or one given. A signature --sign-model is
    about to write is not part of the model; one given to be referenced is, like any file of the
    model (inventoried, not signed)."""
    written = model_signature if sign_model else None
    report = _without_output(report, root, (*outputs, written))
    if sign_model:
        assert signer is not None and model_signature is not None
        _sign_model(report, root, signer, model_signature, outputs)
    if model_signature is None:
        return report, None
    from aisbom.bom.model_signature import signature_ref

    return report, signature_ref(model_signature, root)


def _check_model_signing(sign_model: bool, model_signature: Path | None, signing: bool) -> None:
    if sign_model and not signing:
        raise click.UsageError("--sign-model signs with the BOM's method: give --sign-key (or another) too")
    if model_signature is not None and not sign_model and not model_signature.is_file():
        raise click.UsageError(f"--model-signature: {model_signature} does not exist")


def _default_model_signature(target: str, resolved: Resolved) -> Path:
    if resolved.provenance is not None:
        raise click.UsageError(f"{target} is remote: give --model-signature FILE")
    from aisbom.signing.resource_names import default_signature_path

    return default_signature_path(resolved.path)


def _sign_model(
    report: ScanReport, target: Path, signer: Signer, signature: Path, outputs: tuple[Path | None, ...]
) -> None:
    """Sign the model from the hashes the scan took (the bytes signed are the bytes judged),
    leaving out the BOM and its signature when they are written inside it."""
    from aisbom.signing.api import sign_model

    root = str(target.resolve()) + os.sep
    inside = [str(p.resolve()) for p in outputs if p is not None and target.is_dir()]
    known = {f.path: f.sha256 for f in report.files if f.sha256 is not None}
    try:
        result = sign_model(
            target, signer, signature=signature, ignore=[p for p in inside if p.startswith(root)], known=known
        )
    except Exception as exc:  # AisbomError or not: one line, exit 2
        click.echo(shown(f"aisbom: error: the model was not signed: {describe_error(exc)}"), err=True)
        sys.exit(ExitCode.ERROR)
    files = counted(len(result.manifest.file_names()), "file")
    click.echo(shown(f"aisbom: signed the model ({files}): {result.signature}"), err=True)


def _bom_signer(
    method: SigningMethod, output: Path | None, bom_signature: Path | None
) -> tuple[Signer | None, Path | None]:
    """The signer of the written BOM and where its signature goes, built before the scan: a bad
    key, or a locked one, fails with nothing written."""
    if not method.given:
        if bom_signature is not None:
            raise click.UsageError(
                "--bom-signature needs a signing method: --sign-key, --sign-pkcs11-uri or --sign-kms "
                "(each optionally with --sign-certificate), or --sign-sigstore"
            )
        return None, None
    method.check(BOM_SIGN_OPTIONS)
    if output is None:
        raise click.UsageError("signing the BOM needs -o FILE")
    if bom_signature is None:
        from aisbom.signing.resource_names import default_signature_path

        bom_signature = default_signature_path(output)
    try:
        return method.signer(), bom_signature
    except Exception as exc:  # AisbomError or not: one line, exit 2
        click.echo(shown(f"aisbom: error: cannot sign the BOM: {describe_error(exc)}"), err=True)
        sys.exit(ExitCode.ERROR)


def _without_output(report: ScanReport, target: Path, outputs: tuple[Path | None, ...]) -> ScanReport:
    """A BOM (or its signature) written inside the target, say by an earlier run, is not part of
    what the BOM describes."""
    if not target.is_dir():
        return report
    root = target.resolve()
    excluded = set()
    for output in outputs:
        if output is None:
            continue
        try:
            excluded.add(output.resolve().relative_to(root).as_posix())
        except ValueError:
            continue
    if not excluded:
        return report
    return dataclasses.replace(report, files=tuple(f for f in report.files if f.path not in excluded))
