"""Helpers for the signing tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import datetime
import shutil
from dataclasses import dataclass
from pathlib import Path

import click
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from aisbom.commands.sign import sign
from aisbom.commands.verify import verify

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"

CURVES = {"p256": ec.SECP256R1, "p384": ec.SECP384R1, "p521": ec.SECP521R1}
MODEL_FILES = ["config.json", "empty", "tokenizer/vocab.txt", "weights.bin"]
VECTOR_IDENTITY = "stefanb@us.ibm.com"
VECTOR_ISSUER = "https://sigstore.verify.ibm.com/oauth2"


@click.group()
def cli() -> None:
    """The two signing commands, as the lead will wire them into `aisbom.cli`."""


cli.add_command(sign)
cli.add_command(verify)


def run(*args: object) -> Result:
    """Run `aisbom <args>` in-process. Any exception other than the exit is a test failure."""
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"command raised {result.exception!r}\n{result.output}")
    assert "Traceback" not in result.output
    return result


def copy_model(src: Path, dst: Path, *, skip: tuple[str, ...] = ()) -> Path:
    """A writable copy of a (read-only) vector directory."""
    dst.mkdir(parents=True, exist_ok=True)
    for entry in sorted(src.iterdir()):
        if entry.name in skip:
            continue
        if entry.is_dir():
            copy_model(entry, dst / entry.name)
        else:
            shutil.copyfile(entry, dst / entry.name)
    return dst


def flip_byte(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    key: ec.EllipticCurvePrivateKey


def write_key(directory: Path, name: str, curve: str = "p256") -> KeyPair:
    key = ec.generate_private_key(CURVES[curve]())
    private = directory / f"{name}.pem"
    public = directory / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return KeyPair(private, public, key)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_cert(
    subject: str,
    public_key: ec.EllipticCurvePublicKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    signing: bool = True,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if ca:
        usage = dict(key_cert_sign=True, crl_sign=True, digital_signature=False)
    else:
        usage = dict(key_cert_sign=False, crl_sign=False, digital_signature=signing)
        if signing:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
    builder = builder.add_extension(
        x509.KeyUsage(
            content_commitment=False,
            key_encipherment=not ca and not signing,
            data_encipherment=False,
            key_agreement=False,
            encipher_only=False,
            decipher_only=False,
            **usage,
        ),
        critical=True,
    )
    return builder.sign(issuer_key, hashes.SHA384())


def write_pem(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


@dataclass(frozen=True)
class Pki:
    root: Path  # trusted CA certificate
    intermediate: Path
    leaf: Path
    leaf_key: Path
    leaf_pub: Path
    other_root: Path  # a CA that signed nothing here
    nosign_leaf: Path  # a leaf for leaf_key whose KeyUsage forbids signing
