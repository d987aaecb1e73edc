"""Fixtures for the signing tests: real keys and certificates made at test time, small models,
and the shared OMS / model_signing test data (found in the repository's sibling `shared/`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from aisbom.signing.keyless import IDENTITY_TOKEN_ENV

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _signing_helpers import (  # noqa: E402
    CURVES,
    SHARED,
    KeyPair,
    Pki,
    make_cert,
    write_key,
    write_pem,
)
from _tokens import Hsm, Kms, make_kms_keys, make_token_keys, teach_moto_digest_signing  # noqa: E402


@pytest.fixture(autouse=True)
def sigstore_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """sigstore-python's TUF metadata and trust-root cache (the user data and cache directories)
    live in a directory of each test, not the user's."""
    base = tmp_path / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "cache"))
    return base


def shared_data(folder: str, what: str) -> Path:
    """A folder of ../shared, the project's test data beside the repository. A plain clone has
    none: the tests that need it skip, saying what they need; on the project's CI (CI set) it
    must be there, so they fail instead."""
    path = (SHARED / folder).resolve()
    if not path.is_dir():
        message = f"needs ../shared ({what}, looked for {path}); CI has it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def vectors() -> Path:
    return shared_data("model-signing-vectors", "the OpenSSF model_signing test vectors")


@pytest.fixture(scope="session")
def oms() -> Path:
    return shared_data("oms", "the OMS v1.0 JSON schemas and test vectors")


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KeyPair]:
    """One key per supported curve, plus an unrelated P-256 key."""
    directory = tmp_path_factory.mktemp("keys")
    pairs = {curve: write_key(directory, curve, curve) for curve in CURVES}
    pairs["other"] = write_key(directory, "other", "p256")
    return pairs


@pytest.fixture(scope="session")
def key(keys: dict[str, KeyPair]) -> KeyPair:
    return keys["p256"]


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """root CA → intermediate CA → code-signing leaf (P-256), and a CA that signed nothing."""
    d = tmp_path_factory.mktemp("pki")
    root_key = ec.generate_private_key(ec.SECP384R1())
    int_key = ec.generate_private_key(ec.SECP384R1())
    leaf = write_key(d, "leaf", "p256")
    root = make_cert("test-root", root_key.public_key(), "test-root", root_key, ca=True)
    inter = make_cert("test-intermediate", int_key.public_key(), "test-root", root_key, ca=True)
    leaf_cert = make_cert("model-signer", leaf.key.public_key(), "test-intermediate", int_key, ca=False)
    nosign = make_cert(
        "not-a-signer", leaf.key.public_key(), "test-intermediate", int_key, ca=False, signing=False
    )
    other_key = ec.generate_private_key(ec.SECP384R1())
    other = make_cert("other-root", other_key.public_key(), "other-root", other_key, ca=True)
    return Pki(
        root=write_pem(d / "root.pem", root),
        intermediate=write_pem(d / "intermediate.pem", inter),
        leaf=write_pem(d / "leaf-cert.pem", leaf_cert),
        leaf_key=leaf.private,
        leaf_pub=leaf.public,
        other_root=write_pem(d / "other-root.pem", other),
        nosign_leaf=write_pem(d / "nosign-cert.pem", nosign),
    )


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A small model: nested files, an empty file, a multi-chunk file, and git clutter."""
    root = tmp_path / "model"
    (root / "tokenizer").mkdir(parents=True)
    (root / "weights.bin").write_bytes(bytes(range(256)) * 9000)  # ~2.2 MiB: several chunks
    (root / "config.json").write_text('{"hidden": 8}\n')
    (root / "tokenizer" / "vocab.txt").write_text("a\nb\nc\n")
    (root / "empty").write_bytes(b"")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / ".gitattributes").write_text("*.bin filter=lfs\n")
    return root


# Where keyless signing would find a token or ambient CI credentials.
AMBIENT_ENV = [
    "GITHUB_ACTIONS",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "GOOGLE_SERVICE_ACCOUNT_NAME",
    "BUILDKITE",
    "GITLAB_CI",
    "SIGSTORE_ID_TOKEN",
    "CIRCLECI",
    IDENTITY_TOKEN_ENV,
]


@pytest.fixture
def no_ambient(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No token and no CI credentials in the environment."""
    for name in AMBIENT_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _required(reason: str) -> None:
    """Skip where a system tool is missing locally; in CI (CI set) the test must run."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/lib/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
TOKEN_LABEL = "aisbom-test"
TOKEN_PIN = "4321"


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Hsm:
    """A SoftHSM2 token made for this session (its own SOFTHSM2_CONF and token directory),
    holding P-256 and P-384 ECDSA keys and an RSA key, made through the PKCS #11 API, and a
    certificate for the P-256 key issued by a CA made for it."""
    module = next((m for m in SOFTHSM_MODULES if os.path.isfile(m)), None)
    if module is None or shutil.which("softhsm2-util") is None:
        _required("SoftHSM2 is not installed (apt-get install softhsm2)")
    try:
        import PyKCS11  # noqa: F401
    except ImportError:
        _required("PyKCS11 is not installed (pip install 'aisbom[pkcs11]')")
    assert module is not None
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read by the module, in this process and in children
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            TOKEN_LABEL,
            "--pin",
            TOKEN_PIN,
            "--so-pin",
            "8765",
        ],
        check=True,
        capture_output=True,
    )
    return make_token_keys(module, directory, TOKEN_LABEL, TOKEN_PIN)


KMS_REGION = "eu-west-1"


@pytest.fixture(scope="session")
def kms_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kms]:
    """moto's KMS on a loopback port, for the session, with an ECDSA P-256, P-384, RSA, disabled
    and symmetric key under aliases."""
    try:
        import boto3  # noqa: F401
        from moto.server import ThreadedMotoServer
    except ImportError:
        _required("boto3 and moto[server] are not installed (pip install 'aisbom[test]')")
    teach_moto_digest_signing()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield make_kms_keys(f"http://{host}:{port}", KMS_REGION, tmp_path_factory.mktemp("kms"))
    finally:
        server.stop()


@pytest.fixture
def kms(kms_server: Kms, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Kms:
    """The KMS server, with boto3 pointed at it: test credentials, its region, no AWS config."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", kms_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", KMS_REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    return kms_server
