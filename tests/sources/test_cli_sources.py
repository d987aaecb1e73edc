"""`aisbom scan` and `aisbom bom` on remote targets, end to end: a URL served on loopback and a
Hugging Face repository read offline from a cache the real client filled."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from _bom_helpers import by_ref, props, run, strict_schema_errors
from _servers import LAST_MODIFIED, Hub, Served, Site, strong_etag
from _sources_helpers import (
    DATASET_COMMIT,
    MINILM_COMMIT,
    REPO,
    SAFETENSORS,
    TINY_COMMIT,
    go_offline,
    minilm_files,
    tiny_files,
)

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
EVIL = REPO / "fixtures" / "malicious" / "pickle" / "proto2_posix_system.pkl"
ISO_UTC = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def aisbom_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "aisbom-cache"
    monkeypatch.setenv("AISBOM_CACHE", str(cache))
    return cache


def test_bom_of_a_url(site: tuple[Site, str], aisbom_cache: Path, tmp_path: Path):
    server, base = site
    body = SAFETENSORS.read_bytes()
    server.redirects["/model.safetensors"] = (302, "/files/model.safetensors")
    server.files["/files/model.safetensors"] = Served(body)
    url = f"{base}/model.safetensors"
    out = tmp_path / "bom.json"

    code, _, err = run("bom", url, "--allow-http", "-o", str(out))

    assert code == 0, err
    assert f"aisbom: {url}: downloaded to {aisbom_cache}" in err
    doc = json.loads(out.read_text())
    assert strict_schema_errors(doc) == []
    model = doc["components"][0]
    assert model["externalReferences"] == [{"type": "distribution", "url": url}]
    assert props(model)["aisbom:acquired_by"] == "download"
    assert props(model)["aisbom:acquired_at"].endswith("+00:00")
    assert "aisbom:source_path" not in props(model)  # the cache path is not where it came from
    file = by_ref(doc)["file:model.safetensors"]
    digest = [{"alg": "SHA-256", "content": sha256(body)}]
    assert file["hashes"] == digest
    assert file["externalReferences"] == [{"type": "distribution", "url": url, "hashes": digest}]
    fprops = props(file)
    assert fprops["aisbom:etag"] == strong_etag(body).strip('"')
    assert fprops["aisbom:last_modified"] == LAST_MODIFIED
    assert fprops["aisbom:final_url"] == f"{base}/files/model.safetensors"
    assert fprops["aisbom:source_size"] == str(len(body))
    assert fprops["aisbom:acquired_at"] == props(model)["aisbom:acquired_at"]
    (task,) = doc["formulation"][0]["workflows"][0]["tasks"]
    assert task["timeStart"] == props(model)["aisbom:acquired_at"]
    assert props(doc["metadata"])["aisbom:target"] == url


def test_bom_of_a_url_with_its_hash_pinned_closes_the_upstream_hash_gap(
    site: tuple[Site, str], aisbom_cache: Path, tmp_path: Path
):
    server, base = site
    body = SAFETENSORS.read_bytes()
    server.files["/model.safetensors"] = Served(body)
    out = tmp_path / "bom.json"
    code, _, err = run("bom", f"{base}/model.safetensors", "--sha256", sha256(body), "-o", str(out))
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert props(by_ref(doc)["file:model.safetensors"])["aisbom:upstream_sha256"] == sha256(body)
    assert "no-upstream-hash" not in props(doc["components"][0])["aisbom:documentation_gaps"]


def test_a_wrong_hash_exits_2_with_one_line_and_writes_nothing(
    site: tuple[Site, str], aisbom_cache: Path, tmp_path: Path
):
    server, base = site
    server.files["/model.safetensors"] = Served(SAFETENSORS.read_bytes())
    out = tmp_path / "bom.json"
    code, stdout, err = run("bom", f"{base}/model.safetensors#sha256={'0' * 64}", "-o", str(out))
    assert code == 2
    assert err.startswith("aisbom: error: ") and err.count("\n") == 1 and "SHA-256 mismatch" in err
    assert not out.exists() and stdout == ""
    assert not aisbom_cache.exists() or not [p for p in aisbom_cache.rglob("*") if p.is_file()]


def test_a_downloaded_file_is_scanned_and_an_unsafe_one_stays_in_the_cache_untrusted(
    site: tuple[Site, str], aisbom_cache: Path
):
    server, base = site
    server.files["/model.pkl"] = Served(EVIL.read_bytes())
    code, stdout, err = run("scan", f"{base}/model.pkl", "--format", "json")
    assert code == 1, err
    report = json.loads(stdout)
    assert report["target"] == f"{base}/model.pkl"
    assert any(f["severity"] == "critical" for f in report["files"][0]["findings"])
    # Kept where the message says, for inspection; nothing in it marks it trusted, and the next
    # run downloads and scans it again.
    (kept,) = aisbom_cache.glob("*/model.pkl")
    assert f"downloaded to {kept}" in err


def test_plain_http_elsewhere_is_refused(aisbom_cache: Path):
    code, _, err = run("scan", "http://example.invalid/model.bin")
    assert code == 2 and "refusing plain http:// to example.invalid" in err and "Traceback" not in err


def test_sarif_names_downloaded_files_by_their_url(site: tuple[Site, str], aisbom_cache: Path):
    server, base = site
    server.files["/m/model.pkl"] = Served(EVIL.read_bytes())
    code, stdout, _ = run("scan", f"{base}/m/model.pkl", "--format", "sarif")
    assert code == 1
    (run_,) = json.loads(stdout)["runs"]
    assert run_["artifacts"][0]["location"]["uri"] == f"{base}/m/model.pkl"


def test_bom_of_a_hub_model_offline_from_the_cache(
    minilm_cache: tuple[Path, str], hf_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("HF_HUB_CACHE", str(minilm_cache[0]))
    attempts = go_offline(monkeypatch)
    out = tmp_path / "bom.json"

    code, _, err = run("bom", f"hf://{MINILM}@main", "-o", str(out))

    assert code == 0, err
    assert attempts == []
    assert f"commit {MINILM_COMMIT} (from the cache)" in err
    doc = json.loads(out.read_text())
    assert strict_schema_errors(doc) == []
    model = doc["components"][0]
    assert (model["group"], model["name"], model["version"]) == (
        "sentence-transformers",
        "all-MiniLM-L6-v2",
        MINILM_COMMIT,
    )
    assert model["purl"] == f"pkg:huggingface/{MINILM}@{MINILM_COMMIT}"
    assert model["externalReferences"] == [
        {"type": "distribution", "url": f"https://huggingface.co/{MINILM}"}
    ]
    mprops = props(model)
    assert (mprops["aisbom:revision"], mprops["aisbom:requested_revision"]) == (MINILM_COMMIT, "main")
    assert mprops["aisbom:acquired_by"] == "cache-mtime"  # honest: a file time, not a witnessed download
    assert model["supplier"] == {
        "name": "sentence-transformers",
        "url": ["https://huggingface.co/sentence-transformers"],
    }
    assert mprops["aisbom:supplier_from"] == "source"
    # Offline, the revision and the upstream hashes are the cache's word: said so, and not enough
    # alone to count as an upstream hash (EN 304 223 5.2.3-2).
    assert mprops["aisbom:upstream_facts_from"] == "hf-cache"
    assert "upstream-from-cache" in mprops["aisbom:documentation_gaps"]
    assert "no-upstream-hash" not in mprops.get("aisbom:documentation_gaps", "")
    assert "no-source-url" not in mprops.get("aisbom:documentation_gaps", "")

    weights = minilm_files()["model.safetensors"]
    file = by_ref(doc)["file:model.safetensors"]
    digest = [{"alg": "SHA-256", "content": sha256(weights)}]
    assert file["hashes"] == digest
    assert file["externalReferences"] == [
        {
            "type": "distribution",
            "url": f"https://huggingface.co/{MINILM}/resolve/{MINILM_COMMIT}/model.safetensors",
            "hashes": digest,
        }
    ]
    fprops = props(file)
    assert fprops["aisbom:upstream_sha256"] == fprops["aisbom:etag"] == sha256(weights)
    assert fprops["aisbom:source_size"] == str(len(weights))
    assert fprops["aisbom:acquired_by"] == "cache-mtime"
    assert fprops["aisbom:acquired_at"] <= mprops["aisbom:acquired_at"]
    (task,) = doc["formulation"][0]["workflows"][0]["tasks"]
    assert task["timeStart"] == mprops["aisbom:acquired_at"]
    assert {"name": "aisbom:revision", "value": MINILM_COMMIT} in task["properties"]
    assert {"name": "aisbom:acquired_by", "value": "cache-mtime"} in task["properties"]


def test_scan_of_a_hub_model_online_names_the_spec(hub: Hub):
    code, stdout, err = run("scan", "hf://acme/tiny@main", "--format", "json")
    assert code == 0, err
    report = json.loads(stdout)
    assert report["target"] == "hf://acme/tiny@main"
    assert sorted(f["path"] for f in report["files"]) == sorted(tiny_files())


def test_scan_as_cyclonedx_carries_the_provenance(hub: Hub):
    code, stdout, err = run("scan", "hf://acme/tiny@main", "--format", "cyclonedx")
    assert code == 0, err
    model = json.loads(stdout)["components"][0]
    assert model["version"] == TINY_COMMIT and model["purl"] == f"pkg:huggingface/acme/tiny@{TINY_COMMIT}"
    assert model["supplier"]["name"] == "acme"  # the Hub organisation, as `bom` says it
    assert props(model)["aisbom:upstream_facts_from"] == "hub"  # asked of the Hub, online
    assert "upstream-from-cache" not in props(model).get("aisbom:documentation_gaps", "")


def test_bom_of_a_dataset_repository_offline_is_a_data_component(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    assert run("scan", "hf://datasets/acme/prompts@main")[0] == 0  # downloads into the cache
    attempts = go_offline(monkeypatch)
    out = tmp_path / "bom.json"

    code, _, err = run("bom", "hf://datasets/acme/prompts@main", "-o", str(out))

    assert code == 0, err
    assert attempts == []
    doc = json.loads(out.read_text())
    assert strict_schema_errors(doc) == []
    url = "https://huggingface.co/datasets/acme/prompts"
    (dataset,) = doc["components"]
    assert (dataset["type"], dataset["bom-ref"], dataset["name"], dataset["version"]) == (
        "data",
        "dataset:acme/prompts",
        "acme/prompts",
        DATASET_COMMIT,
    )
    assert "modelCard" not in dataset and "purl" not in dataset  # purl-spec's huggingface type: models
    assert dataset["data"] == [{"type": "dataset", "name": "acme/prompts", "contents": {"url": url}}]
    assert dataset["externalReferences"] == [{"type": "distribution", "url": url}]
    dprops = props(dataset)
    assert dprops["aisbom:asset_kind"] == "dataset" and dprops["aisbom:hf_repo_type"] == "dataset"
    assert (dprops["aisbom:revision"], dprops["aisbom:requested_revision"]) == (DATASET_COMMIT, "main")
    assert re.match(ISO_UTC, dprops["aisbom:acquired_at"])
    assert dprops["aisbom:acquired_by"] == "cache-mtime"  # offline: a cache file's time, and said so

    files = {"README.md": b"# Prompts\n", "data/train.jsonl": b'{"text": "hello"}\n'}
    assert [f["name"] for f in dataset["components"]] == sorted(files)
    for file in dataset["components"]:
        digest = [{"alg": "SHA-256", "content": sha256(files[file["name"]])}]
        assert file["type"] == "file" and file["hashes"] == digest
        assert file["externalReferences"] == [
            {
                "type": "distribution",
                "url": f"{url}/resolve/{DATASET_COMMIT}/{file['name']}",
                "hashes": digest,
            }
        ]

    subject = doc["metadata"]["component"]
    assert subject["version"] == DATASET_COMMIT
    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert deps["subject"] == ["dataset:acme/prompts"]
    assert sorted(deps["dataset:acme/prompts"]) == ["file:README.md", "file:data/train.jsonl"]
    (task,) = doc["formulation"][0]["workflows"][0]["tasks"]
    assert task["timeStart"] == dprops["aisbom:acquired_at"]
    assert task["outputs"] == [{"type": "artifact", "resource": {"ref": "dataset:acme/prompts"}}]

    declarations = doc["declarations"]
    rationale = {
        m["requirement"]: m["conformance"]["rationale"] for m in declarations["attestations"][0]["map"]
    }
    assert rationale["en-304-223:5.2.4-2.1"].startswith("Evidenced.")
    assert rationale["en-304-223:5.2.4-2"].startswith("Partly evidenced.")
    for rid in ("5.2.3-2", "5.2.4-1.1", "5.2.4-3"):  # model-specific: nothing is claimed of a dataset
        assert rationale[f"en-304-223:{rid}"].startswith("Not evidenced."), rid
    claims = {c["bom-ref"]: c for c in declarations["claims"]}
    assert claims["claim:5.2.4-2:dataset:acme/prompts"]["target"] == "dataset:acme/prompts"
    assert claims["claim:5.2.4-2.1-dataset"]["target"] == "dataset:acme/prompts"
    assert not any("model" in c["predicate"] for c in declarations["claims"])
    (sources,) = [e for e in declarations["evidence"] if e["bom-ref"] == "evidence:dataset-acquisition"]
    text = sources["data"][0]["contents"]["attachment"]["content"]
    assert text == f"dataset:acme/prompts {url} {dprops['aisbom:acquired_at']} (cache-mtime)\n"


def test_scan_cyclonedx_of_a_dataset_repository_is_a_data_component_too(hub: Hub):
    code, stdout, err = run("scan", "hf://datasets/acme/prompts@main", "--format", "cyclonedx")

    assert code == 0, err
    (dataset,) = json.loads(stdout)["components"]
    assert (dataset["type"], dataset["bom-ref"]) == ("data", "dataset:acme/prompts")
    assert dataset["data"][0]["type"] == "dataset" and "modelCard" not in dataset


def test_a_dataset_repository_read_as_a_model_on_request_has_no_model_purl(hub: Hub, tmp_path: Path):
    out = tmp_path / "bom.json"
    code, _, err = run("bom", "hf://datasets/acme/prompts", "--kind", "model", "-o", str(out))
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert strict_schema_errors(doc) == []
    component = doc["components"][0]
    assert component["type"] == "machine-learning-model"
    assert "purl" not in component  # purl-spec's huggingface type is for models
    assert props(component)["aisbom:hf_repo_type"] == "dataset"
    assert component["externalReferences"][0]["url"].endswith("/datasets/acme/prompts")


def test_a_tampered_cache_exits_2_and_writes_no_bom(
    hub: Hub, hf_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    assert run("scan", "hf://acme/tiny@main")[0] == 0  # downloads into the cache
    weights = tiny_files()["model.safetensors"]
    blob = hf_env / "models--acme--tiny" / "blobs" / sha256(weights)
    blob.write_bytes(weights[:-1] + bytes([weights[-1] ^ 1]))
    go_offline(monkeypatch)
    out = tmp_path / "bom.json"

    code, _, err = run("bom", "hf://acme/tiny@main", "-o", str(out))

    assert code == 2 and "SHA-256 of model.safetensors is" in err and "changed after it was downloaded" in err
    assert not out.exists()


def test_sha256_is_for_urls_only(hub: Hub):
    code, _, err = run("scan", "hf://acme/tiny", "--sha256", "0" * 64)
    assert code == 2 and "--sha256 applies to https:// targets only" in err


def test_a_reproducible_bom_of_a_url_leaves_out_the_acquisition_times(
    site: tuple[Site, str], aisbom_cache: Path, tmp_path: Path
):
    server, base = site
    server.files["/model.safetensors"] = Served(SAFETENSORS.read_bytes())
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    for out in (first, second):  # each run downloads again, at its own time
        assert run("bom", f"{base}/model.safetensors", "--reproducible", "-o", str(out))[0] == 0
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text()
    assert "aisbom:acquired_at" not in text and "timeStart" not in text
    file = by_ref(json.loads(text))["file:model.safetensors"]
    assert props(file)["aisbom:last_modified"] == LAST_MODIFIED  # a fact about the bytes: kept
