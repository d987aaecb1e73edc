"""The files that make a loader import code from the model itself, read as data.

- transformers: `auto_map` in config.json, tokenizer_config.json, processor_config.json,
  preprocessor_config.json, video_preprocessor_config.json and generation_config.json
  (`"AutoModel": "modeling_x.XModel"`, a tokenizer's `[slow, fast]` pair, or
  `"org/repo--modeling_x.XModel"`: code of another repository), and config.json's
  `custom_pipelines`; imported with `trust_remote_code=True`.
- sentence-transformers: modules.json entries whose type is not one of its own classes.
- diffusers: model_index.json components `[module, Class]` whose module is not a library (the
  module is a file in the component's folder) and a `_class_name` of `[file, Class]`.
- TorchServe: MAR-INF/MANIFEST.json's handler and model file.
- MLflow: MLmodel flavors whose loader module is not MLflow's, python models and code paths.

Each is reported by name: these loaders find these files by name. The Python files themselves
are judged by `python_source`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.readers import json_document
from aisbom.wording import counted

_AUTO_MAP_FILES = frozenset(
    {
        "config.json",
        "tokenizer_config.json",
        "processor_config.json",
        "preprocessor_config.json",
        "video_preprocessor_config.json",
        "generation_config.json",
    }
)
_TRUST = "trust_remote_code=True"
_DIFFUSERS_LIBRARIES = frozenset({"diffusers", "transformers", "onnxruntime.training"})
_TORCHSERVE_BUILTIN_HANDLERS = frozenset(
    {
        "image_classifier",
        "image_segmenter",
        "object_detector",
        "text_classifier",
        "text_handler",
        "base_handler",
    }
)
# A Hub repository id as transformers accepts it before `--` (compiled on first use, re caches
# it: few configs name another repository).
_REPO_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$"


@dataclass(frozen=True)
class _Reference:
    """One reference a config makes to a module of code the loader imports."""

    key: str  # where in the file: "auto_map.AutoModel"
    module: str  # the module path the loader imports, relative to the model: "modeling_x"
    cls: str


def scan_json(data: Data, ctx: ScanContext) -> None:
    """The code references of the JSON files these loaders read by name."""
    name = ctx.name
    full = ctx.members[-1] if ctx.members else ctx.path
    is_manifest = name == "MANIFEST.json" and full.rsplit("/", 2)[-2:-1] == ["MAR-INF"]
    if name not in _AUTO_MAP_FILES and name not in ("modules.json", "model_index.json") and not is_manifest:
        return
    if len(data) > ctx.limits.max_json_bytes:
        ctx.report(
            "scan-limit",
            f"{name} is {counted(len(data), 'byte')}, over the limit of {ctx.limits.max_json_bytes}; "
            "its code references were not read",
            evidence={"limit": "max_json_bytes"},
        )
        return
    if name == "modules.json":  # a list, which JSON checks of objects do not parse
        _sentence_transformers(_json_list(data), ctx)
        return
    document = json_document.parse(data, ctx)
    if document is None:
        return  # not a JSON object: the loader fails on it before importing anything
    if name in _AUTO_MAP_FILES:
        _auto_map(document.value, ctx)
    elif name == "model_index.json":
        _diffusers(document.value, ctx)
    else:
        _torchserve(document.value, ctx)


def _json_list(data: Data) -> object:
    try:
        return json.loads(bytes(data))  # safe: JSON data, read as data
    except (ValueError, RecursionError):
        return None


def scan_text(data: Data, ctx: ScanContext) -> None:
    """MLflow's MLmodel (YAML), read by name."""
    if ctx.name != "MLmodel" or len(data) > ctx.limits.max_json_bytes:
        return
    import yaml  # here: only a file named MLmodel needs it, and every text file comes this way

    try:
        document = yaml.safe_load(bytes(data))  # safe: plain YAML data, no Python tags
    except (yaml.YAMLError, RecursionError, UnicodeError):
        return  # MLflow fails on it too
    if isinstance(document, dict):
        _mlflow(document, ctx)


