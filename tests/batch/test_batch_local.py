"""`aisbom batch --engine local`: one index line and one report per target, resumable, and bad
input that costs one line, never the run."""

from __future__ import annotations

import json
import os
import resource
import signal
from pathlib import Path

from _batch_helpers import FIXTURES, batch, index, index_lines, model_list

from aisbom.batch.engines.local import MAX_ATTEMPTS, LocalEngine
from aisbom.batch.job import Job, Outcome, Settings, run_job
from aisbom.policy import Policy


def test_batch_writes_an_index_line_a_report_and_a_bom_per_target(tmp_path: Path) -> None:
    listed, targets = model_list(tmp_path)
    out = tmp_path / "out"
    result = batch(listed, "--out", out, "--bom", "--workers", "2")
    assert result.returncode == 1, result.stderr  # unsafe models, nothing failed
    records = index(out)
    assert set(records) == set(targets) and len(index_lines(out)) == len(targets)
    verdict = {Path(t).name: r["verdict"] for t, r in records.items()}
    assert verdict == {
        "safetensors": "clean",
        "state_dict.pt": "clean",
        "pickle": "clean",
        "zip_data_pkl.pt": "unsafe",
        "demo": "unsafe",
    }
    for target, record in records.items():
        report = json.loads((out / record["report"]).read_text())
        assert report["target"] == target and record["files"] == len(report["files"])
        assert (
            record["counts"] == report["summary"]["findings"]
            and record["verdict"] == report["summary"]["verdict"]
        )
        bom = json.loads((out / record["bom"]).read_text())
        assert bom["bomFormat"] == "CycloneDX"
        assert record["revision"].startswith("stat:") and record["error"] is None
    malicious = records[str(FIXTURES / "malicious" / "pytorch" / "zip_data_pkl.pt")]
    assert malicious["exit_code"] == 1 and malicious["counts"]["critical"] >= 1
    assert "5 targets (5 scanned, 0 already done)" in result.stderr
    assert "3 clean, 2 unsafe, 0 failed" in result.stderr and "files/s" in result.stderr


