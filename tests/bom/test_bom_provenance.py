"""A provenance record (what the hf:// and URL sources will supply) becomes purl, version,
distribution references with hashes, and a formulation copy task with the acquisition time."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from _bom_helpers import by_ref, props, strict_schema_errors

from aisbom.bom.build import BomOptions, build_bom
from aisbom.bom.check import reference_errors
from aisbom.pipeline import scan_target
from aisbom.provenance import Provenance

REV = "0123456789abcdef0123456789abcdef01234567"
ACQUIRED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    root = tmp_path / "snapshot"
    root.mkdir()
    (root / "README.md").write_text("---\nlicense: apache-2.0\n---\n# Tiny\n\nA tiny model.\n")
    (root / "weights.bin").write_bytes(bytes(range(256)) * 4)
    return root


def provenance(root: Path, upstream: str | None = None) -> Provenance:
    digest = hashlib.sha256((root / "weights.bin").read_bytes()).hexdigest()
    base = f"https://huggingface.co/acme/tiny/resolve/{REV}"
    return Provenance(
        source_url="https://huggingface.co/acme/tiny",
        acquired_at=ACQUIRED,
        revision=REV,
        hf_repo="acme/tiny",
        file_urls={"weights.bin": f"{base}/weights.bin", "README.md": f"{base}/README.md"},
        upstream_sha256={"weights.bin": upstream or digest},
    )


@pytest.mark.parametrize("version", ["1.6", "1.7"])
def test_provenance_fills_purl_version_distribution_and_acquisition(model_dir: Path, version: str):
    report = scan_target(model_dir)
    scanned = datetime(2025, 1, 2, 4, 0, 0, tzinfo=timezone.utc)
    options = BomOptions(spec_version=version, provenance=provenance(model_dir), scanned_at=scanned)
    doc = build_bom(report, model_dir, options).doc
    assert strict_schema_errors(doc) == [] and reference_errors(doc) == []

    model = doc["components"][0]
    assert (model["group"], model["name"], model["version"]) == ("acme", "tiny", REV)
    assert model["purl"] == f"pkg:huggingface/acme/tiny@{REV}"
    assert model["bom-ref"] == "model:acme/tiny"
    assert model["externalReferences"] == [
        {"type": "distribution", "url": "https://huggingface.co/acme/tiny"}
    ]
    assert props(model)["aisbom:acquired_at"] == "2025-01-02T03:04:05+00:00"
    assert "aisbom:source_path" not in props(model)
    # Local path and scan time are not pretended to be a source: with provenance, no gaps remain.
    assert "aisbom:documentation_gaps" not in props(model)

    weights = by_ref(doc)["file:weights.bin"]
    digest = weights["hashes"][0]["content"]
    assert weights["externalReferences"] == [
        {
            "type": "distribution",
            "url": f"https://huggingface.co/acme/tiny/resolve/{REV}/weights.bin",
            "hashes": [{"alg": "SHA-256", "content": digest}],
        }
    ]
    (formula,) = doc["formulation"]
    (task,) = formula["workflows"][0]["tasks"]
    assert task["taskTypes"] == ["copy"]
    assert task["timeStart"] == "2025-01-02T03:04:05+00:00"
    assert task["inputs"] == [
        {
            "resource": {
                "externalReference": {"type": "distribution", "url": "https://huggingface.co/acme/tiny"}
            }
        }
    ]
    assert task["outputs"] == [{"type": "artifact", "resource": {"ref": "model:acme/tiny"}}]


def test_an_upstream_hash_that_does_not_match_leaves_the_gap(model_dir: Path):
    report = scan_target(model_dir)
    options = BomOptions(provenance=provenance(model_dir, upstream="0" * 64), reproducible=True)
    built = build_bom(report, model_dir, options)
    (model,) = built.models
    assert model.gaps == ("no-upstream-hash",)
    assert props(by_ref(built.doc)["file:weights.bin"])["aisbom:upstream_sha256"] == "0" * 64


def test_a_local_target_records_its_path_and_scan_time_as_properties_only(model_dir: Path):
    report = scan_target(model_dir)
    scanned = datetime(2025, 1, 2, 4, 0, 0, tzinfo=timezone.utc)
    doc = build_bom(report, model_dir, BomOptions(scanned_at=scanned)).doc
    model = doc["components"][0]
    assert props(model)["aisbom:source_path"] == str(model_dir)
    assert props(model)["aisbom:scanned_at"] == "2025-01-02T04:00:00+00:00"
    assert "externalReferences" not in model and "formulation" not in doc and "purl" not in model
