"""One rule table: docs are generated from it, findings must use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisbom.findings import Finding
from aisbom.rules import RULES, rules_markdown
from aisbom.severity import Severity

REPO = Path(__file__).resolve().parents[1]


def test_docs_rules_md_is_generated_from_the_table():
    assert (REPO / "docs" / "rules.md").read_text() == rules_markdown(), (
        "docs/rules.md is stale: run `python -m aisbom.rules > docs/rules.md`"
    )


def test_every_rule_explains_itself():
    for rule in RULES.values():
        assert rule.title and rule.trigger and rule.why and rule.fix, rule.id


def test_findings_refuse_unknown_rule_ids():
    with pytest.raises(ValueError):
        Finding(rule="no-such-rule", severity=Severity.LOW, message="x", path="f")
