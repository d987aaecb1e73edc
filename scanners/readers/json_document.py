"""JSON documents as json.loads reads them, parsed at most once per object.

A JSON file means nothing by itself; its loader gives it meaning. Two loaders read code-bearing
JSON: transformers renders the chat templates of tokenizer_config.json / chat_template.json,
and Keras builds models from config.json and model.json. Each has its own check, which decides
from a byte search whether a file concerns it; a file that concerns both (a large data JSON
full of \\u escapes) is parsed once for the two.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aisbom.scanners.frame.context import Data, ScanContext

# A template starting `{{ bos_token }}` (or `{%`, `{#`) sniffs as JSON, but no JSON document
# starts so: json.loads, and so every JSON loader, refuses it.
TEMPLATE_STARTS = (b"{%", b"{{", b"{#")


@dataclass(frozen=True)
class JsonDocument:
    value: dict[str, object]  # as json.loads returns it: of duplicate keys, the last one wins
    # Every "chat_template" value, including ones a later duplicate key hides from json.loads
    # (another JSON parser may keep the first).
    chat_templates: tuple[object, ...]


def starts_as_template(data: Data) -> bool:
    return bytes(data[:64]).lstrip(b" \t\r\n\xef\xbb\xbf").startswith(TEMPLATE_STARTS)


def parse(data: Data, ctx: ScanContext) -> JsonDocument | None:
    """The JSON object in `data`, or None if it holds none (not JSON, or not an object)."""
    return ctx.reuse("json-document", data, lambda: _parse(data))


def _parse(data: Data) -> JsonDocument | None:
    found: list[object] = []

    def collect(pairs: list[tuple[str, object]]) -> dict[str, object]:
        found.extend(value for key, value in pairs if key == "chat_template")
        return dict(pairs)

    try:
        document = json.loads(bytes(data), object_pairs_hook=collect)  # safe: JSON data, read as data
    except (ValueError, RecursionError):
        return None  # not JSON: no loader reads a template or a model from it
    if not isinstance(document, dict):
        return None
    return JsonDocument(document, tuple(found))
