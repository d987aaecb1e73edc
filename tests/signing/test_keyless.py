"""Keyless (Sigstore) signing up to the point where it needs the network, and offline keyless
verification with the embedded production trust root or a trust configuration file."""

from __future__ import annotations

import base64
import importlib.resources
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _signing_helpers import VECTOR_IDENTITY, VECTOR_ISSUER, KeyPair, run

from aisbom.signing.errors import KeylessError
from aisbom.signing.keyless import IDENTITY_TOKEN_ENV, SigstoreSigner, find_identity_token


def fake_jwt(**claims: object) -> str:
    """A well-formed, unsigned OIDC token: enough for the client, which never checks the
    signature (Fulcio does), so signing gets as far as the network."""
    now = int(time.time())
    body = {
        "iss": "https://issuer.example",
        "sub": "signer@example.com",
        "aud": "sigstore",
        "iat": now,
        "exp": now + 600,
        **claims,
    }

    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(body)}.c2lnbmF0dXJl"


def production_trusted_root() -> dict[str, object]:
    path = (
        importlib.resources.files("sigstore")
        / "_store"
        / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
        / "trusted_root.json"
    )
    return json.loads(path.read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def loopback_trust_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Production trusted root; every service URL is a closed port on this machine."""
    service = [
        {
            "url": "http://127.0.0.1:9",
            "majorApiVersion": 1,
            "validFor": {"start": "2022-01-01T00:00:00Z"},
            "operator": "test",
        }
    ]
    config = {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": production_trusted_root(),
        "signingConfig": {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": service,
            "oidcUrls": service,
            "rekorTlogUrls": service,
            "tsaUrls": service,
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        },
    }
    path = tmp_path_factory.mktemp("trust") / "trust-config.json"
    path.write_text(json.dumps(config))
    return path


def test_token_precedence(no_ambient: pytest.MonkeyPatch) -> None:
    def ambient() -> str:
        return "from-ci"

    assert find_identity_token("flag", detect_ambient=ambient).origin == "flag"  # type: ignore[union-attr]
    env = {IDENTITY_TOKEN_ENV: "from-env"}
    found = find_identity_token(None, environ=env, detect_ambient=ambient)
    assert found is not None and (found.origin, found.token) == ("env", "from-env")
    found = find_identity_token(None, environ={}, detect_ambient=ambient)
    assert found is not None and (found.origin, found.token) == ("ambient", "from-ci")
    assert find_identity_token(None, environ={}, detect_ambient=lambda: None) is None


def test_no_sigstore_import_or_network_before_signing() -> None:
    code = (
        "import sys\n"
        "from aisbom.signing.keyless import SigstoreSigner, SigstoreVerifier\n"
        "import aisbom.commands.sign, aisbom.commands.verify, aisbom.signing.api\n"
        "SigstoreSigner('token'); SigstoreVerifier('me@example.com', 'https://issuer.example')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sigstore', 'requests', 'tuf')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_a_token_off_a_terminal_is_a_clear_error(
    no_ambient: pytest.MonkeyPatch, model_dir: Path, tmp_path: Path
) -> None:
    result = run("sign", model_dir, "--signature", tmp_path / "m.sig", "--sigstore")
    assert result.exit_code == 2
    assert "no identity token" in result.stderr and "--identity-token" in result.stderr
    assert not (tmp_path / "m.sig").exists()


def test_interactive_flow_is_never_started_off_a_terminal(no_ambient: pytest.MonkeyPatch) -> None:
    with pytest.raises(KeylessError, match="no identity token"):
        SigstoreSigner(interactive=False).identity_token()


def test_broken_ambient_credentials_are_reported(
    no_ambient: pytest.MonkeyPatch, model_dir: Path, tmp_path: Path
) -> None:
    no_ambient.setenv("GITHUB_ACTIONS", "true")  # but no id-token permission
    result = run("sign", model_dir, "--signature", tmp_path / "m.sig", "--sigstore")
    assert result.exit_code == 2 and "ambient CI credentials" in result.stderr


def test_malformed_token_is_rejected(no_ambient: pytest.MonkeyPatch, model_dir: Path, tmp_path: Path) -> None:
    result = run(
        "sign", model_dir, "--signature", tmp_path / "m.sig", "--sigstore", "--identity-token", "x.y.z"
    )
    assert result.exit_code == 2 and "identity token rejected" in result.stderr
    expired = fake_jwt(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)
    result = run(
        "sign", model_dir, "--signature", tmp_path / "m.sig", "--sigstore", "--identity-token", expired
    )
    assert result.exit_code == 2 and "identity token rejected" in result.stderr


@pytest.mark.parametrize("source", ["flag", "env", "gitlab-ambient"])
def test_signing_reaches_fulcio_then_fails_cleanly_offline(
    no_ambient: pytest.MonkeyPatch,
    model_dir: Path,
    tmp_path: Path,
    loopback_trust_config: Path,
    source: str,
) -> None:
    token = fake_jwt()
    args: list[object] = ["--trust-config", loopback_trust_config]
    if source == "flag":
        args += ["--identity-token", token]
    elif source == "env":
        no_ambient.setenv(IDENTITY_TOKEN_ENV, token)
    else:
        no_ambient.setenv("GITLAB_CI", "true")
        no_ambient.setenv("SIGSTORE_ID_TOKEN", token)
    sig = tmp_path / "m.sig"
    result = run("sign", model_dir, "--signature", sig, "--sigstore", *args)
    assert result.exit_code == 2
    assert "Sigstore signing failed" in result.stderr and "127.0.0.1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not sig.exists()


def test_bad_trust_config_for_signing(
    no_ambient: pytest.MonkeyPatch, model_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"mediaType": "nope"}')
    result = run(
        "sign", model_dir, "--signature", tmp_path / "m.sig",
        "--sigstore", "--identity-token", fake_jwt(), "--trust-config", bad,
    )  # fmt: skip
    assert result.exit_code == 2 and "trust configuration" in result.stderr


def test_verify_with_a_trust_config_file(vectors: Path, loopback_trust_config: Path, tmp_path: Path) -> None:
    model = vectors / "v1.1.0-sigstore"
    who = ["--identity", VECTOR_IDENTITY, "--issuer", VECTOR_ISSUER]
    result = run("verify", model, *who, "--trust-config", loopback_trust_config)
    assert result.exit_code == 0, result.output
    bare_root = tmp_path / "trusted_root.json"
    bare_root.write_text(json.dumps(production_trusted_root()))
    assert run("verify", model, *who, "--trust-config", bare_root).exit_code == 0


def test_verify_with_a_foreign_trust_root_fails(vectors: Path, tmp_path: Path) -> None:
    root = production_trusted_root()
    root["certificateAuthorities"] = []  # trusts no Fulcio
    path = tmp_path / "empty_root.json"
    path.write_text(json.dumps(root))
    model = vectors / "v1.1.0-sigstore"
    result = run(
        "verify", model, "--identity", VECTOR_IDENTITY, "--issuer", VECTOR_ISSUER, "--trust-config", path
    )
    assert result.exit_code == 1 and "Sigstore verification failed" in result.stdout


def test_verify_with_unreadable_trust_config(vectors: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    who = ["--identity", VECTOR_IDENTITY, "--issuer", VECTOR_ISSUER]
    result = run("verify", vectors / "v1.1.0-sigstore", *who, "--trust-config", bad)
    assert result.exit_code == 2 and "trust configuration" in result.stderr


def test_keyless_verify_of_a_key_signed_model(model_dir: Path, key: KeyPair) -> None:
    assert run("sign", model_dir, "--key", key.private).exit_code == 0
    result = run("verify", model_dir, "--identity", VECTOR_IDENTITY, "--issuer", VECTOR_ISSUER)
    assert result.exit_code == 1 and "not a Sigstore certificate" in result.stdout


def test_tampered_keyless_bundle_fails(vectors: Path, tmp_path: Path) -> None:
    bundle = json.loads((vectors / "v1.1.0-sigstore" / "model.sig").read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["serialization"]["ignore_paths"].append("signme-1")
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    sig = tmp_path / "model.sig"
    sig.write_text(json.dumps(bundle))
    who = ["--identity", VECTOR_IDENTITY, "--issuer", VECTOR_ISSUER, "--offline"]
    result = run("verify", vectors / "v1.1.0-sigstore", "--signature", sig, *who)
    assert result.exit_code == 1 and "Sigstore verification failed" in result.stdout


@pytest.fixture
def dead_proxy(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every HTTPS request (TUF's included: it honours the proxy variables) goes to a loopback
    port nobody listens on: the network is unreachable, deterministically, here and in CI."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    monkeypatch.setenv("https_proxy", proxy)
    return proxy


def test_trust_root_refresh_needs_the_network_and_says_so(vectors: Path, dead_proxy: str) -> None:
    who = ["--identity", VECTOR_IDENTITY, "--issuer", VECTOR_ISSUER]
    result = run("verify", vectors / "v1.1.0-sigstore", *who)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "cannot refresh the Sigstore production trust root" in line
    assert "https://tuf-repo-cdn.sigstore.dev is unreachable" in line and "--offline" in line
    result = run("verify", vectors / "v1.1.0-sigstore", *who, "--offline")
    assert result.exit_code == 0, result.output


def test_offline_uses_the_cached_root(vectors: Path, sigstore_cache: Path, dead_proxy: str) -> None:
    """--offline seeds sigstore-python's cache from the embedded root, and reads it from there."""
    who = ["--identity", VECTOR_IDENTITY, "--issuer", VECTOR_ISSUER, "--offline"]
    assert run("verify", vectors / "v1.1.0-sigstore", *who).exit_code == 0
    roots = (sigstore_cache / "cache").rglob("trusted_root.json")
    (cached,) = [p for p in roots if p.parent.name.endswith("tuf-repo-cdn.sigstore.dev")]
    root = json.loads(cached.read_text())
    root["certificateAuthorities"] = []  # the cached copy is the one used: it now trusts no CA
    cached.write_text(json.dumps(root))
    result = run("verify", vectors / "v1.1.0-sigstore", *who)
    assert result.exit_code == 1 and "Sigstore verification failed" in result.stdout


def test_staging_trusts_another_root(vectors: Path) -> None:
    who = ["--identity", VECTOR_IDENTITY, "--issuer", VECTOR_ISSUER, "--offline", "--staging"]
    result = run("verify", vectors / "v1.1.0-sigstore", *who)
    assert result.exit_code == 1 and "Sigstore verification failed" in result.stdout


def test_staging_signing_reaches_for_the_staging_instance(
    no_ambient: pytest.MonkeyPatch, model_dir: Path, tmp_path: Path, dead_proxy: str
) -> None:
    sig = tmp_path / "model.sig"
    result = run(
        "sign", model_dir, "--signature", sig, "--sigstore", "--staging", "--identity-token", fake_jwt()
    )
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "Sigstore staging trust root" in line and "--offline" not in line and not sig.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["verify", "{m}", "--key", "{k}", "--offline"], "keyless verification only"),
        (["verify", "{m}", "--key", "{k}", "--staging"], "keyless verification only"),
        (
            ["verify", "{m}", "--identity", "a", "--issuer", "b", "--staging", "--trust-config", "{k}"],
            "instance",
        ),
        (["sign", "{m}", "--key", "{k}", "--staging"], "need --sigstore"),
        (["sign", "{m}", "--sigstore", "--staging", "--trust-config", "{k}"], "instance"),
    ],
)
def test_instance_options_usage(model_dir: Path, key: KeyPair, args: list[str], message: str) -> None:
    filled = [a.replace("{m}", str(model_dir)).replace("{k}", str(key.public)) for a in args]
    result = run(*filled)
    assert result.exit_code == 2 and message in result.output
