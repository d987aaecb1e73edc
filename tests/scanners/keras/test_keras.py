"""Keras .keras zips and HDF5 models: the generated fixtures, models Keras saves here, configs as
tf.keras 2 writes them, and broken or hostile files. Nothing is loaded: only scanned."""

from __future__ import annotations

import base64
import io
import json
import marshal
import os
import shutil
import signal
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from catalog import FIXTURES_DIR
from payloads import EVIL, evidence, rules, scan

from aisbom.limits import Limits
from aisbom.pipeline import scan_target
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file
from aisbom.scanners.keras import model_files
from aisbom.scanners.keras.config import check_keras_config
from aisbom.scanners.readers import child_process
from aisbom.severity import ExitCode, Severity

MALICIOUS = FIXTURES_DIR / "malicious" / "keras"
BENIGN = FIXTURES_DIR / "benign" / "keras"


@pytest.fixture(scope="module")
def keras():
    os.environ["KERAS_BACKEND"] = "torch"  # the installed backend; set before the first import
    return pytest.importorskip("keras")


def scan_file(path: Path):
    report = scan_target(path)
    return report, list(report.findings)


def only(findings, rule: str):
    found = [f for f in findings if f.rule == rule]
    assert len(found) == 1, [(f.rule, f.message) for f in findings]
    return found[0]


def serious(findings):
    return [(f.rule, f.message) for f in findings if f.severity >= Severity.MEDIUM]


def check(config: object, limits: Limits | None = None):
    ctx = context_for_file("model.keras", limits or Limits(), Policy())
    check_keras_config(config, ctx, where="config.json")
    return list(ctx.sink)


def code_of(source: str) -> str:
    """base64 marshal of a lambda, as Keras's func_dump writes it (never called)."""
    return base64.encodebytes(marshal.dumps(compile(source, "<test>", "eval").co_consts[0])).decode()


def keras_zip(config: dict, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(config))
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buffer.getvalue()


def h5_with_attrs(path: Path, **attrs) -> Path:
    with h5py.File(path, "w", libver="latest") as f:  # attributes over 64 KiB need dense storage
        f.create_dataset("model_weights/dense/kernel", data=np.ones((2, 2), dtype="float32"))
        for name, value in attrs.items():
            f.attrs[name] = value
    return path


def sequential(*layers: dict) -> dict:
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": list(layers)}}


def legacy_lambda(function, **settings) -> dict:
    return {"class_name": "Lambda", "config": {"name": "lambda", "function": function, **settings}}


# --- the generated fixtures ------------------------------------------------------------------

LAMBDA_FIXTURES = {
    "lambda_open.keras": ("keras", "Lambda 'lambda'", "function"),
    "no_metadata.keras": ("keras", "Lambda 'lambda'", "function"),
    "unpacked/config.json": ("json", "Lambda 'lambda'", "function"),
    "lambda_open.h5": ("hdf5", "Lambda 'lambda'", "function"),
    "lambda_keras2_list.h5": ("hdf5", "Lambda 'lambda'", "function"),
    "lambda_userblock.h5": ("hdf5", "Lambda 'lambda'", "function"),
    "nested_model_lambda.keras": ("keras", "Sequential 'preprocess' > Lambda 'normalize'", "function"),
    "classifier_imagenet.keras": ("keras", "Dense 'predictions'", "activation"),
}


@pytest.mark.parametrize("name", sorted(LAMBDA_FIXTURES))
def test_lambda_fixtures_are_critical_and_say_what_the_code_does(name):
    fmt, place, key = LAMBDA_FIXTURES[name]
    report, findings = scan_file(MALICIOUS / name)
    assert report.exit_code is ExitCode.UNSAFE
    assert report.files[0].format == fmt
    hit = only(findings, "keras-lambda")
    assert hit.severity is Severity.CRITICAL
    ev = evidence(hit)
    assert ev["decoded"] == "yes" and ev["dangerous_names"] == "open"
    assert ev["names"] == "close, open" and "'aisbom-marker'" in ev["strings"]
    assert place in ev["places"] and ev["key"] == key
    if fmt == "keras":
        assert hit.members == ("config.json",)  # once: the member's JSON scan and the zip agree
    assert serious(findings) == [("keras-lambda", hit.message)]


