"""Chat templates: escapes are found through obfuscation, published templates stay clean."""

from __future__ import annotations

import json
import time

import pytest
from chat_templates import STANDARD_TEMPLATES

from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file
from aisbom.scanners.templates.jinja_analysis import check_template
from aisbom.severity import Severity

POPEN = "popen('touch aisbom-marker').read()"


def check(source: str, *, limits: Limits | None = None, lenient: bool = False):
    ctx = context_for_file("t", limits or Limits(), Policy())
    check_template(source, ctx, key="tokenizer.chat_template", lenient=lenient)
    return ctx.sink


def worst(findings) -> Severity | None:
    return max((f.severity for f in findings), default=None)


# --- published templates -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STANDARD_TEMPLATES))
def test_standard_template_has_no_finding(name):
    assert check(STANDARD_TEMPLATES[name]) == []


@pytest.mark.parametrize("name", sorted(STANDARD_TEMPLATES))
def test_standard_template_in_a_tokenizer_config_is_clean(name, scan_bytes):
    config = {"bos_token": "<s>", "chat_template": STANDARD_TEMPLATES[name], "model_max_length": 4096}
    fmt, findings = scan_bytes(json.dumps(config, indent=2).encode())
    assert fmt == "json"
    assert findings == []


@pytest.mark.parametrize(
    "source",
    [
        "{% set ns = namespace(found=false, x=1) %}{% for m in messages %}{% if m.role == 'system' %}"
        "{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}{{ ns.x + 1 }}",
        "{{ message.content.strip().split('\\n')[0].upper().replace('a', 'b') }}",
        "{% for k, v in tool.items() %}{{ k }}={{ tool[k] }}{{ v|tojson }}{% endfor %}",
        "{{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|join(', ') }}",
        "{{ (messages|length) ~ strftime_now('%d %b %Y') }}{{ message.get('name', '') }}",
        "{% for i in range(3) %}{{ loop.index0 }}{{ loop.cycle('a', 'b') }}{% endfor %}",
        "{% set c = cycler('odd', 'even') %}{{ c.next() }}{% set j = joiner(', ') %}{{ j() }}",
        "{% if messages[0]['content'] is string %}{{ messages[0]['content'][::-1] }}{% endif %}",
        "{% set system = messages[0].content %}{{ system }}",
    ],
    ids=[
        "namespace-holder",
        "string-methods",
        "items",
        "selectattr-map",
        "strftime-get",
        "range-loop",
        "cycler-joiner-use",
        "reverse-content",
        "variable-named-system",
    ],
)
def test_everyday_template_constructs_are_clean(source):
    assert check(source) == []


# --- escapes: resolved through folding -> critical -------------------------------------------

