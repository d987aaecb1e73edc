"""Keras custom objects whose module ships beside the model: code its loading imports.

A `.keras` config names each custom object's module (`{"module": "custom_layers", "class_name":
"Scale", "registered_name": "pkg>Scale"}`). Keras 3.9 and later import only Keras's own modules:
the loading program imports the custom one to register the class, and Keras before 3.9 imports it
itself, even with safe_mode=True. When that module is a file of the scanned target (next to the
model, or at the target's root, where a program run from there finds it), it is code the model
ships: a `model-ships-code` finding on the model names it, and the file is judged like every
`.py` file. The Keras scanner reports the references (`keras-custom-object`,
`keras-unsafe-reference`, with the module in their evidence); this links them to the files, which
only the whole report holds.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from aisbom.findings import Finding
from aisbom.severity import Severity

_KERAS_REFERENCE_RULES = frozenset({"keras-custom-object", "keras-unsafe-reference"})
# Compiled on first use (re caches it): only Keras findings are matched.
_MODULE = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
_OPTION = "the loading program imports it to register the objects (Keras < 3.9: load_model does)"


def shipped_modules(findings: Iterable[Finding], paths: Iterable[str]) -> list[Finding]:
    """One model-ships-code finding per model whose custom objects' modules are target files."""
    files = set(paths)
    modules: dict[str, dict[str, str]] = {}  # model path -> {module: file}
    for finding in findings:
        module = dict(finding.evidence).get("module", "")
        if finding.rule not in _KERAS_REFERENCE_RULES or not re.match(_MODULE, module):
            continue
        shipped = _module_file(module, posixpath.dirname(finding.path), files)
        if shipped is not None:
            modules.setdefault(finding.path, {})[module] = shipped
    return [_ships_code(model, found) for model, found in modules.items()]


def _module_file(module: str, directory: str, files: set[str]) -> str | None:
    relative = module.replace(".", "/")
    for base in dict.fromkeys((directory, "")):
        for candidate in (f"{relative}.py", f"{relative}/__init__.py"):
            path = posixpath.join(base, candidate) if base else candidate
            if path in files:
                return path
    return None


def _ships_code(model: str, found: dict[str, str]) -> Finding:
    files = ", ".join(sorted(set(found.values())))
    classes = ", ".join(f"{module} = {path}" for module, path in sorted(found.items()))
    return Finding(
        "model-ships-code",
        Severity.MEDIUM,
        f"{posixpath.basename(model)}: Keras imports {files} from the model ({_OPTION}): its custom "
        f"objects' modules {classes}",
        model,
        evidence=(("loader", "Keras"), ("option", _OPTION), ("files", files), ("classes", classes)),
    )
