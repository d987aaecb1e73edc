"""The symbolic machine must see what CPython's unpickler would execute, trick by trick.

Every pickle here is written by hand as opcodes and never loaded."""

from __future__ import annotations

import pickle
import struct

import pytest

from aisbom.scanners.pickles.engine import Call, Global, Reading, run_pickle
from aisbom.severity import Severity


def rules(findings):
    return {f.rule for f in findings}


def worst(findings):
    return max((f.severity for f in findings), default=Severity.INFO)


def globals_of(data: bytes) -> list[str]:
    return [g.dotted for g in run_pickle(data).globals if isinstance(g, Global)]


def short_unicode(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


# --- name resolution -----------------------------------------------------------------------


def test_protocol0_global_and_reduce_are_a_call():
    run = run_pickle(b"cos\nsystem\n(S'touch x'\ntR.")
    assert run.end is not None and run.error is None
    [call] = run.calls
    assert isinstance(call.func, Global) and call.func.dotted == "os.system"
    assert call.args == ("touch x",)


def test_python2_names_are_remapped_like_fix_imports():
    assert globals_of(b"c__builtin__\neval\n.") == ["builtins.eval"]
    assert globals_of(b"ccommands\ngetoutput\n.") == ["subprocess.getoutput"]
    assert globals_of(b"cexceptions\nException\n.") == ["builtins.Exception"]


def test_fix_imports_only_applies_below_protocol_3():
    # At protocol 3+, '__builtin__' is imported as written (and fails): no remapping.
    assert globals_of(b"\x80\x03c__builtin__\neval\n.") == ["__builtin__.eval"]


def test_stack_global_names_taken_from_the_memo():
    data = (
        b"\x80\x04"
        + short_unicode("os")
        + b"\x94"  # memo 0
        + short_unicode("system")
        + b"\x94"  # memo 1
        + b"0"
        + b"0"  # pop both: the names now live only in the memo
        + b"h\x00h\x01\x93"
        + short_unicode("id")
        + b"\x85R."
    )
    run = run_pickle(data)
    assert run.error is None
    assert [c.func.dotted for c in run.calls] == ["os.system"]


def test_dotted_qualname_is_kept_for_the_attribute_walk():
    run = run_pickle(b"\x80\x04" + short_unicode("logging") + short_unicode("os.system") + b"\x93)R.")
    assert [g.dotted for g in run.globals] == ["logging.os.system"]


def test_global_line_without_newline_at_eof_is_read_as_each_unpickler_reads_it():
    # _pickle.c needs the newline; pickle.py drops the last byte anyway and imports os.system.
    c_run = run_pickle(b"cos\nsystemX")
    assert c_run.globals == [] and c_run.end is None and c_run.divergences
    py_run = run_pickle(b"cos\nsystemX", reading=Reading.PY)
    assert [g.dotted for g in py_run.globals] == ["os.system"]


def test_extension_codes_stop_the_stream_like_an_unregistered_code():
    run = run_pickle(b"\x80\x02\x82\x01)R.")
    assert run.error == "unregistered extension code 1" and run.calls == []
    assert "extension registry code 1" in run.extensions[0].what


# --- stack discipline ---------------------------------------------------------------------


def test_mark_fences_the_stack():
    # REDUCE right after MARK has nothing above the fence: underflow, like _pickle.c.
    run = run_pickle(b"cos\nsystem\n(S'x'\n\x85(R.")
    assert run.error and "underflow" in run.error


def test_pop_on_an_empty_fenced_stack_pops_the_mark():
    run = run_pickle(b"N(0.")
    assert run.error is None and run.result is None


def test_get_of_a_missing_memo_entry_is_an_error():
    run = run_pickle(b"\x80\x02h\x05.")
    assert run.error and "Memo value not found" in run.error


def test_inst_and_obj_are_calls():
    inst = run_pickle(b"(S'touch x'\nios\nsystem\n.")
    assert [(c.func.dotted, c.args, c.kind) for c in inst.calls] == [("os.system", ("touch x",), "inst")]
    obj = run_pickle(b"(cos\nsystem\nS'touch x'\no.")
    assert [(c.func.dotted, c.args, c.kind) for c in obj.calls] == [("os.system", ("touch x",), "obj")]


def test_newobj_ex_keeps_kwargs():
    data = b"\x80\x04cbuiltins\nobject\n)}\x92."
    [call] = run_pickle(data).calls
    assert call.kind == "new" and call.kwargs is not None


def test_calls_before_a_broken_tail_are_recorded():
    run = run_pickle(b"cos\nsystem\n(S'x'\ntR\xff\xfe garbage")
    assert run.end is None and "invalid load key" in run.error
    assert [c.func.dotted for c in run.calls] == ["os.system"]


def test_truncated_length_prefixed_argument_is_an_error_not_a_crash():
    run = run_pickle(b"\x80\x04\x8e" + struct.pack("<Q", 2**40) + b"abc")
    assert run.error and "truncated" in run.error


def test_large_bytes_are_not_copied():
    blob = b"\x00" * 200_000
    run = run_pickle(b"\x80\x04B" + struct.pack("<I", len(blob)) + blob + b".")
    assert run.error is None
    assert type(run.result).__name__ == "BytesRef" and run.result.length == len(blob)


def test_opcode_limit_stops_the_run():
    data = b"\x80\x04" + b"N0" * 100_000 + b"N."
    run = run_pickle(data, max_opcodes=1000)
    assert run.limit and run.end is None


def test_deeply_nested_containers_do_not_recurse():
    depth = 200_000
    data = b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."
    run = run_pickle(data)
    assert run.error is None


def test_build_records_state_on_the_instance():
    run = run_pickle(b"\x80\x02cbuiltins\nobject\n)\x81}b.")
    assert isinstance(run.result, Call) and run.result.state is not None


# --- verdicts through the scanner ---------------------------------------------------------


def test_plain_data_pickles_are_clean(scan_bytes):
    data = {"text": "os.system('rm -rf /') eval( __reduce__", "n": [1, 2.5, None, True], "b": b"\x80\x04"}
    for protocol in range(6):
        fmt, findings = scan_bytes(pickle.dumps(data, protocol=protocol))
        assert fmt == "pickle"
        assert worst(findings) <= Severity.LOW, (protocol, findings)


def test_dangerous_call_is_critical(scan_bytes):
    _, findings = scan_bytes(b"cos\nsystem\n(S'touch x'\ntR.")
    [finding] = [f for f in findings if f.rule == "pickle-dangerous-global"]
    assert finding.severity is Severity.CRITICAL
    assert dict(finding.evidence)["call"] == "os.system('touch x')"
    assert finding.offset == 0


def test_unknown_callable_is_high_even_if_no_denylist_knows_it(scan_bytes):
    _, findings = scan_bytes(b"cmy_pkg.tools\nharmless_looking\n(S'x'\ntR.")
    assert "pickle-unknown-call" in rules(findings)
    assert worst(findings) is Severity.HIGH


def test_constructed_only_unknown_class_is_medium(scan_bytes):
    _, findings = scan_bytes(b"\x80\x02cmy_pkg.models\nNet\n)\x81.")
    assert worst(findings) is Severity.MEDIUM
    assert "pickle-unknown-global" in rules(findings)


def test_build_on_an_unknown_class_runs_its_setstate_and_is_high(scan_bytes):
    _, findings = scan_bytes(b"\x80\x02cmy_pkg.models\nNet\n)\x81}b.")
    [finding] = [f for f in findings if f.rule == "pickle-unknown-call"]
    assert finding.severity is Severity.HIGH and "__setstate__" in finding.message
    assert dict(finding.evidence)["use"] == "built"


def test_calling_a_computed_value_is_high(scan_bytes):
    # REDUCE on the result of a call that no model resolves.
    data = b"cmy_pkg\nfactory\n(tR(tR."
    _, findings = scan_bytes(data)
    assert {"pickle-dynamic-call", "pickle-unknown-call"} <= rules(findings)


def test_getattr_with_a_plain_name_is_that_attribute_and_with_a_dunder_the_gadget(scan_bytes):
    plain = b"cbuiltins\ngetattr\n(cmy_pkg\nTool\nS'run'\ntR(tR."
    _, findings = scan_bytes(plain)
    [call] = [f for f in findings if f.rule == "pickle-unknown-call"]
    assert dict(call.evidence)["global"] == "my_pkg.Tool.run"
    assert "pickle-dangerous-global" not in rules(findings)
    dunder = b"cbuiltins\ngetattr\n(cmy_pkg\nTool\nS'__globals__'\ntR(tR."
    assert "pickle-dangerous-global" in rules(scan_bytes(dunder)[1])


def test_build_on_an_imported_object_is_high(scan_bytes):
    data = b"\x80\x02cos\nenviron\n}S'LD_PRELOAD'\nS'x'\nsb."
    _, findings = scan_bytes(data)
    assert "pickle-dynamic-call" in rules(findings)


def test_planted_setstate_counts_as_a_call(scan_bytes):
    data = b"\x80\x02cbuiltins\nobject\n)\x81}S'__setstate__'\ncmy_pkg\nrun\nsbS'arg'\nb."
    _, findings = scan_bytes(data)
    assert "pickle-unknown-call" in rules(findings)


def test_nested_pickle_handed_to_loads_is_scanned(scan_bytes):
    inner = b"cos\nsystem\n(S'touch x'\ntR."
    outer = b"\x80\x03c_pickle\nloads\nC" + bytes([len(inner)]) + inner + b"\x85R."
    _, findings = scan_bytes(outer)
    nested = [f for f in findings if f.members]
    assert any(f.rule == "pickle-dangerous-global" and "os.system" in f.message for f in nested)


def test_nested_pickle_built_with_codecs_encode_is_scanned(scan_bytes):
    inner = "cos\nsystem\n(S'touch x'\ntR."
    outer = (
        b"\x80\x02cpickle\nloads\nc_codecs\nencode\nX"
        + struct.pack("<I", len(inner))
        + inner.encode()
        + b"X\x06\x00\x00\x00latin1\x86R\x85R."
    )
    _, findings = scan_bytes(outer)
    assert any("os.system" in f.message for f in findings if f.members)


def test_stacked_pickles_are_all_scanned(scan_bytes):
    benign = pickle.dumps({"a": 1}, protocol=4)
    evil = b"\x80\x04cos\nsystem\n(S'touch x'\ntR."
    _, findings = scan_bytes(benign + evil)
    assert any(f.rule == "pickle-dangerous-global" and "pickle #2" in f.message for f in findings)


def test_trailing_garbage_after_stop_is_low(scan_bytes):
    _, findings = scan_bytes(pickle.dumps([1, 2], protocol=2) + b"\x00\x01 not a pickle")
    assert "pickle-trailing-data" in rules(findings)
    assert worst(findings) is Severity.LOW


def test_truncated_malicious_stream_is_critical_and_malformed(scan_bytes):
    _, findings = scan_bytes(b"\x80\x02cos\nsystem\nX\x01\x00\x00\x00x\x85R")
    assert {"pickle-dangerous-global", "pickle-malformed"} <= rules(findings)


def test_user_allowlist_extends_the_allowlist(scan_bytes):
    from aisbom.policy import Policy

    data = b"cmy_pkg.tools\nharmless\n(S'x'\ntR."
    policy = Policy(extra_allowed=frozenset({("my_pkg.tools", "harmless")}))
    _, findings = scan_bytes(data, policy=policy)
    assert worst([f for f in findings if f.silenced_by is None]) <= Severity.LOW
    # What it silenced is kept, naming who trusted it (the pipeline reports it apart).
    [silenced] = [f for f in findings if f.silenced_by is not None]
    assert (silenced.rule, silenced.silenced_by) == ("pickle-unknown-call", "the policy")


def test_protocol0_text_that_is_not_a_pickle_is_text(scan_bytes):
    for text in (b"config: yes\n", b"(hello)", b"import os\nos.system('x')\n", b"cd /tmp\nls\n"):
        fmt, findings = scan_bytes(text)
        assert fmt == "text", text
        assert not findings


def test_text_whose_first_lines_read_as_an_import_is_a_pickle_but_not_high(scan_bytes):
    # pickle.load would import the module 'at' and fail: a pickle, judged at medium.
    fmt, findings = scan_bytes(b"cat\ndog\n")
    assert fmt == "pickle"
    assert worst(findings) is Severity.MEDIUM
    assert {"pickle-unknown-global", "pickle-malformed"} <= rules(findings)


def test_payload_after_a_long_benign_protocol0_prefix_is_found(scan_bytes):
    prefix = pickle.dumps(list(range(30_000)), protocol=0)[:-1]  # drop STOP, keep the list
    data = prefix + b"0cos\nsystem\n(S'touch x'\ntR."
    fmt, findings = scan_bytes(data)
    assert fmt == "pickle"
    assert "pickle-dangerous-global" in rules(findings)


def test_binary_data_that_merely_starts_like_a_pickle_does_not_fail(scan_bytes):
    fmt, findings = scan_bytes(b"\x80\x02" + bytes(range(256)) * 4)
    assert fmt == "pickle"
    assert worst(findings) is Severity.MEDIUM
    assert "pickle-malformed" in rules(findings)


def test_protocol0_pickle_with_trailing_bytes_is_still_a_pickle(scan_bytes):
    fmt, findings = scan_bytes(b"cos\nsystem\n(S'touch x'\ntR." + b"\x00" * 10)
    assert fmt == "pickle"
    assert "pickle-dangerous-global" in rules(findings)


def test_partial_of_an_allowlisted_function_is_clean_and_of_anything_else_is_not(scan_bytes):
    check_array = b"csklearn.utils.validation\ncheck_array\n"
    safe = b"\x80\x02cfunctools\npartial\n" + check_array + b"\x85R(" + check_array + b")}Ntb."
    _, findings = scan_bytes(safe)
    assert worst(findings) <= Severity.LOW, findings
    evil = b"\x80\x02cfunctools\npartial\ncos\nsystem\nX\x01\x00\x00\x00x\x86R."
    assert "pickle-dangerous-global" in rules(scan_bytes(evil)[1])
    # The BUILD state swaps the wrapped function: it is judged too, as a reference (referencing
    # a function is not calling it), and a swap computed at load time is a dynamic call.
    swapped = b"\x80\x02cfunctools\npartial\n" + check_array + b"\x85R(cmy_pkg\nrun\n)}Ntb."
    assert rules(scan_bytes(swapped)[1]) >= {"pickle-unknown-global"}
    computed = b"\x80\x02cfunctools\npartial\n" + check_array + b"\x85R(cmy_pkg\nget\n)R)}Ntb."
    assert "pickle-dynamic-call" in rules(scan_bytes(computed)[1])


def test_construct_only_classes_pass_when_built_and_fail_when_called(scan_bytes):
    built = b"\x80\x02ctransformers.training_args\nTrainingArguments\n)\x81}b."
    assert worst(scan_bytes(built)[1]) <= Severity.LOW
    called = b"\x80\x02ctransformers.training_args\nTrainingArguments\n)R."
    assert "pickle-unknown-call" in rules(scan_bytes(called)[1])


def test_text_arguments_of_any_length_are_read_like_pickle_c(scan_bytes):
    # A FLOAT or INT line over 1 MiB is valid to _pickle.c: what follows it still runs.
    digits = b"1" * (2 * 1024 * 1024)
    for line in (b"F" + digits + b"e-2097160\n", b"I" + b"0x" + b"f" * (2 * 1024 * 1024) + b"\n"):
        data = line + b"0cos\nsystem\n(S'touch x'\ntR."
        run = run_pickle(data)
        assert [c.func.dotted for c in run.calls] == ["os.system"], run.error
    # 1.1e2097151: _pickle.c raises OverflowError there, pickle.py reads inf and goes on.
    overflowing = b"F" + digits + b".5\n0cos\nsystem\n(S'touch x'\ntR."
    c_run, py_run = run_pickle(overflowing), run_pickle(overflowing, reading=Reading.PY)
    assert "too large" in (c_run.error or "") and not c_run.calls
    assert "refused by the other reading" in py_run.divergences[0][1]
    assert [c.func.dotted for c in py_run.calls] == ["os.system"]


def test_protocol0_data_strings_have_no_length_bound(scan_bytes):
    # Python 2 era pickles (sklearn_crfsuite's CRF) keep a whole model file in one escaped
    # S'...' line; _pickle.c reads any length, and so does the machine, past the 1 MiB
    # bound on names and numbers.
    blob = b"\\x00\\xff" * (700 * 1024)
    for opcode, quote in ((b"S", b"'"), (b"V", b"")):
        benign = b"(dp0\nS'data'\np1\n" + opcode + quote + blob + quote + b"\nsS'n'\nI1\ns."
        run = run_pickle(benign)
        assert run.error is None and run.end is not None, (opcode, run.error)
        assert worst(scan_bytes(benign)[1]) <= Severity.LOW
        after = opcode + quote + blob + quote + b"\n0cos\nsystem\n(S'touch x'\ntR."
        assert [c.func.dotted for c in run_pickle(after).calls] == ["os.system"]
    assert "quoted" in (run_pickle(b"S" + blob + b"\n.").error or "")
    assert "truncated" in (run_pickle(b"S'" + blob).error or "")


def test_old_gensim_and_numpy_constructs_are_clean(scan_bytes):
    # Word2Vec of gensim < 4 keeps hashfxn=hash; numpy < 1.17 pickled RandomState as
    # __RandomState_ctor() followed by its state (protocol 2, Python 2 names).
    state = b"(U\x07MT19937q\x01K\x00\x85tb"
    model = (
        b"\x80\x02}q\x00(U\x07hashfxnc__builtin__\nhash\nU\x06randomcnumpy.random\n"
        b"__RandomState_ctor\n)R" + state + b"U\x01hc__builtin__\nhash\nU\x01a\x85Ru."
    )
    fmt, findings = scan_bytes(model)
    assert fmt == "pickle" and worst(findings) <= Severity.LOW, findings
    # Still no cover for a real gadget next to them.
    evil = model[:-2] + b"U\x01xcos\nsystem\nU\x01x\x85Ru."
    assert "pickle-dangerous-global" in rules(scan_bytes(evil)[1])


# --- sniffing text-protocol pickles whose first constant is longer than the sniff window ---------


def _scan_cli(tmp_path, data: bytes):
    from aisbom.pipeline import scan_target

    (tmp_path / "model.pkl").write_bytes(data)
    return scan_target(tmp_path / "model.pkl")


@pytest.mark.parametrize(
    "head",
    [
        b"(lp0\nS'" + b"a" * 3_000_000 + b"'\np1\n",  # protocol 0 STRING: one line, any length
        b"(lp0\nT" + struct.pack("<i", 3_000_000) + b"a" * 3_000_000 + b"p1\n",  # protocol 1 BINSTRING
    ],
)
def test_a_payload_behind_a_constant_longer_than_the_sniff_window_is_found(tmp_path, head: bytes):
    data = head + b"acos\nsystem\n(S'touch aisbom-marker'\ntR."
    (file,) = _scan_cli(tmp_path, data).files
    assert file.format == "pickle"
    assert any(f.rule == "pickle-dangerous-global" for f in file.findings)


def test_long_text_lines_that_are_not_pickles_stay_text(tmp_path):
    (file,) = _scan_cli(tmp_path, b"S" + b"x" * 200_000 + b"\nmore text\n").files
    # (text named model.pkl: only the name mismatch is reported)
    assert file.format == "text" and [f.rule for f in file.findings] == ["format-name-mismatch"]
