"""What the documentation lists is derived from the code here, so neither can drift: every
`format` value a report can carry, and every environment variable the product code reads."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from aisbom.rules import RULES
from aisbom.scanners.frame.registry import FORMATS

REPO = Path(__file__).resolve().parents[1]
PRODUCT = [p for top in ("aisbom", "scanners", "signing") for p in sorted((REPO / top).rglob("*.py"))]


def _strings_in(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def emitted_formats() -> set[str]:
    """Every format name a FileResult can hold: the registry's formats, what the sniffers return
    that is no registry format ("data", "empty"), and what the pipeline says of a file it could
    not scan ("symlink", "special", "unreadable", "unknown")."""
    names = set(FORMATS)
    for sniffer in ("scanners/frame/sniff.py", "scanners/tensorflow/sniffing.py"):
        tree = ast.parse((REPO / sniffer).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Return) and node.value is not None:
                names |= {s for s in _strings_in(node.value) if re.fullmatch(r"[a-z0-9-]+", s)}
    tree = ast.parse((REPO / "aisbom/pipeline.py").read_text())
    for node in ast.walk(tree):
        # FileResult(path, size, sha256, format, ...), and the pipeline's _result(entry, size,
        # sha256, format, ctx) that builds it
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("FileResult", "_result"):
            names |= _strings_in(node.args[3]) if len(node.args) > 3 else set()
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["fmt"]:
            names |= _strings_in(node.value)
    return names


def documented_formats() -> set[str]:
    text = (REPO / "docs/report-format.md").read_text()
    [row] = [line for line in text.splitlines() if line.startswith("| `files[].format` |")]
    return set(re.findall(r"`([a-z0-9-]+)`", row.split("|")[2])) - set(RULES)  # (a rule it names)


def test_report_format_lists_every_format_the_code_can_emit():
    emitted = emitted_formats()
    assert {"onnx", "coreml", "tensorrt", "data", "empty", "special", "unreadable", "unknown"} <= emitted
    assert documented_formats() == emitted
