"""Walking and hashing a model, and the OMS statement built from it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from _signing_helpers import MODEL_FILES

from aisbom.hashing import CHUNK_SIZE
from aisbom.signing.errors import TargetReadError, UnsafePathError
from aisbom.signing.manifest import (
    build_manifest,
    hash_file,
    hash_files,
    normalize_ignore,
    walk,
)
from aisbom.signing.statement import PREDICATE_TYPE, decode_statement, encode_statement, root_digest


def test_every_file_is_hashed_with_sha256(model_dir: Path) -> None:
    manifest = build_manifest(model_dir)
    assert sorted(manifest.resources) == MODEL_FILES
    for name, digest in manifest.resources.items():
        assert digest == hashlib.sha256((model_dir / name).read_bytes()).hexdigest()


def test_default_exclusions_are_top_level_only_and_recorded(model_dir: Path) -> None:
    (model_dir / "sub").mkdir()
    (model_dir / "sub" / ".gitignore").write_text("x\n")
    (model_dir / ".github").mkdir()
    (model_dir / ".github" / "workflow.yml").write_text("on: push\n")
    manifest = build_manifest(model_dir)
    assert "sub/.gitignore" in manifest.resources
    assert not any(n.startswith((".git", ".github")) for n in manifest.resources)
    assert manifest.ignore_paths == (".git", ".gitattributes", ".github", ".gitignore")


def test_ignored_directory_and_file(model_dir: Path) -> None:
    manifest = build_manifest(model_dir, ignore_paths=["tokenizer", "empty"])
    assert sorted(manifest.resources) == ["config.json", "weights.bin"]
    assert "tokenizer" in manifest.ignore_paths and "empty" in manifest.ignore_paths


def test_ignore_paths_are_normalized_relative_to_target(model_dir: Path) -> None:
    assert normalize_ignore("tokenizer/", target=model_dir) == "tokenizer"
    assert normalize_ignore(str(model_dir / "tokenizer" / "vocab.txt"), target=model_dir) == (
        "tokenizer/vocab.txt"
    )
    for bad in ("..", "../x", ".", str(model_dir.parent / "elsewhere")):
        with pytest.raises(TargetReadError):
            normalize_ignore(bad, target=model_dir)


def test_single_file_is_named_by_its_basename(model_dir: Path) -> None:
    manifest = build_manifest(model_dir / "weights.bin")
    assert list(manifest.resources) == ["weights.bin"]
    assert manifest.single_file and manifest.ignore_paths == ()


def test_large_file_hash_spans_chunks(tmp_path: Path) -> None:
    path = tmp_path / "big"
    data = os.urandom(CHUNK_SIZE * 2 + 12345)
    path.write_bytes(data)
    assert hash_file(path) == hashlib.sha256(data).hexdigest()
    assert hash_file(path, "blake2b") == hashlib.blake2b(data).hexdigest()


def test_thread_pool_gives_the_same_digests(model_dir: Path) -> None:
    files = walk(model_dir, ignores=[".git", ".gitattributes"]).files
    assert hash_files(files, max_workers=4) == hash_files(files, max_workers=1)


@pytest.mark.parametrize("hash_type", ["sha256", "blake2b"])
def test_large_files_hashed_in_children_give_the_digests_of_their_bytes(
    tmp_path: Path, hash_type: str
) -> None:
    """Files over 1 MiB are hashed through a mapping in forked children, the others here: in
    either way, the digest of the bytes, under the file's own name."""
    contents = {
        "empty": b"",
        "small": os.urandom(4096),
        "a.bin": os.urandom((1 << 20) + 1),
        "b.bin": os.urandom(3 * CHUNK_SIZE + 7),
        "c.bin": os.urandom(9 * CHUNK_SIZE),
    }
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
    expected = {name: hashlib.new(hash_type, data).hexdigest() for name, data in contents.items()}
    for workers in (1, 2, 4):
        digests = hash_files({n: tmp_path / n for n in contents}, hash_type, max_workers=workers)
        assert digests == expected and list(digests) == list(contents)


def test_escaping_symlink_is_refused(model_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.write_text("outside\n")
    (model_dir / "link").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="outside the target"):
        build_manifest(model_dir)
    with pytest.raises(UnsafePathError, match="outside the target"):
        build_manifest(model_dir, allow_symlinks=True)


def test_internal_symlink_needs_allow_symlinks(model_dir: Path) -> None:
    (model_dir / "alias.json").symlink_to("config.json")
    with pytest.raises(UnsafePathError, match="not allowed"):
        build_manifest(model_dir)
    manifest = build_manifest(model_dir, allow_symlinks=True)
    assert manifest.resources["alias.json"] == manifest.resources["config.json"]
    assert manifest.allow_symlinks


def test_symlink_loop_is_refused(model_dir: Path) -> None:
    (model_dir / "tokenizer" / "up").symlink_to("..")
    with pytest.raises(UnsafePathError):
        build_manifest(model_dir, allow_symlinks=True)


def test_fifo_is_refused(model_dir: Path) -> None:
    os.mkfifo(model_dir / "pipe")
    with pytest.raises(TargetReadError, match="not a regular file"):
        build_manifest(model_dir)


def test_missing_target(tmp_path: Path) -> None:
    with pytest.raises(TargetReadError):
        build_manifest(tmp_path / "nope")


def test_statement_is_deterministic_and_sorted_by_code_point(tmp_path: Path) -> None:
    root = tmp_path / "m"
    (root / "a").mkdir(parents=True)
    for name in ("a/b", "a-c", "B", "é", "z"):
        (root / name).write_text(name)
    first = encode_statement(build_manifest(root))
    second = encode_statement(build_manifest(root, max_workers=1))
    assert first == second
    statement = json.loads(first)
    names = [r["name"] for r in statement["predicate"]["resources"]]
    assert names == sorted(names) == ["B", "a-c", "a/b", "z", "é"]
    assert statement["predicateType"] == PREDICATE_TYPE
    assert statement["subject"][0]["name"] == "m"
    digests = [r["digest"] for r in statement["predicate"]["resources"]]
    assert statement["subject"][0]["digest"]["sha256"] == root_digest(digests)
    assert statement["predicate"]["serialization"] == {
        "method": "files",
        "hash_type": "sha256",
        "allow_symlinks": False,
        "ignore_paths": [".git", ".gitattributes", ".github", ".gitignore"],
    }


def test_statement_round_trips(model_dir: Path) -> None:
    manifest = build_manifest(model_dir, ignore_paths=["empty"])
    decoded = decode_statement(encode_statement(manifest))
    assert dict(decoded.resources) == dict(manifest.resources)
    assert decoded.ignore_paths == manifest.ignore_paths
    assert decoded.model_name == "model"
