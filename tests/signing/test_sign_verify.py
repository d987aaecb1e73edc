"""`aisbom sign` then `aisbom verify`: round trips, tampering, and the exit-code contract
(0 valid and matching, 1 invalid or different, 2 usage or I/O error; never a traceback)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from _signing_helpers import MODEL_FILES, KeyPair, Pki, run

from aisbom.signing.keys import KeySigner
from aisbom.signing.providers.pem import PemKeyProvider
from aisbom.signing.statement import root_digest


def sign_key(model: Path, key: KeyPair, *extra: object) -> Path:
    sig = model.parent / "model.sig"
    result = run("sign", model, "--signature", sig, "--key", key.private, *extra)
    assert result.exit_code == 0, result.output
    return sig


def verify_key(model: Path, sig: Path, key: KeyPair, *extra: object):  # type: ignore[no-untyped-def]
    return run("verify", model, "--signature", sig, "--key", key.public, *extra)


@pytest.mark.parametrize("curve", ["p256", "p384", "p521"])
def test_key_round_trip_on_every_curve(model_dir: Path, keys: dict[str, KeyPair], curve: str) -> None:
    sig = sign_key(model_dir, keys[curve])
    result = verify_key(model_dir, sig, keys[curve])
    assert result.exit_code == 0, result.output
    assert f"{len(MODEL_FILES)} files match" in result.stdout


def test_signature_inside_the_model_is_excluded_and_recorded(model_dir: Path, key: KeyPair) -> None:
    assert run("sign", model_dir, "--key", key.private).exit_code == 0
    sig = model_dir / "model.sig"
    payload = json.loads(base64.b64decode(json.loads(sig.read_text())["dsseEnvelope"]["payload"]))
    assert "model.sig" in payload["predicate"]["serialization"]["ignore_paths"]
    assert "model.sig" not in [r["name"] for r in payload["predicate"]["resources"]]
    result = run("verify", model_dir, "--key", key.public)  # default --signature
    assert result.exit_code == 0, result.output


def test_certificate_round_trip(model_dir: Path, pki: Pki) -> None:
    sig = model_dir.parent / "model.sig"
    signed = run(
        "sign", model_dir, "--signature", sig,
        "--certificate", pki.leaf, "--chain", pki.intermediate, "--key", pki.leaf_key,
    )  # fmt: skip
    assert signed.exit_code == 0, signed.output
    result = run("verify", model_dir, "--signature", sig, "--certificate-chain", pki.root)
    assert result.exit_code == 0, result.output
    assert "model-signer" in result.stdout


def test_certificate_from_an_untrusted_ca_fails(model_dir: Path, pki: Pki) -> None:
    sig = model_dir.parent / "model.sig"
    args = ["--certificate", pki.leaf, "--chain", pki.intermediate, "--key", pki.leaf_key]
    assert run("sign", model_dir, "--signature", sig, *args).exit_code == 0
    result = run("verify", model_dir, "--signature", sig, "--certificate-chain", pki.other_root)
    assert result.exit_code == 1
    assert "trusted CA" in result.stdout


def test_certificate_without_its_intermediate_fails(model_dir: Path, pki: Pki) -> None:
    sig = model_dir.parent / "model.sig"
    args = ["--certificate", pki.leaf, "--key", pki.leaf_key]  # no --chain
    assert run("sign", model_dir, "--signature", sig, *args).exit_code == 0
    assert run("verify", model_dir, "--signature", sig, "--certificate-chain", pki.root).exit_code == 1
    ok = run(
        "verify", model_dir, "--signature", sig,
        "--certificate-chain", pki.root, "--certificate-chain", pki.intermediate,
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output


def test_certificate_must_match_the_key_and_allow_signing(model_dir: Path, pki: Pki, key: KeyPair) -> None:
    sig = model_dir.parent / "model.sig"
    mismatch = run("sign", model_dir, "--signature", sig, "--certificate", pki.leaf, "--key", key.private)
    assert mismatch.exit_code == 2 and "does not belong" in mismatch.stderr
    nosign = run(
        "sign", model_dir, "--signature", sig, "--certificate", pki.nosign_leaf, "--key", pki.leaf_key
    )
    assert nosign.exit_code == 2 and "not for signing" in nosign.stderr
    assert not sig.exists()


def test_single_file_model(model_dir: Path, key: KeyPair) -> None:
    target = model_dir / "weights.bin"
    assert run("sign", target, "--key", key.private).exit_code == 0  # default: weights.bin.sig
    assert run("verify", target, "--key", key.public).exit_code == 0
    target.write_bytes(b"changed")
    result = run("verify", target, "--key", key.public)
    assert result.exit_code == 1 and "modified  weights.bin" in result.stdout


def test_modified_file_reports_both_digests(model_dir: Path, key: KeyPair) -> None:
    sig = sign_key(model_dir, key)
    before = (model_dir / "config.json").read_bytes()
    (model_dir / "config.json").write_bytes(before.replace(b"8", b"9"))
    result = verify_key(model_dir, sig, key)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    i = lines.index("  modified  config.json")
    import hashlib

    assert hashlib.sha256(before).hexdigest() in lines[i + 1]
    assert hashlib.sha256((model_dir / "config.json").read_bytes()).hexdigest() in lines[i + 2]


def test_added_removed_and_renamed_files(model_dir: Path, key: KeyPair) -> None:
    sig = sign_key(model_dir, key)
    (model_dir / "extra.pkl").write_bytes(b"\x80\x04.")
    (model_dir / "empty").unlink()
    (model_dir / "tokenizer" / "vocab.txt").rename(model_dir / "tokenizer" / "vocab2.txt")
    result = verify_key(model_dir, sig, key)
    assert result.exit_code == 1
    out = result.stdout
    assert "  missing   empty" in out and "  missing   tokenizer/vocab.txt" in out
    assert "  extra     extra.pkl" in out and "  extra     tokenizer/vocab2.txt" in out
    assert "0 modified, 2 missing, 2 extra" in out


def test_git_clutter_may_change_freely(model_dir: Path, key: KeyPair) -> None:
    sig = sign_key(model_dir, key)
    (model_dir / ".git" / "index").write_bytes(b"new")
    (model_dir / ".gitattributes").write_text("changed\n")
    assert verify_key(model_dir, sig, key).exit_code == 0


def test_recorded_ignore_paths_are_honoured(model_dir: Path, key: KeyPair) -> None:
    sig = sign_key(model_dir, key, "--ignore", "tokenizer")
    (model_dir / "tokenizer" / "vocab.txt").write_text("anything\n")
    (model_dir / "tokenizer" / "new.txt").write_text("new\n")
    assert verify_key(model_dir, sig, key).exit_code == 0


def test_verify_ignore_option(model_dir: Path, key: KeyPair) -> None:
    sig = sign_key(model_dir, key)
    (model_dir / "README.md").write_text("notes\n")
    assert verify_key(model_dir, sig, key).exit_code == 1
    assert verify_key(model_dir, sig, key, "--ignore", "README.md").exit_code == 0


def test_signature_from_another_key(model_dir: Path, keys: dict[str, KeyPair]) -> None:
    sig = sign_key(model_dir, keys["other"])
    result = verify_key(model_dir, sig, keys["p256"])
    assert result.exit_code == 1
    assert "another key" in result.stdout


def test_forged_hint_still_needs_a_valid_signature(model_dir: Path, keys: dict[str, KeyPair]) -> None:
    sig = sign_key(model_dir, keys["other"])
    bundle = json.loads(sig.read_text())
    honest = json.loads(sign_key(model_dir, keys["p256"]).read_text())
    bundle["verificationMaterial"] = honest["verificationMaterial"]
    sig.write_text(json.dumps(bundle))
    result = verify_key(model_dir, sig, keys["p256"])
    assert result.exit_code == 1 and "does not verify" in result.stdout


def test_tampered_payload_fails(model_dir: Path, key: KeyPair) -> None:
    sig = sign_key(model_dir, key)
    bundle = json.loads(sig.read_text())
    payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    payload["predicate"]["resources"] = payload["predicate"]["resources"][1:]
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    sig.write_text(json.dumps(bundle))
    assert verify_key(model_dir, sig, key).exit_code == 1


def _resign(sig: Path, key: KeyPair, mutate: Any) -> None:
    """Change the signed statement and sign it again with the same key, so the signature is
    valid and only aisbom's checks of the statement itself can reject it."""
    bundle = json.loads(sig.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    mutate(statement)
    digests = [r["digest"] for r in statement["predicate"]["resources"]]
    statement["subject"][0]["digest"]["sha256"] = root_digest(digests)
    sig.write_text(json.dumps(KeySigner(PemKeyProvider(key.private)).sign(json.dumps(statement).encode())))


@pytest.mark.parametrize(
    "bad_name, message",
    [("../outside.txt", "'..'"), ("tokenizer/../../outside.txt", "'..'"), ("/etc/hostname", "absolute")],
)
def test_crafted_names_are_rejected(
    model_dir: Path, key: KeyPair, tmp_path: Path, bad_name: str, message: str
) -> None:
    (tmp_path / "outside.txt").write_text("outside\n")
    sig = sign_key(model_dir, key)
    _resign(sig, key, lambda s: s["predicate"]["resources"][0].update(name=bad_name))
    result = verify_key(model_dir, sig, key)
    assert result.exit_code == 1
    assert message in result.stdout and bad_name in result.stdout


def test_duplicated_name_is_rejected(model_dir: Path, key: KeyPair) -> None:
    sig = sign_key(model_dir, key)
    _resign(sig, key, lambda s: s["predicate"]["resources"].append(dict(s["predicate"]["resources"][0])))
    result = verify_key(model_dir, sig, key)
    assert result.exit_code == 1 and "twice" in result.stdout


def test_wrong_predicate_type_is_rejected(model_dir: Path, key: KeyPair) -> None:
    sig = sign_key(model_dir, key)
    _resign(sig, key, lambda s: s.update(predicateType="https://example.com/other/v1"))
    result = verify_key(model_dir, sig, key)
    assert result.exit_code == 1 and "predicate type" in result.stdout


def test_escaping_symlink_fails_verification(model_dir: Path, key: KeyPair, tmp_path: Path) -> None:
    sig = sign_key(model_dir, key)
    (tmp_path / "secret").write_text("x\n")
    (model_dir / "config.json").unlink()
    (model_dir / "config.json").symlink_to(tmp_path / "secret")
    result = verify_key(model_dir, sig, key)
    assert result.exit_code == 1 and "outside the target" in result.stdout


def test_sign_refuses_an_escaping_symlink(model_dir: Path, key: KeyPair, tmp_path: Path) -> None:
    (model_dir / "data").symlink_to(tmp_path)
    result = run("sign", model_dir, "--signature", tmp_path / "x.sig", "--key", key.private)
    assert result.exit_code == 2 and "outside the target" in result.stderr
    assert not (tmp_path / "x.sig").exists()


def test_allowed_internal_symlink_round_trip(model_dir: Path, key: KeyPair) -> None:
    (model_dir / "alias.json").symlink_to("config.json")
    sig = sign_key(model_dir, key, "--allow-symlinks")
    assert verify_key(model_dir, sig, key).exit_code == 0


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"{not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"mediaType": "x"}', "not a Sigstore bundle"),
    ],
)
def test_unreadable_bundle_is_a_usage_error(
    model_dir: Path, key: KeyPair, tmp_path: Path, content: bytes, message: str
) -> None:
    sig = tmp_path / "bad.sig"
    sig.write_bytes(content)
    result = verify_key(model_dir, sig, key)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_bundle_and_bad_key_files(model_dir: Path, key: KeyPair, tmp_path: Path) -> None:
    missing = verify_key(model_dir, tmp_path / "nope.sig", key)
    assert missing.exit_code == 2 and "cannot read signature" in missing.stderr
    sig = sign_key(model_dir, key)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key\n")
    result = run("verify", model_dir, "--signature", sig, "--key", junk)
    assert result.exit_code == 2 and "not a PEM public key" in result.stderr
    result = run("sign", model_dir, "--signature", sig, "--key", junk)
    assert result.exit_code == 2 and "not a PEM private key" in result.stderr


