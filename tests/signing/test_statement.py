"""What a signed statement must look like before its manifest is believed."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest

from aisbom.signing.errors import StatementError
from aisbom.signing.statement import PREDICATE_TYPE, STATEMENT_TYPE, decode_statement, root_digest

D1 = hashlib.sha256(b"one").hexdigest()
D2 = hashlib.sha256(b"two").hexdigest()


def statement(resources: list[dict[str, Any]], **serialization: Any) -> dict[str, Any]:
    ser = {"method": "files", "hash_type": "sha256", "allow_symlinks": False, **serialization}
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": "m", "digest": {"sha256": root_digest([r["digest"] for r in resources])}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"resources": resources, "serialization": ser},
    }


def res(name: str, digest: str = D1) -> dict[str, str]:
    return {"name": name, "algorithm": "sha256", "digest": digest}


def decode(doc: dict[str, Any]):  # type: ignore[no-untyped-def]
    return decode_statement(json.dumps(doc).encode())


def test_accepts_a_plain_statement() -> None:
    manifest = decode(statement([res("a"), res("dir/b", D2)], ignore_paths=["x", ".git"]))
    assert dict(manifest.resources) == {"a": D1, "dir/b": D2}
    assert manifest.ignore_paths == (".git", "x")


def test_accepts_resources_not_in_code_point_order() -> None:
    # model_signing orders by path components ("a/b" before "a-c"); the digest follows the list.
    assert decode(statement([res("a/b"), res("a-c", D2)])).resources.keys() == {"a/b", "a-c"}


def test_single_file_compat_name() -> None:
    manifest = decode(statement([res(".")]))
    assert manifest.single_file and manifest.resources == {".": D1}


@pytest.mark.parametrize(
    "name, message",
    [
        ("../escape", "'..'"),
        ("a/../../escape", "'..'"),
        ("/etc/passwd", "absolute"),
        ("C:/Windows/x", "absolute"),
        ("a//b", "normalized"),
        ("./a", "normalized"),
        ("a/", "normalized"),
        ("", "non-empty"),
        ("a\x00b", "NUL"),
    ],
)
def test_rejects_unsafe_names(name: str, message: str) -> None:
    with pytest.raises(StatementError, match=message):
        decode(statement([res(name), res("other", D2)]))


def test_rejects_dot_among_several_resources() -> None:
    with pytest.raises(StatementError, match="normalized"):
        decode(statement([res("."), res("b", D2)]))


def test_rejects_duplicates() -> None:
    with pytest.raises(StatementError, match="twice"):
        decode(statement([res("a"), res("a", D2)]))


def test_rejects_subject_digest_mismatch() -> None:
    doc = statement([res("a"), res("b", D2)])
    doc["subject"][0]["digest"]["sha256"] = root_digest([D2, D1])
    with pytest.raises(StatementError, match="subject digest"):
        decode(doc)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(predicateType="https://example.com/wrong/v1"), "predicate type"),
        (lambda d: d.update(_type="https://in-toto.io/Statement/v0.1"), "Statement v1"),
        (lambda d: d["subject"].append(copy.deepcopy(d["subject"][0])), "one subject"),
        (lambda d: d["predicate"]["serialization"].update(method="shards"), "shards"),
        (lambda d: d["predicate"]["serialization"].update(hash_type="md5"), "md5"),
        (lambda d: d["predicate"]["serialization"].update(allow_symlinks="no"), "boolean"),
        (lambda d: d["predicate"]["serialization"].update(ignore_paths=["."]), "whole model"),
        (lambda d: d["predicate"]["resources"][0].update(algorithm="blake2b"), "uses"),
        (lambda d: d["predicate"]["resources"][0].update(digest="ABC"), "malformed"),
        (lambda d: d["predicate"].pop("resources"), "resources"),
    ],
)
def test_rejects_malformed_statements(mutate: Any, message: str) -> None:
    doc = statement([res("a"), res("b", D2)])
    mutate(doc)
    with pytest.raises(StatementError, match=message):
        decode(doc)


def test_rejects_non_json() -> None:
    with pytest.raises(StatementError, match="not JSON"):
        decode_statement(b"\xff not json")
