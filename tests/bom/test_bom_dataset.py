"""`aisbom bom DIR --kind dataset`: a local dataset is a `data` component (type dataset) with its
files nested, as an inventory's dataset is; no model card, nothing claimed of a model."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from _bom_helpers import make_bom, props, run, strict_schema_errors

REPO = Path(__file__).resolve().parents[2]
EVIL = REPO / "fixtures" / "malicious" / "pickle" / "proto2_posix_system.pkl"
CARD = b"---\nlicense: cc-by-4.0\n---\n# Greetings\n\nShort greetings for tests.\n"
ROWS = b'{"text": "hello"}\n{"text": "hi"}\n'


def _dataset(tmp_path: Path) -> Path:
    root = tmp_path / "greetings"
    (root / "data").mkdir(parents=True)
    (root / "README.md").write_bytes(CARD)
    (root / "data" / "train.jsonl").write_bytes(ROWS)
    return root


def _rationales(doc: dict) -> dict[str, str]:
    mapping = doc["declarations"]["attestations"][0]["map"]
    return {m["requirement"].removeprefix("en-304-223:"): m["conformance"]["rationale"] for m in mapping}


def test_a_local_directory_declared_a_dataset(tmp_path: Path):
    root = _dataset(tmp_path)
    out = tmp_path / "bom.json"

    doc = make_bom(root, out, "--kind", "dataset", expect=0)

    assert strict_schema_errors(doc) == []
    (dataset,) = doc["components"]
    assert (dataset["type"], dataset["bom-ref"], dataset["name"]) == (
        "data",
        "dataset:greetings",
        "greetings",
    )
    assert dataset["data"] == [{"type": "dataset", "name": "greetings"}]  # no source URL: no contents.url
    assert dataset["licenses"] == [{"license": {"id": "CC-BY-4.0", "acknowledgement": "declared"}}]
    assert dataset["description"] == "Short greetings for tests."
    assert "modelCard" not in dataset and "version" not in dataset and "externalReferences" not in dataset
    dprops = props(dataset)
    assert dprops["aisbom:asset_kind"] == "dataset" and dprops["aisbom:verdict"] == "clean"
    assert dprops["aisbom:source_path"] == str(root) and "aisbom:scanned_at" in dprops
    assert "aisbom:acquired_at" not in dprops and "aisbom:source_url" not in dprops
    hashes = {f["name"]: f["hashes"] for f in dataset["components"]}
    assert hashes == {
        "README.md": [{"alg": "SHA-256", "content": hashlib.sha256(CARD).hexdigest()}],
        "data/train.jsonl": [{"alg": "SHA-256", "content": hashlib.sha256(ROWS).hexdigest()}],
    }
    assert all(c["type"] != "machine-learning-model" for c in doc["components"])
    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert deps["subject"] == ["dataset:greetings"]
    assert "formulation" not in doc  # nothing was acquired

    rationale = _rationales(doc)
    assert rationale["5.2.1-1"].startswith("Evidenced.") and rationale["5.2.4-1.2"].startswith("Evidenced.")
    for rid in ("5.2.3-2", "5.2.4-1.1", "5.2.4-2", "5.2.4-2.1", "5.2.4-3"):
        assert rationale[rid].startswith("Not evidenced."), rid
    assert not any("model" in c["predicate"] for c in doc["declarations"]["claims"])

    # The consumer's gate works on it as on a model's BOM.
    code, _, err = run("verify", str(root), "--bom", str(out))
    assert code == 0, err


def test_a_dataset_with_a_pickle_in_it_is_unsafe_and_its_findings_affect_its_file(tmp_path: Path):
    root = _dataset(tmp_path)
    shutil.copyfile(EVIL, root / "data" / "extra.pkl")

    doc = make_bom(root, tmp_path / "bom.json", "--kind", "dataset", "--reproducible", expect=1)

    assert strict_schema_errors(doc) == []
    (dataset,) = doc["components"]
    assert props(dataset)["aisbom:verdict"] == "unsafe"
    affected = {a["ref"] for v in doc["vulnerabilities"] for a in v["affects"]}
    assert affected == {"file:data/extra.pkl"}
    assert "aisbom:scanned_at" not in props(dataset)  # --reproducible


def test_kind_is_for_a_target_not_a_project(tmp_path: Path):
    (tmp_path / "aisbom.toml").write_text('[system]\nname = "s"\n')
    code, _, err = run("bom", "--project", str(tmp_path), "--kind", "dataset")
    assert code == 2 and "--kind applies to a TARGET" in err


def test_the_same_dataset_gives_the_same_bytes(tmp_path: Path):
    root = _dataset(tmp_path)
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    for out in (first, second):
        assert run("bom", str(root), "--kind", "dataset", "--reproducible", "-o", str(out))[0] == 0
    assert first.read_bytes() == second.read_bytes()
    assert json.loads(first.read_text())["components"][0]["type"] == "data"
