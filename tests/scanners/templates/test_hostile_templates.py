"""Chat templates written to exhaust the analysis: it stays linear in the template and stops at
the file's deadline with a scan-limit finding."""

from __future__ import annotations

import time

from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file
from aisbom.scanners.templates.jinja_analysis import check_template


def many_arguments_many_calls(arguments: int, calls: int) -> str:
    """A macro of `arguments` parameters called from `calls` places: gathering what each
    argument receives one argument at a time is arguments x calls."""
    names = ",".join(f"a{i}" for i in range(arguments))
    return "{% macro m(" + names + ") %}{{ a0 }}{% endmacro %}" + "{{ m(1) }}" * calls


def test_a_macro_with_thousands_of_arguments_and_call_sites_is_analysed_in_linear_time():
    # 8,000 x 8,000 took about a minute when each argument scanned every call site.
    ctx = context_for_file("tokenizer_config.json", Limits(), Policy())
    started = time.process_time()
    check_template(many_arguments_many_calls(8_000, 8_000), ctx, key="chat_template")
    assert time.process_time() - started < 30
    assert not [f for f in ctx.sink if f.rule == "scan-limit"]


def test_a_macro_called_with_thousands_of_distinct_values_is_analysed_in_linear_time():
    source = "{% macro m(a) %}{{ a }}{% endmacro %}" + "".join(f"{{{{ m('v{i}') }}}}" for i in range(20_000))
    ctx = context_for_file("tokenizer_config.json", Limits(), Policy())
    started = time.process_time()
    check_template(source, ctx, key="chat_template")
    assert time.process_time() - started < 30


def test_the_analysis_stops_at_the_deadline_with_a_finding():
    ctx = context_for_file("tokenizer_config.json", Limits(), Policy())
    ctx.budget.deadline = time.monotonic() - 1
    check_template(many_arguments_many_calls(10, 10_000), ctx, key="chat_template")
    [limit] = [f for f in ctx.sink if f.rule == "scan-limit"]
    assert dict(limit.evidence)["limit"] == "max_seconds_per_file"
    assert "chat_template" in limit.message
