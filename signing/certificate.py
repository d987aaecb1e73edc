"""Signing with a key plus its X.509 certificate chain; verifying against trusted CA certificates.

The bundle carries `x509CertificateChain` (leaf first, then the chain given at signing), as
model_signing writes it. Verification builds a path from the leaf through the bundle's
certificates to one of the trusted CA certificates, at the leaf's notBefore time: these
bundles have no trusted timestamp, so, like model_signing, a signature stays verifiable after
its certificate expires.

A trusted CA vouches for every certificate it issued, so the signer expected can be named, as
cosign does: `identity` must equal the leaf's subject (RFC 4514, e.g. `CN=release,O=ACME`),
its common name, or one of its subject alternative names (e-mail, URI, DNS name, IP address);
`issuer` must equal the name of the CA that issued the leaf (RFC 4514 or common name).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from aisbom.signing.base import Verified
from aisbom.signing.bundle import (
    KIND_CERTIFICATE_CHAIN,
    KIND_LABELS,
    Bundle,
    b64,
    certificate_chain_der,
    make_bundle,
    pae,
)
from aisbom.signing.errors import BundleError, KeyMaterialError, SignatureInvalidError
from aisbom.signing.keys import only_signature, verify_payload_any_release
from aisbom.signing.providers.base import KeyProvider, sign_with


def load_certificates(paths: Iterable[Path], what: str) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise KeyMaterialError(f"cannot read {what}: {exc.strerror or exc}", path=str(path)) from None
        try:
            certs.extend(x509.load_pem_x509_certificates(data))
        except ValueError as exc:
            raise KeyMaterialError(f"not a PEM certificate file ({exc})", path=str(path)) from None
    return certs


def can_sign(cert: x509.Certificate) -> bool:
    """model_signing's rule: KeyUsage digitalSignature, or else ExtendedKeyUsage codeSigning."""
    try:
        if cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature:
            return True
    except x509.ExtensionNotFound:
        pass
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CODE_SIGNING in eku


def _ec_public_key(cert: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in (
        "secp256r1",
        "secp384r1",
        "secp521r1",
    ):
        raise SignatureInvalidError("signing certificate does not hold an ECDSA P-256/384/521 key")
    return key


class CertificateSigner:
    """Signs with a key provider; the bundle carries its certificate and the chain above it."""

    def __init__(
        self,
        provider: KeyProvider,
        certificate_path: Path,
        chain_paths: Iterable[Path] = (),
    ) -> None:
        self._provider = provider
        leaf = load_certificates([certificate_path], "certificate")
        if not leaf:
            raise KeyMaterialError("no certificate in file", path=str(certificate_path))
        self._leaf = leaf[0]
        if self._leaf.public_key() != provider.public_key():
            raise KeyMaterialError(
                f"the certificate does not belong to the signing key ({provider.description})",
                path=str(certificate_path),
            )
        if not can_sign(self._leaf):
            raise KeyMaterialError(
                "the certificate is not for signing (needs KeyUsage digitalSignature "
                "or ExtendedKeyUsage codeSigning)",
                path=str(certificate_path),
            )
        self._chain = load_certificates(chain_paths, "certificate chain")

    def sign(self, payload: bytes) -> dict[str, Any]:
        certs = [self._leaf, *self._chain]
        material = {
            "x509CertificateChain": {
                "certificates": [{"rawBytes": b64(c.public_bytes(serialization.Encoding.DER))} for c in certs]
            },
            "tlogEntries": [],
        }
        return make_bundle(material, payload, sign_with(self._provider, pae(payload)))


def _ca_extension_policy() -> Any:
    """What an issuing certificate must look like: a CA, allowed to sign certificates.

    Looser than cryptography's Web PKI defaults (no AKI/SKI or EKU demands), closer to what
    OpenSSL (and so model_signing) accepts from a private code-signing CA.
    """
    from cryptography.x509.verification import Criticality, ExtensionPolicy

    def basic_constraints(_policy: Any, _cert: x509.Certificate, ext: Any) -> None:
        if not ext.ca:
            raise ValueError("issuer is not a CA (basicConstraints CA:FALSE)")

    def key_usage(_policy: Any, _cert: x509.Certificate, ext: Any) -> None:
        if ext is not None and not ext.key_cert_sign:
            raise ValueError("issuer's KeyUsage does not allow signing certificates")

    return (
        ExtensionPolicy.permit_all()
        .require_present(x509.BasicConstraints, Criticality.AGNOSTIC, basic_constraints)
        .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, key_usage)
    )


