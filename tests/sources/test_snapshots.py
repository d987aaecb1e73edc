"""Hugging Face cache snapshots in every command: a snapshot's links into its own repository's
blobs/ are its files (aisbom/hf_snapshot.py), for the scan, sign, verify and verify --bom alike,
each file named by its path in the snapshot. A signature made on a snapshot verifies on a plain
copy of the same files and the other way round, with aisbom and with OpenSSF model_signing.
Links anywhere else stay refused."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _bom_helpers import run
from _servers import Hub, git_blob_id
from _sources_helpers import TINY_COMMIT, tiny_files
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from aisbom.sources import resolve

FILES = ["README.md", "config.json", "model.safetensors", "tokenizer/vocab.txt"]


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(private, public) PEM files of a P-256 key."""
    directory = tmp_path_factory.mktemp("key")
    private_key = ec.generate_private_key(ec.SECP256R1())
    private, public = directory / "k.pem", directory / "k.pub"
    private.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def snapshot_files() -> dict[str, bytes]:
    return {**tiny_files(), "tokenizer/vocab.txt": b"[PAD]\nhello\n"}


def build_cache(cache: Path, repo: str = "models--acme--tiny", files: dict[str, bytes] | None = None) -> Path:
    """A cache laid out by hand as huggingface_hub lays it out: blobs named by ETag, one relative
    link per file in snapshots/<commit>/, refs/main. Returns the snapshot."""
    files = files if files is not None else snapshot_files()
    root = cache / repo
    snapshot = root / "snapshots" / TINY_COMMIT
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(TINY_COMMIT)
    for path, body in files.items():
        etag = hashlib.sha256(body).hexdigest() if path.endswith(".safetensors") else git_blob_id(body)
        (root / "blobs" / etag).write_bytes(body)
        link = snapshot / path
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path(*[".."] * (path.count("/") + 2), "blobs", etag))
    return snapshot


