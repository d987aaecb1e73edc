"""`aisbom rules [RULE]`: what each finding's rule means, why it matters and what to do."""

from __future__ import annotations

import difflib
import sys

import click

from aisbom.rules import RULES
from aisbom.severity import ExitCode

EXAMPLES = """\b
Examples:
  aisbom rules                             # every rule, its default severity and title
  aisbom rules pickle-dangerous-global     # one rule in full
"""


@click.command(epilog=EXAMPLES)
@click.argument("rule", required=False)
def rules(rule: str | None) -> None:
    """Explain the rules a finding can carry (the rule id is printed beside every finding).

    Without RULE: every rule with its default severity and title. With RULE: what triggers it,
    why it matters and how to fix it (docs/rules.md holds the same text).
    """
    if rule is None:
        width = max(len(r) for r in RULES)
        for r in RULES.values():
            click.echo(f"{r.id:{width}}  {r.severity.label:8}  {r.title}")
        return
    found = RULES.get(rule.strip().lower())
    if found is None:
        close = difflib.get_close_matches(rule, list(RULES), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else " (`aisbom rules` lists them)"
        click.echo(f"aisbom: error: no rule {rule!r}{hint}", err=True)
        sys.exit(ExitCode.ERROR)
    click.echo(
        "\n".join(
            [
                f"{found.id}: {found.title}",
                f"Default severity: {found.severity.label}",
                f"In short: {found.brief_why} — fix: {found.remedy}",
                "",
                f"Triggered by: {found.trigger}",
                "",
                f"Why it matters: {found.why}",
                "",
                f"How to fix: {found.fix}",
            ]
        )
    )
