"""ONNX scanning: real models built with onnx.helper, parsed from a skeleton, never run.

onnx (the scanner's own dependency) builds every model here; the scanner sees only bytes.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from catalog import FIXTURES_DIR
from payloads import evidence, rules, scan

from aisbom.limits import Limits
from aisbom.pipeline import scan_target
from aisbom.policy import Policy
from aisbom.scanners.onnx.model import path_problems
from aisbom.severity import ExitCode, Severity

onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.external_data_helper import set_external_data  # noqa: E402

BIG = 100_000  # elements: 400 KB of float32, above the skeleton's 64 KiB copy-whole threshold


def model_bytes(nodes=(), *, initializers=(), inputs=(), outputs=None, opsets=(("", 17),), functions=(),
                sparse=(), training=()) -> bytes:  # fmt: skip
    graph = helper.make_graph(
        list(nodes), "main", list(inputs), list(outputs if outputs is not None else [info("Y")]),
        list(initializers), sparse_initializer=list(sparse),
    )  # fmt: skip
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets], functions=list(functions)
    )
    model.ir_version = 8
    model.training_info.extend(training)
    return model.SerializeToString()


def info(name: str, dims=(4,)):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(dims))


def floats(name: str, n: int = 4):
    return numpy_helper.from_array(np.arange(n, dtype=np.float32), name)


def external(name: str, path: str, n: int = 4, **extra: str):
    tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[n], raw_data=bytes(4 * n))
    set_external_data(tensor, path, offset=0, length=4 * n)
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in extra.items():
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def identity(source: str = "W"):
    return helper.make_node("Identity", [source], ["Y"])


def constant(tensor, out: str = "Y"):
    return helper.make_node("Constant", [], [out], value=tensor)


def if_node(then_tensor, else_tensor=None):
    def branch(name, tensor):
        return helper.make_graph([constant(tensor)], name, [], [info("Y")])

    return helper.make_node(
        "If", ["cond"], ["Y"], then_branch=branch("then", then_tensor),
        else_branch=branch("else", else_tensor or floats("z")),
    )  # fmt: skip


COND = helper.make_tensor("cond", TensorProto.BOOL, [], [True])


def by_rule(findings, rule):
    return [f for f in findings if f.rule == rule]


def assert_clean(data: bytes) -> None:
    fmt, findings = scan(data)
    assert fmt == "onnx"
    assert findings == [], [f.message for f in findings]


# --- the fixtures -------------------------------------------------------------------------------

EXPECTED = {
    "external_data_traversal.onnx": "onnx-external-data-traversal",
    "external_data_absolute.onnx": "onnx-external-data-traversal",
    "if_subgraph_traversal.onnx": "onnx-external-data-traversal",
    "function_traversal.onnx": "onnx-external-data-traversal",
    "pyop_language_interop.onnx": "onnx-python-op",
    "tensor_size_mismatch.onnx": "onnx-tensor-inconsistent",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malicious_fixture_reports_its_rule(name):
    report = scan_target(FIXTURES_DIR / "malicious" / "onnx" / name)
    assert [(f.rule, f.severity) for f in report.findings] == [(EXPECTED[name], Severity.HIGH)]
    assert report.exit_code is ExitCode.UNSAFE


def test_malicious_onnx_directory_is_fully_covered():
    assert {p.name for p in (FIXTURES_DIR / "malicious" / "onnx").iterdir()} == set(EXPECTED)


def test_benign_onnx_fixtures_have_no_findings():
    report = scan_target(FIXTURES_DIR / "benign" / "onnx")
    formats = {f.path: f.format for f in report.files}
    assert formats["torch_export.onnx"] == formats["ort_contrib_and_ml_ops.onnx"] == "onnx"
    assert report.findings == []


def test_where_names_the_subgraph_node_and_attribute():
    report = scan_target(FIXTURES_DIR / "malicious" / "onnx" / "if_subgraph_traversal.onnx")
    (finding,) = report.findings
    assert "node 'If' (If) attribute 'then_branch' > graph 'then'" in finding.message
    assert evidence(finding)["location"] == "../aisbom-marker" and evidence(finding)["tensor"] == "c"


def test_pyop_evidence_names_the_module_and_class():
    report = scan_target(FIXTURES_DIR / "malicious" / "onnx" / "pyop_language_interop.onnx")
    assert evidence(report.findings[0])["python"] == "aisbom_marker_op.Marker"


def _silero_onnx() -> list[Path]:
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("silero-vad is not installed")
    return sorted((Path(next(iter(spec.submodule_search_locations))) / "data").glob("*.onnx"))


def test_every_silero_onnx_model_is_clean():
    paths = _silero_onnx()
    assert len(paths) >= 2
    for path in paths:
        report = scan_target(path)
        assert report.files[0].format == "onnx", path
        assert report.findings == [], (path, [f.message for f in report.findings])


# --- external data ------------------------------------------------------------------------------

TRAVERSALS = {
    "/etc/passwd": "absolute",
    "\\\\server\\share\\w.bin": "absolute",
    "C:\\weights.bin": "drive letter",
    "c:weights.bin": "drive letter",
    "https://example.com/w.bin": "URL",
    "file:w.bin": "URL",
    "~/.ssh/id_rsa": "home directory",
    "..\\..\\secret": "backslash",
    "data/../../secret": "'..' segment",
    "..": "'..' segment",
    "w.bin\x00.txt": "NUL",
    "": "empty",
}


@pytest.mark.parametrize("location", sorted(TRAVERSALS), ids=repr)
def test_external_locations_that_leave_the_directory(location):
    _, findings = scan(model_bytes([identity()], initializers=[external("W", location)]))
    hits = by_rule(findings, "onnx-external-data-traversal")
    assert hits and all(f.severity is Severity.HIGH for f in hits)
    assert any(TRAVERSALS[location] in f.message for f in hits), [f.message for f in hits]


@pytest.mark.parametrize(
    "location", ["model.onnx.data", "weights/layer0.bin", "a..b.bin", ".hidden", "./w.bin"]
)
def test_relative_locations_inside_the_directory_are_fine(location):
    assert list(path_problems(location)) == []
    assert_clean(model_bytes([identity()], initializers=[external("W", location)]))


def test_traversal_is_found_everywhere_a_tensor_can_sit():
    bad = "../secret"
    places = {
        "initializer": model_bytes([identity()], initializers=[external("W", bad)]),
        "constant": model_bytes([constant(external("c", bad))]),
        "attribute tensors": model_bytes([helper.make_node("Custom", [], ["Y"], domain="",
                                                           tensors=[external("c", bad)])]),
        "if branch": model_bytes([if_node(external("c", bad))], initializers=[COND]),
        "sparse": model_bytes([identity("S")], sparse=[helper.make_sparse_tensor(
            external("v", bad, n=2), numpy_helper.from_array(np.array([0, 3], dtype=np.int64), "i"), [4])]),
        "function": model_bytes(
            [helper.make_node("Leak", [], ["Y"], domain="local")], opsets=(("", 17), ("local", 1)),
            functions=[helper.make_function("local", "Leak", [], ["Y"], [constant(external("c", bad))],
                                            [helper.make_opsetid("", 17)])]),
        "training": model_bytes([identity()], initializers=[floats("W")], training=[
            onnx.TrainingInfoProto(initialization=helper.make_graph(
                [constant(external("c", bad))], "init", [], [info("Y")]))]),
        "basepath": model_bytes([identity()], initializers=[external("W", "w.bin", basepath="/etc")]),
    }  # fmt: skip
    for place, data in places.items():
        _, findings = scan(data)
        assert "onnx-external-data-traversal" in rules(findings), place


def test_dormant_external_entries_are_still_reported():
    tensor = floats("W")
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "/etc/passwd"  # data_location stays DEFAULT
    _, findings = scan(model_bytes([identity()], initializers=[tensor]))
    (hit,) = by_rule(findings, "onnx-external-data-traversal")
    assert "current loaders ignore it" in hit.message


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"offset": "-4"}, "offset '-4' is not a non-negative integer"),
        ({"length": "1e3"}, "length '1e3' is not a non-negative integer"),
        ({"length": "8"}, "external data length 8 but dims [4] of FLOAT need 16 bytes"),
        ({"location": "other.bin"}, "2 external data locations"),
    ],
)
def test_inconsistent_external_entries(extra, expected):
    tensor = external("W", "w.bin", **extra)
    _, findings = scan(model_bytes([identity()], initializers=[tensor]))
    hits = by_rule(findings, "onnx-tensor-inconsistent")
    assert any(expected in f.message and f.severity is Severity.HIGH for f in hits), [f.message for f in hits]


def test_external_tensor_with_inline_data_is_ambiguous_and_medium():
    """onnx reads the file's bytes over the inline ones: nothing runs, so below the fail threshold."""
    tensor = external("W", "w.bin")
    tensor.raw_data = bytes(16)
    _, findings = scan(model_bytes([identity()], initializers=[tensor]))
    (hit,) = [
        f for f in by_rule(findings, "onnx-tensor-inconsistent") if "also carries inline data" in f.message
    ]
    assert hit.severity is Severity.MEDIUM and max(f.severity for f in findings) is Severity.MEDIUM