def test_module_reference_fixture_names_the_module_and_the_arguments():
    report, findings = scan_file(MALICIOUS / "module_reference.keras")
    hit = only(findings, "keras-unsafe-reference")
    assert hit.severity is Severity.CRITICAL
    ev = evidence(hit)
    assert (ev["module"], ev["name"]) == ("pydoc", "pipepager")
    assert ev["call_arguments"] == "{'cmd': 'touch aisbom-marker'}"
    assert "CVE-2025-1550" in hit.message
    assert report.exit_code is ExitCode.UNSAFE


@pytest.mark.parametrize("name", ["sequential.keras", "sequential.h5", "functional.keras", "functional.h5"])
def test_benign_fixtures_have_no_findings(name):
    report, findings = scan_file(BENIGN / name)
    assert findings == []
    assert report.exit_code is ExitCode.CLEAN


def test_the_user_block_hides_the_hdf5_signature_from_offset_zero():
    data = (MALICIOUS / "lambda_userblock.h5").read_bytes()
    assert not data.startswith(b"\x89HDF") and data[512:520] == b"\x89HDF\r\n\x1a\n"
    with h5py.File(io.BytesIO(data), "r") as f:  # what Keras opens
        assert "Lambda" in f.attrs["model_config"]


# --- models saved by Keras here ---------------------------------------------------------------


def _benign_models(keras):
    layers = keras.layers
    tokens = keras.Input((5,), dtype="int32", name="tokens")
    series = keras.Input((4, 3), name="series")
    image = keras.Input((8, 8, 2), name="image")
    text = layers.Embedding(30, 6)(tokens)
    text = layers.Bidirectional(layers.LSTM(4, return_sequences=True))(text)
    text = layers.MultiHeadAttention(num_heads=2, key_dim=4)(text, text)
    text = layers.GlobalAveragePooling1D()(layers.LayerNormalization()(text))
    steps = layers.TimeDistributed(layers.Dense(3))(series)
    steps = layers.GRU(4)(layers.Conv1D(4, 2, padding="same")(steps))
    pixels = layers.Conv2D(3, 3, activation="relu")(image)
    pixels = layers.Flatten()(layers.MaxPooling2D()(layers.BatchNormalization()(pixels)))
    inner = keras.Sequential(
        [keras.Input((8,)), layers.Dense(6, activation="tanh"), layers.Dropout(0.2), layers.Dense(3)],
        name="inner",
    )
    joined = layers.Concatenate()([text, steps, layers.Dense(8)(pixels)])
    outputs = inner(layers.Dense(8, activation="swish")(joined))
    functional = keras.Model([tokens, series, image], outputs, name="mixed")
    functional.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.9)
        ),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
        metrics=[keras.metrics.AUC(), "accuracy", keras.metrics.TopKCategoricalAccuracy(k=2)],
    )
    plain = keras.Sequential([keras.Input((3,)), layers.Dense(2, kernel_regularizer="l2")], name="plain")
    plain.compile(optimizer="sgd", loss=keras.losses.mean_squared_error)
    return {"mixed": functional, "plain": plain}


def test_keras_saved_benign_models_have_no_findings(keras, tmp_path):
    for name, model in _benign_models(keras).items():
        for suffix in (".keras", ".h5"):
            path = tmp_path / f"{name}{suffix}"
            model.save(path)
            report, findings = scan_file(path)
            assert findings == [], (path.name, [(f.rule, f.message) for f in findings])
            assert report.exit_code is ExitCode.CLEAN


def test_registered_custom_objects_are_only_medium(keras, tmp_path):
    @keras.saving.register_keras_serializable(package="AisbomTest")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2

    @keras.saving.register_keras_serializable(package="AisbomTest")
    def shifted_relu(x):
        return keras.ops.relu(x - 0.5)

    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation=shifted_relu), Doubler()], name="custom"
    )
    model.save(tmp_path / "custom.keras")
    report, findings = scan_file(tmp_path / "custom.keras")
    assert {f.rule for f in findings} == {"keras-custom-object"}
    assert {f.severity for f in findings} == {Severity.MEDIUM}
    shown = {evidence(f)["name"] for f in findings}
    assert shown == {"Doubler", "AisbomTest>shifted_relu"}
    assert {evidence(f).get("registered_name") for f in findings} == {"AisbomTest>Doubler", None}
    assert report.exit_code is ExitCode.CLEAN


