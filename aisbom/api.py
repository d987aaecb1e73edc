"""The Python API: what the commands do, as functions that return values and raise typed errors.

`aisbom/__init__.py` exports these names (`aisbom.scan`, `aisbom.require_clean` ...); docs/api.md
documents them. Nothing here prints, prompts or exits: results are values (`ScanReport`,
`SignResult`, `VerifyResult`, the BOM document) and every error is an `AisbomError` subclass
with one readable line. Network is used only for a target that names a remote source
(hf://, https://) and for keyless signing.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aisbom.pipeline as pipeline
from aisbom.errors import AisbomError, UsageError
from aisbom.findings import Finding
from aisbom.formats import get_format
from aisbom.formats.interface import FormatOptions
from aisbom.limits import Limits
from aisbom.policy import Policy, load_allow_file, with_allow_files
from aisbom.selection import Selection
from aisbom.severity import Severity
from aisbom.sources import Resolved, resolve

if TYPE_CHECKING:  # signing is imported by sign and verify: a scan does not pay for it
    from aisbom.signing.api import SignResult, VerifyResult
    from aisbom.signing.base import Signer, Verifier

PathLike = str | os.PathLike[str]


@dataclasses.dataclass(frozen=True)
class ScanReport(pipeline.ScanReport):
    """A finished scan, as `aisbom.scan` returns it: the pipeline's report (`.verdict`,
    `.unsafe`, `.exit_code`, `.files`, `.findings`, `.failing()`, `.counts()`), what was
    scanned and when, and its renderings."""

    source: Resolved | None = None  # the target made local, with its provenance if remote
    scanned_at: datetime | None = None
    kind: str = "model"  # "model" or "dataset": what a BOM of it describes

    def formatted(
        self,
        format_name: str,
        *,
        color: bool = False,
        verbose: bool = False,
        quiet: bool = False,
        show_clean: bool = False,
    ) -> str:
        """The report in one of the `--format` formats (text, json, sarif, cyclonedx, html);
        the keywords are the text report's (`aisbom scan` options)."""
        options = FormatOptions(
            color=color,
            verbose=verbose,
            quiet=quiet,
            show_clean=show_clean,
            target=self.source.path if self.source else Path(self.target),
            scanned_at=self.scanned_at,
            provenance=self.source.provenance if self.source else None,
            kind=self.kind,
        )
        return get_format(format_name).format(self, options)

    def to_text(self, *, verbose: bool = False, quiet: bool = False, show_clean: bool = False) -> str:
        return self.formatted("text", verbose=verbose, quiet=quiet, show_clean=show_clean)

    def to_json(self) -> str:
        return self.formatted("json")

    def to_sarif(self) -> str:
        return self.formatted("sarif")

    def to_cyclonedx(self) -> str:
        """The CycloneDX AI-BOM of the scan, checked against the official schema (raises
        BomError if it does not validate)."""
        return self.formatted("cyclonedx")

    def to_html(self) -> str:
        return self.formatted("html")


class UnsafeModelError(AisbomError):
    """`require_clean` (or `snapshot_download`) found the target not clean: it failed the policy,
    was not fully analysed, or could not be read. `.report` holds the whole scan."""

    def __init__(self, report: ScanReport) -> None:
        failing = report.failing()
        if report.error is not None:
            why = report.error
        elif failing:
            worst = max(failing, key=lambda f: f.severity)
            why = f"{len(failing)} failing finding(s), worst {worst.rule} in {worst.path}"
        else:
            why = "not fully analysed"
        super().__init__(f"{report.verdict}: {why}", path=report.target)
        self.report = report

    @property
    def findings(self) -> list[Finding]:
        return self.report.findings

    @property
    def verdict(self) -> str:
        return self.report.verdict


def policy_for(
    fail_on: str | Severity = Severity.HIGH,
    strict: bool = False,
    allow: Iterable[PathLike] = (),
    allow_dangerous: bool = False,
) -> Policy:
    """The scan policy: fail threshold, --strict, allow files. Raises UsageError (a bad allow
    file, --allow-dangerous without one, an unknown severity)."""
    allow_files = tuple(Path(a) for a in allow)
    if allow_dangerous and not allow_files:
        raise UsageError("allow_dangerous applies to allow files; give at least one")
    try:
        threshold = fail_on if isinstance(fail_on, Severity) else Severity.parse(fail_on)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    policy = Policy(fail_on=threshold, strict=strict, allow_dangerous=allow_dangerous)
    return with_allow_files(policy, tuple(load_allow_file(path) for path in allow_files))


