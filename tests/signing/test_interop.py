"""Interoperability with the OpenSSF `model_signing` package, both ways: what aisbom signs,
model_signing verifies; what model_signing signs, aisbom verifies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _signing_helpers import KeyPair, Pki, run


@pytest.fixture(scope="module")
def ms() -> Any:
    """The installed model_signing package (a test dependency, with pyOpenSSL, which its
    certificate module imports without declaring it)."""
    try:
        import model_signing
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"model_signing is not importable: {exc}")
        pytest.skip(f"model_signing is not importable: {exc}")
    return model_signing


def ms_verify_key(ms: Any, model: Path, sig: Path, public: Path) -> None:
    ms.verifying.Config().use_elliptic_key_verifier(public_key=public).verify(model, sig)


def ms_sign_key(ms: Any, model: Path, sig: Path, private: Path, ignore: list[Path] | None = None) -> None:
    hashing = ms.hashing.Config().set_ignored_paths(paths=ignore or [])
    ms.signing.Config().use_elliptic_key_signer(private_key=private).set_hashing_config(hashing).sign(
        model, sig
    )


@pytest.mark.parametrize("curve", ["p256", "p384", "p521"])
def test_aisbom_key_signature_passes_model_signing(
    ms: Any, model_dir: Path, keys: dict[str, KeyPair], tmp_path: Path, curve: str
) -> None:
    sig = tmp_path / "model.sig"
    assert run("sign", model_dir, "--signature", sig, "--key", keys[curve].private).exit_code == 0
    ms_verify_key(ms, model_dir, sig, keys[curve].public)


def test_model_signing_rejects_a_tampered_aisbom_model(
    ms: Any, model_dir: Path, key: KeyPair, tmp_path: Path
) -> None:
    sig = tmp_path / "model.sig"
    assert run("sign", model_dir, "--signature", sig, "--key", key.private).exit_code == 0
    (model_dir / "config.json").write_text("{}\n")
    with pytest.raises(ValueError, match="config.json"):
        ms_verify_key(ms, model_dir, sig, key.public)


def test_aisbom_recorded_ignores_are_honoured_by_model_signing(
    ms: Any, model_dir: Path, key: KeyPair
) -> None:
    # Signature inside the model and an --ignore'd directory: both recorded in ignore_paths.
    assert run("sign", model_dir, "--key", key.private, "--ignore", "tokenizer").exit_code == 0
    (model_dir / "tokenizer" / "vocab.txt").write_text("changed\n")
    ms_verify_key(ms, model_dir, model_dir / "model.sig", key.public)


@pytest.mark.parametrize("curve", ["p256", "p384", "p521"])
def test_model_signing_key_signature_passes_aisbom(
    ms: Any, model_dir: Path, keys: dict[str, KeyPair], tmp_path: Path, curve: str
) -> None:
    sig = tmp_path / "model.sig"
    ms_sign_key(ms, model_dir, sig, keys[curve].private, ignore=[Path("empty")])
    result = run("verify", model_dir, "--signature", sig, "--key", keys[curve].public)
    assert result.exit_code == 0, result.output
    (model_dir / "weights.bin").write_bytes(b"tampered")
    assert run("verify", model_dir, "--signature", sig, "--key", keys[curve].public).exit_code == 1


def test_certificate_interop_both_ways(ms: Any, model_dir: Path, pki: Pki, tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.sig", tmp_path / "theirs.sig"
    signed = run(
        "sign", model_dir, "--signature", ours,
        "--certificate", pki.leaf, "--chain", pki.intermediate, "--key", pki.leaf_key,
    )  # fmt: skip
    assert signed.exit_code == 0, signed.output
    ms.verifying.Config().use_certificate_verifier(certificate_chain=[pki.root]).verify(model_dir, ours)

    ms.signing.Config().use_certificate_signer(
        private_key=pki.leaf_key, signing_certificate=pki.leaf, certificate_chain=[pki.intermediate]
    ).sign(model_dir, theirs)
    result = run("verify", model_dir, "--signature", theirs, "--certificate-chain", pki.root)
    assert result.exit_code == 0, result.output


def test_single_file_interop_both_ways(ms: Any, model_dir: Path, key: KeyPair, tmp_path: Path) -> None:
    target = model_dir / "weights.bin"
    ours, theirs = tmp_path / "ours.sig", tmp_path / "theirs.sig"
    # OMS v1.0 names a single-file model by its basename; model_signing 1.1.1 insists on ".".
    assert run("sign", target, "--signature", ours, "--key", key.private).exit_code == 0
    with pytest.raises(ValueError, match="Missing files"):
        ms_verify_key(ms, target, ours, key.public)
    args = ["--signature", ours, "--key", key.private, "--single-file-dot-name"]
    assert run("sign", target, *args).exit_code == 0
    ms_verify_key(ms, target, ours, key.public)
    assert run("verify", target, "--signature", ours, "--key", key.public).exit_code == 0

    ms_sign_key(ms, target, theirs, key.private)  # model_signing names it "."
    result = run("verify", target, "--signature", theirs, "--key", key.public)
    assert result.exit_code == 0, result.output


def _model_signing_cli(*args: object) -> subprocess.CompletedProcess[str]:
    code = "import sys; from model_signing._cli import main; sys.argv[0] = 'model_signing'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_model_signing_cli_both_ways(ms: Any, model_dir: Path, key: KeyPair) -> None:
    """The command lines a user would type, signature inside the model as both tools default."""
    sig = model_dir / "model.sig"
    assert run("sign", model_dir, "--key", key.private).exit_code == 0
    done = _model_signing_cli("verify", "key", model_dir, "--signature", sig, "--public_key", key.public)
    assert done.returncode == 0, done.stderr

    sig.unlink()
    done = _model_signing_cli("sign", "key", model_dir, "--signature", sig, "--private_key", key.private)
    assert done.returncode == 0, done.stderr
    result = run("verify", model_dir, "--key", key.public)
    assert result.exit_code == 0, result.output


def test_files_signed_under_default_exclusions_are_still_checked(
    ms: Any, model_dir: Path, key: KeyPair, tmp_path: Path
) -> None:
    """model_signing --no-ignore-git-paths signs .git* files too: aisbom must then check them."""
    sig = tmp_path / "model.sig"
    hashing = ms.hashing.Config().set_ignored_paths(paths=[], ignore_git_paths=False)
    ms.signing.Config().use_elliptic_key_signer(private_key=key.private).set_hashing_config(hashing).sign(
        model_dir, sig
    )
    assert run("verify", model_dir, "--signature", sig, "--key", key.public).exit_code == 0
    (model_dir / ".gitattributes").write_text("changed\n")
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 1 and "modified  .gitattributes" in result.stdout
