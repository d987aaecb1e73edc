"""The engine reads text arguments and frames as _pickle.c does, and where pickle.py (or _pickle.c
reading a stream) reads a stream differently, the scan reads it that way too.

The expectations come from CPython itself: streams without globals are loaded for real (they
build only constants), and every verdict on a stream with globals is checked against the
recording unpicklers of pickle_differential.py."""

from __future__ import annotations

import io
import pickle
import struct
import sys

import pytest
from pickle_differential import MODES, Worker, compare

from aisbom.scanners.pickles import grammar
from aisbom.scanners.pickles.engine import Reading, run_pickle
from aisbom.scanners.pickles.grammar import BigInt
from aisbom.severity import Severity

PAYLOAD = b"cos\nsystem\n(S'touch x'\ntR."


def loads_ok(data: bytes, unpickler: type) -> bool:
    try:
        unpickler(io.BytesIO(data), encoding="latin1").load()
    except Exception:
        return False
    return True


# Text arguments where _pickle.c and pickle.py agree or disagree (INT, LONG, FLOAT, GET/PUT).
LINES = [
    b"I-0x10\n", b"I010\n", b"I 5\n", b"I1_000\n", b"I12\x00junk\n", b"I\x00\n", b"I0x\n", b"I08\n",
    b"I99999999999999999999\n", b"I0o17\n", b"L0x10L\n", b"L12\n", b"L1\x00L\n", b"F1.5\n", b"F 1.5\n",
    b"F1_0\n", b"F1e999\n", b"F1e-999\n", b"Finf\n", b"Fnan\n", b"F.\n", b"F1.5\x00x\n",
    b"Np 0\n0g0\n", b"Np1_0\n0g10\n", b"Np0\x00\n0g0\n",
]  # fmt: skip


@pytest.mark.parametrize("line", LINES, ids=repr)
def test_text_arguments_parse_like_each_unpickler(line: bytes) -> None:
    data = line + (b"0" if not line.startswith(b"N") else b"") + b"N."
    assert (run_pickle(data).end is not None) == loads_ok(data, pickle.Unpickler), "_pickle.c"
    assert (run_pickle(data, reading=Reading.PY).end is not None) == loads_ok(data, pickle._Unpickler)


def test_a_literal_one_unpickler_refuses_is_a_divergence() -> None:
    assert run_pickle(b"I010\n0N.").divergences  # _pickle.c: 8; pickle.py: ValueError
    assert not run_pickle(b"I10\n0N.").divergences


def test_an_integer_past_the_default_digit_limit_is_an_assumption_not_the_end() -> None:
    # A default process refuses it; one that raised sys.set_int_max_str_digits reads on.
    run = run_pickle(b"I" + b"9" * 5000 + b"\n0" + PAYLOAD)
    assert [c.func.dotted for c in run.calls] == ["os.system"] and run.assumptions


DECIMALS = [
    b"9" * 5000, b" -" + b"9" * 5000 + b"\n", b"+" + b"1_2" * 2500, b"0" * 5000, b"0_0" * 2500,
    b"1" * 5000 + b"_", b"_" + b"1" * 5000, b"1__2" + b"1" * 5000, b"0" * 5000 + b"1", b"- " + b"1" * 5000,
    b"1" * 5000 + b"x",
    b"1" * 5000 + b" \t\n", b"\x0b" + b"1" * 5000, b"\x1c" + b"1" * 5000, b"1" * 5000 + b"\x00",
]  # fmt: skip


@pytest.mark.parametrize("text", DECIMALS, ids=lambda t: repr(t[:12] + t[-6:]))
def test_a_decimal_past_the_digit_limit_is_one_int_would_read_with_the_limit_lifted(text: bytes) -> None:
    # Past 4300 digits every default process refuses it; the engine reads on (a BigInt) only
    # where a process that lifted the limit would: int() itself is the judge of the syntax.
    try:
        previous = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
    except AttributeError:  # Python < 3.11 has no limit to lift
        pytest.skip("no int_max_str_digits")
    try:
        int(text, 0)
        accepted = True
    except ValueError:
        accepted = False
    finally:
        sys.set_int_max_str_digits(previous)
    assert isinstance(grammar_outcome(text), BigInt) == accepted


def grammar_outcome(text: bytes) -> object:
    try:
        return grammar.py_long(text + b"\n")
    except grammar.BadArgument as exc:
        return exc


@pytest.mark.parametrize(
    "line",
    [b"F0." + b"0" * (2 * 1024 * 1024) + b"5\n", b"I0x" + b"f" * (2 * 1024 * 1024) + b"\n"],
    ids=["float", "hex-int"],
)
def test_text_arguments_of_any_length_hide_nothing(line: bytes) -> None:
    run = run_pickle(line + b"0" + PAYLOAD)
    assert [c.func.dotted for c in run.calls] == ["os.system"], run.error


