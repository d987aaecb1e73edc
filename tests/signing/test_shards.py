"""Shard serialization: `sign --shard-size N` and shard signatures from model_signing, both ways;
differences named per file (which bytes, or the length); a signed shard list that overlaps,
leaves a gap or cuts a file oddly is refused, and one that runs past the file fails."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from _signing_helpers import MODEL_FILES, KeyPair, run

from aisbom.signing.keys import KeySigner
from aisbom.signing.providers.pem import PemKeyProvider
from aisbom.signing.statement import root_digest

SHARD = 1 << 20  # weights.bin (2,304,000 bytes) has three shards, the others one each


@pytest.fixture(scope="module")
def ms() -> Any:
    import model_signing

    return model_signing


def statement(sig: Path) -> dict[str, Any]:
    return json.loads(base64.b64decode(json.loads(sig.read_text())["dsseEnvelope"]["payload"]))  # type: ignore[no-any-return]


def sign_shards(model: Path, key: KeyPair, sig: Path, size: int = SHARD) -> None:
    result = run("sign", model, "--signature", sig, "--key", key.private, "--shard-size", size)
    assert result.exit_code == 0, result.output


def test_shard_round_trip(model_dir: Path, key: KeyPair, tmp_path: Path) -> None:
    sig = tmp_path / "model.sig"
    sign_shards(model_dir, key, sig)
    doc = statement(sig)
    serialization = doc["predicate"]["serialization"]
    assert serialization["method"] == "shards" and serialization["shard_size"] == SHARD
    names = [r["name"] for r in doc["predicate"]["resources"]]
    assert names == sorted(names)  # code-point order, as OMS asks
    assert {"weights.bin:0:1048576", "weights.bin:1048576:2097152", "weights.bin:2097152:2304000"} <= set(
        names
    )
    assert not any(n.startswith("empty:") for n in names)  # an empty file has no shards
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 0, result.output
    # The empty file has no shards: the signature says nothing of it, so it is not counted.
    assert f"{len(MODEL_FILES) - 1} files match" in result.stdout
    assert {r["algorithm"] for r in doc["predicate"]["resources"]} == {f"sha256-sharded-{SHARD}"}


def test_a_changed_shard_is_named_with_its_bytes(model_dir: Path, key: KeyPair, tmp_path: Path) -> None:
    sig = tmp_path / "model.sig"
    sign_shards(model_dir, key, sig)
    data = bytearray((model_dir / "weights.bin").read_bytes())
    data[SHARD + 5] ^= 1
    (model_dir / "weights.bin").write_bytes(bytes(data))
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 1
    assert "  modified  weights.bin (bytes 1048576-2097152)" in result.stdout
    assert result.stdout.count("  modified  ") == 1


@pytest.mark.parametrize("new_size", [2_304_001, 1_000_000, 0])
def test_a_file_of_another_length_is_named_with_both_lengths(
    model_dir: Path, key: KeyPair, tmp_path: Path, new_size: int
) -> None:
    sig = tmp_path / "model.sig"
    sign_shards(model_dir, key, sig)
    weights = model_dir / "weights.bin"
    weights.write_bytes((weights.read_bytes() + b"x")[:new_size])
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 1
    assert "  modified  weights.bin\n            expected 2304000 bytes\n" in result.stdout
    assert f"            actual   {new_size} bytes" in result.stdout


def test_extra_missing_and_empty_files(model_dir: Path, key: KeyPair, tmp_path: Path) -> None:
    sig = tmp_path / "model.sig"
    sign_shards(model_dir, key, sig)
    (model_dir / "config.json").unlink()
    (model_dir / "added.bin").write_bytes(b"new")
    (model_dir / "also-empty").write_bytes(b"")  # no shards, like the signed empty file
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 1
    assert "  missing   config.json" in result.stdout and "  extra     added.bin" in result.stdout
    assert "also-empty" not in result.stdout
    unsigned = run("verify", model_dir, "--signature", sig, "--key", key.public, "--ignore-unsigned-files")
    assert unsigned.exit_code == 1 and "  unsigned  added.bin" in unsigned.stdout


def test_aisbom_shards_pass_model_signing(ms: Any, model_dir: Path, key: KeyPair, tmp_path: Path) -> None:
    sig = tmp_path / "model.sig"
    sign_shards(model_dir, key, sig)
    ms.verifying.Config().use_elliptic_key_verifier(public_key=key.public).verify(model_dir, sig)
    (model_dir / "weights.bin").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="weights.bin"):
        ms.verifying.Config().use_elliptic_key_verifier(public_key=key.public).verify(model_dir, sig)


def test_model_signing_shards_pass_aisbom(ms: Any, model_dir: Path, key: KeyPair, tmp_path: Path) -> None:
    sig = tmp_path / "model.sig"
    hashing = ms.hashing.Config().use_shard_serialization(shard_size=SHARD)
    ms.signing.Config().use_elliptic_key_signer(private_key=key.private).set_hashing_config(hashing).sign(
        model_dir, sig
    )
    assert statement(sig)["predicate"]["serialization"]["method"] == "shards"
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 0, result.output
    (model_dir / "tokenizer" / "vocab.txt").write_text("x\ny\nz\n")  # same length
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 1 and "  modified  tokenizer/vocab.txt (bytes 0-" in result.stdout


def test_single_file_shards_both_ways(ms: Any, model_dir: Path, key: KeyPair, tmp_path: Path) -> None:
    target = model_dir / "weights.bin"
    theirs, ours = tmp_path / "theirs.sig", tmp_path / "ours.sig"
    hashing = ms.hashing.Config().use_shard_serialization(shard_size=SHARD)
    ms.signing.Config().use_elliptic_key_signer(private_key=key.private).set_hashing_config(hashing).sign(
        target, theirs
    )
    assert statement(theirs)["predicate"]["resources"][0]["name"].startswith(".:")  # model_signing's "."
    assert run("verify", target, "--signature", theirs, "--key", key.public).exit_code == 0
    args = ["--signature", ours, "--key", key.private, "--shard-size", SHARD, "--single-file-dot-name"]
    assert run("sign", target, *args).exit_code == 0
    ms.verifying.Config().use_elliptic_key_verifier(public_key=key.public).verify(target, ours)
    assert run("verify", target, "--signature", ours, "--key", key.public).exit_code == 0


def test_a_file_name_with_colons(key: KeyPair, tmp_path: Path) -> None:
    model = tmp_path / "colons"
    model.mkdir()
    (model / "a:1:2").write_bytes(b"colons")
    sig = tmp_path / "model.sig"
    sign_shards(model, key, sig, size=4)
    assert [r["name"] for r in statement(sig)["predicate"]["resources"]] == ["a:1:2:0:4", "a:1:2:4:6"]
    assert run("verify", model, "--signature", sig, "--key", key.public).exit_code == 0


def _resign(sig: Path, key: KeyPair, mutate: Any) -> None:
    """Change the signed statement and sign it again, so only aisbom's own checks can object."""
    doc = statement(sig)
    mutate(doc)
    doc["subject"][0]["digest"]["sha256"] = root_digest([r["digest"] for r in doc["predicate"]["resources"]])
    sig.write_text(json.dumps(KeySigner(PemKeyProvider(key.private)).sign(json.dumps(doc).encode())))


