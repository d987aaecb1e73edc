"""Helpers for the batch tests: run `aisbom batch` as a process, read its index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"


def batch(
    *args: object, input: str | None = None, env: dict[str, str] | None = None, **popen: Any
) -> subprocess.CompletedProcess[str]:
    """`aisbom batch ARGS` in a child process (the engines start processes of their own)."""
    result = subprocess.run(
        [sys.executable, "-m", "aisbom", "batch", *map(str, args)],
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        **popen,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def index(out: Path) -> dict[str, dict[str, Any]]:
    """The last record of each target."""
    records: dict[str, dict[str, Any]] = {}
    for line in (out / "index.jsonl").read_text().splitlines():
        record = json.loads(line)
        records[record["target"]] = record
    return records


def index_lines(out: Path) -> list[str]:
    return (out / "index.jsonl").read_text().splitlines()


def verdicts(out: Path) -> dict[str, tuple[str, int, str | None]]:
    """target -> (verdict, exit code, revision): what must agree between engines."""
    return {t: (r["verdict"], r["exit_code"], r["revision"]) for t, r in index(out).items()}


def model_list(tmp_path: Path) -> tuple[Path, list[str]]:
    """A LIST over fixture models: clean, unsafe, a directory and single files."""
    targets = [
        str(FIXTURES / "benign" / "safetensors"),
        str(FIXTURES / "benign" / "pytorch" / "state_dict.pt"),
        str(FIXTURES / "benign" / "pickle"),
        str(FIXTURES / "malicious" / "pytorch" / "zip_data_pkl.pt"),
        str(FIXTURES / "demo"),
    ]
    listed = tmp_path / "models.txt"
    listed.write_text("\n".join(targets) + "\n")
    return listed, targets


def s3_twins(bucket: Any, targets: list[str]) -> list[str]:
    """Upload each local target (file or directory) to the bucket; the s3:// targets, in order."""
    twins = []
    for n, target in enumerate(targets):
        path = Path(target)
        if path.is_dir():
            bucket.upload(path, f"twin{n}/{path.name}")
            twins.append(f"s3://{bucket.name}/twin{n}/{path.name}")
        else:
            bucket.put(f"twin{n}/{path.name}", path.read_bytes())
            twins.append(f"s3://{bucket.name}/twin{n}/{path.name}")
    return twins