def test_wrong_method_for_the_bundle(model_dir: Path, key: KeyPair, pki: Pki) -> None:
    sig = sign_key(model_dir, key)
    result = run("verify", model_dir, "--signature", sig, "--certificate-chain", pki.root)
    assert result.exit_code == 1 and "public-key hint" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "{m}"],
        ["verify", "{m}", "--key", "{pub}", "--identity", "a", "--issuer", "b"],
        ["verify", "{m}", "--identity", "a"],
        ["sign", "{m}"],
        ["sign", "{m}", "--sigstore", "--key", "{priv}"],
        ["sign", "{m}", "--key", "{priv}", "--chain", "{pub}"],
    ],
)
def test_usage_errors_exit_2(model_dir: Path, key: KeyPair, args: list[str]) -> None:
    fmt = {"m": model_dir, "pub": key.public, "priv": key.private}
    result = run(*[a.format(**fmt) for a in args])
    assert result.exit_code == 2


def test_missing_target_is_an_io_error(tmp_path: Path, key: KeyPair) -> None:
    result = run("sign", tmp_path / "nope", "--signature", tmp_path / "s.sig", "--key", key.private)
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_encrypted_key_uses_the_password_variable(
    model_dir: Path, key: KeyPair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization

    encrypted = tmp_path / "enc.pem"
    encrypted.write_bytes(
        key.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"s3cret"),
        )
    )
    sig = tmp_path / "m.sig"
    monkeypatch.delenv("AISBOM_KEY_PASSWORD", raising=False)
    result = run("sign", model_dir, "--signature", sig, "--key", encrypted)
    assert result.exit_code == 2 and "AISBOM_KEY_PASSWORD" in result.stderr
    monkeypatch.setenv("AISBOM_KEY_PASSWORD", "wrong")
    assert run("sign", model_dir, "--signature", sig, "--key", encrypted).exit_code == 2
    monkeypatch.setenv("AISBOM_KEY_PASSWORD", "s3cret")
    assert run("sign", model_dir, "--signature", sig, "--key", encrypted).exit_code == 0
    assert verify_key(model_dir, sig, key).exit_code == 0