def test_a_harmless_keras_lambda_is_high_and_shows_its_names(keras, tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: abs(x) * 2.0)])
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"lambda{suffix}")
        _, findings = scan_file(tmp_path / f"lambda{suffix}")
        hit = only(findings, "keras-lambda")
        assert hit.severity is Severity.HIGH, hit.message
        assert evidence(hit)["names"] == "abs"


def test_a_lambda_closure_is_shown_not_mistaken_for_a_reference(keras, tmp_path):
    # Keras saves the captured `keras` module as {"module": "builtins", "class_name": "module",
    # "config": "keras"} (.keras only: the HDF5 writer cannot save it).
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: keras.ops.tanh(x))])
    model.save(tmp_path / "closure.keras")
    _, findings = scan_file(tmp_path / "closure.keras")
    hit = only(findings, "keras-lambda")
    assert hit.severity is Severity.HIGH, hit.message
    assert evidence(hit)["names"] == "keras, ops, tanh" and evidence(hit)["strings"] == "'keras'"


def test_a_lambda_that_never_ran_is_judged_by_its_bytecode(keras, tmp_path):
    # The dangerous branch is dead code when Keras builds the model, but it is in the bytecode.
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Lambda(lambda x: x if x is not None else __import__("os").system("id")),
        ]
    )
    model.save(tmp_path / "dead_branch.keras")
    _, findings = scan_file(tmp_path / "dead_branch.keras")
    hit = only(findings, "keras-lambda")
    assert hit.severity is Severity.CRITICAL
    assert evidence(hit)["dangerous_names"] == "__import__, os, system"


# --- configs as tf.keras 2 writes them, and references Keras resolves ---------------------------


def test_keras2_lambda_list_with_a_dangerous_globals_module_is_critical():
    config = sequential(
        legacy_lambda([code_of("lambda x: x + 1"), None, None], function_type="lambda", module="os")
    )
    hit = only(check(config), "keras-lambda")
    assert hit.severity is Severity.CRITICAL
    assert evidence(hit)["globals_module"] == "os" and "globals from module 'os'" in hit.message


def test_keras1_lambda_given_as_a_bare_string():
    config = sequential(legacy_lambda(code_of("lambda x: eval('x')"), function_type="lambda"))
    hit = only(check(config), "keras-lambda")
    assert evidence(hit)["dangerous_names"] == "eval"


def test_lambda_payload_that_is_not_base64_is_read_as_keras_reads_it():
    raw = marshal.dumps(compile("lambda x: open('f')", "<t>", "eval").co_consts[0]).decode("latin-1")
    config = {"class_name": "__lambda__", "config": {"code": raw}}
    hit = only(check({"class_name": "Dense", "config": {"name": "d", "activation": config}}), "keras-lambda")
    assert evidence(hit)["dangerous_names"] == "open"


def test_bytecode_that_does_not_decode_still_shows_its_strings():
    good = marshal.dumps(
        compile("lambda x: __import__('os').system('touch aisbom-marker')", "<t>", "eval").co_consts[0]
    )
    broken = base64.encodebytes(good[:-12]).decode()  # cut short, like bytecode of another Python
    config = sequential(legacy_lambda([broken, None, None], function_type="lambda"))
    hit = only(check(config), "keras-lambda")
    ev = evidence(hit)
    assert ev["decoded"] == "no" and hit.severity is Severity.CRITICAL
    assert {"__import__", "os", "system"} <= set(ev["dangerous_names"].split(", "))
    assert "did not decode" in hit.message and "'touch aisbom-marker'" in ev["strings"]


def test_a_keras3_lambda_given_as_a_list_is_bytecode_too():
    config = {"class_name": "__lambda__", "config": {"value": [code_of("lambda x: open('f')"), None, None]}}
    hit = only(check({"class_name": "Dense", "config": {"name": "d", "activation": config}}), "keras-lambda")
    assert evidence(hit)["decoded"] == "yes" and evidence(hit)["dangerous_names"] == "open"


def test_a_lambda_whose_code_is_not_text_is_still_reported():
    config = {"class_name": "__lambda__", "config": {"code": 42}}
    hit = only(check({"class_name": "Dense", "config": {"name": "d", "activation": config}}), "keras-lambda")
    assert hit.severity is Severity.HIGH and "not base64 text" in hit.message


def test_the_same_lambda_in_many_layers_is_one_finding():
    code = code_of("lambda x: x * 3")
    layers = [legacy_lambda([code, None, None], function_type="lambda") for _ in range(30)]
    hit = only(check(sequential(*layers)), "keras-lambda")
    assert evidence(hit)["occurrences"] == "30"


