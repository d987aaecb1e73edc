"""aisbom: protect the ML supply chain: scan, hash, sign and inventory AI assets.

The Python API (docs/api.md), for notebooks, services and loaders:

    import aisbom
    report = aisbom.scan("./model")            # a ScanReport: .verdict, .unsafe, .findings ...
    aisbom.require_clean("model.pt")           # raises aisbom.UnsafeModelError unless clean

The names below are imported on first use, so `import aisbom` (and the `aisbom` command's
start-up) loads no scanner and no signing library. The source tree keeps `scanners/` and
`signing/` beside this folder; an install maps them to `aisbom.scanners` and `aisbom.signing`
(setuptools `package-dir` in pyproject.toml).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from aisbom.version import __version__

if TYPE_CHECKING:
    from aisbom.api import (
        ScanReport,
        UnsafeModelError,
        bom,
        require_clean,
        scan,
        sign,
        snapshot_download,
        verify,
    )
    from aisbom.convert.loading import load_tensors
    from aisbom.errors import AisbomError, TargetError, UsageError
    from aisbom.findings import Finding
    from aisbom.limits import Limits
    from aisbom.policy import Policy
    from aisbom.severity import ExitCode, Severity
    from aisbom.signing.api import SignResult, VerifyResult
    from aisbom.signing.errors import SigningError, VerificationFailure
    from aisbom.sources import HashMismatchError, NetworkError

# Exported name -> the module that defines it.
_EXPORTS = {
    **dict.fromkeys(
        (
            "scan",
            "require_clean",
            "snapshot_download",
            "bom",
            "sign",
            "verify",
            "ScanReport",
            "UnsafeModelError",
        ),
        "aisbom.api",
    ),
    "load_tensors": "aisbom.convert.loading",
    **dict.fromkeys(("AisbomError", "UsageError", "TargetError"), "aisbom.errors"),
    "Finding": "aisbom.findings",
    "Limits": "aisbom.limits",
    "Policy": "aisbom.policy",
    **dict.fromkeys(("Severity", "ExitCode"), "aisbom.severity"),
    **dict.fromkeys(("SignResult", "VerifyResult"), "aisbom.signing.api"),
    **dict.fromkeys(("SigningError", "VerificationFailure"), "aisbom.signing.errors"),
    **dict.fromkeys(("HashMismatchError", "NetworkError"), "aisbom.sources"),
}

__all__ = [  # what _EXPORTS holds, spelt out for type checkers and linters
    "AisbomError",
    "ExitCode",
    "Finding",
    "HashMismatchError",
    "Limits",
    "NetworkError",
    "Policy",
    "ScanReport",
    "Severity",
    "SignResult",
    "SigningError",
    "TargetError",
    "UnsafeModelError",
    "UsageError",
    "VerificationFailure",
    "VerifyResult",
    "__version__",
    "bom",
    "load_tensors",
    "require_clean",
    "scan",
    "sign",
    "snapshot_download",
    "verify",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aisbom' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)  # safe: our own modules, from the table
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
