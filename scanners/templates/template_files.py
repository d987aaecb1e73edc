"""Chat templates outside model files: Hugging Face tokenizer configs and template files.

Transformers reads a repository's chat template from `tokenizer_config.json` (`chat_template`:
a string, or a list of `{name, template}`), from `chat_template.json` and from a standalone
`chat_template.jinja`. Each is checked like a GGUF template. Datasets hold thousands of small
JSON and text files, so the cost for a file without a template is one byte search.
"""

from __future__ import annotations

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.readers import json_document
from aisbom.scanners.templates.markers import looks_like_jinja
from aisbom.wording import counted

_KEY = "chat_template"
# Names transformers loads templates from. Only decides whether a parse error is reported:
# the content is what gets scanned, whatever the name.
_TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2")


def scan_json(data: Data, ctx: ScanContext) -> None:
    """The chat templates of a JSON document; a template file that only looks like JSON
    (`{{ bos_token }}...`) is checked as a template file."""
    if json_document.starts_as_template(data):
        scan_text(data, ctx)
        return
    if not _wants_document(data, ctx):
        return
    document = json_document.parse(data, ctx)
    if document is not None:
        _check_templates(document.chat_templates, ctx)


def _wants_document(data: Data, ctx: ScanContext) -> bool:
    """Whether the JSON file may hold a chat template."""
    limit = ctx.limits.max_json_bytes
    return json_document.wants_document(
        data, ctx, _KEY, limit=limit, limit_name="max_json_bytes", skipped="its templates were"
    )


def _check_templates(values: tuple[object, ...], ctx: ScanContext) -> None:
    """Check every chat_template value of a JSON document (duplicate keys included)."""
    for value in values:
        for key, template in _templates(value):
            check_template(template, ctx, key=key)


def check_template(template: str, ctx: ScanContext, *, key: str, lenient: bool = False) -> None:
    """The analysis of one template, imported only when a file holds one (jinja2 and the
    evaluator are most of a scan's start-up, and most files hold no template)."""
    from aisbom.scanners.templates import jinja_analysis

    jinja_analysis.check_template(template, ctx, key=key, lenient=lenient)


def _templates(value: object) -> list[tuple[str, str]]:
    """(key, template) pairs of a chat_template value in any of its published shapes."""
    if isinstance(value, str):
        return [("chat_template", value)]
    out: list[tuple[str, str]] = []
    if isinstance(value, list):  # [{"name": "default", "template": "..."}, ...]
        for index, item in enumerate(value):
            if isinstance(item, dict) and isinstance(item.get("template"), str):
                out.append((f"chat_template.{item.get('name', index)}", item["template"]))
    elif isinstance(value, dict):  # {"default": "...", "tool_use": "..."}
        out += [(f"chat_template.{k}", v) for k, v in value.items() if isinstance(v, str)]
    return out


def scan_text(data: Data, ctx: ScanContext) -> None:
    """A text file that contains Jinja is checked as a template. Only files named like
    templates report parse errors: a README with `{{ }}` examples is not a broken template,
    and from other text files only resolved escape chains are reported."""
    name = ctx.name
    is_template_file = name.lower().endswith(_TEMPLATE_SUFFIXES)
    if len(data) > ctx.limits.max_template_chars * 4:  # utf-8: up to 4 bytes a character
        if is_template_file:
            ctx.report(
                "scan-limit",
                f"template file of {counted(len(data), 'byte')} is over the limit of "
                f"{ctx.limits.max_template_chars} characters; not analysed",
                evidence={"limit": "max_template_chars"},
            )
        return
    raw = bytes(data)
    if not looks_like_jinja(raw):
        return
    check_template(raw.decode("utf-8", errors="replace"), ctx, key=name, lenient=not is_template_file)