def ref(module, class_name, config=None, registered=None) -> dict:
    return {
        "module": module,
        "class_name": class_name,
        "config": {} if config is None else config,
        "registered_name": registered,
    }


REFERENCES = [
    # CVE-2025-1550: any module, even in safe mode, on Keras < 3.9
    (ref("os", "system"), "keras-unsafe-reference", Severity.CRITICAL),
    (ref("subprocess", "function", "Popen"), "keras-unsafe-reference", Severity.CRITICAL),
    (ref("builtins", "function", "exec", "function"), "keras-unsafe-reference", Severity.CRITICAL),
    (ref("os", "system", registered="Fake>system"), "keras-unsafe-reference", Severity.CRITICAL),
    (ref("builtins", "function", "len"), "keras-unsafe-reference", Severity.HIGH),
    (ref("collections", "OrderedDict"), "keras-unsafe-reference", Severity.HIGH),
    (ref("mylib.layers", "Block"), "keras-unsafe-reference", Severity.HIGH),
    # Keras's own non-modelling APIs (CVE-2025-8747, CVE-2025-9906)
    (ref("keras.utils", "function", "get_file"), "keras-unsafe-reference", Severity.CRITICAL),
    (
        ref("keras.config", "function", "enable_unsafe_deserialization"),
        "keras-unsafe-reference",
        Severity.CRITICAL,
    ),
    (ref("keras.src.utils.file_utils", "get_file"), "keras-unsafe-reference", Severity.CRITICAL),
    (
        ref("keras.src.legacy.saving.legacy_h5_format", "function", "load_model_from_hdf5"),
        "keras-unsafe-reference",
        Severity.CRITICAL,
    ),
    (ref("keras.utils", "function", "clear_session"), "keras-unsafe-reference", Severity.HIGH),
    (ref("tensorflow.io", "function", "write_file"), "keras-unsafe-reference", Severity.CRITICAL),
    # Keras's file helpers, and the urlretrieve its file_utils imports: a Functional model calls
    # a layer that resolves to a function with its inbound nodes' arguments (Keras < 3.11)
    (ref("keras.src.utils.file_utils", "remove"), "keras-unsafe-reference", Severity.CRITICAL),
    (ref("keras.src.utils.file_utils", "function", "rmtree"), "keras-unsafe-reference", Severity.CRITICAL),
    (ref("keras.src.utils.file_utils", "urlretrieve"), "keras-unsafe-reference", Severity.CRITICAL),
    (ref("keras.src.utils.file_utils", "extract_archive"), "keras-unsafe-reference", Severity.CRITICAL),
    (ref("keras.utils", "function", "plot_model"), "keras-unsafe-reference", Severity.CRITICAL),
    # TensorFlow's file_io module, and Keras's file APIs under tensorflow.keras (Keras < 3.9)
    (
        ref("tensorflow.python.lib.io.file_io", "function", "write_string_to_file"),
        "keras-unsafe-reference",
        Severity.CRITICAL,
    ),
    (ref("tensorflow.keras.utils", "function", "get_file"), "keras-unsafe-reference", Severity.CRITICAL),
    # custom objects: the code is in the loading program, not the file
    (ref("mylib.layers", "Block", registered="MyLib>Block"), "keras-custom-object", Severity.MEDIUM),
    (ref(None, "Block", registered="MyLib>Block"), "keras-custom-object", Severity.MEDIUM),
    (ref("builtins", "function", "MyLib>swish2", "function"), "keras-custom-object", Severity.MEDIUM),
    (ref("builtins", "function", "my_loss", "function"), "keras-custom-object", Severity.MEDIUM),
    (ref("__main__", "MyLayer"), "keras-custom-object", Severity.MEDIUM),
    (ref("__main__", "function", "system"), "keras-unsafe-reference", Severity.HIGH),
    ({"class_name": "AttentionPool", "config": {}}, "keras-custom-object", Severity.MEDIUM),
    # Keras's own objects
    (ref("keras.layers", "Dense"), None, None),
    (ref("keras.src.models.functional", "Functional", registered="Functional"), None, None),
    (ref("keras_hub.src.models.bert.bert_backbone", "BertBackbone"), None, None),
    (ref("builtins", "function", "mean_squared_error", "function"), None, None),
    (ref("tensorflow.math", "function", "add"), None, None),
    ({"class_name": "GlorotUniform", "config": {"seed": None}}, None, None),
    ({"class_name": "Custom>Adam", "config": {}}, None, None),
    ({"class_name": "__keras_tensor__", "config": {"shape": [None, 4]}}, None, None),
]