# --- frames ------------------------------------------------------------------------------------


def frame_straddle() -> bytes:
    """CPython gh-154848: read in memory a BINBYTES swallows the payload; read from a stream
    (io.BytesIO) the rest of a 2-byte frame is dropped and builtins.print runs."""
    p2 = b"cbuiltins\nprint\nVHello\n\x85R"
    p = b"\x80\x05NV" + b"a" * (8192 * 16 - 17) + b"\n0("
    p += b"\x95" + struct.pack("<Q", 2) + b"B\x07\x01\x00\x00"
    p += b"\x00\x00" + (p2 + b"(").ljust(256 + 5, b"N") + b"1."
    return p


def test_a_read_past_the_end_of_a_frame_is_read_each_way() -> None:
    data = frame_straddle()
    memory, stream, strict, py = (run_pickle(data, reading=r) for r in Reading)
    assert memory.calls == [] and memory.divergences
    assert [c.func.dotted for c in stream.calls] == ["builtins.print"]
    assert strict.error == py.error == "pickle exhausted before end of frame"


def test_the_scan_reports_the_divergence_and_what_the_stream_reading_runs(scan_bytes) -> None:
    _, findings = scan_bytes(frame_straddle())
    rules = {f.rule: f for f in findings}
    assert "pickle-divergent-reading" in rules
    call = rules["pickle-unknown-call"]
    assert "builtins.print" in call.message and "reading a stream" in call.message
    assert call.severity is Severity.HIGH


def test_a_frame_inside_a_frame_and_a_frame_past_the_data() -> None:
    inner = b"\x95" + struct.pack("<Q", 2) + b"N."
    nested = b"\x80\x04\x95" + struct.pack("<Q", 12) + inner + b"0N."
    assert (
        run_pickle(nested, reading=Reading.PY).error == "beginning of a new frame before end of current frame"
    )
    assert run_pickle(nested).divergences
    short = b"\x80\x04\x95" + struct.pack("<Q", 100) + b"N."
    assert run_pickle(short).error and run_pickle(short, reading=Reading.PY).end is not None


# --- where pickle.py runs what _pickle.c does not ---------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"cos\nsystem\n(S'touch x'\nlR.",  # REDUCE on a list: pickle.py calls func(*args)
        b"cos\nsystem",  # a last line without a newline: pickle.py imports it
        b"NNios\nsystem\n.",  # INST without MARK: pickle.py imports before it fails
        b"cos\n\n.",  # an empty name line: pickle.py still calls find_class
    ],
    ids=["reduce-list", "eof-line", "inst-no-mark", "empty-name"],
)
def test_what_only_pickle_py_runs_is_found(data: bytes, scan_bytes) -> None:
    c_run, py_run = run_pickle(data), run_pickle(data, reading=Reading.PY)
    assert c_run.divergences
    assert py_run.globals and not c_run.globals or py_run.calls and not c_run.calls
    _, findings = scan_bytes(data)
    assert any("os." in f.message and "pickle.py" in f.message for f in findings), findings


def test_the_known_streams_agree_with_cpython() -> None:
    """Each stream above, and the harness's past disagreements, against the real unpicklers."""
    worker = Worker(sys.executable)
    try:
        for data in (frame_straddle(), *REGRESSIONS):
            real = worker.run(data)
            assert real is not None
            for mode, reading in MODES.items():
                verdict = compare(real[mode], run_pickle(data, reading=reading))  # type: ignore[arg-type]
                assert verdict.ok, (mode, data[:80], verdict.why)
    finally:
        worker.stop()


# Streams the differential harness once found the engine reading differently (all fixed).
REGRESSIONS = [
    # pickle.py's SETITEMS with an odd count fails before calling __setitem__ when no pair is
    # complete: the engine recorded a mutation that never happened.
    b"\x80\x02cos\nsystem\n(K\x01u.",
    # BUILD of an empty bytearray state on a built-in: falsy, so pickle.py accepts it.
    b"\x80\x03\x88\x89\x96" + b"\x00" * 8 + b"b" + b"cos\nsystem\n)R.",
    # A PUT past 2**24 between two method calls on one object: only _pickle.c's table is sized
    # by the index, so the pickle.py reading must not note an assumption there (and the
    # harness must not let a note split one run of method calls into two).
    b"\x80\x02cfunctools\npartial\n]aX\x01\x00\x00\x00ar\x00\x00\x00\x40"
    + b"X\x01\x00\x00\x00ascmy_pkg\nTool\na.",
]
