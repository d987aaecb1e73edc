"""`sign --hash sha256|blake2b|blake3` and the verification of each, with model_signing too."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from _signing_helpers import KeyPair, run

from aisbom import hashing
from aisbom.signing.manifest import hash_file

ALGORITHMS = ["sha256", "blake2b", "blake3"]
# model_signing's names for the same algorithms.
MS_NAMES = {"sha256": "sha256", "blake2b": "blake2", "blake3": "blake3"}


def sign(model: Path, sig: Path, key: KeyPair, algorithm: str):  # type: ignore[no-untyped-def]
    return run("sign", model, "--signature", sig, "--key", key.private, "--hash", algorithm)


def _statement(signature: Path) -> dict[str, Any]:
    import base64

    envelope = json.loads(signature.read_text())["dsseEnvelope"]
    return json.loads(base64.b64decode(envelope["payload"]))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sign_with_each_hash_and_verify(
    model_dir: Path, key: KeyPair, tmp_path: Path, algorithm: str
) -> None:
    sig = tmp_path / "model.sig"
    assert sign(model_dir, sig, key, algorithm).exit_code == 0
    predicate = _statement(sig)["predicate"]
    assert predicate["serialization"]["hash_type"] == algorithm
    weights = next(r for r in predicate["resources"] if r["name"] == "weights.bin")
    assert weights["algorithm"] == algorithm
    assert weights["digest"] == hash_file(model_dir / "weights.bin", algorithm)
    assert run("verify", model_dir, "--signature", sig, "--key", key.public).exit_code == 0
    (model_dir / "weights.bin").write_bytes(b"tampered")
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 1 and "weights.bin" in result.output


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_shards_sign_with_each_hash(model_dir: Path, key: KeyPair, tmp_path: Path, algorithm: str) -> None:
    sig = tmp_path / "model.sig"
    args = ("--key", key.private, "--hash", algorithm, "--shard-size", 1 << 20)
    assert run("sign", model_dir, "--signature", sig, *args).exit_code == 0
    assert run("verify", model_dir, "--signature", sig, "--key", key.public).exit_code == 0


def test_digests_equal_the_reference_tools(tmp_path: Path) -> None:
    """SHA-256 as sha256sum, BLAKE2b as b2sum, BLAKE3 as b3sum (the BLAKE3 team's tool, which
    .ci/run installs) and as the official test vectors."""
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(range(256)) * 12_345)  # several 1 MiB reads
    tools = [("sha256sum", "sha256"), ("b2sum", "blake2b")]
    if shutil.which("b3sum") and "blake3" in hashing.algorithms():
        tools.append(("b3sum", "blake3"))
    for tool, algorithm in tools:
        done = subprocess.run([tool, str(data)], capture_output=True, text=True, check=True)
        expected = done.stdout.split()[0]
        assert hash_file(data, algorithm) == expected, tool
    pytest.importorskip("blake3")
    empty, abc = tmp_path / "empty", tmp_path / "abc"
    empty.write_bytes(b"")
    abc.write_bytes(b"abc")
    assert hash_file(empty, "blake3") == "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    assert hash_file(abc, "blake3") == "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
    # Read in 1 MiB pieces or at once, on several threads: the same digest.
    whole = hashing.new_hasher("blake3")
    whole.update(data.read_bytes())
    assert hash_file(data, "blake3") == whole.hexdigest()


@pytest.fixture(scope="module")
def ms() -> Any:
    return pytest.importorskip("model_signing")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_model_signing_verifies_each_aisbom_hash(
    ms: Any, model_dir: Path, key: KeyPair, tmp_path: Path, algorithm: str
) -> None:
    sig = tmp_path / "model.sig"
    assert sign(model_dir, sig, key, algorithm).exit_code == 0
    verifier = ms.verifying.Config().use_elliptic_key_verifier(public_key=key.public)
    if algorithm != "blake2b":
        verifier.verify(model_dir, sig)
        return
    # model_signing 1.1.1 writes "blake2b" and then asks its own hasher factory for that name,
    # which knows only "blake2": it verifies no BLAKE2b signature, its own included.
    own = tmp_path / "own.sig"
    hashing_config = ms.hashing.Config().use_file_serialization(hashing_algorithm="blake2")
    ms.signing.Config().use_elliptic_key_signer(private_key=key.private).set_hashing_config(
        hashing_config
    ).sign(model_dir, own)
    for signature in (sig, own):
        with pytest.raises(ValueError, match="Unsupported hashing method blake2b"):
            verifier.verify(model_dir, signature)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_aisbom_verifies_each_model_signing_hash(
    ms: Any, model_dir: Path, key: KeyPair, tmp_path: Path, algorithm: str
) -> None:
    sig = tmp_path / "model.sig"
    hashing_config = ms.hashing.Config().use_file_serialization(hashing_algorithm=MS_NAMES[algorithm])
    ms.signing.Config().use_elliptic_key_signer(private_key=key.private).set_hashing_config(
        hashing_config
    ).sign(model_dir, sig)
    assert _statement(sig)["predicate"]["serialization"]["hash_type"] == algorithm
    result = run("verify", model_dir, "--signature", sig, "--key", key.public)
    assert result.exit_code == 0, result.output