class CertificateVerifier:
    """Verifies a certificate-signed bundle against trusted CA certificates (PEM files), and,
    when given, that the signer is the one expected (`identity`) and was issued by `issuer`."""

    def __init__(
        self, ca_paths: Iterable[Path], *, identity: str | None = None, issuer: str | None = None
    ) -> None:
        paths = list(ca_paths)
        self._anchors = load_certificates(paths, "certificate chain")
        if not self._anchors:
            raise KeyMaterialError("no certificate found in the --certificate-chain file(s)")
        self._identity = identity
        self._issuer = issuer

    def verify(self, bundle: Bundle) -> Verified:
        from cryptography.x509.verification import (
            ExtensionPolicy,
            PolicyBuilder,
            Store,
            VerificationError,
        )

        if bundle.kind != KIND_CERTIFICATE_CHAIN:
            raise SignatureInvalidError(
                f"the signature carries {KIND_LABELS[bundle.kind]}, not a certificate chain: "
                "verify it with --key or --identity/--issuer"
            )
        try:
            certs = [x509.load_der_x509_certificate(d) for d in certificate_chain_der(bundle)]
        except ValueError as exc:
            raise BundleError(f"bundle holds a malformed certificate ({exc})") from None
        leaf, intermediates = certs[0], certs[1:]
        verifier = (
            PolicyBuilder()
            .store(Store(self._anchors))
            .time(leaf.not_valid_before_utc)
            .extension_policies(ca_policy=_ca_extension_policy(), ee_policy=ExtensionPolicy.permit_all())
            .build_client_verifier()
        )
        subject = leaf.subject.rfc4514_string() or "(empty subject)"
        try:
            verifier.verify(leaf, intermediates)
        except VerificationError as exc:
            why = chain_failure(str(exc), certs, self._anchors)
            raise SignatureInvalidError(f"signing certificate {subject} is not trusted: {why}") from None
        if not can_sign(leaf):
            raise SignatureInvalidError(
                f"signing certificate {subject} is not trusted: it is not a code-signing certificate "
                "(its KeyUsage lacks digitalSignature and its ExtendedKeyUsage lacks codeSigning)"
            )
        self._check_signer(leaf, subject)
        if not verify_payload_any_release(_ec_public_key(leaf), bundle.payload, only_signature(bundle)):
            raise SignatureInvalidError("signature does not verify with the signing certificate")
        return Verified(bundle.payload, f"certificate {subject}")

    def _check_signer(self, leaf: x509.Certificate, subject: str) -> None:
        if self._identity is not None:
            names = identities(leaf)
            if self._identity not in names:
                raise SignatureInvalidError(
                    f"signing certificate {subject} is trusted but is not the signer expected: "
                    f"--certificate-identity {self._identity!r} is none of its names ({', '.join(names)})"
                )
        if self._issuer is not None:
            names = _names_of(leaf.issuer)
            if self._issuer not in names:
                raise SignatureInvalidError(
                    f"signing certificate {subject} is trusted but was not issued by the CA expected: "
                    f"--certificate-issuer {self._issuer!r} is not its issuer ({', '.join(names)})"
                )


def identities(cert: x509.Certificate) -> list[str]:
    """The names a certificate can be expected by: its subject (RFC 4514 and common name) and
    every subject alternative name (e-mail, URI, DNS name, IP address)."""
    names = _names_of(cert.subject)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return names
    for kind in (x509.RFC822Name, x509.UniformResourceIdentifier, x509.DNSName, x509.IPAddress):
        names += [str(value) for value in san.get_values_for_type(kind)]  # type: ignore[attr-defined]
    return list(dict.fromkeys(names))


def _names_of(name: x509.Name) -> list[str]:
    out = [name.rfc4514_string()]
    out += [str(a.value) for a in name.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]
    return [n for n in dict.fromkeys(out) if n]


# What cryptography's path builder says, in its words, and the class of failure it means.
_NOT_A_CA = ("basicConstraints.cA must be asserted", "issuer is not a CA")
_CANNOT_ISSUE = ("keyCertSign", "KeyUsage does not allow signing certificates")
_UNTRUSTED_NOISE = ("no interior errors", "exceeds max depth")


def chain_failure(detail: str, chain: list[x509.Certificate], anchors: list[x509.Certificate]) -> str:
    """Why the chain (leaf first, then the bundle's certificates) does not lead to one of the
    trusted `anchors`, as a sentence a user understands, followed by cryptography's own words."""
    detail = _without_prefix(detail)
    if "signature does not match" in detail:
        why = "its chain is broken: a certificate is not signed by the CA it names as its issuer"
    elif "not valid at validation time" in detail:
        when = chain[0].not_valid_before_utc.isoformat()
        why = (
            f"a CA certificate of its chain was not valid when it was issued ({when}): it had expired "
            "or was not valid yet"
        )
    elif any(marker in detail for marker in _NOT_A_CA):
        why = "a certificate of its chain issued another one but is not a CA (basicConstraints CA:FALSE)"
    elif any(marker in detail for marker in _CANNOT_ISSUE):
        why = "a CA of its chain may not issue certificates (its KeyUsage lacks keyCertSign)"
    else:
        why = _untrusted(chain, anchors)
        # "no interior errors", or "exceeds max depth" for an untrusted self-signed root in the
        # bundle (the path builder goes round it): nothing the sentence does not say better.
        if not detail or any(noise in detail for noise in _UNTRUSTED_NOISE):
            return why
    return f"{why} (cryptography: {detail})"


def _untrusted(chain: list[x509.Certificate], anchors: list[x509.Certificate]) -> str:
    """The chain stops short of the trusted CAs: name where, and what is missing."""
    known = {c.subject: c for c in [*chain, *anchors]}
    last = chain[0]
    seen = {last.subject}
    while last.issuer != last.subject and last.issuer in known and last.issuer not in seen:
        last = known[last.issuer]
        seen.add(last.subject)
    name = last.subject.rfc4514_string() or "(empty subject)"
    if any(last.subject == anchor.subject for anchor in anchors):
        return f"its chain reaches the trusted CA {name}, but not along a path that is valid"
    if last.issuer == last.subject:
        return (
            f"its chain ends at the root CA {name}, which is not one of the trusted CA certificates "
            "(--certificate-chain)"
        )
    issuer = last.issuer.rfc4514_string() or "(empty name)"
    return (
        f"no trusted CA issued it: its chain stops at {name}, whose issuer {issuer} is neither in "
        "the signature nor among the trusted CA certificates (--certificate-chain)"
    )


def _without_prefix(detail: str) -> str:
    """cryptography's message without the words that say nothing to a user."""
    for prefix in ("validation failed:", "candidates exhausted:", "Python extension validator failed:"):
        detail = detail.strip()
        if detail.startswith(prefix):
            detail = detail[len(prefix) :]
    return detail.strip().removeprefix("ValueError: ")