ESCAPES = {
    "baseline": "{{ cycler.__init__.__globals__.os." + POPEN + " }}",
    "attr-concat": "{{ cycler|attr('__in' ~ 'it__')|attr('__glo' ~ 'bals__') }}",
    "add-strings": "{{ lipsum|attr('__glo' + 'bals__') }}",
    "format-chars": "{% set u = '%c'|format(95) * 2 %}{{ joiner|attr(u ~ 'init' ~ u) }}",
    "printf-operator": "{{ x|attr('%s%s' % ('__cla', 'ss__')) }}",
    "format-method": "{{ x|attr('{}{}'.format('__cla', 'ss__')) }}",
    "format-fields": "{{ '{0.__init__.__globals__}'.format(cycler) }}",
    "join-list": "{{ lipsum|attr(['__glo', 'bals__']|join) }}",
    "str-join-method": "{{ lipsum|attr(''.join(['__glo', 'bals__'])) }}",
    "reverse-filter": "{{ lipsum|attr('__slabolg__'|reverse) }}",
    "reverse-slice": "{{ lipsum|attr('__slabolg__'[::-1]) }}",
    "lower": "{{ lipsum|attr('__GLOBALS__'|lower) }}",
    "replace": "{{ lipsum|attr('__gXobals__'|replace('X', 'l')) }}",
    "set-variables": "{% set a = '__gl' %}{% set b = 'obals__' %}{{ lipsum|attr(a ~ b) }}",
    "set-block": "{% set a %}__globals__{% endset %}{{ lipsum|attr(a) }}",
    "namespace-attributes": "{% set ns = namespace(a='__glo') %}{% set ns.b = 'bals__' %}"
    "{{ lipsum|attr(ns.a ~ ns.b) }}",
    "conditional-set": "{% if x %}{% set a = '__globals__' %}{% else %}{% set a = 'safe' %}{% endif %}"
    "{{ lipsum|attr(a) }}",
    "loop-list": "{% for n in ['__globals__'] %}{{ lipsum|attr(n) }}{% endfor %}",
    "macro-arguments": "{% macro f(o, n) %}{{ o|attr(n) }}{% endmacro %}{{ f(lipsum, '__glob' ~ 'als__') }}",
    "dict-keys": "{{ lipsum|attr(dict(__globals__=1)|first) }}",
    "list-pop": "{{ lipsum|attr(['x', '__globals__'].pop()) }}",
    "getitem-concat": "{{ lipsum['__glo' ~ 'bals__'] }}",
    "default-filter": "{{ lipsum|attr(undefined_name|default('__globals__')) }}",
    "map-attribute": "{{ [lipsum]|map(attribute='__globals__')|list }}",
    "map-attr-filter": "{{ messages|map('attr', '__class__')|list }}",
    "dotted-attribute": "{{ messages|map(attribute='__class__.__mro__')|list }}",
    "template-reference": "{{ self._TemplateReference__context.cycler }}",
    "namespace-global": "{{ namespace.__init__.__globals__ }}",
    "range-self": "{{ range.__self__ }}",
    "aliased-global": "{% set c = cycler %}{{ c.__init__ }}",
    "string-class": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "builtins-import": "{{ self.__init__.__globals__.__builtins__.__import__('os')." + POPEN + " }}",
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_resolved_escape_is_critical(name):
    findings = check(ESCAPES[name])
    assert worst(findings) is Severity.CRITICAL, findings
    assert {f.rule for f in findings} == {"template-injection"}


def test_an_escape_chain_is_one_finding_naming_the_whole_walk():
    (finding,) = check(ESCAPES["baseline"])
    assert "cycler.__init__.__globals__.os.popen().read" in finding.message
    assert finding.evidence == (("key", "tokenizer.chat_template"),)


def test_an_escape_hidden_in_a_standard_template_is_found():
    source = STANDARD_TEMPLATES["llama-3.1"].replace(
        "{%- if add_generation_prompt %}", "{%- if add_generation_prompt %}" + ESCAPES["attr-concat"]
    )
    assert worst(check(source)) is Severity.CRITICAL


# --- suspicious but not resolved -> high -------------------------------------------------------

SUSPICIOUS = {
    "attr-from-data": "{{ x|attr(messages[0].content) }}",
    "getitem-built-key": "{{ lipsum['__glo' ~ message.content] }}",
    "global-walk": "{{ request.application }}",
    "module-name": "{{ x.os.popen('id') }}",
    "private-attribute": "{{ message._secret }}",
    "dunder-variable": "{{ __builtins__ }}",
    "unfoldable-width": "{{ x|attr('%9s'|format('__class__')) }}",
}

# Escapes whose attribute walk the analysis cannot follow without rendering: each one rendered
# with a plain jinja2.Environment reaches Cycler.__init__ (or os) in a red-team test.
HIDDEN_WALKS = {
    # |map applies the filter its first argument names: built at render time, it is 'attr'.
    "map-computed-filter": "{% set a = 'attr'|center(4) %}"
    "{{ ([cycler]|map(a, '__init__')|map(a, '__globals__')|map(a, 'os')|first)"
    ".popen('touch aisbom-marker') }}",
    # str.format walks its fields' attributes; the format string is built at render time.
    "format-built-string": "{% set f = '{0.__init__.__globals__[os]}'|center(10) %}{{ f.format(cycler) }}",
    "format-map-built-string": "{% set f = '{c.__init__.__globals__}'|center(9) %}"
    "{{ f.format_map({'c': cycler}) }}",
    # The dunder is a string picked from a list by a data-driven index, or a dict's key.
    "dunder-by-data-index": "{% set n = ['__init__'][messages|length - 1] %}"
    "{{ [cycler]|map(attribute=n)|first }}",
    "dunder-dict-items": "{% for k, v in {'__init__': 1}.items() %}"
    "{{ [cycler]|map(attribute=k)|first }}{% endfor %}",
    "dunder-batch": "{{ [cycler]|map(attribute=(['__init__']|batch(1)|first|first))|first }}",
    "dunder-dict-kwarg": "{% for k, v in dict(__init__=1)|dictsort %}"
    "{{ [cycler]|map(attribute=k)|first }}{% endfor %}",
    "dunder-set-block": "{% set n %}__globals__{% endset %}{% for x in [n] %}"
    "{{ [lipsum]|map(attribute=[x][messages|length - 1])|first }}{% endfor %}",
}


@pytest.mark.parametrize("name", sorted(HIDDEN_WALKS))
def test_walk_hidden_from_the_analysis_is_high(name):
    findings = check(HIDDEN_WALKS[name])
    assert worst(findings) is not None and worst(findings) >= Severity.HIGH, findings


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'Use __init__ to set up the class; see {docs}'.format(docs='x') }}",
        "{{ '____' ~ message.content ~ '____' }}",
        "{% set sep = '__' %}{{ sep.join(['a', 'b']) }}{{ (message.content ~ '!').strip() }}",
        "{{ messages|map(attribute='content')|join }}{{ tools|map('tojson')|join(', ') }}",
    ],
)
def test_prose_and_underscores_are_not_escape_names(source):
    assert check(source) == []


