"""What a model says about itself: a Hugging Face model card (README.md) and config.json.

Read as data, never executed: the YAML front matter goes through `yaml.safe_load` (PyYAML, a
declared dependency: real cards use block and flow lists, quoting and nested `model-index`
maps that a hand-written subset parser would misread), and only a few known keys of known
types are taken from it, so anchors and aliases cannot blow up anything downstream.
Markdown sections are matched by heading, outside fenced code blocks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Only these many bytes are read; a card or a config larger than this is not imported.
MAX_CARD_BYTES = 1024 * 1024
MAX_FRONT_MATTER = 256 * 1024
MAX_PARAGRAPHS = 12
MAX_PARAGRAPH_CHARS = 2000

# config.json key -> registered property name under cdx:ai-ml:model:hyperparameter
# (CycloneDX property taxonomy, cdx/ai-ml.md). Only scalars are taken.
HYPERPARAMETERS = {
    "hidden_size": "hidden_size",
    "n_embd": "hidden_size",
    "d_model": "d_model",
    "num_hidden_layers": "num_hidden_layers",
    "n_layer": "num_hidden_layers",
    "num_layers": "num_layers",
    "num_attention_heads": "num_attention_heads",
    "n_head": "num_attention_heads",
    "num_key_value_heads": "num_key_value_heads",
    "intermediate_size": "intermediate_size",
    "n_inner": "intermediate_size",
    "max_position_embeddings": "max_position_embeddings",
    "n_positions": "max_position_embeddings",
    "vocab_size": "vocab_size",
    "hidden_act": "hidden_act",
    "activation_function": "hidden_act",
    "layer_norm_eps": "layer_norm_epsilon",
    "layer_norm_epsilon": "layer_norm_epsilon",
    "rms_norm_eps": "layer_norm_epsilon",
    "tokenizer_class": "tokenizer_class",
}

_PLACEHOLDERS = ("more information needed", "[more information needed]", "more info needed")


@dataclass(frozen=True)
class CardFacts:
    """Facts drawn from the files a model ships. Empty tuples and None mean "not stated"."""

    card_file: str | None = None  # the README the card came from, relative to the model root
    config_file: str | None = None
    title: str | None = None
    description: str | None = None
    licenses: tuple[str, ...] = ()
    license_name: str | None = None
    license_link: str | None = None
    datasets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    base_models: tuple[str, ...] = ()
    base_model_relation: str | None = None
    pipeline_tag: str | None = None
    library_name: str | None = None
    use_cases: tuple[str, ...] = ()
    limitations: tuple[str, ...] = ()
    ethical: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()
    model_type: str | None = None
    hyperparameters: tuple[tuple[str, str], ...] = ()  # (taxonomy name, value), sorted
    name_or_path: str | None = None  # config.json `_name_or_path`: a hint, not a base model
    notes: tuple[str, ...] = ()  # why part of the card could not be used

    @property
    def has_card(self) -> bool:
        return self.card_file is not None


def read_card(
    readme: bytes | None, readme_name: str | None, config: bytes | None, config_name: str | None
) -> CardFacts:
    """Parse what is available; every problem becomes a note, never an exception."""
    fields: dict[str, Any] = {}
    notes: list[str] = []
    if readme is not None and readme_name is not None:
        fields["card_file"] = readme_name
        _read_readme(readme, readme_name, fields, notes)
    if config is not None and config_name is not None:
        _read_config(config, config_name, fields, notes)
    return CardFacts(notes=tuple(notes), **fields)


def card_from_directory(root: Path, hashes: dict[str, str]) -> CardFacts:
    """Read README.md and config.json at the top of a model directory.

    `hashes` maps each scanned file to the SHA-256 the scan computed; a file whose bytes no
    longer hash to that value (changed since the scan) is not used, so the card in the BOM
    always comes from the bytes the BOM hashes.
    """
    readme_name = next((name for name in sorted(hashes) if name.lower() == "readme.md"), None)
    readme = _read_verified(root, readme_name, hashes)
    config = _read_verified(root, "config.json", hashes)
    notes = []
    if readme_name and readme is None:
        notes.append(f"{readme_name}: not read (too large, unreadable or changed since the scan)")
    facts = read_card(readme, readme_name if readme is not None else None, config, "config.json")
    if notes:
        facts = dataclasses.replace(facts, notes=facts.notes + tuple(notes))
    return facts


def _read_verified(root: Path, name: str | None, hashes: dict[str, str]) -> bytes | None:
    if name is None or name not in hashes:
        return None
    try:
        # Non-blocking, and regular files only: a file swapped for a FIFO since the scan must
        # not hang the BOM (the hash check below catches any other swap).
        with open(os.open(root / name, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            data = handle.read(MAX_CARD_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_CARD_BYTES or hashlib.sha256(data).hexdigest() != hashes[name]:
        return None
    return data


# --- README ------------------------------------------------------------------------------------


def _read_readme(data: bytes, name: str, fields: dict[str, Any], notes: list[str]) -> None:
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff").replace("\r\n", "\n")
    meta, body = _split_front_matter(text)
    if meta is not None:
        parsed = _load_yaml(meta, name, notes)
        if parsed is not None:
            _take_metadata(parsed, fields)
    _take_sections(body, fields)


def _split_front_matter(text: str) -> tuple[str | None, str]:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return None, text
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :])
    return None, text


def _load_yaml(meta: str, name: str, notes: list[str]) -> dict[str, Any] | None:
    import yaml

    if len(meta) > MAX_FRONT_MATTER:
        notes.append(f"{name}: front matter larger than {MAX_FRONT_MATTER} bytes; not read")
        return None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        parsed = yaml.load(meta, Loader=loader)  # noqa: S506 - a safe loader, chosen above
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        notes.append(f"{name}: front matter is not valid YAML ({first})")
        return None
    if not isinstance(parsed, dict):
        notes.append(f"{name}: front matter is not a YAML mapping")
        return None
    return parsed


def _strings(value: object) -> tuple[str, ...]:
    """A string or a list of scalars, as strings; anything else (maps, nested lists) is ignored."""
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, str | int | float):
            text = str(item).strip()
            if text and text not in out:
                out.append(text)
    return tuple(out)


def _string(value: object) -> str | None:
    found = _strings(value) if not isinstance(value, list) else ()
    return found[0] if found else None


def _take_metadata(meta: dict[str, Any], fields: dict[str, Any]) -> None:
    fields["licenses"] = _strings(meta.get("license"))
    fields["license_name"] = _string(meta.get("license_name"))
    link = _string(meta.get("license_link"))
    fields["license_link"] = link if link and _URL.match(link) else None  # relative links are not URLs
    fields["datasets"] = _strings(meta.get("datasets"))
    fields["languages"] = _strings(meta.get("language"))
    fields["tags"] = _strings(meta.get("tags"))
    fields["base_models"] = _strings(meta.get("base_model"))
    fields["base_model_relation"] = _string(meta.get("base_model_relation"))
    fields["pipeline_tag"] = _string(meta.get("pipeline_tag"))
    fields["library_name"] = _string(meta.get("library_name"))


_URL = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def _take_sections(body: str, fields: dict[str, Any]) -> None:
    """Split the body into (heading, direct paragraphs) outside code fences."""
    sections: list[tuple[int, str, list[str]]] = [(0, "", [])]
    fence: str | None = None
    for line in _COMMENT.sub("", body).split("\n"):
        marker = _FENCE.match(line)
        if fence is not None:
            if marker and marker.group(1) == fence:
                fence = None
            continue
        if marker:
            fence = marker.group(1)
            sections[-1][2].append("")  # a code block ends a paragraph
            continue
        heading = _HEADING.match(line)
        if heading:
            sections.append((len(heading.group(1)), heading.group(2).strip(), []))
        else:
            sections[-1][2].append(line)

    use_cases: list[str] = []
    limitations: list[str] = []
    ethical: list[str] = []
    for level, title, lines in sections:
        paragraphs = _paragraphs(lines)
        if level == 1 and "title" not in fields and title:
            fields["title"] = _clean(title)
            if paragraphs:
                fields["description"] = paragraphs[0]
            continue
        kind = _section_kind(title)
        if kind == "use":
            use_cases += paragraphs
        elif kind == "limitation":
            prefix = "Out of scope: " if "scope" in _norm(title) else ""
            limitations += [prefix + p for p in paragraphs]
        elif kind == "ethical":
            ethical += paragraphs
    if "description" not in fields:
        intro = _paragraphs(sections[0][2])
        if intro:
            fields["description"] = intro[0]
    fields["use_cases"] = tuple(use_cases[:MAX_PARAGRAPHS])
    fields["limitations"] = tuple(limitations[:MAX_PARAGRAPHS])
    fields["ethical"] = tuple(ethical[:MAX_PARAGRAPHS])


def _norm(title: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", title.lower()).split())


def _section_kind(title: str) -> str | None:
    norm = _norm(title)
    if "intended use" in norm or norm in {"uses", "direct use", "downstream use", "use cases", "use case"}:
        return "use"
    if "limitation" in norm or "out of scope" in norm:
        return "limitation"
    if "ethic" in norm:
        return "ethical"
    return None


def _paragraphs(lines: list[str]) -> list[str]:
    out: list[str] = []
    block: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            block.append(line.strip())
            continue
        if block:
            text = _clean(" ".join(block))
            first = block[0]
            prose = not first.startswith(("|", "<", "![", "[![")) and text
            if prose and text.lower().strip(" .") not in _PLACEHOLDERS:
                out.append(text[:MAX_PARAGRAPH_CHARS])
            block = []
    return out


def _clean(text: str) -> str:
    return " ".join(_LINK.sub(r"\1", text).split())


# --- config.json -------------------------------------------------------------------------------


def _read_config(data: bytes, name: str, fields: dict[str, Any], notes: list[str]) -> None:
    try:
        config = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        notes.append(f"{name}: not valid JSON")
        return
    if not isinstance(config, dict):
        notes.append(f"{name}: not a JSON object")
        return
    fields["config_file"] = name
    fields["architectures"] = _strings(config.get("architectures"))
    fields["model_type"] = _string(config.get("model_type"))
    fields["name_or_path"] = _string(config.get("_name_or_path"))
    params: dict[str, str] = {}
    for key, prop in HYPERPARAMETERS.items():
        value = config.get(key)
        if prop in params or isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        params[prop] = str(value)
    fields["hyperparameters"] = tuple(sorted(params.items()))
