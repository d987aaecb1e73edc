"""Pickles written to exhaust the scanner: every phase of the analysis is bounded in memory and
time, and a bound that is reached is a scan-limit finding naming it while the rest of the
report stands.

The large cases run in a child process that reports its own peak memory (VmHWM) and CPU
time; the caps are generous (several times what the fixed code takes on a loaded machine, a
fraction of what the unbounded code took), so they test the bound, not the speed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from builders import hostile_pickles

from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file
from aisbom.scanners.pickles.engine import PickleMachine, memory_budget, run_pickle
from aisbom.scanners.pickles.stream import scan_pickle_stream
from aisbom.scanners.pickles.values import PDict

MiB = 1024 * 1024

_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from aisbom.cli import main
    sys.argv = ["aisbom", "scan", "--format", "json", "-o", sys.argv[2], sys.argv[1]]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child of a large pytest
    # worker would report the worker's size.
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"exit": code, "max_rss": peak * 1024, "cpu": usage.ru_utime}))
    """
)


def scan_in_child(path: Path, tmp_path: Path, *, timeout: float = 600) -> tuple[dict, list[dict]]:
    """Scan `path` in a fresh interpreter: (its exit code, peak RSS, CPU seconds), findings."""
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(report)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    findings = [f for entry in json.loads(report.read_text())["files"] for f in entry["findings"]]
    return figures, findings


def limit_findings(findings: list[dict]) -> dict[str, str]:
    return {f["evidence"]["limit"]: f["message"] for f in findings if f["rule"] == "scan-limit"}


# --- the two cases of the issue, at full size --------------------------------------------------


def test_45_million_marks_stop_at_the_mark_limit_in_bounded_memory(tmp_path):
    # Before: 3.2 GB and 24 s, exit 0 (pickle.load itself needs 365 MB).
    path = tmp_path / "marks.pkl"
    path.write_bytes(hostile_pickles.many_marks(45_000_000))
    figures, findings = scan_in_child(path, tmp_path)
    assert figures["exit"] == 1
    assert "MARKs open at once" in limit_findings(findings)["max_pickle_marks"]
    assert figures["max_rss"] < 400 * MiB, figures
    assert any(f["rule"] == "pickle-format" for f in findings)  # the rest of the report stands


def test_builds_sharing_one_large_state_are_judged_in_linear_time(tmp_path):
    # Before: 414 s of CPU after the opcode loop (the shared state was read once per BUILD).
    path = tmp_path / "builds.pkl"
    path.write_bytes(hostile_pickles.shared_state_builds(150_000))
    figures, findings = scan_in_child(path, tmp_path)
    assert figures["exit"] == 0, findings  # collections.OrderedDict is allowlisted: nothing to say
    assert figures["cpu"] < 120, figures
    assert figures["max_rss"] < 600 * MiB, figures


# --- the same class elsewhere in the engine ---------------------------------------------------


def test_hashing_a_tower_of_shared_tuples_is_one_lookup_per_tuple(tmp_path):
    # Hashing t60 = (t59, t59) visits 2**60 tuples when nothing is remembered.
    path = tmp_path / "tower.pkl"
    path.write_bytes(hostile_pickles.shared_tuple_tower(60))
    figures, findings = scan_in_child(path, tmp_path, timeout=300)
    assert figures["exit"] == 0
    assert figures["cpu"] < 60, figures
    assert not limit_findings(findings)


def test_unhashable_tuples_are_still_refused_as_dict_keys():
    for data in (
        b"\x80\x04}]\x85Ns.",  # {([],): None}
        b"\x80\x04}]\x85\x940h\x00\x85Ns.",  # {(([],),): None}, the inner tuple from the memo
    ):
        run = run_pickle(data)
        assert run.error and "unhashable" in run.error, run.error
    assert run_pickle(b"\x80\x04}N\x85\x85Ns.").error is None  # {((None,),): None}


def test_a_list_unpacked_again_and_again_stops_at_the_memory_budget(tmp_path):
    # pickle.py unpacks REDUCE arguments that are a list; copying a memoized list of 200,000
    # items for each of 200,000 calls would keep 4e10 values.
    path = tmp_path / "unpacked.pkl"
    path.write_bytes(hostile_pickles.unpacked_list_reduces(200_000, 200_000))
    figures, findings = scan_in_child(path, tmp_path)
    assert figures["exit"] == 1
    assert "max_pickle_memory" in limit_findings(findings), findings
    assert figures["max_rss"] < 1024 * MiB, figures


def test_the_memory_budget_is_proportional_to_the_input_with_a_hard_cap():
    limits = Limits(pickle_memory_floor=1 * MiB, pickle_memory_per_byte=16, max_pickle_memory=8 * MiB)
    data = b"\x80\x04" + b"}" * 200_000  # 200,000 empty dicts: ~32 MB kept, 3 MB allowed
    machine = PickleMachine(data, max_memory=1 * MiB + 16 * len(data))
    run = machine.run()
    assert run.limit_name == "max_pickle_memory"
    assert machine.kept < 1 * MiB + 16 * len(data) + 64 * 160 * 1024  # checked every 65,536 opcodes
    assert memory_budget(limits, 100) == 1 * MiB + 1600
    assert memory_budget(limits, 10**9) == 8 * MiB


# --- post-loop phases check the deadline ------------------------------------------------------


