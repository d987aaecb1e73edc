"""An ONNX scan loads onnx's protobuf classes and operator registry, not the onnx package:
`import onnx` pulls in numpy and ml_dtypes (1.3 s of CPU with ml_dtypes 0.7). Each case runs
in a fresh interpreter, as the imports of this one are the question, and checks that the
library user's own `import onnx` in the same process, before or after a scan, is whole."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
from onnx import helper  # noqa: E402

# What the package's __init__ imports and a scan must not: the cost, and the package itself.
_NOT_IMPORTED = ("onnx", "onnx.helper", "onnx.compose", "onnx.numpy_helper", "ml_dtypes", "numpy")
_SCAN = """
import json, sys
from pathlib import Path
from aisbom.pipeline import scan_target
def scan(path):
    return sorted((f.rule, f.message) for f in scan_target(Path(path)).findings)
"""

_USE_ONNX = """
import onnx
from onnx import helper
made = helper.make_model(helper.make_graph(
    [helper.make_node("Relu", ["X"], ["Y"])], "g",
    [helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, [1])],
    [helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, [1])]))
onnx.checker.check_model(made)
loaded = onnx.load_model_from_string(made.SerializeToString())
whole = [
    loaded == made,
    onnx.onnx_ml_pb2.ModelProto is onnx.ModelProto,
    onnx.onnx_cpp2py_export.checker.ValidationError.__name__ == "ValidationError",
    onnx.defs.has("Relu"),
]
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A small model (scanned in this process, not a worker) that takes every path through
    onnx's classes and registry: a standard op, an op the registry lacks, a custom domain."""
    nodes = [
        helper.make_node("Relu", ["X"], ["a"]),
        helper.make_node("Frobnicate", ["a"], ["b"]),
        helper.make_node("Op", ["b"], ["Y"], domain="my.domain"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("X", 1, [1])], [helper.make_tensor_value_info("Y", 1, [1])]
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("my.domain", 1)]
    path = tmp_path_factory.mktemp("onnx") / "small.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=opsets).SerializeToString())
    return path


def run(code: str, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def assert_expected(findings: list) -> None:
    """The model's two findings, the second naming the onnx whose registry was asked."""
    assert [rule for rule, _ in findings] == ["onnx-custom-op", "onnx-custom-op"], findings
    assert "custom operator domain 'my.domain' (Op)" in findings[0][1]
    unknown = (
        f"'Frobnicate', which is not in the standard domain 'ai.onnx' as known to onnx {onnx.__version__}"
    )
    assert unknown in findings[1][1]


def test_a_scan_imports_neither_the_onnx_package_nor_ml_dtypes(model):
    out = run(
        _SCAN
        + """
findings = scan(sys.argv[1])
print(json.dumps({"findings": findings, "imported": sorted(set(sys.modules) & set(sys.argv[2:]))}))
""",
        str(model),
        *_NOT_IMPORTED,
    )
    assert out["imported"] == []
    assert_expected(out["findings"])


def test_onnx_imported_after_a_scan_is_whole_and_shares_its_modules(model):
    out = run(
        _SCAN
        + "findings = scan(sys.argv[1])\n"
        + _USE_ONNX
        + """
from aisbom.scanners.onnx.library import onnx_library
library = onnx_library()
shared = [library.proto is onnx.onnx_ml_pb2, library.native is onnx.onnx_cpp2py_export,
          onnx.onnx_cpp2py_export.__spec__.origin.startswith(onnx.__path__[0])]
left = [type(f).__name__ for f in sys.meta_path if type(f).__module__.startswith("aisbom")]
print(json.dumps({"findings": findings, "whole": whole, "shared": shared, "left": left}))
""",
        str(model),
    )
    assert out["whole"] == [True] * 4
    assert out["shared"] == [True] * 3
    assert out["left"] == []  # the hand-over finder is gone once onnx took its modules
    assert_expected(out["findings"])


def test_a_scan_after_onnx_is_imported_uses_onnx_s_own_modules(model):
    out = run(
        _USE_ONNX
        + _SCAN
        + """
findings = scan(sys.argv[1])
from aisbom.scanners.onnx.library import onnx_library
library = onnx_library()
shared = [library.proto.ModelProto is onnx.ModelProto, library.native is onnx.onnx_cpp2py_export]
left = [type(f).__name__ for f in sys.meta_path if type(f).__module__.startswith("aisbom")]
print(json.dumps({"findings": findings, "whole": whole, "shared": shared, "left": left}))
""",
        str(model),
    )
    assert out["whole"] == [True] * 4
    assert out["shared"] == [True] * 2
    assert out["left"] == []
    assert_expected(out["findings"])


@pytest.mark.parametrize("first", ["scan", "import"])
def test_a_thread_importing_onnx_during_the_first_scan_gets_the_same_extension(model, first):
    """The extension initialises once per process (nanobind aborts on a second time): an
    `import onnx` racing the scanner's load waits for it, or the scanner waits for onnx."""
    out = run(
        _SCAN
        + """
import threading
done = {}
def user():
    exec(sys.argv[3], done)
def scanner():
    done["findings"] = scan(sys.argv[1])
order = [scanner, user] if sys.argv[2] == "scan" else [user, scanner]
threads = [threading.Thread(target=f) for f in order]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
import onnx
from aisbom.scanners.onnx.library import onnx_library
print(json.dumps({"findings": done["findings"], "whole": done["whole"],
                  "same": onnx_library().native is onnx.onnx_cpp2py_export}))
""",
        str(model),
        first,
        textwrap.dedent(_USE_ONNX),
    )
    assert out["whole"] == [True] * 4
    assert out["same"] is True
    assert_expected(out["findings"])