@pytest.mark.parametrize("name", sorted(SUSPICIOUS))
def test_unresolved_or_suspicious_lookup_is_high(name):
    findings = check(SUSPICIOUS[name])
    assert worst(findings) is Severity.HIGH, findings


def test_include_is_medium():
    assert worst(check("{% include 'other.jinja' %}")) is Severity.MEDIUM


# --- parse errors, limits -------------------------------------------------------------------


def test_unparseable_template_is_medium():
    """jinja2 refuses it, so a jinja2 renderer runs nothing: reported, below the fail threshold."""
    import jinja2

    (finding,) = check("{{ messages[0] ")
    assert finding.rule == "template-unparseable" and finding.severity is Severity.MEDIUM
    with pytest.raises(jinja2.TemplateSyntaxError):  # the plain Environment of the CVE refuses it
        jinja2.Environment().from_string("{{ messages[0] ")


def test_nesting_a_loader_parses_from_its_own_stack_is_analysed():
    """Nested deeper than the stack left in a scan allows, but not deeper than Jinja's parser
    reaches from a fresh stack: parsed and analysed, as the loader would parse and render it."""
    depth = 150
    source = "{% if x %}" * depth + "{{ lipsum.__globals__.os }}" + "{% endif %}" * depth

    def nested(levels: int):
        return nested(levels - 1) if levels else check(source)

    findings = nested(850)  # a scan already deep in its stack
    assert worst(findings) is Severity.CRITICAL, findings


def test_lenient_mode_reports_only_resolved_escapes():
    assert check("{{ unclosed", lenient=True) == []
    assert check("{{ request.args.get('q') }}", lenient=True) == []
    assert worst(check(ESCAPES["attr-concat"], lenient=True)) is Severity.CRITICAL


def test_limits_are_not_findings_in_text_that_only_might_be_a_template(scan_bytes):
    # langid.py is 2.5 MB of Python with `{{` in it: not a template, nothing left unscanned.
    source = "model = '" + "x" * (2 * 1024 * 1024) + "'\nfmt = '{{ }}'\n"
    assert check(source, lenient=True) == []
    assert scan_bytes(source.encode()) == ("text", [])
    many = "{{ " + " ~ ".join(f"'{i}'" for i in range(200)) + " }}"
    assert check(many, limits=Limits(max_template_nodes=100), lenient=True) == []