def _auto_map(config: dict[str, object], ctx: ScanContext) -> None:
    found: list[_Reference] = []
    auto_map = config.get("auto_map")
    if auto_map is not None:
        if not isinstance(auto_map, dict):
            _invalid(ctx, "auto_map", auto_map, "is not an object")
        else:
            for auto_class, value in auto_map.items():
                found += _class_references(f"auto_map.{auto_class}", value, ctx)
    pipelines = config.get("custom_pipelines") if ctx.name == "config.json" else None
    if isinstance(pipelines, dict):  # {"task": {"impl": "pipeline_file.Class", "pt": [...], ...}}
        for task, spec in pipelines.items():
            impl = spec.get("impl") if isinstance(spec, dict) else spec
            found += _class_references(f"custom_pipelines.{task}.impl", impl, ctx)
    if found:
        _ships_code(ctx, "transformers", f"{_TRUST} in Auto*.from_pretrained or pipeline", found)


def _class_references(key: str, value: object, ctx: ScanContext) -> list[_Reference]:
    """`module.Class` references of one auto_map value (a tokenizer's is a [slow, fast] list,
    either of which may be null); other repositories' are reported here."""
    values = value if isinstance(value, list) else [value]
    found = []
    for item in values:
        if item is None and isinstance(value, list):
            continue
        if not isinstance(item, str):
            _invalid(ctx, key, item, "is not a string")
            continue
        reference = item
        if "--" in reference:
            repo, _, reference = reference.partition("--")
            _elsewhere(ctx, key, repo, reference)
            continue
        parts = reference.split(".")
        if len(parts) != 2 or not all(parts):
            _invalid(ctx, key, item, "is not of the form module.Class that transformers splits it into")
            continue
        if not _inside(parts[0]):
            _invalid(ctx, key, item, f"names the file {parts[0]}.py outside the model")
            continue
        found.append(_Reference(key, parts[0], parts[1]))
    return found


def _elsewhere(ctx: ScanContext, key: str, repo: str, reference: str) -> None:
    valid = re.match(_REPO_ID, repo) is not None and reference.count(".") == 1
    ctx.report(
        "model-code-elsewhere",
        f"{ctx.name} {key}: transformers downloads {reference.split('.')[0]}.py from the Hub repository "
        f"{repo!r} (its latest revision unless code_revision is given) and imports it with {_TRUST}; "
        "that code is not part of this model" + ("" if valid else "; the reference is malformed"),
        evidence={"key": key, "repository": repo, "reference": reference, "loader": "transformers"},
    )


def _sentence_transformers(document: object, ctx: ScanContext) -> None:
    if not isinstance(document, list):
        return  # sentence-transformers reads a list of modules
    found: list[_Reference] = []
    for index, module in enumerate(document):
        if not isinstance(module, dict):
            continue
        kind = module.get("type")
        key = f"[{index}].type"
        if not isinstance(kind, str):
            _invalid(ctx, key, kind, "is not a string")
            continue
        if kind.startswith("sentence_transformers."):
            continue
        module_name, _, cls = kind.rpartition(".")
        if not module_name or not _inside(module_name.replace(".", "/")):
            _invalid(ctx, key, kind, "is not a module.Class reference inside the model")
            continue
        found.append(_Reference(key, module_name.replace(".", "/"), cls))
    if found:
        _ships_code(
            ctx,
            "sentence-transformers",
            f"{_TRUST} in SentenceTransformer (an installed module of that name is imported without it)",
            found,
        )


