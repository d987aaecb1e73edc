"""Fixtures for the project tests (helpers in _project_helpers.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _project_helpers import Project, make_project, make_system  # noqa: E402


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """An empty directory as the current directory, with the clock fixed."""
    return make_project(tmp_path, monkeypatch)


@pytest.fixture
def system(project: Project) -> Project:
    """A project with every kind of asset and every relation."""
    return make_system(project)
