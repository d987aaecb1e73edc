"""Who and what the model is: its name, version, supplier and purl, the hash of what its signature
signs (or of its one file), and a checked reference to that signature. The subject of a model's
BOM is the model itself."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from _bom_helpers import FIXTURES, make_bom, props, run, strict_schema_errors
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from aisbom.bom.check import reference_errors
from aisbom.signing.manifest import build_manifest
from aisbom.signing.statement import root_digest


def model_of(doc: dict) -> dict:
    (model,) = [c for c in doc["components"] if c["type"] == "machine-learning-model"]
    return model


def signed_digest(target: Path) -> str:
    """The subject digest `aisbom sign TARGET` signs (the OMS manifest of its files)."""
    manifest = build_manifest(target, ignore_paths=["model.sig"] if target.is_dir() else ())
    return root_digest([d for _, d in manifest.sorted_resources()])


def test_a_local_model_is_named_by_its_card_and_the_subject_is_the_model(minilm: Path, minilm_boms):
    doc = minilm_boms["1.6"]
    model = model_of(doc)
    assert model["name"] == "all-MiniLM-L6-v2"  # the card's title, not the directory ("model")
    assert props(model)["aisbom:name_from"] == "model card"
    assert "version" not in model and "purl" not in model and "supplier" not in model  # nothing guessed
    subject = doc["metadata"]["component"]
    assert (subject["type"], subject["name"], subject["bom-ref"]) == (
        "machine-learning-model",
        "all-MiniLM-L6-v2",
        "subject",
    )
    assert model["bom-ref"] in subject["description"]
    # The model carries the digest its signature would sign: .gitattributes is not signed.
    assert model["hashes"] == [{"alg": "SHA-256", "content": signed_digest(minilm)}]
    assert props(model)["aisbom:manifest_sha256"] == signed_digest(minilm)


def test_name_version_and_supplier_given_make_a_purl(minilm: Path, tmp_path: Path):
    doc = make_bom(
        minilm,
        tmp_path / "bom.json",
        "--name", "minilm-l6", "--version", "2.1.0", "--supplier", "Acme AI",
        expect=0,
    )  # fmt: skip
    assert strict_schema_errors(doc) == [] and reference_errors(doc) == []
    model = model_of(doc)
    assert (model["name"], model["version"], model["purl"]) == (
        "minilm-l6",
        "2.1.0",
        "pkg:generic/minilm-l6@2.1.0",
    )
    assert model["supplier"] == {"name": "Acme AI"}
    assert props(model)["aisbom:supplier_from"] == "operator"
    subject = doc["metadata"]["component"]
    assert (subject["name"], subject["version"], subject["supplier"]) == (
        "minilm-l6",
        "2.1.0",
        {"name": "Acme AI"},
    )


def test_a_single_file_model_carries_its_own_hash(tmp_path: Path):
    weights = FIXTURES / "demo" / "model.pt"
    doc = make_bom(weights, tmp_path / "bom.json", expect=0)
    model = model_of(doc)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert model["name"] == "model.pt"
    assert model["hashes"] == [{"alg": "SHA-256", "content": digest}]
    assert props(model)["aisbom:manifest_sha256"] == signed_digest(weights)


def _key(directory: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    path = directory / "key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def test_a_model_signature_is_referenced_once_it_is_checked_to_cover_the_files(minilm: Path, tmp_path: Path):
    model_dir = tmp_path / "minilm"
    shutil.copytree(minilm, model_dir)
    code, _, err = run("sign", str(model_dir), "--key", str(_key(tmp_path)))
    assert code == 0, err
    signature = model_dir / "model.sig"

    doc = make_bom(model_dir, tmp_path / "bom.json", "--model-signature", str(signature), expect=0)
    model = model_of(doc)
    assert strict_schema_errors(doc) == []
    assert model["hashes"] == [{"alg": "SHA-256", "content": signed_digest(model_dir)}]
    (ref,) = [r for r in model["externalReferences"] if r["type"] == "digital-signature"]
    assert ref["url"] == "model.sig"
    assert ref["hashes"] == [
        {"alg": "SHA-256", "content": hashlib.sha256(signature.read_bytes()).hexdigest()}
    ]
    assert "model.sig" in {c["name"] for c in model["components"]}  # inventoried, not signed

    (model_dir / "vocab.txt").write_text("changed\n")  # the signature no longer covers the files
    out = tmp_path / "changed.json"
    code, _, err = run("bom", str(model_dir), "-o", str(out), "--model-signature", str(signature))
    assert code == 2 and "covers other files than this BOM describes" in err
    assert not out.exists()

    not_a_bundle = tmp_path / "junk.sig"
    not_a_bundle.write_text("{}")
    code, _, err = run("bom", str(model_dir), "-o", str(out), "--model-signature", str(not_a_bundle))
    assert code == 2 and "not a model signature aisbom can read" in err and "Traceback" not in err


def test_identity_options_are_for_one_model_target(tmp_path: Path):
    code, _, err = run("bom", "--project", str(tmp_path), "--name", "x")
    assert code == 2 and "describe one model TARGET" in err


def test_scan_as_cyclonedx_names_and_hashes_the_model_the_same_way(minilm: Path, minilm_boms):
    code, out, err = run("scan", str(minilm), "--format", "cyclonedx")
    assert code == 0, err
    model = model_of(json.loads(out))
    expected = model_of(minilm_boms["1.6"])
    assert (model["name"], model["hashes"]) == (expected["name"], expected["hashes"])