def test_huge_template_is_not_parsed():
    source = "{{ x }}" * (10 * 1024 * 1024 // 7)
    start = time.monotonic()
    (finding,) = check(source)
    assert finding.rule == "scan-limit" and ("limit", "max_template_chars") in finding.evidence
    assert time.monotonic() - start < 1


def test_node_limit():
    source = "{{ " + " ~ ".join(f"'{i}'" for i in range(200)) + " }}"
    (finding,) = check(source, limits=Limits(max_template_nodes=100))
    assert ("limit", "max_template_nodes") in finding.evidence


@pytest.mark.parametrize(
    "source",
    [
        "{{ " + "(" * 20000 + "1" + ")" * 20000 + " }}",
        "{% if x %}" * 3000 + "{% endif %}" * 3000,
        "{{ x" + "[0]" * 20000 + " }}",
    ],
)
def test_deep_nesting_is_a_finding_not_a_crash(source):
    start = time.monotonic()
    findings = check(source)
    assert worst(findings) is not None and worst(findings) >= Severity.HIGH
    assert time.monotonic() - start < 10


def test_folding_is_bounded():
    # Doubling strings and exploding candidate sets stay small and fast.
    source = "{% set a = 'ab' %}" + "{% set a = a ~ a %}" * 60 + "{{ a * 999999999 }}"
    source += "".join(f"{{% if x %}}{{% set b = '{i}' %}}{{% endif %}}" for i in range(40))
    source += "{{ b ~ b ~ b ~ b }}{{ '%999999999s'|format('x') }}"
    start = time.monotonic()
    assert check(source) == []
    assert time.monotonic() - start < 2


# --- files carrying templates ---------------------------------------------------------------


def test_tokenizer_config_every_template_shape_and_duplicate_keys(scan_bytes):
    escape = ESCAPES["namespace-global"]
    named = [{"name": "default", "template": "{{ x }}"}, {"name": "tool_use", "template": escape}]
    for value in (escape, named, {"default": "{{ x }}", "rag": escape}):
        _, findings = scan_bytes(json.dumps({"chat_template": value}).encode())
        assert worst(findings) is Severity.CRITICAL, value
    # json.load keeps the last duplicate; the first one is checked all the same.
    text = '{"chat_template": ' + json.dumps(escape) + ', "chat_template": "{{ x }}"}'
    _, findings = scan_bytes(text.encode())
    assert worst(findings) is Severity.CRITICAL


@pytest.mark.parametrize(
    "text",
    [
        b'[{"chat_template": "{{ cycler.__init__ }}"}]',  # not an object
        b'{"chat_template": "{{ cycler.__init__ }}",',  # not JSON
        b'{"prompt": "{{ cycler.__init__ }}"}',  # not a template key
    ],
)
def test_json_without_a_loadable_template_is_ignored(text, scan_bytes):
    assert scan_bytes(text)[1] == []


def test_text_file_with_an_escape_chain_is_critical(scan_bytes):
    fmt, findings = scan_bytes(b"Some notes.\n" + ESCAPES["baseline"].encode() + b"\n")
    assert fmt == "text" and worst(findings) is Severity.CRITICAL


def test_jinja_file_that_sniffs_as_json_is_checked_as_a_template(scan_bytes):
    fmt, findings = scan_bytes(b"{{ bos_token }}" + ESCAPES["baseline"].encode())
    assert fmt == "json" and worst(findings) is Severity.CRITICAL


def test_chat_template_key_spelled_with_json_escapes_is_checked(scan_bytes):
    # json.load (and so transformers) decodes the key to chat_template
    config = b'{"chat\\u005ftemplate": "{{ cycler.__init__.__globals__.os.popen(\'touch aisbom-marker\') }}"}'
    fmt, findings = scan_bytes(config)
    assert fmt == "json"
    assert worst(findings) is Severity.CRITICAL, findings