@pytest.mark.parametrize(
    ("obj", "rule", "severity"), REFERENCES, ids=lambda v: json.dumps(v) if isinstance(v, dict) else str(v)
)
def test_references(obj, rule, severity):
    findings = check(sequential({"class_name": "Dense", "config": {"name": "d", "activation": obj}}))
    if rule is None:
        assert findings == []
    else:
        hit = only(findings, rule)
        assert hit.severity is severity, hit.message
        assert evidence(hit)["places"] == "Sequential 'sequential' > Dense 'd' (activation)"


def test_tf_op_lambdas_and_op_layers_that_touch_files():
    config = {
        "class_name": "Functional",
        "config": {
            "name": "f",
            "layers": [
                {"class_name": "TFOpLambda", "config": {"name": "tf.math.add", "function": "math.add"}},
                {
                    "class_name": "TFOpLambda",
                    "config": {"name": "tf.io.write_file", "function": "io.write_file"},
                },
                {"class_name": "TFOpLambda", "config": {"name": "raw", "function": "raw_ops.EagerPyFunc"}},
                {
                    "class_name": "TensorFlowOpLayer",
                    "config": {"name": "op", "node_def": {"op": "WriteFile"}},
                },
                {"class_name": "TensorFlowOpLayer", "config": {"name": "py", "node_def": {"op": "PyFunc"}}},
                {"class_name": "TensorFlowOpLayer", "config": {"name": "ok", "node_def": {"op": "AddV2"}}},
                {"class_name": "TFSMLayer", "config": {"name": "sm", "filepath": "/models/other"}},
            ],
        },
    }
    found = {
        (f.severity, evidence(f).get("function") or evidence(f).get("op") or evidence(f).get("filepath"))
        for f in check(config)
        if f.rule == "keras-unsafe-reference"
    }
    assert found == {
        (Severity.CRITICAL, "io.write_file"),
        (Severity.CRITICAL, "raw_ops.EagerPyFunc"),
        (Severity.HIGH, "WriteFile"),  # the TensorFlow scanner's verdict on the op
        (Severity.CRITICAL, "PyFunc"),
        (Severity.HIGH, "/models/other"),
    }
    assert len(check(config)) == 5


def test_torch_module_wrapper_pickles_are_scanned():
    config = sequential(
        {
            "class_name": "TorchModuleWrapper",
            "config": {"name": "torch_module_wrapper", "module": base64.b64encode(EVIL).decode()},
        }
    )
    findings = check(config)
    hit = only(findings, "pickle-dangerous-global")
    assert hit.members == ("config.json: TorchModuleWrapper 'torch_module_wrapper' module",)


def test_huge_names_do_not_make_huge_messages():
    obj = {"module": "m" * 10**6, "class_name": "C" * 10**6, "config": {"name": "n" * 10**6}}
    hit = only(check(obj), "keras-unsafe-reference")
    assert len(hit.message) < 1000 and max(len(v) for _, v in hit.evidence) < 1000


def test_walk_limits_are_findings():
    deep: list = []
    for _ in range(2000):
        deep = [deep]
    assert rules(check({"class_name": "Sequential", "config": {"layers": deep}})) == {"scan-limit"}
    wide = sequential(*({"class_name": "Dense", "config": {"name": f"d{i}"}} for i in range(200)))
    hit = only(check(wide, Limits(max_keras_config_nodes=100)), "scan-limit")
    assert evidence(hit)["limit"] == "max_keras_config_nodes"


# --- .keras zips ---------------------------------------------------------------------------------


def test_keras_zip_members_are_still_scanned_as_archive_members():
    config = sequential({"class_name": "Dense", "config": {"name": "d"}})
    data = keras_zip(config, {"assets/tokenizer.pkl": EVIL, "../escape.txt": b"x"})
    fmt, findings = scan(data)
    assert fmt == "keras"
    assert {"pickle-dangerous-global", "archive-path-traversal"} <= rules(findings)


