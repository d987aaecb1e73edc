"""Same input, same bytes: --reproducible leaves out the serial number and every timestamp
(or takes them all from SOURCE_DATE_EPOCH), and keeps everything else."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _bom_helpers import FIXTURES, make_bom, props, run

from aisbom.bom.check import BomError


@pytest.mark.parametrize(("target", "version"), [("minilm", "1.6"), ("demo", "1.7")])
def test_two_reproducible_runs_give_identical_bytes(minilm: Path, tmp_path: Path, target: str, version: str):
    model, code = (minilm, 0) if target == "minilm" else (FIXTURES / "demo", 1)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    doc = make_bom(model, first, "--reproducible", "--spec-version", version, expect=code)
    make_bom(model, second, "--reproducible", "--spec-version", version, expect=code)
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text()
    assert "serialNumber" not in doc and "timestamp" not in doc["metadata"]
    assert '"created"' not in text and "aisbom:scanned_at" not in text
    if version == "1.7":  # citations are kept; they need a time, and carry the epoch for "none"
        assert doc["citations"] and {c["timestamp"] for c in doc["citations"]} == {
            "1970-01-01T00:00:00+00:00"
        }
        assert all("No date" in c["note"] for c in doc["citations"])
    assert props(doc["metadata"])["cdx:reproducible"] == "true"


def test_normal_runs_differ_only_in_serial_number_and_timestamps(tmp_path: Path):
    demo = FIXTURES / "demo"
    texts = [
        (make_bom(demo, tmp_path / f"{n}.json", expect=1), (tmp_path / f"{n}.json").read_text())
        for n in (1, 2)
    ]
    for doc, _ in texts:
        assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", doc["serialNumber"])
        assert doc["metadata"]["timestamp"].endswith("+00:00")

    def normalise(text: str) -> str:
        text = re.sub(r'"urn:uuid:[0-9a-f-]{36}"', '"SERIAL"', text)
        return re.sub(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"', '"TIME"', text)

    assert normalise(texts[0][1]) == normalise(texts[1][1])
    assert texts[0][0]["serialNumber"] != texts[1][0]["serialNumber"]


def test_output_is_stable_json_with_sorted_collections(tmp_path: Path):
    doc = make_bom(FIXTURES / "demo", tmp_path / "bom.json", "--reproducible", expect=1)
    assert list(doc)[:5] == ["$schema", "bomFormat", "specVersion", "version", "metadata"]
    names = [c["name"] for c in doc["components"][0]["components"]]
    assert names == sorted(names)
    assert json.loads((tmp_path / "bom.json").read_text()) == doc


def test_an_invalid_bom_is_never_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    import aisbom.bom.build as build

    def broken(doc):  # type: ignore[no-untyped-def]
        raise BomError("the generated BOM is not valid: schema: at /: broken on purpose")

    monkeypatch.setattr(build, "validate", broken)
    out = tmp_path / "bom.json"
    code, _, err = run("bom", str(FIXTURES / "demo"), "-o", str(out))
    assert code == 2 and "broken on purpose" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_source_date_epoch_dates_a_reproducible_bom(
    monkeypatch: pytest.MonkeyPatch, minilm: Path, tmp_path: Path
):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    doc = make_bom(minilm, tmp_path / "a.json", "--reproducible", "--spec-version", "1.7", expect=0)
    again = make_bom(minilm, tmp_path / "b.json", "--reproducible", "--spec-version", "1.7", expect=0)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes() and doc == again
    stamp = "2023-11-14T22:13:20+00:00"
    assert "serialNumber" not in doc and doc["metadata"]["timestamp"] == stamp
    assert {c["timestamp"] for c in doc["citations"]} == {stamp}
    assert {e["created"] for e in doc["declarations"]["evidence"]} == {stamp}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    code, _, err = run("bom", str(minilm), "-o", str(tmp_path / "c.json"), "--reproducible")
    assert code == 2 and "SOURCE_DATE_EPOCH" in err