@pytest.fixture(params=["hand-made", "client-made"])
def snapshot(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A snapshot laid out by hand, or filled by the real huggingface_hub client from the fake Hub."""
    if request.param == "hand-made":
        return build_cache(tmp_path / "hand-cache")
    request.getfixturevalue("hub")
    path = resolve("hf://acme/tiny@main").path
    # The client-made repository has no nested file: add one the way the client would have.
    blob = path.parent.parent / "blobs" / git_blob_id(b"[PAD]\nhello\n")
    blob.write_bytes(b"[PAD]\nhello\n")
    (path / "tokenizer").mkdir()
    (path / "tokenizer" / "vocab.txt").symlink_to(Path("..", "..", "..", "blobs", blob.name))
    return path


def plain_copy(snapshot: Path, destination: Path) -> Path:
    shutil.copytree(snapshot, destination, symlinks=False)  # follows the links: plain files
    assert not any(p.is_symlink() for p in destination.rglob("*"))
    return destination


def sign(target: Path, signature: Path, key: tuple[Path, Path], count: int = len(FILES)) -> None:
    code, out, err = run("sign", str(target), "--signature", str(signature), "--key", str(key[0]))
    assert code == 0, err
    assert out.startswith(f"Signed {count} files of ")


def verify(target: Path | str, signature: Path, key: tuple[Path, Path]) -> tuple[int, str, str]:
    return run("verify", str(target), "--signature", str(signature), "--key", str(key[1]))


def signed_names(signature: Path) -> list[str]:
    import base64

    envelope = json.loads(signature.read_text())["dsseEnvelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    return sorted(r["name"] for r in statement["predicate"]["resources"])


def test_a_snapshot_signature_verifies_on_the_snapshot_and_on_a_plain_copy(
    snapshot: Path, key: tuple[Path, Path], tmp_path: Path
):
    signature = tmp_path / "snapshot.sig"
    sign(snapshot, signature, key)
    assert signed_names(signature) == FILES  # named by their snapshot paths, not blob names

    for target in (snapshot, plain_copy(snapshot, tmp_path / "copy")):
        code, out, err = verify(target, signature, key)
        assert code == 0, out + err
        assert f"{len(FILES)} files match the signature" in out


def test_a_plain_copy_signature_verifies_on_the_snapshot(
    snapshot: Path, key: tuple[Path, Path], tmp_path: Path
):
    signature = tmp_path / "copy.sig"
    sign(plain_copy(snapshot, tmp_path / "copy"), signature, key)
    code, out, err = verify(snapshot, signature, key)
    assert code == 0, out + err


def test_a_changed_blob_fails_verification(snapshot: Path, key: tuple[Path, Path], tmp_path: Path):
    signature = tmp_path / "snapshot.sig"
    sign(snapshot, signature, key)
    blob = (snapshot / "config.json").resolve()
    blob.write_bytes(blob.read_bytes().replace(b"4", b"5"))
    code, out, _ = verify(snapshot, signature, key)
    assert code == 1 and "1 modified" in out and "config.json" in out


def test_verify_bom_on_the_snapshot_and_on_a_plain_copy(snapshot: Path, tmp_path: Path):
    bom = tmp_path / "model.cdx.json"
    code, _, err = run("bom", str(snapshot), "-o", str(bom))
    assert code == 0, err
    for target in (snapshot, plain_copy(snapshot, tmp_path / "copy")):
        code, out, err = run("verify", str(target), "--bom", str(bom))
        assert code == 0, out + err
        assert f"{len(FILES)} files match the BOM" in out


@pytest.mark.parametrize("signed", ["snapshot", "copy"])
def test_model_signing_verifies_on_a_plain_copy_and_with_allow_symlinks_on_the_snapshot(
    snapshot: Path, key: tuple[Path, Path], tmp_path: Path, signed: str
):
    """OpenSSF model_signing 1.1.1 checks a signature made by aisbom on either layout against a
    plain copy. On the snapshot itself it refuses every symlink, except when its CLI is given
    --allow_symlinks (its API's guessed hashing config resets the recorded allow_symlinks to
    false in Config.hash, so the API never follows them)."""
    from model_signing import verifying

    copy = plain_copy(snapshot, tmp_path / "copy")
    signature = tmp_path / "model.sig"
    sign(snapshot if signed == "snapshot" else copy, signature, key)

    verifying.Config().use_elliptic_key_verifier(public_key=key[1]).verify(copy, signature)
    with pytest.raises(ValueError, match="because it is a symlink"):
        verifying.Config().use_elliptic_key_verifier(public_key=key[1]).verify(snapshot, signature)
    if signed == "copy":
        return  # the command line below is the same for both; run it once per layout (it is slow)
    done = model_signing_cli(
        "verify", "key", snapshot, "--signature", signature, "--public_key", key[1], "--allow_symlinks"
    )
    assert done.returncode == 0 and "Verification succeeded" in done.stdout, done.stderr


def model_signing_cli(*args: object) -> subprocess.CompletedProcess[str]:
    code = "import sys; from model_signing._cli import main; sys.argv[0] = 'model_signing'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_a_link_into_another_repositorys_blobs_stays_refused(key: tuple[Path, Path], tmp_path: Path):
    cache = tmp_path / "cache"
    snapshot = build_cache(cache)
    other = build_cache(cache, "models--evil--other", {"payload.bin": b"not this model's"})
    (snapshot / "extra.bin").symlink_to(
        Path("..", "..", "..", "models--evil--other", "blobs") / (git_blob_id(b"not this model's"))
    )
    assert (snapshot / "extra.bin").resolve().parent == other.parent.parent / "blobs"
    assert_refused(snapshot, "extra.bin", key, tmp_path)


def test_a_link_elsewhere_stays_refused(key: tuple[Path, Path], tmp_path: Path):
    snapshot = build_cache(tmp_path / "cache")
    outside = tmp_path / "secret.txt"
    outside.write_text("not part of the model\n")
    (snapshot / "extra.txt").symlink_to(outside)
    assert_refused(snapshot, "extra.txt", key, tmp_path)


def test_a_link_to_a_directory_of_blobs_stays_refused(key: tuple[Path, Path], tmp_path: Path):
    snapshot = build_cache(tmp_path / "cache")
    (snapshot / "all-blobs").symlink_to(Path("..", "..", "blobs"))
    assert_refused(snapshot, "all-blobs", key, tmp_path)


def assert_refused(snapshot: Path, name: str, key: tuple[Path, Path], tmp_path: Path) -> None:
    code, out, err = run("sign", str(snapshot), "--signature", str(tmp_path / "s.sig"), "--key", str(key[0]))
    assert code == 2 and f"symlink {name!r} points outside the target" in err, out + err
    assert not (tmp_path / "s.sig").exists()

    code, out, err = run("scan", str(snapshot), "--format", "json")
    findings = [f for file in json.loads(out)["files"] for f in file["findings"]]
    assert code == 1 and [f["rule"] for f in findings] == ["symlink-outside-target"], err

    clean = tmp_path / "clean.sig"  # the same snapshot without the link, signed
    link = snapshot / name
    target = link.readlink()
    link.unlink()
    sign(snapshot, clean, key)
    link.symlink_to(target)
    code, out, err = verify(snapshot, clean, key)
    assert code == 1 and f"symlink {name!r} points outside the target" in out + err


def test_verify_and_sign_an_hf_target(hub: Hub, key: tuple[Path, Path], tmp_path: Path):
    signature = tmp_path / "tiny.sig"
    code, out, err = run("sign", "hf://acme/tiny@main", "--signature", str(signature), "--key", str(key[0]))
    assert code == 0, err
    assert out == f"Signed 3 files of hf://acme/tiny@main: {signature}\n"
    assert f"aisbom: hf://acme/tiny@main: commit {TINY_COMMIT} (" in err

    code, out, err = verify(f"hf://acme/tiny@{TINY_COMMIT}", signature, key)
    assert code == 0, out + err
    assert out == (
        f"Verified: hf://acme/tiny@{TINY_COMMIT}: 3 files match the signature by public key "
        f"{out.split('public key ')[1]}"
    )

    bom = tmp_path / "tiny.cdx.json"
    assert run("bom", "hf://acme/tiny@main", "-o", str(bom))[0] == 0
    code, out, err = run("verify", "hf://acme/tiny", "--bom", str(bom))
    assert code == 0 and out == f"Verified: hf://acme/tiny: 3 files match the BOM {bom}\n", out + err


def test_an_hf_target_is_verified_with_the_repositorys_own_signature(
    hub: Hub, key: tuple[Path, Path], tmp_path: Path
):
    """A repository that publishes model.sig (as model_signing users upload it) is verified
    against it by default."""
    files = tiny_files()
    sign(plain_copy_of(files, tmp_path / "release"), tmp_path / "release" / "model.sig", key, count=3)
    repo = hub.find("model", "acme/tiny")
    assert repo is not None
    repo.commits[TINY_COMMIT]["model.sig"] = (tmp_path / "release" / "model.sig").read_bytes()
    code, out, err = run("verify", "hf://acme/tiny@main", "--key", str(key[1]))
    assert code == 0 and "3 files match the signature" in out, out + err


def plain_copy_of(files: dict[str, bytes], directory: Path) -> Path:
    for path, body in files.items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_bytes(body)
    return directory


def test_signing_a_remote_target_needs_a_signature_path(hub: Hub, key: tuple[Path, Path]):
    code, _, err = run("sign", "hf://acme/tiny@main", "--key", str(key[0]))
    assert code == 2 and "hf://acme/tiny@main is remote: give --signature FILE" in err


@pytest.mark.parametrize("shards", [[], ["--shard-size", "1000"]])
def test_a_changed_cache_is_not_signed(
    hub: Hub, hf_env: Path, key: tuple[Path, Path], tmp_path: Path, shards: list[str]
):
    """Whole-file or in shards (a shard signature holds no file's SHA-256: the files are hashed
    whole for the check)."""
    resolve("hf://acme/tiny@main")
    weights = tiny_files()["model.safetensors"]
    blob = hf_env / "models--acme--tiny" / "blobs" / hashlib.sha256(weights).hexdigest()
    tampered = bytearray(weights)
    tampered[-1] ^= 1
    blob.write_bytes(bytes(tampered))
    signature = tmp_path / "tiny.sig"
    code, _, err = run(
        "sign", "hf://acme/tiny@main", "--signature", str(signature), "--key", str(key[0]), *shards
    )
    assert code == 2 and "SHA-256 of model.safetensors is" in err and "changed after it was downloaded" in err
    assert not signature.exists()


def test_a_changed_cache_fails_a_shard_signature_too(
    hub: Hub, hf_env: Path, key: tuple[Path, Path], tmp_path: Path
):
    signature = tmp_path / "tiny.sig"
    args = ["--signature", str(signature), "--key", str(key[0]), "--shard-size", "1000"]
    assert run("sign", "hf://acme/tiny@main", *args)[0] == 0
    assert verify("hf://acme/tiny@main", signature, key)[0] == 0
    weights = tiny_files()["model.safetensors"]
    blob = hf_env / "models--acme--tiny" / "blobs" / hashlib.sha256(weights).hexdigest()
    tampered = bytearray(weights)
    tampered[-1] ^= 1
    blob.write_bytes(bytes(tampered))
    code, out, err = verify("hf://acme/tiny@main", signature, key)
    assert code == 2 and "SHA-256 of model.safetensors is" in err and "changed after it was downloaded" in err


def test_a_snapshot_is_added_to_an_inventory(snapshot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    code, out, err = run("add", "model", str(snapshot), "--name", "tiny")
    assert code == 0, out + err
    lock = json.loads((project / "aisbom.lock").read_text())
    assert sorted(lock["assets"]["tiny"]["files"]) == FILES