def test_every_copy_of_a_repeated_config_json_is_checked():
    benign = json.dumps(sequential({"class_name": "Dense", "config": {"name": "d"}}))
    evil = json.dumps(sequential(legacy_lambda([code_of("lambda x: exec('x')"), None, None])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z, pytest.warns(UserWarning, match="Duplicate name"):
        z.writestr("metadata.json", "{}")
        z.writestr("config.json", benign)
        z.writestr("config.json", evil)  # zipfile, and so Keras, reads this one
    _, findings = scan(buffer.getvalue())
    assert only(findings, "keras-lambda").severity is Severity.CRITICAL
    assert "archive-tampered" in rules(findings)


def test_config_json_that_is_not_json_is_an_error_on_the_member():
    _, findings = scan(keras_zip({}, {}).replace(b"{}", b"{]", 1))
    hit = only(findings, "scan-error")
    assert hit.members == ("config.json",) and "not valid JSON" in hit.message


def test_oversized_config_json_is_a_limit():
    data = keras_zip(sequential(*({"class_name": "Dense", "config": {"name": f"d{i}"}} for i in range(100))))
    _, findings = scan(data, Limits(max_keras_config=1000))
    assert evidence(only(findings, "scan-limit"))["limit"] == "max_keras_config"


def test_truncated_keras_file_is_a_finding(tmp_path):
    data = (MALICIOUS / "lambda_open.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    report, findings = scan_file(tmp_path / "cut.keras")
    assert report.exit_code is ExitCode.UNSAFE
    assert rules(findings) & {"scan-error", "archive-tampered"}


def test_a_utf16_config_json_is_still_read_as_keras_reads_it():
    config = sequential(legacy_lambda([code_of("lambda x: exec('x')"), None, None]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("config.json", json.dumps(config).encode("utf-16"))  # json.loads detects it
        z.writestr("model.weights.h5", b"")
    fmt, findings = scan(buffer.getvalue())
    assert fmt == "keras" and only(findings, "keras-lambda").members == ("config.json",)


# --- plain JSON files: unpacked Keras directories, model_from_json ------------------------------


def test_plain_json_keras_configs_are_checked(tmp_path):
    lam = legacy_lambda([code_of("lambda x: exec('x')"), None, None])
    (tmp_path / "model.json").write_text(json.dumps(sequential(lam)))
    escaped = json.dumps(sequential(lam)).replace('"class_name"', '"\\u0063lass_name"')
    (tmp_path / "escaped.json").write_text(escaped)
    report = scan_target(tmp_path)
    found = {f.path: f.rule for f in report.findings}
    assert found == {"model.json": "keras-lambda", "escaped.json": "keras-lambda"}


def test_json_with_a_keras_config_and_a_chat_template_gets_both_checks_from_one_parse(tmp_path, monkeypatch):
    lam = legacy_lambda([code_of("lambda x: exec('x')"), None, None])
    document = sequential(lam) | {"chat_template": "{{ cycler.__init__.__globals__.os }}"}
    (tmp_path / "model.json").write_text(json.dumps(document))
    parses = []
    real_loads = json.loads
    monkeypatch.setattr(json, "loads", lambda *a, **k: parses.append(1) or real_loads(*a, **k))
    found = rules(list(scan_target(tmp_path / "model.json", workers=1).findings))
    assert "keras-lambda" in found and any(rule.startswith("template") for rule in found), found
    assert len(parses) == 1  # a large data JSON full of \u escapes concerns both: read once


def test_other_json_files_are_left_alone(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertModel"], "_class_name": "X"}))
    (tmp_path / "data.json").write_text(json.dumps([{"class_name": "cat", "label": 3}] * 1000))
    (tmp_path / "big.json").write_text(json.dumps({"rows": ["x" * 100] * 200, "class_name": "y"}))
    report = scan_target(tmp_path)
    assert report.findings == () or list(report.findings) == []
    # Over the limit, an array of records holds class_name only as data: no model config.
    assert list(scan_target(tmp_path / "data.json", limits=Limits(max_keras_config=1000)).findings) == []


def test_a_config_over_the_limit_is_reported_wherever_its_class_name_sits(tmp_path):
    """The top-level class_name after 100 KB of other values, or spelled with escapes: not analysed,
    and said so."""
    late = {"rows": ["x" * 100] * 1000, "class_name": "Sequential", "config": {}}
    (tmp_path / "late.json").write_text(json.dumps(late))
    (tmp_path / "escaped.json").write_text(json.dumps(late).replace('"class_name"', '"class\\u005fname"'))
    for name in ("late.json", "escaped.json"):
        limited = scan_target(tmp_path / name, limits=Limits(max_keras_config=1000))
        assert evidence(only(list(limited.findings), "scan-limit"))["limit"] == "max_keras_config", name


# --- HDF5 -----------------------------------------------------------------------------------------


def test_weights_only_hdf5_is_clean(tmp_path):
    report, findings = scan_file(h5_with_attrs(tmp_path / "weights.h5"))
    assert report.files[0].format == "hdf5" and findings == []


def test_training_config_is_checked_too(tmp_path):
    training = {
        "loss": ref("os", "function", "system"),
        "optimizer_config": {"class_name": "Adam", "config": {}},
    }
    path = h5_with_attrs(
        tmp_path / "t.h5", model_config=json.dumps(sequential()), training_config=json.dumps(training)
    )
    hit = only(scan_file(path)[1], "keras-unsafe-reference")
    assert evidence(hit)["where"] == "training_config" and hit.severity is Severity.CRITICAL


def test_bytes_attributes_are_read_as_keras_reads_them(tmp_path):
    config = sequential(legacy_lambda([code_of("lambda x: open('f')"), None, None]))
    path = h5_with_attrs(tmp_path / "b.h5", model_config=np.bytes_(json.dumps(config).encode()))
    assert only(scan_file(path)[1], "keras-lambda").severity is Severity.CRITICAL


def test_attributes_keras_cannot_read_are_errors(tmp_path):
    path = h5_with_attrs(
        tmp_path / "odd.h5", model_config=np.arange(3), training_config=np.bytes_(b"\xff\xfe")
    )
    findings = scan_file(path)[1]
    messages = sorted(f.message for f in findings if f.rule == "scan-error")
    assert len(messages) == 2
    assert "not a string" in messages[0] and "not UTF-8" in messages[1]


def test_hdf5_inside_an_archive_is_read_from_memory(tmp_path):
    inner = (MALICIOUS / "lambda_open.h5").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("models/classifier.h5", inner)
    fmt, findings = scan(buffer.getvalue())
    hit = only(findings, "keras-lambda")
    assert fmt == "zip" and hit.members == ("models/classifier.h5",)


def test_the_user_block_is_scanned_too(tmp_path):
    with h5py.File(tmp_path / "ub.h5", "w", userblock_size=512) as f:
        f.attrs["model_config"] = json.dumps(sequential())
    data = bytearray((tmp_path / "ub.h5").read_bytes())
    data[: len(EVIL)] = EVIL
    (tmp_path / "ub.h5").write_bytes(bytes(data))
    report, findings = scan_file(tmp_path / "ub.h5")
    hit = only(findings, "pickle-dangerous-global")
    assert report.files[0].format == "hdf5" and hit.members == ("HDF5 user block",)


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_hdf5_is_an_error_not_a_traceback(tmp_path, cut):
    data = (BENIGN / "functional.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: int(len(data) * cut)])
    report, findings = scan_file(tmp_path / "cut.h5")
    hit = only(findings, "scan-error")
    assert "HDF5" in hit.message and report.exit_code is ExitCode.UNSAFE


def test_garbage_after_the_signature_is_an_error(tmp_path):
    (tmp_path / "junk.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8)
    assert "not a readable HDF5 file" in only(scan_file(tmp_path / "junk.h5")[1], "scan-error").message


def test_huge_attributes_are_limits_not_reads(tmp_path):
    big = json.dumps(sequential(*({"class_name": "Dense", "config": {"name": f"d{i}"}} for i in range(2000))))
    limits = Limits(max_keras_config=10_000)
    for label, value in (("vlen", big), ("fixed", np.bytes_(big.encode()))):
        path = h5_with_attrs(tmp_path / f"{label}.h5", model_config=value)
        ctx = context_for_file(path.name, limits, Policy(), source=str(path))
        model_files.scan_hdf5(path.read_bytes(), ctx)
        hit = only(ctx.sink, "scan-limit")
        assert evidence(hit)["attribute"] == "model_config", label


def test_the_file_on_disk_and_the_bytes_in_memory_give_the_same_verdict(tmp_path):
    path = MALICIOUS / "lambda_keras2_list.h5"
    from_disk = context_for_file(path.name, Limits(), Policy(), source=str(path))
    in_memory = context_for_file(path.name, Limits(), Policy())
    model_files.scan_hdf5(path.read_bytes(), from_disk)
    model_files.scan_hdf5(path.read_bytes(), in_memory)
    assert [f.message for f in from_disk.sink] == [f.message for f in in_memory.sink]
    assert rules(from_disk.sink) == {"keras-lambda"}


def test_a_file_that_changed_since_it_was_read_is_an_error(tmp_path):
    path = tmp_path / "m.h5"
    shutil.copy(BENIGN / "sequential.h5", path)
    data = path.read_bytes()
    with open(path, "ab") as f:
        f.write(b"\0" * 100)
    ctx = context_for_file(path.name, Limits(), Policy(), source=str(path))
    model_files.scan_hdf5(data, ctx)
    assert "changed size" in only(ctx.sink, "scan-error").message


# --- the child process dies, hangs or runs out of memory ----------------------------------------


def _child(tmp_path: Path, body: str) -> str:
    script = tmp_path / "child.py"
    script.write_text("import os, signal, sys, time\n" + body + "\n")
    return str(script)


def test_a_crashing_hdf5_reader_is_a_finding(tmp_path, monkeypatch):
    monkeypatch.setattr(model_files, "HDF5_CHILD", _child(tmp_path, "os.kill(os.getpid(), signal.SIGSEGV)"))
    report, findings = scan_file(BENIGN / "sequential.h5")
    hit = only(findings, "scan-error")
    assert "crashed" in hit.message and "SIGSEGV" in hit.message
    assert report.exit_code is ExitCode.UNSAFE


def test_a_hanging_hdf5_reader_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(model_files, "HDF5_CHILD", _child(tmp_path, "time.sleep(60)"))
    ctx = context_for_file("m.h5", Limits(max_hdf5_seconds=1.0), Policy())
    model_files.scan_hdf5((BENIGN / "sequential.h5").read_bytes(), ctx)
    hit = only(ctx.sink, "scan-limit")
    assert evidence(hit)["limit"] == "max_hdf5_seconds" and "longer than 1s" in hit.message


def test_a_reader_that_prints_garbage_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(model_files, "HDF5_CHILD", _child(tmp_path, "print('not json'); sys.exit(3)"))
    ctx = context_for_file("m.h5", Limits(), Policy())
    model_files.scan_hdf5((BENIGN / "sequential.h5").read_bytes(), ctx)
    assert "exit 3" in only(ctx.sink, "scan-error").message


@pytest.mark.skipif(sys.platform == "win32", reason="no address-space limit on Windows")
def test_the_reader_runs_within_its_memory_limit(tmp_path):
    path = h5_with_attrs(tmp_path / "big.h5", model_config="[" + "0," * 25_000_000 + "0]")
    ctx = context_for_file(path.name, Limits(max_hdf5_memory=160 * 2**20), Policy(), source=str(path))
    model_files.scan_hdf5(path.read_bytes(), ctx)
    hit = only(ctx.sink, "scan-limit")
    assert "memory" in hit.message


def _reader_pids() -> set[int]:
    return {slot.child.process.pid for slot in child_process._slots.values() if slot.child is not None}


def test_one_reader_serves_many_files_and_is_replaced_when_it_dies(tmp_path):
    paths = [h5_with_attrs(tmp_path / f"w{i}.h5") for i in range(3)]
    paths.append(MALICIOUS / "lambda_open.h5")
    scan_file(paths[0])
    before = _reader_pids()
    for path in paths[1:3]:
        assert scan_file(path)[1] == []
    assert _reader_pids() == before and before  # the same process answered every file
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    assert rules(scan_file(paths[3])[1]) == {"keras-lambda"}  # a new reader took over
    assert _reader_pids().isdisjoint(before)


def test_keras2_json_tuples_and_shapes_are_data():
    # What tf.keras 2 writes in SavedModel metadata (basic-pitch's model, Keras 2.4).
    shape = {"class_name": "__tuple__", "items": [None, 43844, 1]}
    model = {
        "class_name": "Functional",
        "config": {"name": "model_1", "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": shape, "name": "in"}},
        ]},
        "build_input_shape": {"class_name": "TensorShape", "items": [None, 43844, 1]},
    }  # fmt: skip
    assert serious(check(model)) == []
    # With a module it is a reference like any other; items are still walked.
    imported = {"class_name": "TensorShape", "module": "os", "items": [], "config": {}}
    assert "keras-unsafe-reference" in rules(check(imported))
    hidden = {"class_name": "__tuple__", "items": [{"class_name": "MyLayer", "config": {}}]}
    assert "keras-custom-object" in rules(check(hidden))
