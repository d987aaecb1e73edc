"""aisbom: protect the ML supply chain: scan, hash, sign and inventory AI assets.

The source tree keeps `scanners/` and `signing/` beside this folder; an install (`pip install .`,
or `pip install -e .` for a checkout) maps them to `aisbom.scanners` and `aisbom.signing`
(setuptools `package-dir` in pyproject.toml).
"""

__version__ = "0.1.0"
