"""`verify --certificate-chain`: every way a signing certificate's chain fails is said in a
sentence a user understands, with cryptography's own words after it, never its "candidates
exhausted". Each chain is made here, signed with `aisbom sign --certificate … --chain …`."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from _signing_helpers import run, write_pem
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from aisbom.signing.bundle import dumps, write_bundle
from aisbom.signing.certificate import CertificateSigner
from aisbom.signing.manifest import build_manifest
from aisbom.signing.providers.pem import PemKeyProvider
from aisbom.signing.statement import encode_statement

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)


def cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    not_before: datetime.datetime = NOW - DAY,
    not_after: datetime.datetime = NOW + 30 * DAY,
    key_cert_sign: bool = True,
    code_signing: bool = True,
) -> x509.Certificate:
    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca and code_signing,
                content_commitment=False,
                key_encipherment=not ca and not code_signing,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca and key_cert_sign,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if not ca and code_signing:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


ROOT_KEY, INTER_KEY, LEAF_KEY, OTHER_KEY = new_key(), new_key(), new_key(), new_key()
ROOT = cert("root", ROOT_KEY, "root", ROOT_KEY, ca=True)
INTER = cert("inter", INTER_KEY, "root", ROOT_KEY, ca=True)
LEAF = cert("signer", LEAF_KEY, "inter", INTER_KEY, ca=False)
OTHER = cert("other", OTHER_KEY, "other", OTHER_KEY, ca=True)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    root.mkdir()
    (root / "weights.bin").write_bytes(b"\x00" * 64)
    return root


def verify(
    model: Path,
    tmp_path: Path,
    chain: list[x509.Certificate],
    trusted: list[x509.Certificate],
    leaf: x509.Certificate = LEAF,
) -> str:
    """Sign `model` with LEAF_KEY, the bundle carrying `leaf` and `chain`; verify it against
    `trusted`; return the verdict line (exit 1 expected)."""
    key = tmp_path / "leaf.pem"
    key.write_bytes(
        LEAF_KEY.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    chain_args = [a for c in chain for a in ("--chain", write_pem(tmp_path / f"chain-{id(c)}.pem", c))]
    signature = tmp_path / "model.sig"
    signed = run(
        "sign", model, "--signature", signature, "--key", key,
        "--certificate", write_pem(tmp_path / "leaf.crt", leaf), *chain_args,
    )  # fmt: skip
    assert signed.exit_code == 0, signed.output
    result = run(
        "verify",
        model,
        "--signature",
        signature,
        "--certificate-chain",
        write_pem(tmp_path / "ca.pem", *trusted),
    )
    assert result.exit_code == 1, result.output
    (line,) = result.stdout.splitlines()
    assert "candidates exhausted" not in line and "no interior errors" not in line
    assert line.startswith(f"FAILED: {model}: ")
    return line.removeprefix(f"FAILED: {model}: ")


def test_the_good_chain_verifies(model: Path, tmp_path: Path):
    signature = tmp_path / "model.sig"
    key = tmp_path / "leaf.pem"
    key.write_bytes(
        LEAF_KEY.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    leaf, inter = write_pem(tmp_path / "leaf.crt", LEAF), write_pem(tmp_path / "i.pem", INTER)
    args = ["--signature", signature, "--key", key, "--certificate", leaf, "--chain", inter]
    assert run("sign", model, *args).exit_code == 0
    result = run(
        "verify", model, "--signature", signature, "--certificate-chain", write_pem(tmp_path / "r.pem", ROOT)
    )
    assert result.exit_code == 0, result.output


def test_an_untrusted_root(model: Path, tmp_path: Path):
    assert verify(model, tmp_path, [INTER], [OTHER]) == (
        "signing certificate CN=signer is not trusted: no trusted CA issued it: its chain stops at CN=inter, "
        "whose issuer CN=root is neither in the signature nor among the trusted CA certificates "
        "(--certificate-chain)"
    )


def test_an_untrusted_root_carried_in_the_signature(model: Path, tmp_path: Path):
    assert verify(model, tmp_path, [INTER, ROOT], [OTHER]) == (
        "signing certificate CN=signer is not trusted: its chain ends at the root CA CN=root, which is not "
        "one of the trusted CA certificates (--certificate-chain)"
    )


def test_a_missing_intermediate(model: Path, tmp_path: Path):
    assert verify(model, tmp_path, [], [ROOT]) == (
        "signing certificate CN=signer is not trusted: no trusted CA issued it: its chain stops at "
        "CN=signer, whose issuer CN=inter is neither in the signature nor among the trusted CA certificates "
        "(--certificate-chain)"
    )


def test_a_broken_chain(model: Path, tmp_path: Path):
    forged = cert("inter", INTER_KEY, "root", OTHER_KEY, ca=True)  # names root, signed by another key
    assert verify(model, tmp_path, [forged], [ROOT]) == (
        "signing certificate CN=signer is not trusted: its chain is broken: a certificate is not signed by "
        "the CA it names as its issuer (cryptography: signature does not match)"
    )


@pytest.mark.parametrize(
    "not_before, not_after",
    [(NOW - 60 * DAY, NOW - 30 * DAY), (NOW + 30 * DAY, NOW + 60 * DAY)],
    ids=["expired", "not-yet-valid"],
)
def test_a_ca_not_valid_when_the_certificate_was_issued(
    model: Path, tmp_path: Path, not_before: datetime.datetime, not_after: datetime.datetime
):
    inter = cert("inter", INTER_KEY, "root", ROOT_KEY, ca=True, not_before=not_before, not_after=not_after)
    assert verify(model, tmp_path, [inter], [ROOT]) == (
        "signing certificate CN=signer is not trusted: a CA certificate of its chain was not valid when it "
        f"was issued ({LEAF.not_valid_before_utc.isoformat()}): it had expired or was not valid yet "
        "(cryptography: cert is not valid at validation time)"
    )


def test_an_issuer_that_is_not_a_ca(model: Path, tmp_path: Path):
    inter = cert("inter", INTER_KEY, "root", ROOT_KEY, ca=False, code_signing=False)
    assert verify(model, tmp_path, [inter], [ROOT]) == (
        "signing certificate CN=signer is not trusted: a certificate of its chain issued another one but is "
        "not a CA (basicConstraints CA:FALSE) (cryptography: basicConstraints.cA must be asserted in a CA "
        "certificate)"
    )


def test_a_ca_whose_key_usage_does_not_allow_issuing(model: Path, tmp_path: Path):
    inter = cert("inter", INTER_KEY, "root", ROOT_KEY, ca=True, key_cert_sign=False)
    assert verify(model, tmp_path, [inter], [ROOT]) == (
        "signing certificate CN=signer is not trusted: a CA of its chain may not issue certificates (its "
        "KeyUsage lacks keyCertSign) (cryptography: issuer's KeyUsage does not allow signing certificates)"
    )


def test_a_leaf_that_is_not_for_code_signing(model: Path, tmp_path: Path):
    """aisbom will not sign with such a certificate; a bundle carrying one is made by hand."""
    leaf = cert("signer", LEAF_KEY, "inter", INTER_KEY, ca=False, code_signing=False)
    key = tmp_path / "leaf.pem"
    key.write_bytes(
        LEAF_KEY.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    signer = CertificateSigner(
        PemKeyProvider(key), write_pem(tmp_path / "good.crt", LEAF), [write_pem(tmp_path / "i.pem", INTER)]
    )
    signer._leaf = leaf  # what another tool might have put in the bundle
    signature = tmp_path / "model.sig"
    write_bundle(signature, dumps(signer.sign(encode_statement(build_manifest(model)))))
    result = run(
        "verify", model, "--signature", signature, "--certificate-chain", write_pem(tmp_path / "r.pem", ROOT)
    )
    assert result.exit_code == 1
    assert result.stdout.endswith(
        "signing certificate CN=signer is not trusted: it is not a code-signing certificate (its KeyUsage "
        "lacks digitalSignature and its ExtendedKeyUsage lacks codeSigning)\n"
    )


# --- the signer expected: a trusted CA vouches for every certificate it issued ------------------


def signed_by(model: Path, tmp_path: Path, leaf: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Path:
    pem = tmp_path / "signer-key.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    signature = tmp_path / "model.sig"
    args = ["--signature", signature, "--key", pem, "--certificate", write_pem(tmp_path / "s.crt", leaf)]
    assert run("sign", model, *args, "--chain", write_pem(tmp_path / "i.pem", INTER)).exit_code == 0
    return signature


def with_email(subject: str, email: str, key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    base = cert(subject, key, "inter", INTER_KEY, ca=False)
    builder = (
        x509.CertificateBuilder()
        .subject_name(base.subject)
        .issuer_name(base.issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(base.not_valid_before_utc)
        .not_valid_after(base.not_valid_after_utc)
    )
    for extension in base.extensions:
        builder = builder.add_extension(extension.value, critical=extension.critical)
    builder = builder.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
    return builder.sign(INTER_KEY, hashes.SHA256())


def test_another_certificate_of_the_same_ca_is_not_the_expected_signer(model: Path, tmp_path: Path):
    """The attack: anyone the CA ever issued a code-signing certificate to signs the model."""
    intruder_key = new_key()
    intruder = cert("intern", intruder_key, "inter", INTER_KEY, ca=False)
    signature = signed_by(model, tmp_path, intruder, intruder_key)
    ca = write_pem(tmp_path / "r.pem", ROOT)

    alone = run("verify", model, "--signature", signature, "--certificate-chain", ca)
    assert alone.exit_code == 0  # what the chain alone says: trusted
    assert "--certificate-chain alone accepts any code-signing certificate its CAs issued" in alone.stderr

    expected = run(
        "verify",
        model,
        "--signature",
        signature,
        "--certificate-chain",
        ca,
        "--certificate-identity",
        "signer",
    )
    assert expected.exit_code == 1
    assert expected.stdout.startswith(
        f"FAILED: {model}: signing certificate CN=intern is trusted but is not the signer expected: "
        "--certificate-identity 'signer' is none of its names (CN=intern, intern)"
    )


def test_the_expected_signer_by_subject_common_name_or_email(model: Path, tmp_path: Path):
    key = new_key()
    leaf = with_email("release", "release@acme.example", key)
    signature = signed_by(model, tmp_path, leaf, key)
    ca = write_pem(tmp_path / "r.pem", ROOT)
    for name in ("CN=release", "release", "release@acme.example"):
        result = run(
            "verify",
            model,
            "--signature",
            signature,
            "--certificate-chain",
            ca,
            "--certificate-identity",
            name,
        )
        assert result.exit_code == 0, result.output
        assert "accepts any code-signing certificate" not in result.stderr


def test_the_expected_issuing_ca(model: Path, tmp_path: Path):
    signature = signed_by(model, tmp_path, LEAF, LEAF_KEY)
    ca = write_pem(tmp_path / "r.pem", ROOT)
    good = run(
        "verify", model, "--signature", signature, "--certificate-chain", ca, "--certificate-issuer", "inter"
    )
    assert good.exit_code == 0, good.output
    bad = run(
        "verify",
        model,
        "--signature",
        signature,
        "--certificate-chain",
        ca,
        "--certificate-issuer",
        "CN=root",
    )
    assert bad.exit_code == 1
    assert (
        "was not issued by the CA expected: "
        "--certificate-issuer 'CN=root' is not its issuer (CN=inter, inter)" in (bad.stdout)
    )


def test_an_expected_signer_needs_a_certificate_chain(model: Path, tmp_path: Path):
    result = run("verify", model, "--key", tmp_path / "k.pub", "--certificate-identity", "signer")
    assert result.exit_code == 2
    assert "--certificate-identity and --certificate-issuer need --certificate-chain" in result.output