def scan(
    target: PathLike,
    *,
    fail_on: str | Severity = Severity.HIGH,
    strict: bool = False,
    allow: Iterable[PathLike] = (),
    allow_dangerous: bool = False,
    limits: Limits | None = None,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    cache_dir: PathLike | None = None,
    sha256: str | None = None,
    allow_http: bool = False,
    policy: Policy | None = None,
    progress: pipeline.Progress | None = None,
) -> ScanReport:
    """Scan a file or directory (or `hf://ORG/NAME[@REV]`, an https:// URL) without loading
    anything. `fail_on`, `strict`, `allow` (allow files) and `allow_dangerous` make the policy,
    unless `policy` is given; `include`/`exclude` are globs (aisbom.selection). Raises
    TargetError (the target cannot be read), UsageError, NetworkError or HashMismatchError for a
    remote target; every problem with a file inside the target is a finding on it."""
    if policy is None:
        policy = policy_for(fail_on, strict, allow, allow_dangerous)
    resolved = resolve(
        str(target),
        cache_dir=Path(cache_dir) if cache_dir is not None else None,
        expected_sha256=sha256,
        allow_http=allow_http,
    )
    return scan_resolved(
        str(target),
        resolved,
        policy,
        limits=limits,
        selection=Selection(tuple(include), tuple(exclude)),
        progress=progress,
    )


def scan_resolved(
    target: str,
    resolved: Resolved,
    policy: Policy,
    *,
    limits: Limits | None = None,
    selection: Selection | None = None,
    progress: pipeline.Progress | None = None,
    hashed: bool = True,
) -> ScanReport:
    """Scan what a source made local; the report names `target` as the user gave it (a URL as
    recorded: no credentials, no fragment). Without `hashed`, nothing is hashed (`--no-hash`)."""
    scanned_at = datetime.now(timezone.utc).replace(microsecond=0)
    report = pipeline.scan_resolved(
        resolved,
        policy=policy,
        limits=limits,
        progress=progress,
        select=selection.keeps if selection else None,
        hashed=hashed,
    )
    prov = resolved.provenance
    shown_target = report.target if prov is None else target if prov.hf_repo else prov.source_url
    fields = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
    fields["target"] = shown_target
    return ScanReport(**fields, source=resolved, scanned_at=scanned_at, kind=resolved.kind_hint or "model")


def require_clean(target: PathLike, **options: Any) -> ScanReport:
    """Scan `target` (with `scan`'s options) and return the report only if it is clean; raise
    UnsafeModelError, carrying the report and its findings, otherwise. Call it before any
    loader (torch, joblib, transformers ...) is given the path."""
    report = scan(target, **options)
    if report.unsafe:
        raise UnsafeModelError(report)
    return report


def snapshot_download(
    repo_id: str,
    *,
    revision: str | None = None,
    repo_type: str = "model",
    cache_dir: PathLike | None = None,
    **options: Any,
) -> Path:
    """Download a Hugging Face repository snapshot (as huggingface_hub does, into its cache),
    scan it, and return its local path only if it is clean; raise UnsafeModelError otherwise
    (the files stay in the cache, where nothing has marked them trusted). With HF_HUB_OFFLINE=1
    the cache alone is read. `options` are `scan`'s."""
    if repo_type not in ("model", "dataset"):
        raise UsageError(f"repo_type must be 'model' or 'dataset', not {repo_type!r}")
    prefix = "hf://datasets/" if repo_type == "dataset" else "hf://"
    spec = f"{prefix}{repo_id}" + (f"@{revision}" if revision else "")
    report = require_clean(spec, cache_dir=cache_dir, **options)
    assert report.source is not None  # scan always records what it resolved
    return report.source.path


