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
MAX_METRICS = 200

# What a Hugging Face pipeline task takes and gives (the Hub's task definitions): the model's
# inputs and outputs when its card names the task and nothing more specific says them.
TASK_IO = {
    "text-classification": ("text", "label"),
    "token-classification": ("text", "label per token"),
    "zero-shot-classification": ("text", "label"),
    "question-answering": ("text", "text"),
    "table-question-answering": ("table and text", "text"),
    "translation": ("text", "text"),
    "summarization": ("text", "text"),
    "text-generation": ("text", "text"),
    "text2text-generation": ("text", "text"),
    "fill-mask": ("text", "text"),
    "sentence-similarity": ("text", "similarity score"),
    "feature-extraction": ("text", "embedding"),
    "image-classification": ("image", "label"),
    "object-detection": ("image", "bounding boxes with labels"),
    "image-segmentation": ("image", "segmentation mask"),
    "image-to-text": ("image", "text"),
    "text-to-image": ("text", "image"),
    "automatic-speech-recognition": ("audio", "text"),
    "audio-classification": ("audio", "label"),
    "text-to-speech": ("text", "audio"),
    "voice-activity-detection": ("audio", "speech segments"),
}


# The expressions that read a README are kept as text and compiled on first use (re caches them),
# as elsewhere in aisbom: a model without a README never needs them (2 ms of CPU to compile).
# CycloneDX modelParameters.approach.type, as a card's prose names it. "supervised" alone must
# not match inside the others.
APPROACHES = (
    ("self-supervised", r"(?i)\bself[- ]supervised\b"),
    ("semi-supervised", r"(?i)\bsemi[- ]supervised\b"),
    ("unsupervised", r"(?i)\bunsupervised\b"),
    ("reinforcement-learning", r"(?i)\breinforcement[- ]learning\b"),
    ("supervised", r"(?i)(?<![-\w])(?<!self )(?<!semi )supervised\b"),
)

# A paragraph of a use section that states what the model does not do or cannot take: a
# limitation, wherever the card put it ("By default, input text longer than 256 word pieces is
# truncated." sits under "Intended uses" in all-MiniLM-L6-v2's card).
_LIMITATION_CUES = (
    r"(?i)\b(truncat\w*|not (?:intended|suitable|designed|meant|recommended)|should not be used|"
    r"cannot|can not|does not (?:work|support|handle)|limited to|out of scope)\b"
)
# The Hugging Face model card template's "Model Details" bullets.
_DETAIL_BULLET = (
    r"(?i)^\s*[-*]\s*\*\*(developed by|shared by|model creator)(?:\s*\[optional\])?"
    r"\s*:?\s*\*\*\s*:?\s*(.+?)\s*$"
)


@dataclass(frozen=True)
class Metric:
    """One model-index result: CycloneDX performanceMetric."""

    type: str
    value: str
    slice: str | None = None  # the dataset (config, split) and task it was measured on


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
    authors: tuple[str, ...] = ()  # front matter author(s)/model_creator, "Developed by"
    shared_by: str | None = None  # "Shared by" in the card's details: who distributes it
    metrics: tuple[Metric, ...] = ()  # model-index results
    co2: tuple[tuple[str, str], ...] = ()  # co2_eq_emissions, as (key, value)
    approach: str | None = None  # a CycloneDX learning type the card's prose names (only one)
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    io_from: tuple[str, ...] = ()  # the files inputs and outputs were read from
    name_or_path: str | None = None  # config.json `_name_or_path`: a hint, not a base model
    notes: tuple[str, ...] = ()  # why part of the card could not be used

    @property
    def has_card(self) -> bool:
        return self.card_file is not None


def read_card(
    readme: bytes | None,
    readme_name: str | None,
    config: bytes | None,
    config_name: str | None,
    extra: dict[str, bytes] | None = None,
) -> CardFacts:
    """Parse what is available; every problem becomes a note, never an exception. `extra`: other
    small JSON files of the model by name (sentence-transformers' module configs), which say
    what the model takes and gives more precisely than the task does."""
    fields: dict[str, Any] = {}
    notes: list[str] = []
    if readme is not None and readme_name is not None:
        fields["card_file"] = readme_name
        _read_readme(readme, readme_name, fields, notes)
    if config is not None and config_name is not None:
        _read_config(config, config_name, fields, notes)
    _take_inputs_outputs(fields, extra or {})
    return CardFacts(notes=tuple(notes), **fields)


# sentence-transformers saves what its modules are (modules.json), the pooled embedding's size
# (1_Pooling/config.json) and the longest input (sentence_bert_config.json).
SENTENCE_TRANSFORMERS_FILES = ("modules.json", "1_Pooling/config.json", "sentence_bert_config.json")


