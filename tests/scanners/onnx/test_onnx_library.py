"""An ONNX scan loads onnx's protobuf classes and operator registry, not the onnx package:
`import onnx` pulls in numpy and ml_dtypes (1.3 s of CPU with ml_dtypes 0.7). Each case runs
in a fresh interpreter, as the imports of this one are the question, and checks that the
library user's own `import onnx` in the same process, before or after a scan, is whole.

Each runs with the onnx installed here and again with the oldest onnx aisbom supports, from
the Python that AISBOM_OLDEST_ONNX_PYTHON names (.ci/run makes it: a virtual environment that
sees everything installed here but has onnx 1.16). Their extensions are built differently
(nanobind today, pybind11 up to 1.19), and CPython puts a pybind11 one in sys.modules as it
loads it, which once left `onnx.onnx_cpp2py_export` unbound on the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
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


_OLDEST = "AISBOM_OLDEST_ONNX_PYTHON"


@dataclass(frozen=True)
class Interpreter:
    """A Python to run the cases with, and the version of the onnx it imports."""

    executable: str
    onnx_version: str

    def run(self, code: str, *args: str) -> dict:
        result = subprocess.run(
            [self.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.splitlines()[-1])

    def assert_expected(self, findings: list) -> None:
        """The model's two findings, the second naming the onnx whose registry was asked."""
        assert [rule for rule, _ in findings] == ["onnx-custom-op", "onnx-custom-op"], findings
        assert "custom operator domain 'my.domain' (Op)" in findings[0][1]
        standard = "which is not in the standard domain 'ai.onnx'"
        unknown = f"'Frobnicate', {standard} as known to onnx {self.onnx_version}"
        assert unknown in findings[1][1]


@pytest.fixture(scope="module", params=["installed", "oldest supported"])
def python(request) -> Interpreter:
    if request.param == "installed":
        return Interpreter(sys.executable, onnx.__version__)
    executable = os.environ.get(_OLDEST)
    if not executable:
        pytest.skip(f"{_OLDEST} names no Python with the oldest onnx aisbom supports (.ci/run makes one)")
    asked = "import importlib.metadata as m, onnx, aisbom; print(m.version('onnx'))"
    found = subprocess.run([executable, "-c", asked], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, f"{_OLDEST}={executable}: {found.stderr}"
    version = found.stdout.strip()
    assert version != onnx.__version__, f"{executable} has the same onnx as this Python ({version})"
    return Interpreter(executable, version)


def test_a_scan_imports_neither_the_onnx_package_nor_ml_dtypes(model, python):
    out = python.run(
        _SCAN
        + """
findings = scan(sys.argv[1])
print(json.dumps({"findings": findings, "imported": sorted(set(sys.modules) & set(sys.argv[2:]))}))
""",
        str(model),
        *_NOT_IMPORTED,
        # Loaded, not imported: held for onnx's import, out of sys.modules till then.
        "onnx.onnx_ml_pb2",
        "onnx.onnx_cpp2py_export",
    )
    assert out["imported"] == []
    python.assert_expected(out["findings"])


def test_onnx_imported_after_a_scan_is_whole_and_shares_its_modules(model, python):
    out = python.run(
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
    python.assert_expected(out["findings"])


def test_a_scan_after_onnx_is_imported_uses_onnx_s_own_modules(model, python):
    out = python.run(
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
    python.assert_expected(out["findings"])


@pytest.mark.parametrize("first", ["scan", "import"])
def test_a_thread_importing_onnx_during_the_first_scan_gets_the_same_extension(model, python, first):
    """The extension initialises once per process (nanobind aborts on a second time): an
    `import onnx` racing the scanner's load waits for it, or the scanner waits for onnx."""
    out = python.run(
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
    python.assert_expected(out["findings"])
