"""aisbom: protect the ML supply chain: scan, hash, sign and inventory AI assets.

The source tree keeps `scanners/` and `signing/` beside this folder; an install (`pip install .`,
or `pip install -e .` for a checkout) maps them to `aisbom.scanners` and `aisbom.signing`
(setuptools `package-dir` in pyproject.toml).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "load_tensors"]


# The public API, by module. Imported on first use (PEP 562): `import aisbom`, and so
# `aisbom --help`, loads none of it; and this package, which every module imports for its
# version, depends on none of them.
_API = {"load_tensors": "aisbom.convert.loading"}


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)  # safe: our own modules, named above
    raise AttributeError(f"module 'aisbom' has no attribute {name!r}")