def test_a_rerun_skips_what_is_done_and_scans_what_changed(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    listed, targets = model_list(tmp_path)
    listed.write_text(listed.read_text() + f"{model}\n")
    out = tmp_path / "out"
    first = batch(listed, "--out", out, "--workers", "2")
    assert first.returncode == 1, first.stderr
    lines = index_lines(out)

    again = batch(listed, "--out", out, "--workers", "2")
    assert again.returncode == 1  # the verdicts of the targets skipped still count
    assert "6 targets (0 scanned, 6 already done)" in again.stderr
    assert index_lines(out) == lines  # idempotent: nothing appended

    (model / "weights.pkl").write_bytes(b"\x80\x04K\x01.")  # a new file: a new revision
    changed = batch(listed, "--out", out, "--workers", "2")
    assert "(1 scanned, 5 already done)" in changed.stderr
    assert index(out)[str(model)]["files"] == 2 and len(index_lines(out)) == len(lines) + 1

    stricter = batch(listed, "--out", out, "--workers", "2", "--fail-on", "low")  # another policy
    assert "(6 scanned, 0 already done)" in stricter.stderr
    forced = batch(listed, "--out", out, "--workers", "2", "--fail-on", "low", "--rescan")
    assert "(6 scanned, 0 already done)" in forced.stderr


def test_a_rerun_with_bom_scans_targets_done_without_one(tmp_path: Path) -> None:
    listed, targets = model_list(tmp_path)
    out = tmp_path / "out"
    batch(listed, "--out", out, "--workers", "1")
    with_bom = batch(listed, "--out", out, "--workers", "1", "--bom")
    assert "(5 scanned, 0 already done)" in with_bom.stderr
    assert all(r["bom"] for r in index(out).values())


def test_bad_lines_cost_one_line_each_and_the_rest_is_done(tmp_path: Path) -> None:
    good = str(FIXTURES / "benign" / "safetensors")
    text = f"# registry mirror\n\n   \n{good}\nftp://example.invalid/model\n{good}\n/no/such/model\n"
    text += "https://127.0.0.1:9/unreachable.bin\n"
    out = tmp_path / "out"
    result = batch("-", "--out", out, "--workers", "2", input=text, env={"AISBOM_CONNECT_TIMEOUT": "2"})
    assert result.returncode == 2, result.stderr
    records = index(out)
    assert records[good]["verdict"] == "clean"
    for target in ("ftp://example.invalid/model", "/no/such/model", "https://127.0.0.1:9/unreachable.bin"):
        assert records[target]["verdict"] == "failed" and records[target]["exit_code"] == 2
        assert records[target]["error"] and records[target]["report"] is None
    errors = [line for line in result.stderr.splitlines() if line.startswith("aisbom: error:")]
    assert len(errors) == 3 and any("unknown scheme ftp://" in line for line in errors)
    assert "stdin:6: repeats line 4; scanned once" in result.stderr
    assert "4 targets (1 scanned, 0 already done)" in result.stderr and "3 failed" in result.stderr
    # Failed targets are tried again by a rerun; the clean one is not.
    rerun = batch("-", "--out", out, "--workers", "2", input=text, env={"AISBOM_CONNECT_TIMEOUT": "2"})
    assert "(0 scanned, 1 already done)" in rerun.stderr and rerun.returncode == 2


def test_an_empty_or_unreadable_list_is_one_line(tmp_path: Path) -> None:
    empty = batch("-", "--out", tmp_path / "out", input="# nothing\n\n")
    assert empty.returncode == 2 and empty.stderr.strip() == "aisbom: error: -: no target to scan"
    missing = batch(tmp_path / "missing.txt", "--out", tmp_path / "out")
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    binary = tmp_path / "list.bin"
    binary.write_bytes(b"\xff\xfe\x00model\n")
    assert "not UTF-8 text" in batch(binary, "--out", tmp_path / "out").stderr


def test_a_torn_index_line_is_ignored_and_its_target_scanned_again(tmp_path: Path) -> None:
    listed, targets = model_list(tmp_path)
    out = tmp_path / "out"
    batch(listed, "--out", out, "--workers", "2")
    lines = index_lines(out)
    (out / "index.jsonl").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
    rerun = batch(listed, "--out", out, "--workers", "2")
    assert "1 unreadable line(s) ignored" in rerun.stderr
    assert "(1 scanned, 4 already done)" in rerun.stderr


def test_a_full_disk_is_one_line_per_target_and_the_run_goes_on(tmp_path: Path) -> None:
    """Files may not grow past 3 kB (RLIMIT_FSIZE: the write fails as on a full disk): reports of
    the larger targets cannot be written; each is one stderr line, the small ones are done."""
    small = [str(FIXTURES / "benign" / "safetensors"), str(FIXTURES / "benign" / "pytorch" / "state_dict.pt")]
    large = str(FIXTURES / "malicious" / "pytorch")  # many findings: a report of tens of kB
    listed = tmp_path / "list.txt"
    listed.write_text("\n".join([large, *small]) + "\n")
    out = tmp_path / "out"

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))

    result = batch(listed, "--out", out, "--workers", "1", preexec_fn=small_files)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "cannot write its results" in line]
    assert len(errors) == 1 and large in errors[0] and "File too large" in errors[0]
    records = index(out)
    assert large not in records and all(records[t]["verdict"] == "clean" for t in small)
    assert not [p for p in (out / "reports").iterdir() if p.name.startswith(".")]  # no temporary left


# The engine itself, with a worker that really dies: the pool is made again, the job retried.


def _dies_on_first_attempt(job: Job) -> Outcome:
    marker = Path(job.target + ".attempted")
    if not marker.exists():
        marker.write_text("")
        os.kill(os.getpid(), signal.SIGKILL)
    return run_job(job)


def _always_dies(job: Job) -> Outcome:
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def test_local_engine_retries_a_target_whose_worker_died(tmp_path: Path) -> None:
    models = []
    for n in range(4):
        model = tmp_path / f"model{n}"
        model.mkdir()
        (model / "config.json").write_text("{}")
        models.append(str(model))
    settings = Settings(Policy(), "p")
    outcomes: list[Outcome] = []
    LocalEngine(2, _dies_on_first_attempt).run([Job(m, settings) for m in models], outcomes.append)
    assert sorted(o.target for o in outcomes) == models
    assert all(o.record["verdict"] == "clean" for o in outcomes)


def test_local_engine_gives_up_on_a_target_that_kills_every_worker(tmp_path: Path) -> None:
    outcomes: list[Outcome] = []
    LocalEngine(1, _always_dies).run([Job(str(tmp_path), Settings(Policy(), "p"))], outcomes.append)
    (outcome,) = outcomes
    assert outcome.record["verdict"] == "failed" and f"{MAX_ATTEMPTS} times" in outcome.record["error"]
