"""The two parts of the `onnx` package that a scan uses, loaded without onnx/__init__.py.

A scan needs onnx's generated protobuf classes (`onnx.onnx_ml_pb2`, the second reading of the
model) and its C++ operator-schema registry (`onnx.onnx_cpp2py_export`, which `onnx.defs.has`
calls). Neither imports the package. `import onnx` does far more: its __init__ imports helper,
compose and numpy_helper, and through them numpy and ml_dtypes, 1.3 s of CPU with onnx 1.23,
numpy 2.4 and ml_dtypes 0.7 (what pip installs today), nearly all of it ml_dtypes 0.7's
extension registering ~38,000 ufunc promoters, each after a linear scan of the ufunc's loop
list (numpy's PyUFunc_AddLoop). So the two modules are loaded here from onnx's directory.

Once onnx is imported, its own modules are used. Before that, what is loaded here must become
onnx's own when a user of this process imports onnx later:
- the extension initialises once per process (onnx 1.23's nanobind aborts the process on a
  second time), so onnx's import must receive this very module;
- a module already in sys.modules when its package is imported is reused but never bound as an
  attribute of the package (user code reads `onnx.onnx_cpp2py_export.checker.ValidationError`).
So the modules stay out of sys.modules, and a finder hands them to onnx's import when it asks
for them: the import system stores them and binds them on the package as for any module it
loads. If onnx's files are not laid out as expected, onnx is imported the ordinary way.
"""

from __future__ import annotations

import contextlib
import importlib._bootstrap
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import ModuleType

_PROTO = "onnx.onnx_ml_pb2"  # what onnx.onnx_pb re-exports in the builds PyPI ships
_NATIVE = "onnx.onnx_cpp2py_export"


@dataclass(frozen=True)
class OnnxLibrary:
    proto: ModuleType  # ModelProto, TensorProto ...
    native: ModuleType  # native.defs.has_schema is onnx.defs.has

    def has_schema(self, op_type: str, domain: str) -> bool:
        return bool(self.native.defs.has_schema(op_type, domain))

    @property
    def version(self) -> str:
        """onnx.__version__, found as onnx finds it (only a finding's message needs it)."""
        import importlib.metadata

        for name in ("onnx", "onnx-weekly"):
            try:
                return importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                continue
        return "unknown"


def onnx_library() -> OnnxLibrary:
    with _lock:
        if not _loaded:
            _loaded.append(_load())
        return _loaded[0]


_lock = threading.Lock()  # one load per process, also when threads scan ONNX files at once
_loaded: list[OnnxLibrary] = []


def _load() -> OnnxLibrary:
    found = None if "onnx" in sys.modules else _find_parts()
    if found is not None:
        with _import_lock(_NATIVE):
            if "onnx" not in sys.modules:  # nor is it being imported: its import would wait here
                proto, native = (_execute(spec) for spec in found)
                # An extension with single-phase init (pybind11: onnx 1.16 to 1.19) is put in
                # sys.modules by CPython as it loads; `import onnx` would then reuse it without
                # binding it on the package. Taken out, it is handed over like the other.
                if sys.modules.get(_NATIVE) is native:
                    del sys.modules[_NATIVE]
                sys.meta_path.insert(0, _HandOver([proto, native]))
                return OnnxLibrary(proto, native)
    # onnx is imported already (or being imported), or laid out in a way this module does not know.
    from onnx import onnx_cpp2py_export, onnx_pb

    return OnnxLibrary(onnx_pb, onnx_cpp2py_export)


def _import_lock(name: str) -> AbstractContextManager[object]:
    """The lock the import system holds while it loads `name`. An `import onnx` in another
    thread waits for it at the extension (and then finds the finder), or it is seen to have
    started: the extension is never initialised twice."""
    lock = getattr(importlib._bootstrap, "_ModuleLockManager", None)  # in CPython 3.10 to 3.13 (checked)
    return lock(name) if lock is not None else contextlib.nullcontext()


def _find_parts() -> list[importlib.machinery.ModuleSpec] | None:
    package = importlib.util.find_spec("onnx")  # finds the package without running it
    places = package.submodule_search_locations if package is not None else None
    if places is None:
        return None
    found = [importlib.machinery.PathFinder.find_spec(name, list(places)) for name in (_PROTO, _NATIVE)]
    if any(spec is None or spec.loader is None for spec in found):
        return None
    return [spec for spec in found if spec is not None]


def _execute(spec: importlib.machinery.ModuleSpec) -> ModuleType:
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


class _HandOver(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Gives onnx's import the modules loaded above instead of loading them a second time."""

    def __init__(self, modules: Sequence[ModuleType]) -> None:
        self._modules = {m.__name__: m for m in modules}
        # The import system gives each the spec of this finder: their own are put back.
        self._specs = {m.__name__: m.__spec__ for m in modules if m.__spec__ is not None}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        # Never waits here: CPython 3.11 asks finders while it holds the global import lock.
        module = self._modules.get(fullname)
        if module is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, origin=module.__file__)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self._modules.pop(spec.name)

    def exec_module(self, module: ModuleType) -> None:
        # Executed already. The finder leaves once it has nothing left to give.
        module.__spec__ = self._specs.pop(module.__name__, module.__spec__)
        if not self._modules and self in sys.meta_path:
            sys.meta_path.remove(self)
