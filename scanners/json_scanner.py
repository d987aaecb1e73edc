"""JSON documents: every check that applies to a plain JSON file.

A JSON file means nothing by itself; its loader gives it meaning. Two loaders read code-bearing
JSON: transformers renders the chat templates of tokenizer_config.json / chat_template.json, and
Keras builds models from config.json (an unpacked .keras directory, a Hugging Face Keras
repository) or model.json (model_from_json). Each check costs one byte search on files it does
not concern.
"""

from __future__ import annotations

from aisbom.scanners.base import Data, ScanContext
from aisbom.scanners.keras_scanner import scan_keras_json
from aisbom.scanners.template_files import scan_json as scan_template_json


def scan_json(data: Data, ctx: ScanContext) -> None:
    scan_template_json(data, ctx)
    scan_keras_json(data, ctx)