def test_certificate_issued_by_a_non_ca_fails(model_dir: Path, pki: Pki, tmp_path: Path) -> None:
    from _signing_helpers import make_cert, write_key, write_pem
    from cryptography import x509

    # "issuer" is the trusted root's end-entity look-alike: CA:FALSE, yet it signs a leaf.
    root_cert = x509.load_pem_x509_certificate(pki.root.read_bytes())
    fake_ca_key = write_key(tmp_path, "fake-ca")
    fake_ca = make_cert("fake-ca", fake_ca_key.key.public_key(), "fake-ca", fake_ca_key.key, ca=False)
    signer = write_key(tmp_path, "signer")
    leaf = make_cert("signer", signer.key.public_key(), "fake-ca", fake_ca_key.key, ca=False)
    trusted = write_pem(tmp_path / "trusted.pem", root_cert, fake_ca)
    sig = tmp_path / "m.sig"
    args = ["--certificate", write_pem(tmp_path / "leaf.pem", leaf), "--key", signer.private]
    assert run("sign", model_dir, "--signature", sig, *args).exit_code == 0
    result = run("verify", model_dir, "--signature", sig, "--certificate-chain", trusted)
    assert result.exit_code == 1 and "is not a CA (basicConstraints CA:FALSE)" in result.stdout