def bom(
    target: PathLike,
    *,
    output: PathLike | None = None,
    kind: str | None = None,
    spec_version: str = "1.6",
    reproducible: bool = False,
    justification: str | None = None,
    require_justification: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """The CycloneDX AI-BOM of a model (or, with kind="dataset", a dataset), checked against the
    official schema; written to `output` if given. `options` are `scan`'s. The BOM records the
    scan's findings; it is returned whatever the verdict (ask `scan` or `require_clean` to stop
    on an unsafe model). Raises BomError, JustificationRequired, or `scan`'s errors."""
    from aisbom.bom.build import BomOptions, build_bom

    report = scan(target, **options)
    assert report.source is not None
    built = build_bom(
        report,
        report.source.path,
        BomOptions(
            spec_version=spec_version,
            reproducible=reproducible,
            justification=justification,
            require_justification=require_justification,
            provenance=report.source.provenance,
            scanned_at=report.scanned_at,
            kind=kind or report.kind,
        ),
    )
    if output is not None:
        try:
            Path(output).write_text(built.text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write the BOM: {exc.strerror or exc}", path=str(output)) from None
    return built.doc


def sign(
    target: PathLike,
    *,
    key: PathLike | None = None,
    password: str | bytes | None = None,
    certificate: PathLike | None = None,
    chain: Iterable[PathLike] = (),
    sigstore: bool = False,
    identity_token: str | None = None,
    signer: Signer | None = None,
    signature: PathLike | None = None,
    ignore: Iterable[str] = (),
    shard_size: int | None = None,
) -> SignResult:
    """Sign a local model file or directory as an OMS / model_signing bundle, written to
    `signature` (default TARGET/model.sig, or TARGET.sig for a file). One signing method: `key`
    (an ECDSA private key PEM, with `password` if it is encrypted, optionally `certificate` and
    `chain`), `sigstore=True` (keyless; `identity_token` or ambient CI credentials), or a
    `signer` object. Raises SigningError subclasses."""
    from aisbom.signing.api import sign_model

    chosen = signer or _signer(key, password, certificate, tuple(chain), sigstore, identity_token)
    return sign_model(
        Path(target),
        chosen,
        signature=Path(signature) if signature is not None else None,
        ignore=ignore,
        shard_size=shard_size,
    )


def verify(
    target: PathLike,
    *,
    signature: PathLike | None = None,
    key: PathLike | None = None,
    certificate_chain: Iterable[PathLike] = (),
    identity: str | None = None,
    issuer: str | None = None,
    offline: bool = False,
    verifier: Verifier | None = None,
    ignore: Iterable[str] = (),
    ignore_unsigned: bool = False,
) -> VerifyResult:
    """Check a model's signature, then every file against it. One verification method: `key`
    (the public key PEM), `certificate_chain` (trusted CA certificates), `identity` with
    `issuer` (keyless Sigstore), or a `verifier` object. A signature that does not verify
    raises VerificationFailure; files that differ are in the result (`.ok` is False, `.diff`
    names each modified, missing and extra file)."""
    from aisbom.signing.api import verify_model

    chosen = verifier or _verifier(key, tuple(certificate_chain), identity, issuer, offline)
    return verify_model(
        Path(target),
        chosen,
        signature=Path(signature) if signature is not None else None,
        ignore=ignore,
        ignore_unsigned=ignore_unsigned,
    )


def _signer(
    key: PathLike | None,
    password: str | bytes | None,
    certificate: PathLike | None,
    chain: tuple[PathLike, ...],
    sigstore: bool,
    identity_token: str | None,
) -> Signer:
    if sigstore == (key is not None):
        raise UsageError("choose one signing method: key=PATH or sigstore=True (or pass signer=)")
    if sigstore:
        from aisbom.signing.keyless import SigstoreSigner

        return SigstoreSigner(identity_token, interactive=False)
    from aisbom.signing.providers.password import Password
    from aisbom.signing.providers.pem import PemKeyProvider

    secret = password.encode() if isinstance(password, str) else password
    assert key is not None
    provider = PemKeyProvider(Path(key), Password(value=secret))
    if certificate is not None:
        from aisbom.signing.certificate import CertificateSigner

        return CertificateSigner(provider, Path(certificate), [Path(c) for c in chain])
    if chain:
        raise UsageError("chain needs certificate")
    from aisbom.signing.keys import KeySigner

    return KeySigner(provider)


def _verifier(
    key: PathLike | None,
    certificate_chain: tuple[PathLike, ...],
    identity: str | None,
    issuer: str | None,
    offline: bool,
) -> Verifier:
    given = sum([key is not None, bool(certificate_chain), bool(identity or issuer)])
    if given != 1 or bool(identity) != bool(issuer):
        raise UsageError(
            "choose one verification method: key=PATH, certificate_chain=[PATHS], or identity= with issuer="
        )
    if key is not None:
        from aisbom.signing.keys import KeyVerifier

        return KeyVerifier(Path(key))
    if certificate_chain:
        from aisbom.signing.certificate import CertificateVerifier

        return CertificateVerifier([Path(c) for c in certificate_chain])
    from aisbom.signing.keyless import SigstoreVerifier

    assert identity is not None and issuer is not None
    return SigstoreVerifier(identity, issuer, offline=offline)
