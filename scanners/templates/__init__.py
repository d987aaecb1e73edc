"""Chat templates, installed as `aisbom.scanners.templates`: Jinja is code, read without rendering.

`jinja_analysis` parses a template with jinja2's own parser and evaluates the tree abstractly,
with `folding` for the strings it can compute; `template_files` finds templates in text files
and JSON tokenizer configs (GGUF metadata hands its templates to the same analysis).
"""
