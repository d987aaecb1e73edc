"""s3:// targets against a real S3 endpoint on loopback (moto's server): a prefix is a model
directory, a key one file; ETag, version id and last-modified reach the BOM; an object replaced
between listing and reading, a key that would leave the cache, a missing bucket or an endpoint
that does not answer are one line each."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from _bom_helpers import by_ref, props, run, strict_schema_errors
from _s3 import Bucket, require
from _sources_helpers import REPO

from aisbom.sources import DownloadError, resolve
from aisbom.sources.s3 import copy_listing, list_s3

require("s3fs", "s3")
DEMO = REPO / "fixtures" / "demo"


def test_scan_of_a_prefix_is_the_scan_of_the_directory(bucket: Bucket) -> None:
    bucket.upload(DEMO, "org/demo")
    bucket.put("org/demo2/other.bin", b"not part of org/demo")  # starts alike, another prefix
    code, out, err = run("scan", f"s3://{bucket.name}/org/demo", "--format", "json")
    local_code, local_out, _ = run("scan", str(DEMO), "--format", "json")
    assert code == local_code == 1, err
    remote, local = json.loads(out), json.loads(local_out)
    assert remote["target"] == f"s3://{bucket.name}/org/demo"
    assert remote["files"] == local["files"]  # same names, hashes and findings
    assert f"aisbom: s3://{bucket.name}/org/demo: downloaded to" in err


def test_bom_records_etag_version_and_last_modified(bucket: Bucket, tmp_path: Path) -> None:
    keys = bucket.upload(DEMO, "org/demo")
    heads = {k: bucket.client.head_object(Bucket=bucket.name, Key=k) for k in keys}
    out = tmp_path / "bom.json"
    code, _, err = run("bom", f"s3://{bucket.name}/org/demo", "-o", str(out))
    assert code == 1, err  # written; the demo model is unsafe
    doc = json.loads(out.read_text())
    assert strict_schema_errors(doc) == []
    model = doc["components"][0]
    assert props(model)["aisbom:source_url"] == f"s3://{bucket.name}/org/demo"
    assert props(model)["aisbom:acquired_by"] == "download"
    for key, head in heads.items():
        name = key.removeprefix("org/demo/")
        fprops = props(by_ref(doc)[f"file:{name}"])
        body = (DEMO / name).read_bytes()
        assert fprops["aisbom:etag"] == head["ETag"].strip('"') == hashlib.md5(body).hexdigest()
        assert fprops["aisbom:version_id"] == head["VersionId"]
        assert fprops["aisbom:last_modified"] == head["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
        assert fprops["aisbom:source_size"] == str(len(body))
        url = f"s3://{bucket.name}/{key}?versionId={head['VersionId']}"
        assert by_ref(doc)[f"file:{name}"]["externalReferences"][0]["url"] == url


def test_a_key_is_one_file(bucket: Bucket) -> None:
    etag = bucket.put("org/demo/model.pt", (DEMO / "model.pt").read_bytes())
    resolved = resolve(f"s3://{bucket.name}/org/demo/model.pt")
    assert resolved.path.is_file() and resolved.path.name == "model.pt"
    assert resolved.path.read_bytes() == (DEMO / "model.pt").read_bytes()
    assert resolved.provenance is not None and resolved.provenance.files["model.pt"].etag == etag
    assert list_s3(f"s3://{bucket.name}/org/demo/model.pt").identity == f"etag:{etag}"


def test_an_object_replaced_after_listing_is_refused(bucket: Bucket, tmp_path: Path) -> None:
    bucket.upload(DEMO, "org/demo")
    listing = list_s3(f"s3://{bucket.name}/org/demo")
    bucket.put("org/demo/model.pt", b"\x80\x04K\x02.")  # replaced between the listing and the read
    with pytest.raises(DownloadError, match=r"model\.pt changed between listing and reading"):
        copy_listing(listing, cache_dir=tmp_path / "cache")
    assert not [p for p in (tmp_path / "cache" / "s3").iterdir()]  # nothing half-copied is left


@pytest.mark.parametrize(
    "key, message",
    [
        ("org/demo/../../escape.pkl", "cannot be a file name below the prefix"),
        ("org/demo//x.bin", "cannot be"),
    ],
)
def test_a_key_that_is_not_a_relative_name_stops_the_target(bucket: Bucket, key: str, message: str) -> None:
    bucket.upload(DEMO, "org/demo")
    bucket.put(key, b"x")
    code, _, err = run("scan", f"s3://{bucket.name}/org/demo")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("suffix", ["", "/no/such/prefix"])
def test_missing_bucket_or_prefix_is_one_line(bucket: Bucket, suffix: str) -> None:
    name = f"{bucket.name}-missing" if not suffix else bucket.name
    code, _, err = run("scan", f"s3://{name}{suffix}")
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "no such" in err


def test_an_endpoint_that_does_not_answer_is_one_line(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AISBOM_CONNECT_TIMEOUT", "2")
    code, _, err = run("scan", f"s3://{bucket.name}/org/demo")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "connection refused" in err.lower() or "could not connect" in err.lower()


def test_sha256_option_is_refused_for_s3(bucket: Bucket) -> None:
    code, _, err = run("scan", f"s3://{bucket.name}/x", "--sha256", "0" * 64)
    assert code == 2 and "--sha256 applies to https:// targets only" in err
