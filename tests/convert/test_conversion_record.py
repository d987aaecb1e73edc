"""A converted file says where it came from; `aisbom scan` reports it and `aisbom bom` records the
conversion as a formulation step from the source's SHA-256 to the file, with the method."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from _convert_helpers import run
from catalog import FIXTURES_DIR


def test_bom_of_a_converted_model_links_back_to_its_source(tmp_path: Path):
    src = FIXTURES_DIR / "benign/pytorch/state_dict_legacy.pt"
    model = tmp_path / "model"
    model.mkdir()
    assert run("convert", str(src), "-o", str(model / "model.safetensors"))[0] == 0

    code, out, _ = run("scan", "-v", str(model))
    assert code == 0
    assert "safetensors-converted: converted by aisbom (static) from 'state_dict_legacy.pt'" in out

    code, _, err = run("bom", str(model), "-o", str(tmp_path / "bom.json"))
    assert code == 0, err
    bom = json.loads((tmp_path / "bom.json").read_text())
    [formula] = [f for f in bom["formulation"] if f["bom-ref"].startswith("formula:convert:")]
    [task] = formula["workflows"][0]["tasks"]
    source = task["inputs"][0]["resource"]["externalReference"]
    assert source["url"] == "state_dict_legacy.pt"
    assert source["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(src.read_bytes()).hexdigest()}]
    [output] = task["outputs"]
    assert output["resource"]["ref"] == "file:model.safetensors"
    components = {c["bom-ref"]: c for c in bom["components"][0]["components"]}
    converted = hashlib.sha256((model / "model.safetensors").read_bytes()).hexdigest()
    assert components["file:model.safetensors"]["hashes"][0]["content"] == converted
    assert {"name": "aisbom:conversion-method", "value": "static"} in task["properties"]
