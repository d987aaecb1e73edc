"""Fixtures for the signing tests: real keys and certificates made at test time, small models,
and the shared OMS / model_signing test data (found in the repository's sibling `shared/`)."""

from __future__ import annotations

import os
import sys
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


@pytest.fixture(autouse=True)
def sigstore_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """sigstore-python's TUF metadata and trust-root cache (the user data and cache directories)
    live in a directory of this test session, not the user's."""
    base = tmp_path_factory.getbasetemp() / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "cache"))
    return base


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        message = f"shared test data not found at {SHARED.resolve()}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED.resolve()


@pytest.fixture(scope="session")
def vectors(shared_dir: Path) -> Path:
    return shared_dir / "model-signing-vectors"


@pytest.fixture(scope="session")
def oms(shared_dir: Path) -> Path:
    return shared_dir / "oms"


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
