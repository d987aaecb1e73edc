"""The CycloneDX AI-BOM: assets of a scan, their model cards, findings and the EN 304 223
evidence they give, as one checked CycloneDX 1.6 or 1.7 JSON document (see docs/bom.md).

Layers, each importing only those before it: `card` (facts; where the bytes came from is
`aisbom.provenance`, shared with the sources that record it) -> `assets`
(what the BOM describes) -> `etsi` (what that evidences of `etsi_catalogue`) -> `library` (what
cyclonedx-python-lib models) and `extensions` (what it does not) -> `check` -> `build`.
`diff` reads finished BOMs as plain JSON; `lasting` takes the library's slow imports out of the
cyclic collector's way.
"""

import importlib
import sys
import types
from typing import Any


class _CallableBomPackage(types.ModuleType):
    """`aisbom.bom` is both this package and the API function that writes a BOM: once a module
    of the package is imported, Python sets the attribute `aisbom.bom` to the package, so the
    package itself answers the call (aisbom.api.bom)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        api = importlib.import_module("aisbom.api")  # safe: our own module, by name (it imports us)
        return api.bom(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableBomPackage
