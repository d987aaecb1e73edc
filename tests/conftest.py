"""Shared test setup: the fixture catalog on sys.path, and helpers to scan bytes and paths."""

from __future__ import annotations

import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
sys.path.insert(0, str(FIXTURES))

# Tests import fixture builders and make loaders import the fixtures' model code in place: no
# __pycache__ may appear in fixtures/, where a later scan of the same directory would also find
# the compiled code (a marshal-code finding the fixture does not have). Bytecode goes to a cache
# of its own instead, also where the environment asked for none (inherited by every child: the
# many CLI runs in children then start from bytecode rather than compiling aisbom each time).
_PYCACHE = Path(tempfile.gettempdir()) / "aisbom-tests-pycache"
sys.pycache_prefix = str(_PYCACHE)
os.environ["PYTHONPYCACHEPREFIX"] = str(_PYCACHE)
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


@pytest.fixture
def scan_bytes():
    """Scan an in-memory blob; returns (format, findings)."""
    from aisbom.limits import Limits
    from aisbom.policy import Policy
    from aisbom.scanners.frame.dispatch import context_for_file, scan_blob

    def scan(data: bytes, *, policy: Policy | None = None, limits: Limits | None = None):
        ctx = context_for_file("blob", limits or Limits(), policy or Policy())
        fmt = scan_blob(data, ctx)
        return fmt, list(ctx.sink)

    return scan


def pickle_in_zip(pickle_bytes: bytes, tensor_bytes: int, *, folder: str = "model") -> bytes:
    """A PyTorch-style zip: the pickle (`folder/data.pkl`) and `tensor_bytes` stored bytes of
    tensor data, for tests whose file must be large (hashed in a worker) or whose pickle varies."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{folder}/data.pkl", pickle_bytes)
        zf.writestr(f"{folder}/data/0", bytes(tensor_bytes))
    return out.getvalue()


@pytest.fixture
def hook():
    """Install a hook the scan calls with a file's path between its hash and its verdict
    (aisbom.pipeline.between_passes), for one test."""
    from aisbom import pipeline

    def install(function):
        pipeline.between_passes = function

    yield install
    pipeline.between_passes = None
