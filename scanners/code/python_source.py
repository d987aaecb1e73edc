"""Python files shipped with a model, judged from their syntax tree, never imported.

Loaders import these files by name (transformers imports `modeling_x.py` because config.json says
`modeling_x.Class`; Inference Endpoints imports `handler.py`), so the registry runs this check on
every file named `*.py`, whatever its bytes sniff as. aisbom's own checks (`hazards`) say what
runs at import or while the model loads and what it does; bandit adds its own tests. A file that
cannot be parsed or is too large or deep to analyse makes the scan incomplete: some interpreter
may still run it.
"""

from __future__ import annotations

import ast
import sys
import tokenize
import warnings

from aisbom.scanners.code.bandit_checks import BanditFailed, run_bandit
from aisbom.scanners.code.hazards import (
    CRITICAL_AT_LOAD,
    KINDS,
    MAIN_BLOCK,
    OBFUSCATION,
    Hazard,
    find_hazards,
)
from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.severity import Severity
from aisbom.wording import counted

# Findings of one file beyond which the rest are counted, not listed.
_MAX_REPORTED = 50
_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
_HANDLER = "handler.py"  # Inference Endpoints imports handler.py's EndpointHandler by this name


def scan_python(data: Data, ctx: ScanContext) -> None:
    if ctx.path == _HANDLER and not ctx.members:  # at the root of the repository, not in an archive
        ctx.report(
            "model-ships-code",
            "handler.py: Hugging Face Inference Endpoints imports it and constructs its EndpointHandler "
            "when the model is deployed (a custom handler); the code is analysed below",
            evidence={"loader": "Inference Endpoints", "option": "custom handler", "files": _HANDLER},
        )
    if len(data) > ctx.limits.max_code_bytes:
        _unanalysable(
            ctx,
            f"{counted(len(data), 'byte')}, over the limit of {ctx.limits.max_code_bytes}",
            "max_code_bytes",
        )
        return
    source = bytes(data)
    tree = _parse(source, ctx)
    if tree is None:
        return
    nodes, depth = _size(tree)
    if nodes > ctx.limits.max_code_nodes:
        _unanalysable(
            ctx, f"{nodes} syntax nodes, over the limit of {ctx.limits.max_code_nodes}", "max_code_nodes"
        )
        return
    lines = _lines(source)
    try:
        hazards = find_hazards(tree)
    except RecursionError:  # names resolve recursively along attribute chains
        _unanalysable(ctx, "a name too deeply nested to resolve", "max_code_depth")
        return
    for hazard in hazards[:_MAX_REPORTED]:
        _report_hazard(hazard, lines, ctx)
    if len(hazards) > _MAX_REPORTED:
        rest = len(hazards) - _MAX_REPORTED
        ctx.report(
            "code-dangerous-call",
            f"and {counted(rest, 'more hazard')} not listed (first {_MAX_REPORTED} shown)",
        )
    if depth > ctx.limits.max_code_depth:
        _unanalysable(
            ctx,
            f"nested {depth} deep, over the limit of {ctx.limits.max_code_depth}; bandit not run",
            "max_code_depth",
        )
        return
    _bandit(source, {h.line for h in hazards}, lines, ctx)


def _parse(source: bytes, ctx: ScanContext) -> ast.Module | None:
    """The module's syntax tree as this Python reads it (its coding declaration honoured), or None
    and a finding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            return ast.parse(source)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        _unanalysable(
            ctx, f"does not parse as Python {_PYTHON}{where}: {exc.msg}; another Python may still run it"
        )
    except (ValueError, UnicodeError, LookupError) as exc:  # null bytes, undecodable text
        _unanalysable(ctx, f"does not parse as Python {_PYTHON}: {exc}")
    except (RecursionError, MemoryError) as exc:
        _unanalysable(ctx, f"too deeply nested to parse ({type(exc).__name__})", "max_code_depth")
    return None


def _unanalysable(ctx: ScanContext, why: str, limit: str | None = None) -> None:
    ctx.report(
        "code-unanalysable",
        f"Python file {ctx.name} not analysed: {why}",
        evidence={"limit": limit} if limit else None,
    )


def _size(tree: ast.AST) -> tuple[int, int]:
    """Nodes of the tree and its depth, counted without recursion."""
    nodes = deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        deepest = max(deepest, depth)
        stack += [(child, depth + 1) for child in ast.iter_child_nodes(node)]
    return nodes, deepest


def _lines(source: bytes) -> list[str]:
    try:
        encoding, _ = tokenize.detect_encoding(iter(source.splitlines(keepends=True)).__next__)
    except SyntaxError:
        encoding = "utf-8"
    try:
        text = source.decode(encoding, errors="replace")
    except LookupError:
        text = source.decode("utf-8", errors="replace")
    return text.splitlines()


def _source_line(lines: list[str], line: int) -> str:
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return text if len(text) <= 200 else text[:197] + "..."


_WHEN = {
    "import": "runs when the module is imported",
    "load": "runs while the model loads",
}


def _report_hazard(hazard: Hazard, lines: list[str], ctx: ScanContext) -> None:
    if hazard.kind in OBFUSCATION:
        rule, severity = "code-obfuscated", Severity.CRITICAL
    else:
        at_load = hazard.when != "call"
        rule = "code-dangerous-call"
        severity = Severity.CRITICAL if at_load and hazard.kind in CRITICAL_AT_LOAD else Severity.HIGH
    if hazard.scope == MAIN_BLOCK:
        when = "runs only when the file is run as a script"
    else:
        when = _WHEN.get(hazard.when, f"runs when {hazard.scope} is called")
    if hazard.when == "load" and hazard.scope != "module":
        when += f" ({hazard.scope})"
    source = _source_line(lines, hazard.line)
    ctx.report(
        rule,
        f"line {hazard.line}: {hazard.name} {KINDS[hazard.kind]}; {when}: {source}",
        severity=severity,
        evidence={
            "line": str(hazard.line),
            "call": hazard.name,
            "kind": hazard.kind,
            "when": hazard.when,
            "scope": hazard.scope,
            "source": source,
        },
    )


def _bandit(source: bytes, reported_lines: set[int], lines: list[str], ctx: ScanContext) -> None:
    try:
        issues = run_bandit(source)
    except BanditFailed as exc:
        _unanalysable(ctx, f"bandit could not analyse it ({exc})")
        return
    for issue in issues:
        if issue.line in reported_lines:
            continue  # said already, with when it runs
        source_line = _source_line(lines, issue.line)
        ctx.report(
            "code-bandit",
            f"line {issue.line}: bandit {issue.test_id} ({issue.test}): {issue.text}: {source_line}",
            severity=Severity.HIGH if issue.severity == "HIGH" else Severity.MEDIUM,
            evidence={
                "line": str(issue.line),
                "bandit_test": issue.test_id,
                "bandit_severity": issue.severity.lower(),
                "bandit_confidence": issue.confidence.lower(),
                "source": source_line,
            },
        )
