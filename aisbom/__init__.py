"""aisbom: protect the ML supply chain: scan, hash, sign and inventory AI assets.

The source tree keeps `scanners/` and `signing/` beside this folder; an install (`pip install .`,
or `pip install -e .` for a checkout) maps them to `aisbom.scanners` and `aisbom.signing`
(setuptools `package-dir` in pyproject.toml).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "load_tensors"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `import aisbom` (and so `aisbom --help`) stays as fast as before.
    if name == "load_tensors":
        from aisbom.convert.loading import load_tensors

        return load_tensors
    raise AttributeError(f"module 'aisbom' has no attribute {name!r}")