def _rename(old: str, new: str) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        (resource,) = [r for r in doc["predicate"]["resources"] if r["name"] == old]
        resource["name"] = new

    return mutate


@pytest.mark.parametrize(
    "mutate, message",
    [
        (_rename("weights.bin:1048576:2097152", "weights.bin:1048000:2097152"), "overlap at byte 1048000"),
        (
            _rename("weights.bin:1048576:2097152", "weights.bin:1049000:2097152"),
            "leave bytes 1048576-1049000",
        ),
        (_rename("weights.bin:0:1048576", "weights.bin:0:1048000"), "is 1048000 bytes long"),
        (_rename("weights.bin:0:1048576", "weights.bin:5:1048576"), "leave bytes 0-5 uncovered"),
        (_rename("config.json:0:14", "config.json:14:14"), "ends before it starts"),
        (_rename("config.json:0:14", "config.json"), "is not PATH:START:END"),
        (_rename("config.json:0:14", "../config.json:0:14"), "'..'"),
        (lambda d: d["predicate"]["serialization"].update(shard_size=0), "positive integer shard_size"),
        (lambda d: d["predicate"]["serialization"].update(shard_size=True), "positive integer shard_size"),
    ],
)
def test_crafted_shard_lists_are_refused(
    model_dir: Path, key: KeyPair, tmp_path: Path, mutate: Any, message: str
) -> None:
    sig = tmp_path / "model.sig"
    sign_shards(model_dir, key, sig)
    _resign(sig, key, mutate)
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 1, result.output
    assert message in result.stdout and len(result.stdout.strip().splitlines()) == 1


def test_shards_past_the_end_of_the_file_fail(model_dir: Path, key: KeyPair, tmp_path: Path) -> None:
    sig = tmp_path / "model.sig"
    sign_shards(model_dir, key, sig)
    _resign(sig, key, _rename("weights.bin:2097152:2304000", "weights.bin:2097152:2400000"))
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 1 and "expected 2400000 bytes" in result.stdout


def test_files_statement_with_a_shard_size_is_refused(model_dir: Path, key: KeyPair, tmp_path: Path) -> None:
    sig = tmp_path / "model.sig"
    assert run("sign", model_dir, "--signature", sig, "--key", key.private).exit_code == 0
    _resign(sig, key, lambda d: d["predicate"]["serialization"].update(shard_size=10))
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 1 and "shard_size is given for the 'files' method" in result.stdout


def test_shard_size_must_be_positive(model_dir: Path, key: KeyPair) -> None:
    result = run("sign", model_dir, "--key", key.private, "--shard-size", 0)
    assert result.exit_code == 2 and "--shard-size" in result.output
