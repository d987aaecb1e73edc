"""Fixtures for the BOM tests: BOMs of the real all-MiniLM-L6-v2 directory, built once per session."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bom_helpers import make_bom, minilm_dir  # noqa: E402


@pytest.fixture(scope="session")
def minilm() -> Path:
    return minilm_dir()


@pytest.fixture(scope="session")
def minilm_boms(minilm: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """`aisbom bom` of the real model, for CycloneDX 1.6 and 1.7 (exit 0: it is clean)."""
    out = tmp_path_factory.mktemp("minilm")
    return {
        version: make_bom(minilm, out / f"bom-{version}.json", "--spec-version", version, expect=0)
        for version in ("1.6", "1.7")
    }