def test_onnx_reads_a_dotdot_that_stays_inside_from_the_model_directory(tmp_path):
    """The natural loader, in a subprocess: sub/../w.bin is the directory's own w.bin."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "w.bin").write_bytes(np.arange(4, dtype=np.float32).tobytes())
    (tmp_path / "w.bin").write_bytes(np.full(4, 7, dtype=np.float32).tobytes())  # outside: never read
    path = tmp_path / "model" / "m.onnx"
    path.write_bytes(model_bytes([identity()], initializers=[external("W", "sub/../w.bin")]))
    load = (
        "import onnx, sys\nm = onnx.load(sys.argv[1])\n"
        "print(onnx.numpy_helper.to_array(m.graph.initializer[0]).tolist())"
    )
    result = subprocess.run(
        [sys.executable, "-c", load, str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "[0.0, 1.0, 2.0, 3.0]", result.stderr


@pytest.mark.parametrize("location", ["sub/../w.bin", "a/b/../../w.bin", "./x/../w.bin"])
def test_a_dotdot_that_stays_inside_the_directory_is_medium(location):
    _, findings = scan(model_bytes([identity()], initializers=[external("W", location)]))
    (hit,) = by_rule(findings, "onnx-external-data-traversal")
    assert hit.severity is Severity.MEDIUM and "inside the model directory" in hit.message


def test_unknown_external_keys_are_low():
    _, findings = scan(model_bytes([identity()], initializers=[external("W", "w.bin", sha="x")]))
    assert [(f.rule, f.severity) for f in findings] == [("onnx-tensor-inconsistent", Severity.LOW)]


# --- operators ----------------------------------------------------------------------------------


def test_custom_domain_is_medium_and_fails_only_with_fail_on_medium(tmp_path):
    nodes = [helper.make_node(op, ["X"], ["Y"], domain="com.example.ops") for op in ("Encrypt", "Backdoor")]
    path = tmp_path / "custom.onnx"
    path.write_bytes(model_bytes(nodes, inputs=[info("X")], opsets=(("", 17), ("com.example.ops", 1))))
    report = scan_target(path)
    (finding,) = report.findings
    assert (finding.rule, finding.severity) == ("onnx-custom-op", Severity.MEDIUM)
    assert evidence(finding) == {"domain": "com.example.ops", "op_types": "Backdoor,Encrypt"}
    assert report.exit_code is ExitCode.CLEAN
    assert scan_target(path, policy=Policy(fail_on=Severity.MEDIUM)).exit_code is ExitCode.UNSAFE


def test_model_local_functions_are_not_custom_ops():
    body = [helper.make_node("Relu", ["x"], ["y"])]
    function = helper.make_function("my.company", "Act", ["x"], ["y"], body, [helper.make_opsetid("", 17)])
    data = model_bytes(
        [helper.make_node("Act", ["X"], ["Y"], domain="my.company")],
        inputs=[info("X")],
        opsets=(("", 17), ("my.company", 1)),
        functions=[function],
    )
    assert_clean(data)
    # A node of the same domain but another name is still a custom op.
    data = model_bytes(
        [helper.make_node("Other", ["X"], ["Y"], domain="my.company")],
        inputs=[info("X")],
        opsets=(("", 17), ("my.company", 1)),
        functions=[function],
    )
    assert rules(scan(data)[1]) == {"onnx-custom-op"}


@pytest.mark.parametrize(
    ("op", "domain"), [("PythonOp", "com.microsoft"), ("PyOp", ""), ("PyOp", "pyop.domain")]
)
def test_python_ops(op, domain):
    data = model_bytes(
        [helper.make_node(op, ["X"], ["Y"], domain=domain)],
        inputs=[info("X")],
        opsets=(("", 17), (domain, 1)) if domain else (("", 17),),
    )
    (finding,) = scan(data)[1]
    assert (finding.rule, finding.severity) == ("onnx-python-op", Severity.HIGH)


def test_repeated_python_ops_are_one_finding():
    nodes = [helper.make_node("PyOp", ["X"], [f"t{i}"], domain="pyop.domain") for i in range(50)]
    data = model_bytes(nodes, inputs=[info("X")], opsets=(("", 17), ("pyop.domain", 1)))
    (finding,) = scan(data)[1]
    assert finding.rule == "onnx-python-op" and "49 more node(s)" in finding.message


def test_onnxruntime_extensions_ops_are_a_custom_domain_not_python_code():
    # ai.onnx.contrib holds native tokenizer/string ops (and host-registered Python functions):
    # the model brings no code, so it is medium like any custom domain, and says what it is.
    nodes = [helper.make_node("StringRegexReplace", ["X", "P", "R"], ["Y"], domain="ai.onnx.contrib")]
    data = model_bytes(nodes, inputs=[info("X")], opsets=(("", 17), ("ai.onnx.contrib", 1)))
    (finding,) = scan(data)[1]
    assert (finding.rule, finding.severity) == ("onnx-custom-op", Severity.MEDIUM)
    assert "onnxruntime-extensions" in finding.message


def test_unknown_operator_of_the_standard_domain_is_low():
    data = model_bytes([helper.make_node("NotAnOnnxOp", ["X"], ["Y"])], inputs=[info("X")])
    (finding,) = scan(data)[1]
    assert (finding.rule, finding.severity) == ("onnx-custom-op", Severity.LOW)


def test_onnxruntime_and_ml_domains_are_standard():
    nodes = [
        helper.make_node("Scaler", ["X"], ["S"], domain="ai.onnx.ml", scale=[2.0] * 4),
        helper.make_node("Gelu", ["S"], ["G"], domain="com.microsoft"),
        helper.make_node("NchwcMaxPool", ["G"], ["Y"], domain="com.microsoft.nchwc"),
    ]
    assert_clean(
        model_bytes(
            nodes,
            inputs=[info("X")],
            opsets=(("", 17), ("ai.onnx.ml", 3), ("com.microsoft", 1), ("com.microsoft.nchwc", 1)),
        )
    )


# --- tensors ------------------------------------------------------------------------------------

ALL_TYPES = [name for name, _ in TensorProto.DataType.items() if name not in ("UNDEFINED", "STRING")]


@pytest.mark.parametrize("raw", [False, True], ids=["typed", "raw"])
@pytest.mark.parametrize("type_name", ALL_TYPES)
def test_every_well_formed_dtype_is_clean(type_name, raw):
    dtype = TensorProto.DataType.Value(type_name)
    if raw:
        np_dtype = helper.tensor_dtype_to_np_dtype(dtype)
        tensor = numpy_helper.from_array(np.zeros(5, dtype=np_dtype), "W")
        if tensor.data_type != dtype:
            pytest.skip(f"numpy_helper writes {type_name} as another type")
    else:
        values = [0, 1, 0, 1, 1] if type_name != "BOOL" else [True, False, True, False, True]
        tensor = helper.make_tensor("W", dtype, [5], values)
    assert_clean(model_bytes([identity()], initializers=[tensor]))


def test_string_tensor_is_clean():
    assert_clean(
        model_bytes(
            [identity()], initializers=[helper.make_tensor("W", TensorProto.STRING, [2], [b"a", b"bc"])]
        )
    )


def tensor_with(**fields):
    tensor = TensorProto(
        name="W", data_type=fields.pop("data_type", TensorProto.FLOAT), dims=fields.pop("dims", [4])
    )
    for key, value in fields.items():
        if isinstance(value, list):
            getattr(tensor, key).extend(value)
        else:
            setattr(tensor, key, value)
    return tensor


INCONSISTENT = {
    "negative dims": (tensor_with(dims=[-1, 4], raw_data=bytes(16)), "negative dimension"),
    "overflow": (tensor_with(dims=[1 << 40, 1 << 40], raw_data=bytes(4)), "overflow a 64-bit size"),
    "unknown dtype": (tensor_with(data_type=99, raw_data=bytes(16)), "unknown data_type 99"),
    "undefined with data": (tensor_with(data_type=0, raw_data=bytes(16)), "unknown data_type 0"),
    "raw too long": (tensor_with(raw_data=bytes(20)), "raw_data has 20 bytes"),
    "typed count": (tensor_with(float_data=[1.0, 2.0]), "float_data has 2 values"),
    "wrong field": (tensor_with(data_type=TensorProto.INT64, float_data=[1.0] * 4), "cannot hold INT64"),
    "stored twice": (tensor_with(raw_data=bytes(16), float_data=[1.0] * 4), "data stored twice"),
    "no data": (tensor_with(), "no data at all"),
    "raw string": (tensor_with(data_type=TensorProto.STRING, raw_data=b"abcd"), "not allowed for STRING"),
    "int4 count": (tensor_with(data_type=TensorProto.INT4, dims=[5], int32_data=[0] * 5), "need 3"),
}


@pytest.mark.parametrize("case", sorted(INCONSISTENT))
def test_inconsistent_tensors(case):
    tensor, expected = INCONSISTENT[case]
    for data in (
        model_bytes([identity()], initializers=[tensor]),
        model_bytes([if_node(tensor)], initializers=[COND]),  # the same inside a subgraph
    ):
        hits = by_rule(scan(data)[1], "onnx-tensor-inconsistent")
        assert any(expected in f.message and f.severity is Severity.HIGH for f in hits), [
            f.message for f in hits
        ]


def test_inconsistent_sparse_tensor():
    values = numpy_helper.from_array(np.ones(3, dtype=np.float32), "v")
    indices = numpy_helper.from_array(np.array([0, 2], dtype=np.int64), "i")
    data = model_bytes([identity("S")], sparse=[helper.make_sparse_tensor(values, indices, [4])])
    assert any(
        "3 values but indices" in f.message for f in by_rule(scan(data)[1], "onnx-tensor-inconsistent")
    )
    indices = numpy_helper.from_array(np.array([0, 2, 3], dtype=np.int64), "i")
    assert_clean(model_bytes([identity("S")], sparse=[helper.make_sparse_tensor(values, indices, [4])]))


def test_declared_size_over_the_limit_is_medium():
    data = model_bytes([identity()], initializers=[external("W", "w.bin", n=1000)])
    _, findings = scan(data, Limits(max_onnx_tensor_bytes=1000))
    assert [(f.rule, f.severity) for f in findings] == [("onnx-tensor-inconsistent", Severity.MEDIUM)]
    assert scan(data)[1] == []


# --- the skeleton: large payloads are cut out, their sizes still checked -----------------------


def big_tensor(name="W", n=BIG, dtype=np.float32):
    return numpy_helper.from_array(np.arange(n).astype(dtype), name)


def test_large_consistent_tensors_everywhere_are_clean():
    typed = helper.make_tensor("T", TensorProto.FLOAT, [BIG], np.ones(BIG, dtype=np.float32))
    ints = helper.make_tensor("I", TensorProto.INT64, [BIG], np.arange(-BIG // 2, BIG // 2, dtype=np.int64))
    strings = helper.make_tensor(
        "S", TensorProto.STRING, [BIG // 10], [b"token%d" % i for i in range(BIG // 10)]
    )
    function = helper.make_function("local", "F", [], ["Y"], [constant(big_tensor("c"))],
                                    [helper.make_opsetid("", 17)])  # fmt: skip
    nodes = [
        identity(),
        if_node(big_tensor("t"), big_tensor("e")),
        helper.make_node("F", [], ["Z"], domain="local"),
    ]
    data = model_bytes(
        nodes,
        initializers=[big_tensor(), typed, ints, strings],
        opsets=(("", 17), ("local", 1)),
        functions=[function],
    )
    assert len(data) > 1_500_000
    assert_clean(data)


@pytest.mark.parametrize("field_name", ["raw_data", "float_data", "int64_data", "string_data"])
def test_large_inconsistent_tensor_is_caught_after_stripping(field_name):
    if field_name == "raw_data":
        tensor = big_tensor()
    elif field_name == "float_data":
        tensor = helper.make_tensor("W", TensorProto.FLOAT, [BIG], np.ones(BIG, dtype=np.float32))
    elif field_name == "int64_data":
        tensor = helper.make_tensor("W", TensorProto.INT64, [BIG], np.full(BIG, -1, dtype=np.int64))
    else:
        tensor = helper.make_tensor("W", TensorProto.STRING, [BIG // 10], [b"x" * 9] * (BIG // 10))
    tensor.dims[0] += 1
    hits = by_rule(scan(model_bytes([if_node(tensor)], initializers=[COND]))[1], "onnx-tensor-inconsistent")
    assert len(hits) == 1 and field_name in hits[0].message, [f.message for f in hits]


def test_a_file_cannot_forge_the_stripped_sizes():
    tensor = big_tensor()
    tensor.dims[0] = 5  # 20 bytes declared, 400 KB stored
    for key in ("aisbom.payload.0000000000000000", "aisbom.payload"):
        forged = tensor.metadata_props.add()
        forged.key, forged.value = key, json.dumps({"9": [20, 20, 0]})
    hits = by_rule(scan(model_bytes([identity()], initializers=[tensor]))[1], "onnx-tensor-inconsistent")
    assert any("raw_data has 400000 bytes" in f.message for f in hits)


# --- bad input: findings, never tracebacks ------------------------------------------------------


def test_truncated_and_corrupt_models_give_scan_errors():
    model = onnx.ModelProto.FromString(
        model_bytes([identity(), if_node(big_tensor("t"))], initializers=[big_tensor(), COND])
    )
    model.producer_name, model.producer_version = "pytorch", "2.13.0"  # as exporters write them
    data = model.SerializeToString()
    # Cut inside the first two fields, only three bytes look like ONNX: not claimed, no finding.
    fmt, findings = scan(data[:5])
    assert fmt != "onnx" and findings == []
    for cut in (40, len(data) // 3, len(data) // 2, len(data) - 1):
        fmt, findings = scan(data[:cut])
        assert fmt == "onnx"
        assert [f.rule for f in findings] == ["scan-error"], (cut, findings)
        assert "not a valid ONNX model" in findings[0].message
    corrupt = bytearray(data)
    corrupt[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    for f in scan(bytes(corrupt))[1]:
        assert f.rule in ("scan-error", "onnx-tensor-inconsistent"), f


def nested_ifs(depth: int, leaf) -> bytes:
    graph = helper.make_graph([constant(leaf)], "leaf", [], [info("Y")])
    for level in range(depth - 1):
        node = helper.make_node("If", ["cond"], ["Y"], then_branch=graph, else_branch=graph)
        graph = helper.make_graph([node], f"g{level}", [], [info("Y")], [COND])
    return model_bytes(list(graph.node), initializers=[COND])


@pytest.mark.parametrize("leaf", ["small", "large"])
def test_graph_nesting_limit(leaf):
    tensor = floats("c") if leaf == "small" else big_tensor("c")
    assert scan(nested_ifs(5, tensor))[1] == []
    _, findings = scan(nested_ifs(5, tensor), Limits(max_onnx_graph_depth=4))
    assert [(f.rule, evidence(f)["limit"]) for f in findings] == [("scan-limit", "max_onnx_graph_depth")]


def test_node_and_skeleton_limits():
    data = model_bytes([identity()] + [helper.make_node("Relu", ["X"], [f"r{i}"]) for i in range(20)],
                       initializers=[floats("W")], inputs=[info("X")])  # fmt: skip
    _, findings = scan(data, Limits(max_onnx_nodes=10))
    assert [evidence(f)["limit"] for f in findings] == ["max_onnx_nodes"]
    _, findings = scan(data, Limits(max_onnx_skeleton=100))
    assert [evidence(f)["limit"] for f in findings] == ["max_onnx_skeleton"]


# --- memory: a 200 MB initializer is never copied ----------------------------------------------

_MEASURE = """
import resource, sys
from pathlib import Path
import onnx  # imported before the baseline: the memory of its modules is not the scan's
from aisbom.pipeline import scan_target
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = scan_target(Path(sys.argv[1]))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(base * 1024, peak * 1024, len(report.findings), report.files[0].format)
"""


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def write_big_model(path: Path, payload: int) -> None:
    """A ModelProto with one FLOAT initializer of `payload` bytes, streamed to disk by hand."""

    def field(number: int, body: bytes) -> bytes:
        return _varint(number << 3 | 2) + _varint(len(body)) + body

    head = b"\x08" + _varint(payload // 4) + b"\x10\x01" + field(8, b"W")  # dims, data_type, name
    tensor_len = len(head) + 1 + len(_varint(payload)) + payload
    rest = field(1, identity().SerializeToString()) + field(
        12, info("Y", (payload // 4,)).SerializeToString()
    )
    graph_len = 1 + len(_varint(tensor_len)) + tensor_len + len(rest)
    with path.open("wb") as f:
        f.write(b"\x08\x08" + field(8, b"\x10\x11") + b"\x3a" + _varint(graph_len))
        f.write(b"\x2a" + _varint(tensor_len) + head + b"\x4a" + _varint(payload))
        chunk = bytes(1 << 20)
        for _ in range(payload // len(chunk)):
            f.write(chunk)
        f.write(rest)


def test_200mb_initializer_parses_in_a_fraction_of_its_size(tmp_path):
    path = tmp_path / "big.onnx"
    size = 200 << 20
    write_big_model(path, size)
    reference = onnx.load(str(path), load_external_data=False)  # the file is a real model
    assert len(reference.graph.initializer[0].raw_data) == size
    del reference
    result = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    base, peak, findings, fmt = result.stdout.split()
    assert (fmt, findings) == ("onnx", "0")
    grown = int(peak) - int(base)
    assert grown < size // 10, f"peak RSS grew by {grown} bytes scanning a {size}-byte model"
