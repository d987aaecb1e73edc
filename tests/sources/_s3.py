"""A real S3 endpoint on loopback (moto's server) for the s3:// tests, and the AWS environment
pointed at it. Used by tests/sources and tests/batch."""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REGION = "us-east-1"


def require(module: str, extra: str) -> None:
    """Skip the test module where `module` is missing locally; in CI (CI set) it must run."""
    try:
        importlib.import_module(module)
    except ImportError:
        reason = f"{module} is not installed (pip install 'aisbom[{extra}]', or 'aisbom[test]')"
        if os.environ.get("CI"):
            raise
        pytest.skip(reason, allow_module_level=True)


@contextmanager
def s3_server() -> Iterator[str]:
    """moto's server on a free loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass
class Bucket:
    name: str
    client: Any  # boto3 S3 client on the endpoint
    endpoint: str

    def put(self, key: str, body: bytes) -> str:
        """Upload; returns the ETag without quotes."""
        return self.client.put_object(Bucket=self.name, Key=key, Body=body)["ETag"].strip('"')

    def upload(self, directory: Path, prefix: str) -> list[str]:
        """Every file of `directory` under `prefix/`, by relative path; returns the keys."""
        keys = []
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            key = f"{prefix}/{path.relative_to(directory).as_posix()}"
            self.put(key, path.read_bytes())
            keys.append(key)
        return keys


def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, endpoint: str) -> None:
    """boto3 and s3fs pointed at `endpoint` with test credentials and no AWS configuration files."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AISBOM_CACHE", str(tmp_path / "aisbom-cache"))
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)


def new_bucket(endpoint: str, *, versioned: bool = False) -> Bucket:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    name = f"models-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    if versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return Bucket(name, client, endpoint)
