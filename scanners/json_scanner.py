"""JSON documents: every check that applies to a plain JSON file.

A JSON file means nothing by itself; its loader gives it meaning. Two loaders read code-bearing
JSON: transformers renders the chat templates of tokenizer_config.json / chat_template.json, and
Keras builds models from config.json (an unpacked .keras directory, a Hugging Face Keras
repository) or model.json (model_from_json). Each check costs one byte search on files it does
not concern, and a file that concerns either is parsed once for both.
"""

from __future__ import annotations

import json

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.keras import model_files
from aisbom.scanners.templates import template_files


def scan_json(data: Data, ctx: ScanContext) -> None:
    head = bytes(data[:64]).lstrip(b" \t\r\n\xef\xbb\xbf")
    if head.startswith(template_files.JINJA_STARTS):  # a template starting `{{ bos_token }}` sniffs as JSON
        template_files.scan_text(data, ctx)
        return
    templates = template_files.wants_document(data, ctx)
    keras = model_files.wants_document(data, ctx)
    if not (templates or keras):
        return
    found: list[object] = []

    def collect(pairs: list[tuple[str, object]]) -> dict[str, object]:
        # Every chat_template value, including ones a later duplicate key would hide. dict(pairs)
        # keeps the last duplicate, as json.loads (and so Keras and transformers) does.
        found.extend(value for key, value in pairs if key == "chat_template")
        return dict(pairs)

    try:
        document = json.loads(bytes(data), object_pairs_hook=collect)  # safe: JSON data, read as data
    except (ValueError, RecursionError):
        return  # not JSON: no loader reads a template or a model from it
    if not isinstance(document, dict):
        return
    if templates:
        template_files.check_templates(found, ctx)
    if keras:
        model_files.check_document(document, ctx, template_files.file_name(ctx))
