"""`aisbom explain`: the malicious fixtures shown as the Python they amount to (fickling's
decompiler), with aisbom's findings beside the lines, and nothing imported or run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aisbom.cli import cli

REPO = Path(__file__).resolve().parents[1]
MALICIOUS = REPO / "fixtures" / "malicious"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every payload of the fixtures would create ./aisbom-marker: run where it would show."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not (tmp_path / "aisbom-marker").exists()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["explain", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_finding_stands_beside_the_line_that_imports_and_the_line_that_calls():
    code, out, _ = run(str(REPO / "fixtures" / "demo" / "extra_weights.bin"))
    lines = out.splitlines()
    assert code == 1 and lines[0].endswith(": UNSAFE")
    imports = next(line for line in lines if "from os import system" in line)
    assert imports.startswith("   1  from os import system")
    assert "# CRITICAL pickle-dangerous-global: calls os.system" in imports
    calls = next(line for line in lines if "system('touch aisbom-marker')" in line)
    assert calls.rstrip().endswith("# ^ called here")
    assert "# LOW pickle-format:" in out  # the file's own finding, below


def test_a_pytorch_checkpoint_member_by_member_or_by_name():
    checkpoint = str(MALICIOUS / "pytorch" / "zip_data_pkl.pt")
    code, out, _ = run(checkpoint)
    assert code == 1 and "# --- archive/data.pkl ---" in out
    assert "_rebuild_tensor_v2(" in out  # the benign part reads as what it is
    assert any("from posix import system" in x and "pickle-dangerous-global" in x for x in out.splitlines())
    code, named, _ = run(checkpoint, "--member", "data.pkl")
    assert code == 1 and named == out
    code, _, err = run(checkpoint, "--member", "nope.pkl")
    assert code == 2 and "no member 'nope.pkl'" in err and "archive/data.pkl" in err


@pytest.mark.parametrize(
    "fixture", sorted(p.name for p in (MALICIOUS / "pickle").iterdir() if p.suffix == ".pkl")
)
def test_every_malicious_pickle_explains_with_its_findings(fixture: str):
    code, out, err = run(str(MALICIOUS / "pickle" / fixture))
    assert "Traceback" not in out + err
    assert code in (1, 2), (fixture, err)
    if code == 1:
        assert "# CRITICAL " in out or "# HIGH " in out, fixture


def test_what_is_explained_is_never_imported(tmp_path: Path):
    crafted = tmp_path / "crafted.pkl"
    crafted.write_bytes(b"\x80\x02caisbom_never_imported_xyz\nboom\nX\x01\x00\x00\x00a\x85R.")
    code, out, _ = run(str(crafted))
    assert code == 1 and "from aisbom_never_imported_xyz import boom" in out
    assert "aisbom_never_imported_xyz" not in sys.modules


def test_not_a_pickle_is_one_error_line(tmp_path: Path):
    text = tmp_path / "notes.txt"
    text.write_text("just text\n")
    code, out, err = run(str(text))
    assert code == 2 and out == ""
    assert err == f"aisbom: error: {text}: not a pickle or a zip of pickles: nothing to explain\n"
    code, _, err = run(str(tmp_path / "missing.pkl"))
    assert code == 2 and "no such file or directory" in err
