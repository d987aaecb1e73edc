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
        # _not_read(entry, policy, limits, rule, why, format): a file the pipeline did not read
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_not_read" and node.args:
            names |= _strings_in(node.args[-1])
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


def _module_constants() -> dict[str, str]:
    """NAME -> "value" of every module-level string constant of the product code."""
    constants: dict[str, str] = {}
    for path in PRODUCT:
        for node in ast.parse(path.read_text()).body:
            value = node.value if isinstance(node, ast.Assign) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                constants |= {t.id: value.value for t in node.targets if isinstance(t, ast.Name)}
    return constants


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute) and node.attr == "environ" and getattr(node.value, "id", "") == "os"
    )


def _variable_named(node: ast.AST) -> ast.AST | None:
    """The argument naming the variable, when `node` reads or writes os.environ."""
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        if isinstance(func, ast.Attribute) and _is_os_environ(func.value):
            return node.args[0]  # os.environ.get / pop / setdefault (...)
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "getenv"
            and getattr(func.value, "id", "") == "os"
        ):
            return node.args[0]
    if isinstance(node, ast.Subscript) and _is_os_environ(node.value):
        return node.slice  # os.environ["X"], read or written
    if isinstance(node, ast.Compare) and any(_is_os_environ(c) for c in node.comparators):
        return node.left  # "X" in os.environ
    return None


def variables_the_code_reads() -> set[str]:
    """Every variable named where the product code touches os.environ, as a literal or a module
    constant; plus every module constant named *_ENV, the way a variable travels to the function
    that reads it (network._seconds, the keyless token's `env`)."""
    constants = _module_constants()
    names = {value for name, value in constants.items() if name.endswith("_ENV")}
    for path in PRODUCT:
        for node in ast.walk(ast.parse(path.read_text())):
            argument = _variable_named(node)
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                names.add(argument.value)
            elif isinstance(argument, ast.Name) and argument.id in constants:
                names.add(constants[argument.id])
    return names


def documented_variables() -> set[str]:
    text = (REPO / "README.md").read_text()
    table = text.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row)}


def test_every_environment_variable_the_code_reads_is_documented():
    read = variables_the_code_reads()
    assert {
        "AISBOM_KEY_PASSWORD",
        "SIGSTORE_IDENTITY_TOKEN",
        "AISBOM_CONNECT_TIMEOUT",
        "HF_HUB_OFFLINE",
    } <= read
    assert "HF_HUB_DISABLE_TELEMETRY" in read  # written, to turn the Hub client's telemetry off
    assert sorted(read - documented_variables()) == []