def _diffusers(document: dict[str, object], ctx: ScanContext) -> None:
    found: list[_Reference] = []
    class_name = document.get("_class_name")
    if isinstance(class_name, list) and len(class_name) == 2 and all(isinstance(x, str) for x in class_name):
        found.append(_Reference("_class_name", class_name[0], class_name[1]))  # a custom pipeline file
    for component, value in document.items():
        if component.startswith("_") or not isinstance(value, list) or len(value) != 2:
            continue
        library, cls = value
        if library is None or (isinstance(library, str) and library in _DIFFUSERS_LIBRARIES):
            continue
        if not isinstance(library, str) or not isinstance(cls, str):
            _invalid(ctx, component, value, "is not a [module, Class] pair of strings")
            continue
        found.append(_Reference(component, f"{component}/{library}", cls))  # a file in its folder
    for reference in found:
        if not _inside(reference.module):
            _invalid(ctx, reference.key, reference.module, "names a file outside the model")
    found = [r for r in found if _inside(r.module)]
    if found:
        _ships_code(ctx, "diffusers", f"{_TRUST} in DiffusionPipeline.from_pretrained", found)


def _torchserve(document: dict[str, object], ctx: ScanContext) -> None:
    model = document.get("model")
    if not isinstance(model, dict):
        return
    found: list[_Reference] = []
    for key in ("handler", "modelFile"):
        value = model.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            _invalid(ctx, f"model.{key}", value, "is not a string")
            continue
        module = value.split(":", 1)[0].removesuffix(".py")
        if key == "handler" and module in _TORCHSERVE_BUILTIN_HANDLERS:
            continue
        if not _inside(module):
            _invalid(ctx, f"model.{key}", value, "names a file outside the archive")
            continue
        found.append(_Reference(f"model.{key}", module, value.partition(":")[2]))
    if found:
        _ships_code(ctx, "TorchServe", "always: registering the archive imports its handler", found)


def _mlflow(document: dict[object, object], ctx: ScanContext) -> None:
    flavors = document.get("flavors")
    if not isinstance(flavors, dict):
        return
    files: list[str] = []
    for flavor, spec in flavors.items():
        if not isinstance(spec, dict):
            continue
        loader = spec.get("loader_module")
        if isinstance(loader, str) and not loader.startswith("mlflow."):
            files.append(f"{loader} (loader_module of {flavor})")
        for key in ("code", "python_model", "model_code_path"):
            value = spec.get(key)
            if isinstance(value, str):
                if not _inside(value):
                    _invalid(ctx, f"flavors.{flavor}.{key}", value, "names a path outside the model")
                    continue
                files.append(f"{value} ({key} of {flavor})")
    if files:
        ctx.report(
            "model-ships-code",
            f"MLmodel: mlflow.pyfunc.load_model imports or unpickles code the model ships (always: no "
            f"option refuses it): {', '.join(files)}",
            evidence={"loader": "MLflow", "option": "always: pyfunc loads it", "files": ", ".join(files)},
        )


def _ships_code(ctx: ScanContext, loader: str, option: str, found: list[_Reference]) -> None:
    files = sorted({f"{r.module}.py" for r in found})
    classes = ", ".join(f"{r.key} = {r.module}" + (f".{r.cls}" if r.cls else "") for r in found)
    ctx.report(
        "model-ships-code",
        f"{ctx.name}: {loader} imports {', '.join(files)} from the model ({option}): {classes}",
        evidence={"loader": loader, "option": option, "files": ", ".join(files), "classes": classes},
    )


def _invalid(ctx: ScanContext, key: str, value: object, why: str) -> None:
    shown = repr(value)
    shown = shown if len(shown) <= 120 else shown[:117] + "..."
    ctx.report(
        "model-code-reference-invalid",
        f"{ctx.name} {key}: {shown} {why}",
        evidence={"key": key, "value": shown},
    )


def _inside(module_path: str) -> bool:
    """Whether a module path, joined to the model's directory as the loaders join it, stays in it."""
    path = module_path.replace("\\", "/")
    if path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", path):
        return False
    return ".." not in path.split("/") and "\x00" not in path