@pytest.mark.parametrize("shards", [False, True])
def test_a_model_with_nothing_to_sign_is_refused(tmp_path: Path, key: KeyPair, shards: bool) -> None:
    model = tmp_path / "model"
    (model / ".git").mkdir(parents=True)
    (model / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (model / ".gitignore").write_text("*.tmp\n")
    if shards:
        (model / "empty").write_bytes(b"")  # a file, but no byte to sign
    sig = tmp_path / "model.sig"
    result = run(
        "sign", model, "--signature", sig, "--key", key.private, *(["--shard-size", 1024] if shards else [])
    )
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "nothing to sign: the model has no" in line and "file after the exclusions" in line
    assert not sig.exists() and not list(tmp_path.glob(".model.sig.*"))


def test_ignore_unsigned_files_lists_them_and_still_checks_the_rest(model_dir: Path, key: KeyPair) -> None:
    sig = sign_key(model_dir, key)
    (model_dir / "added.bin").write_bytes(b"after signing")
    (model_dir / "tokenizer" / "merges.txt").write_text("a b\n")
    assert verify_key(model_dir, sig, key).exit_code == 1
    result = verify_key(model_dir, sig, key, "--ignore-unsigned-files")
    assert result.exit_code == 0, result.output
    assert "2 unsigned files ignored" in result.stdout
    assert "  unsigned  added.bin\n  unsigned  tokenizer/merges.txt" in result.stdout
    (model_dir / "config.json").write_text("{}")  # a signed file changed: still a failure
    result = verify_key(model_dir, sig, key, "--ignore-unsigned-files")
    assert (
        result.exit_code == 1
        and "  modified  config.json" in result.stdout
        and "unsigned  added.bin" in result.stdout
    )


def test_git_paths_can_be_signed_and_checked(model_dir: Path, key: KeyPair) -> None:
    sig = sign_key(model_dir, key, "--no-ignore-git-paths")
    names = [r["name"] for r in _statement(sig)["predicate"]["resources"]]
    assert ".gitattributes" in names and ".git/HEAD" in names
    assert verify_key(model_dir, sig, key).exit_code == 0
    (model_dir / ".git" / "HEAD").write_text("changed\n")
    result = verify_key(model_dir, sig, key)
    assert result.exit_code == 1 and "  modified  .git/HEAD" in result.stdout


def test_verify_without_the_default_git_exclusions(model_dir: Path, key: KeyPair) -> None:
    sig = sign_key(model_dir, key)  # .git and .gitattributes left out, and recorded as such
    assert verify_key(model_dir, sig, key, "--no-ignore-git-paths").exit_code == 0  # recorded ones hold
    _resign(sig, key, lambda s: s["predicate"]["serialization"].update(ignore_paths=["model.sig"]))
    result = verify_key(model_dir, sig, key, "--no-ignore-git-paths")
    assert result.exit_code == 1 and "  extra     .git/HEAD" in result.stdout
    assert verify_key(model_dir, sig, key).exit_code == 0


def _statement(sig: Path) -> dict[str, Any]:
    return json.loads(base64.b64decode(json.loads(sig.read_text())["dsseEnvelope"]["payload"]))  # type: ignore[no-any-return]


def test_password_file(
    model_dir: Path, key: KeyPair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization

    monkeypatch.setenv("AISBOM_KEY_PASSWORD", "not this one")  # the file comes first
    encrypted = tmp_path / "enc.pem"
    encrypted.write_bytes(
        key.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pass phrase"),
        )
    )
    password = tmp_path / "password"
    password.write_bytes(b"pass phrase\r\nsecond line is not read\n")
    sig = tmp_path / "m.sig"
    args = ["--signature", sig, "--key", encrypted, "--password-file", password]
    assert run("sign", model_dir, *args).exit_code == 0
    assert verify_key(model_dir, sig, key).exit_code == 0
    password.write_text("wrong\n")
    result = run("sign", model_dir, *args)
    assert result.exit_code == 2 and "wrong password" in result.stderr
    password.unlink()
    result = run("sign", model_dir, *args)
    assert result.exit_code == 2 and "cannot read password file" in result.stderr
    result = run("sign", model_dir, "--sigstore", "--password-file", tmp_path / "x")
    assert result.exit_code == 2 and "--password-file" in result.output
