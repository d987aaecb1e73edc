from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "sources"))

from _s3 import Bucket, aws_environment, new_bucket, s3_server  # noqa: E402


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 on a loopback port, for the session."""
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Bucket:
    """A new versioned bucket; the AWS environment (inherited by `aisbom batch`) points at it."""
    aws_environment(monkeypatch, tmp_path, s3_endpoint)
    return new_bucket(s3_endpoint, versioned=True)
