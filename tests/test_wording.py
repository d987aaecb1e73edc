"""A count reads "1 file", never "1 files": in the messages users see, and as a rule the product
code keeps (no `{len(x)} files` in an f-string)."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

from click.testing import CliRunner

from aisbom.cli import cli
from aisbom.wording import agree, counted

REPO = Path(__file__).resolve().parents[1]
PRODUCT = [p for top in ("aisbom", "scanners", "signing") for p in sorted((REPO / top).rglob("*.py"))]
DEMO_MODEL = REPO / "fixtures" / "demo" / "model.pt"


def test_counted_and_agree():
    assert [counted(n, "file") for n in (0, 1, 2)] == ["0 files", "1 file", "2 files"]
    assert counted(1, "entry", "entries") == "1 entry" and counted(3, "entry", "entries") == "3 entries"
    assert (agree(1, "was", "were"), agree(2, "was", "were")) == ("was", "were")


def test_one_file_reads_one_file(tmp_path: Path):
    result = CliRunner().invoke(cli, ["scan", str(DEMO_MODEL)])
    assert "(1 file, 1.8 KiB)" in result.stdout.splitlines()[0]
    bom = tmp_path / "model.cdx.json"
    result = CliRunner().invoke(cli, ["bom", str(DEMO_MODEL), "-o", str(bom)])
    assert f"aisbom: wrote {bom} (CycloneDX 1.6; 1 file; 1 low)" in result.stderr


def test_one_trailing_byte_reads_one_byte(tmp_path: Path):
    path = tmp_path / "weights.pkl"
    path.write_bytes(pickle.dumps({"w": [1.0]}, protocol=2) + b"\n")
    result = CliRunner().invoke(cli, ["scan", str(path)])
    assert "pickle-trailing-data: 1 byte (text) after the end of the pickle" in result.stdout


def test_no_count_of_a_length_is_followed_by_a_plural_noun():
    """`f"{len(files)} files"` says "1 files"; counted(len(files), "file") does not."""
    found = []
    for path in PRODUCT:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.JoinedStr):
                continue
            for value, after in zip(node.values, node.values[1:], strict=False):
                counts_length = (
                    isinstance(value, ast.FormattedValue)
                    and isinstance(value.value, ast.Call)
                    and getattr(value.value.func, "id", None) == "len"
                )
                if counts_length and isinstance(after, ast.Constant) and re.match(r" [a-z]+s\b", after.value):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}: {after.value.split()[0]}")
    assert found == []