def card_from_directory(root: Path, hashes: dict[str, str]) -> CardFacts:
    """Read README.md and config.json at the top of a model directory (and sentence-transformers'
    module configs).

    `hashes` maps each scanned file to the SHA-256 the scan computed; a file whose bytes no
    longer hash to that value (changed since the scan) is not used, so the card in the BOM
    always comes from the bytes the BOM hashes.
    """
    readme_name = next((name for name in sorted(hashes) if name.lower() == "readme.md"), None)
    readme = _read_verified(root, readme_name, hashes)
    config = _read_verified(root, "config.json", hashes)
    extra = {
        name: data for name in SENTENCE_TRANSFORMERS_FILES if (data := _read_verified(root, name, hashes))
    }
    notes = []
    if readme_name and readme is None:
        notes.append(f"{readme_name}: not read (too large, unreadable or changed since the scan)")
    facts = read_card(readme, readme_name if readme is not None else None, config, "config.json", extra)
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
    # Relative links are not URLs.
    fields["license_link"] = link if link and re.match(_URL, link) else None
    fields["datasets"] = _strings(meta.get("datasets"))
    fields["languages"] = _strings(meta.get("language"))
    fields["tags"] = _strings(meta.get("tags"))
    fields["base_models"] = _strings(meta.get("base_model"))
    fields["base_model_relation"] = _string(meta.get("base_model_relation"))
    fields["pipeline_tag"] = _string(meta.get("pipeline_tag"))
    fields["library_name"] = _string(meta.get("library_name"))
    authors = [
        *_strings(meta.get("author")),
        *_strings(meta.get("authors")),
        *_strings(meta.get("model_creator")),
    ]
    fields["authors"] = tuple(dict.fromkeys(a for a in authors if not _placeholder(a)))
    fields["metrics"] = _metrics(meta.get("model-index"))
    fields["co2"] = _co2(meta.get("co2_eq_emissions"))


def _placeholder(text: str) -> bool:
    return text.lower().strip(" .") in _PLACEHOLDERS


def _metrics(index: object) -> tuple[Metric, ...]:
    """model-index: [{name, results: [{task: {type, name}, dataset: {name, type, config, split},
    metrics: [{type, value, name}]}]}] -> one Metric per metric, its dataset and task as the slice."""
    out: list[Metric] = []
    for entry in index if isinstance(index, list) else []:
        results = entry.get("results") if isinstance(entry, dict) else None
        for result in results if isinstance(results, list) else []:
            if not isinstance(result, dict):
                continue
            task = _mapping(result.get("task"))
            dataset = _mapping(result.get("dataset"))
            where = _string(dataset.get("name")) or _string(dataset.get("type"))
            detail = ", ".join(
                x for x in (_string(dataset.get("config")), _string(dataset.get("split"))) if x
            )
            task_name = _string(task.get("type")) or _string(task.get("name"))
            parts = []
            if where:
                parts.append(where + (f" ({detail})" if detail else ""))
            if task_name:
                parts.append(f"task {task_name}")
            metrics = result.get("metrics")
            for metric in metrics if isinstance(metrics, list) else []:
                if not isinstance(metric, dict):
                    continue
                kind = _string(metric.get("type")) or _string(metric.get("name"))
                value = metric.get("value")
                if kind is None or isinstance(value, bool) or not isinstance(value, int | float | str):
                    continue
                out.append(Metric(kind, str(value), "; ".join(parts) or None))
                if len(out) >= MAX_METRICS:
                    return tuple(out)
    return tuple(out)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


_CO2_KEYS = ("emissions", "source", "training_type", "geographical_location", "hardware_used")


