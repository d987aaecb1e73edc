"""`aisbom batch` over s3:// targets (moto's S3 on loopback): the same verdicts as the same models
on disk, the ETags as revisions, and a rerun that skips what did not change."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from _batch_helpers import batch, index, index_lines, model_list, s3_twins
from _s3 import Bucket, require

require("s3fs", "s3")


def test_s3_targets_get_the_verdicts_of_the_same_models_on_disk(bucket: Bucket, tmp_path: Path) -> None:
    listed, local = model_list(tmp_path)
    remote = s3_twins(bucket, local)
    listed.write_text("\n".join(local + remote) + "\n")
    out = tmp_path / "out"
    result = batch(listed, "--out", out, "--workers", "2")
    assert result.returncode == 1, result.stderr
    records = index(out)
    for disk, s3 in zip(local, remote, strict=True):
        assert (records[s3]["verdict"], records[s3]["counts"], records[s3]["files"]) == (
            records[disk]["verdict"],
            records[disk]["counts"],
            records[disk]["files"],
        )
        assert records[s3]["source"] == s3
        assert records[s3]["revision"].startswith("etags:" if Path(disk).is_dir() else "etag:")

    again = batch(listed, "--out", out, "--workers", "2")
    assert "(0 scanned, 10 already done)" in again.stderr
    lines = len(index_lines(out))
    key = remote[1].removeprefix(f"s3://{bucket.name}/")  # a single-file target, replaced
    bucket.put(key, (Path(local[1]).parent / "optimizer_checkpoint.pt").read_bytes())
    changed = batch(listed, "--out", out, "--workers", "2")
    assert "(1 scanned, 9 already done)" in changed.stderr
    assert (
        len(index_lines(out)) == lines + 1
        and index(out)[remote[1]]["revision"] != records[remote[1]]["revision"]
    )


def test_a_missing_bucket_is_one_index_line(bucket: Bucket, tmp_path: Path) -> None:
    listed, local = model_list(tmp_path)
    missing = f"s3://{bucket.name}-gone/model"
    listed.write_text(f"{local[0]}\n{missing}\n")
    out = tmp_path / "out"
    result = batch(listed, "--out", out, "--workers", "2")
    assert result.returncode == 2
    records = index(out)
    assert records[local[0]]["verdict"] == "clean"
    assert records[missing]["verdict"] == "failed" and "no such bucket" in records[missing]["error"]


def _replace_when_copying(cache: Path, bucket: Bucket, key: str, replaced: threading.Event) -> None:
    """Replace `key` as soon as the copy of a listing into the cache has begun (its temporary
    directory appears): after the listing, before `key`, which sorts last, is read."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (cache / "s3").is_dir() and any(p.name.startswith(".") for p in (cache / "s3").iterdir()):
            bucket.put(key, b"\x80\x04K\x02.")
            replaced.set()
            return
        time.sleep(0.002)


def test_an_object_replaced_between_listing_and_reading_is_one_index_line(
    bucket: Bucket, tmp_path: Path
) -> None:
    """A prefix whose first object takes a while to copy (64 MB) and whose last is replaced
    meanwhile: that target is one failed line saying so, the others are done, and a rerun scans
    it at its new revision."""
    bucket.put("changing/a-large.bin", random.Random(0).randbytes(64 << 20))
    bucket.put("changing/z-small.pkl", b"\x80\x04K\x01.")
    changing = f"s3://{bucket.name}/changing"
    listed, local = model_list(tmp_path)
    listed.write_text(f"{changing}\n{local[0]}\n")
    out, cache = tmp_path / "out", tmp_path / "cache"
    replaced = threading.Event()
    watcher = threading.Thread(
        target=_replace_when_copying, args=(cache, bucket, "changing/z-small.pkl", replaced)
    )
    watcher.start()
    result = batch(listed, "--out", out, "--workers", "1", "--cache-dir", cache)
    watcher.join()
    assert replaced.is_set()
    assert result.returncode == 2, result.stderr
    records = index(out)
    assert records[local[0]]["verdict"] == "clean"
    failed = records[changing]
    assert failed["verdict"] == "failed" and failed["report"] is None
    assert "z-small.pkl changed between listing and reading" in failed["error"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("aisbom: error:")]
    assert errors == [f"aisbom: error: {changing}: {failed['error']}"] or errors == [
        f"aisbom: error: {failed['error']}"
    ]

    again = batch(listed, "--out", out, "--workers", "1", "--cache-dir", cache)
    assert again.returncode == 0 and "(1 scanned, 1 already done)" in again.stderr
    assert index(out)[changing]["verdict"] == "clean" and index(out)[changing]["files"] == 2