def expired_context(limits: Limits | None = None):
    ctx = context_for_file("hostile.pkl", limits or Limits(), Policy())
    ctx.budget.deadline = 0.0
    return ctx


def test_judging_the_events_stops_at_the_deadline():
    ctx = expired_context()
    scan_pickle_stream(hostile_pickles.shared_state_builds(5_000), ctx)
    messages = [f.message for f in ctx.sink if dict(f.evidence).get("limit") == "max_seconds_per_file"]
    assert any("judging what the pickle imports and calls" in m for m in messages), ctx.sink


def test_a_million_stacked_pickles_stop_at_the_deadline():
    ctx = expired_context()
    assert scan_pickle_stream(hostile_pickles.stacked_pickles(1_000_000), ctx) is None
    limits = [f for f in ctx.sink if f.rule == "scan-limit"]
    assert any("stacked in one stream" in f.message for f in limits), ctx.sink


def test_findings_of_one_file_are_capped_with_a_finding_that_says_so():
    ctx = context_for_file("many.pkl", replace(Limits(), max_findings_per_file=50), Policy())
    one = b"\x80\x04\x8c\x0baisbom_test\x8c\x05thing\x93."  # imports a name off the allowlist
    scan_pickle_stream(one * 500, ctx)
    assert len(ctx.sink) == 51
    assert ctx.sink[-1].rule == "scan-limit"
    assert dict(ctx.sink[-1].evidence)["limit"] == "max_findings_per_file"


def test_a_dict_state_answers_the_last_value_assigned_as_it_grows():
    state = PDict([("dtype", 1), (2, "x")])
    assert state.get("dtype") == 1
    state.items.extend([("dtype", 3), ("shape", (2,))])
    assert state.get("dtype") == 3 and state.get("shape") == (2,) and state.get("order") is None


@pytest.mark.parametrize("count", [99_999, 100_001])
def test_the_mark_limit_is_exact(count):
    run = run_pickle(hostile_pickles.many_marks(count), max_marks=100_000)
    assert (run.limit_name == "max_pickle_marks") is (count > 100_000)


# --- text literals of any length (and LONG4) ---------------------------------------------------

# What the real readings do with each literal of hostile_pickles.LITERALS (checked against
# pickle.loads and pickle._loads in test_pickle_differential), and so what the scan reports of
# the call of my_pkg.Tool after it: the readings that accept the literal make the call.
_LITERAL_VERDICTS = {
    "float-overflow": {"pickle-divergent-reading", "pickle-malformed", "pickle-unknown-call"},
    "float-tiny": {"pickle-unknown-call"},
    "float-exponent": {"pickle-divergent-reading", "pickle-malformed", "pickle-unknown-call"},
    # Over 4300 digits: ValueError in a default process; read on as a process that raised
    # sys.set_int_max_str_digits would (the engine notes the assumption).
    "int-decimal": {"pickle-unknown-call"},
    "long-decimal": {"pickle-unknown-call"},
    "long-hex": {"pickle-unknown-call"},
    "int-spaces": {"pickle-unknown-call"},
    "long4": {"pickle-unknown-call"},
    "global-module": {"pickle-dynamic-call"},  # a name no allowlist holds, not decoded
    "inst-module": {"pickle-dynamic-call"},
    "string": {"pickle-unknown-call"},
    "unicode": {"pickle-unknown-call"},
    "persid": {"pickle-unknown-call"},  # (the engine stopped at a PERSID over 1 MiB)
}


@pytest.mark.parametrize("kind", sorted(hostile_pickles.LITERALS))
def test_a_literal_of_megabytes_is_read_as_the_real_readings_read_it_in_bounded_memory(tmp_path, kind):
    # 8 MiB: past the engine's long-line path (64 KiB), int_max_str_digits (4300) and the name
    # limit (64 KiB). Before, an INT of 8 MiB of digits kept ~1 GB in re's backtracking record
    # (64 MiB: 76 s of CPU), and a GLOBAL module name of 8 MiB went whole into every finding.
    assert set(_LITERAL_VERDICTS) == set(hostile_pickles.LITERALS)
    path = tmp_path / f"{kind}.pkl"
    path.write_bytes(hostile_pickles.long_literal(kind, 8 * MiB))
    figures, findings = scan_in_child(path, tmp_path)
    rules = {f["rule"] for f in findings} - {"pickle-format"}
    assert rules == _LITERAL_VERDICTS[kind], findings
    assert figures["exit"] == 1
    assert figures["max_rss"] < 300 * MiB, figures
    assert max(len(f["message"]) for f in findings) < 200 * 1024


def test_a_huge_int_handed_to_a_call_is_described_not_converted_to_text(tmp_path):
    # Before: str() of a 5000-digit hexadecimal LONG raised ValueError inside the report of the
    # call (int_max_str_digits): the scan said "internal error" and not what the pickle calls.
    path = tmp_path / "hexarg.pkl"
    path.write_bytes(b"cmy_pkg\nTool\n(L0x" + b"f" * 5000 + b"L\ntR.")
    figures, findings = scan_in_child(path, tmp_path)
    calls = [f for f in findings if f["rule"] == "pickle-unknown-call"]
    assert [f["evidence"]["call"] for f in calls] == ["my_pkg.Tool(<integer of about 6021 digits>)"]
    assert not [f for f in findings if f["rule"] == "scan-error"]