def _co2(value: object) -> tuple[tuple[str, str], ...]:
    """co2_eq_emissions: a number (grams of CO2 equivalent) or a map with `emissions` and where
    the figure came from."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (("emissions", str(value)),)
    if not isinstance(value, dict):
        return ()
    out = []
    for key in _CO2_KEYS:
        item = value.get(key)
        if isinstance(item, int | float | str) and not isinstance(item, bool) and str(item).strip():
            out.append((key, str(item).strip()))
    return tuple(out) if any(k == "emissions" for k, _ in out) else ()


_URL = r"^https?://[^\s<>\"{}|\\^`]+$"
_FENCE = r"^\s{0,3}(```|~~~)"
_HEADING = r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$"
_COMMENT = r"(?s)<!--.*?-->"
_LINK = r"!?\[([^\]]*)\]\([^)]*\)"


def _take_sections(body: str, fields: dict[str, Any]) -> None:
    """Split the body into (heading, direct paragraphs) outside code fences."""
    sections: list[tuple[int, str, list[str]]] = [(0, "", [])]
    fence: str | None = None
    for line in re.sub(_COMMENT, "", body).split("\n"):
        marker = re.match(_FENCE, line)
        if fence is not None:
            if marker and marker.group(1) == fence:
                fence = None
            continue
        if marker:
            fence = marker.group(1)
            sections[-1][2].append("")  # a code block ends a paragraph
            continue
        bullet = re.match(_DETAIL_BULLET, line)
        if bullet:
            _take_detail(bullet.group(1).lower(), _clean(bullet.group(2)), fields)
        heading = re.match(_HEADING, line)
        if heading:
            sections.append((len(heading.group(1)), heading.group(2).strip(), []))
        else:
            sections[-1][2].append(line)

    use_cases: list[str] = []
    limitations: list[str] = []
    ethical: list[str] = []
    approaches: set[str] = set()
    for level, title, lines in sections:
        paragraphs = _paragraphs(lines)
        approaches |= {kind for p in paragraphs for kind, pattern in APPROACHES if re.search(pattern, p)}
        if level == 1 and "title" not in fields and title:
            fields["title"] = _title(title)
            if paragraphs:
                fields["description"] = paragraphs[0]
            continue
        kind = _section_kind(title)
        if kind == "use":
            use_cases += [p for p in paragraphs if not re.search(_LIMITATION_CUES, p)]
            limitations += [p for p in paragraphs if re.search(_LIMITATION_CUES, p)]
        elif kind == "limitation":
            prefix = "Out of scope: " if "scope" in _norm(title) else ""
            limitations += [prefix + p for p in paragraphs]
        elif kind == "ethical":
            ethical += paragraphs
    if "description" not in fields:
        intro = _paragraphs(sections[0][2])
        if intro:
            fields["description"] = intro[0]
    if len(approaches) == 1:  # a card naming two learning types says nothing certain
        fields["approach"] = approaches.pop()
    fields["use_cases"] = tuple(use_cases[:MAX_PARAGRAPHS])
    fields["limitations"] = tuple(limitations[:MAX_PARAGRAPHS])
    fields["ethical"] = tuple(ethical[:MAX_PARAGRAPHS])


def _title(heading: str) -> str | None:
    """The card's title, without the template's "Model Card for" (and never its placeholder)."""
    title = _clean(heading)
    title = re.sub(r"^model card (?:for|of)\s+", "", title, flags=re.I).strip()
    if not title or title.lower() in ("model id", "model card") or len(title) > 120:
        return None
    return title


def _take_detail(label: str, value: str, fields: dict[str, Any]) -> None:
    """A "**Developed by:**"-style bullet of the card template's Model Details."""
    if not value or _placeholder(value) or "{{" in value:
        return
    if label == "shared by":
        fields.setdefault("shared_by", value)
    else:
        fields["authors"] = tuple(dict.fromkeys([*fields.get("authors", ()), value]))


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
    return " ".join(re.sub(_LINK, r"\1", text).split())


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


# --- inputs and outputs ------------------------------------------------------------------------


def _take_inputs_outputs(fields: dict[str, Any], extra: dict[str, bytes]) -> None:
    """What the model takes and gives: a sentence-transformers model's own module configs (text in,
    an embedding of the pooled size out), else the card's task as the Hub defines it."""
    modules = _json(extra.get("modules.json"))
    pooling = _json(extra.get("1_Pooling/config.json"))
    sentence = _json(extra.get("sentence_bert_config.json"))
    types = [m.get("type") for m in modules if isinstance(m, dict)] if isinstance(modules, list) else []
    size = pooling.get("word_embedding_dimension") if isinstance(pooling, dict) else None
    if any(isinstance(t, str) and t.endswith(".Pooling") for t in types) and _count(size):
        longest = sentence.get("max_seq_length") if isinstance(sentence, dict) else None
        fields["inputs"] = ("text" + (f" (at most {longest} tokens)" if _count(longest) else ""),)
        fields["outputs"] = (f"embedding (vector of {size} floats)",)
        used = ["modules.json", "1_Pooling/config.json"]
        fields["io_from"] = tuple(used + (["sentence_bert_config.json"] if _count(longest) else []))
        return
    task = fields.get("pipeline_tag")
    if task in TASK_IO:
        taken, given = TASK_IO[task]
        fields["inputs"], fields["outputs"] = (taken,), (given,)
        fields["io_from"] = (fields["card_file"],)


def _json(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
