"""What BUILD, higher-order functions and wrappers make the loader run, and what real packages
write that must not fail the default scan. Every pickle here is written by hand as opcodes."""

from __future__ import annotations

import io

from aisbom.severity import Severity


def rules(findings) -> set[str]:
    return {f.rule for f in findings}


def worst(findings) -> Severity:
    return max((f.severity for f in findings), default=Severity.INFO)


def u(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def g(module: str, name: str) -> bytes:
    return u(module) + u(name) + b"\x93"


NAMESPACE = b"\x80\x04" + g("argparse", "Namespace") + b")\x81"  # allowlisted, rebuilt by BUILD


# --- BUILD runs code --------------------------------------------------------------------------


def test_a_computed_build_state_is_high(scan_bytes) -> None:
    _, findings = scan_bytes(NAMESPACE + u("storage") + b"Qb.")  # state from persistent_load
    assert "pickle-dynamic-call" in rules(findings) and worst(findings) is Severity.HIGH


def test_planting_a_method_the_loader_calls_is_calling_it(scan_bytes) -> None:
    # BUILD sets 'extend' on the instance; the APPENDS after it calls my_pkg.run(items).
    data = NAMESPACE + b"}" + u("extend") + g("my_pkg", "run") + b"sb(Ne."
    _, findings = scan_bytes(data)
    [call] = [f for f in findings if f.rule == "pickle-unknown-call"]
    assert dict(call.evidence)["global"] == "my_pkg.run"


def test_a_state_key_computed_at_load_time_is_high(scan_bytes) -> None:
    key = g("builtins", "str") + u("__setstate__") + b"\x85R"
    data = NAMESPACE + b"}" + key + g("builtins", "len") + b"sb."
    _, findings = scan_bytes(data)
    assert any("computed at load time" in f.message for f in findings if f.rule == "pickle-dynamic-call")


def test_a_setstate_that_unpickles_has_its_bytes_scanned(scan_bytes) -> None:
    inner = b"cos\nsystem\n(S'touch x'\ntR."
    cls = g("torch.utils.data.datapipes.datapipe", "_DataPipeSerializationWrapper")
    data = b"\x80\x04" + cls + b")\x81C" + bytes([len(inner)]) + inner + b"\x89\x86b."
    _, findings = scan_bytes(data)
    nested = [f for f in findings if f.rule == "pickle-dangerous-global" and f.members]
    assert nested and "os.system" in nested[0].message


# --- callables passed through ------------------------------------------------------------------


def test_a_partial_references_its_function_and_calling_it_calls_it(scan_bytes) -> None:
    # gensim keeps partial(smartirs_wlocal, ...) for every TF-IDF scheme: a reference.
    partial = g("functools", "partial") + g("gensim.models.tfidfmodel", "smartirs_wlocal") + b"\x85R"
    stored = b"\x80\x04}" + u("wlocal") + partial + b"s."
    _, findings = scan_bytes(stored)
    assert worst(findings) is Severity.MEDIUM and "pickle-unknown-global" in rules(findings)
    called = b"\x80\x04" + partial + b")R."
    assert "pickle-unknown-call" in rules(scan_bytes(called)[1])


def test_an_identity_wrapper_does_not_hide_a_callable(scan_bytes) -> None:
    # numpy.object_(f) is f; defaultdict calls its factory.
    factory = g("numpy", "object_") + g("my_pkg", "factory") + b"\x85R"
    data = b"\x80\x04" + g("collections", "defaultdict") + factory + b"\x85R."
    [call] = [f for f in scan_bytes(data)[1] if f.rule == "pickle-unknown-call"]
    assert dict(call.evidence)["global"] == "my_pkg.factory"


def test_a_bound_method_is_that_method_not_getattr(scan_bytes) -> None:
    instance = g("collections", "OrderedDict") + b")R"
    data = b"\x80\x04" + g("builtins", "getattr") + instance + u("keys") + b"\x86R."
    _, findings = scan_bytes(data)
    assert "pickle-dangerous-global" not in rules(findings)
    assert {dict(f.evidence)["global"] for f in findings if f.rule == "pickle-unknown-global"} == {
        "collections.OrderedDict.keys"
    }


# --- severity ----------------------------------------------------------------------------------


def test_a_harmless_builtin_is_not_critical_because_of_its_module(scan_bytes) -> None:
    _, findings = scan_bytes(b"cbuiltins\nlen\n(S'ab'\ntR.")
    assert worst(findings) is Severity.HIGH and "pickle-unknown-call" in rules(findings)
    assert worst(scan_bytes(b"cbuiltins\neval\n(S'1'\ntR.")[1]) is Severity.CRITICAL


def test_an_extension_code_is_medium(scan_bytes) -> None:
    _, findings = scan_bytes(b"\x80\x02\x82\x01)R.")
    assert worst(findings) is Severity.MEDIUM and "pickle-extension-code" in rules(findings)


def test_the_generated_denylist_names_real_command_runners(scan_bytes) -> None:
    for module, name in (("imaplib", "IMAP4_stream"), ("torch.utils.collect_env", "run"), ("pip", "main")):
        data = b"\x80\x04" + g(module, name) + u("x") + b"\x85R."
        assert worst(scan_bytes(data)[1]) is Severity.CRITICAL, (module, name)


# --- what real packages write ------------------------------------------------------------------


def test_numpy_names_of_old_releases_are_allowed(scan_bytes) -> None:
    ndarray = g("numpy", "ndarray")
    old = (
        b"\x80\x04" + g("numpy.core._internal", "_reconstruct") + ndarray + b"K\x00\x85" + u("b") + b"\x87R."
    )
    matrix = b"\x80\x04" + g("numpy.matrixlib.defmatrix", "matrix") + b"."
    for data in (old, matrix):
        assert worst(scan_bytes(data)[1]) <= Severity.LOW


def test_an_nltk_freqdist_rebuilt_from_a_dict_is_clean(scan_bytes) -> None:
    data = b"cnltk.probability\nFreqDist\n((dS'the'\nI3\nstR."
    assert worst(scan_bytes(data)[1]) <= Severity.LOW


def test_scikit_learns_bundled_joblib_arrays_are_read_as_arrays(scan_bytes) -> None:
    import joblib
    import numpy as np

    buffer = io.BytesIO()
    # Array bytes that happen to read as opcodes (a GLOBAL of os.system) when not skipped.
    raw = np.frombuffer(b"cos\nsystem\n(S'x'\ntR." + b" " * 3, dtype=np.uint8)
    joblib.dump({"w": raw}, buffer, protocol=2)
    data = buffer.getvalue().replace(b"joblib.numpy_pickle", b"sklearn.externals.joblib.numpy_pickle")
    fmt, findings = scan_bytes(data)
    assert fmt == "joblib" and worst(findings) <= Severity.LOW, findings
