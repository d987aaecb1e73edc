"""Which pickle globals are trusted (the allowlist decides) and how bad the others are (the
denylist only sharpens the severity and the message; it never makes anything safe)."""

from __future__ import annotations

import bisect
import enum
import functools
from dataclasses import dataclass
from pathlib import Path

from aisbom.policy import Policy
from aisbom.scanners.pickles.allowlist import (
    ALLOWED,
    CALLS_ARGUMENTS,
    CONSTRUCT_ONLY,
    TORCHSCRIPT_ALLOWED,
    TORCHSCRIPT_CLASS_PREFIX,
)


class Use(enum.IntEnum):
    """How a pickle used a global, weakest first."""

    IMPORTED = 1  # fetched (its module was imported) and at most referenced, never called
    CONSTRUCTED = 2  # an instance was created without calling the class (NEWOBJ, copyreg)
    BUILT = 3  # constructed, then BUILD restored its state: the class's __setstate__ ran
    CALLED = 4  # called with arguments, or handed to a function that calls it


# torch.load's pickle loader renames this module before import (torch.serialization).
_TORCH_MODULE_RENAMES = {"torch.tensor": "torch._tensor"}

# Functions that call or construct some of their positional arguments: (module, name) ->
# {position: Use}. The argument then counts as used that way. Extends the allowlist's table.
ARGUMENT_USE: dict[tuple[str, str], dict[int, Use]] = {
    ("copyreg", "_reconstructor"): {0: Use.CONSTRUCTED, 1: Use.CALLED},
    ("copyreg", "__newobj__"): {0: Use.CONSTRUCTED},
    ("copyreg", "__newobj_ex__"): {0: Use.CONSTRUCTED},
}
for _key, _positions in CALLS_ARGUMENTS.items():
    for _position in _positions:
        ARGUMENT_USE.setdefault(_key, {}).setdefault(_position, Use.CALLED)

# Callables that unpickle (or unmarshal, or exec) bytes they are given: their bytes argument
# is scanned as a nested pickle when it is a constant.
NESTED_LOADERS: frozenset[tuple[str, str]] = frozenset(
    {
        ("pickle", "loads"),
        ("_pickle", "loads"),
        ("pickle", "_loads"),
        ("dill", "loads"),
        ("dill._dill", "loads"),
        ("cloudpickle", "loads"),
        ("joblib.numpy_pickle", "load"),
        ("torch.storage", "_load_from_bytes"),
        ("torch.serialization", "load"),
        ("torch", "load"),
        ("numpy.core.numeric", "loads"),
        ("numpy", "loads"),
    }
)

# Classes whose __setstate__ unpickles bytes held in its state (torch's datapipe wrappers keep
# the wrapped datapipe as pickle.dumps() output): BUILD on one runs a nested loader, so the
# bytes in the state are scanned as a nested pickle. The generated table adds what the
# source walk of fixtures/denylist_walk.py finds.
NESTED_SETSTATE: frozenset[tuple[str, str]] = frozenset(
    {
        ("torch.utils.data.datapipes.datapipe", "_DataPipeSerializationWrapper"),
        ("torch.utils.data.datapipes.datapipe", "_IterDataPipeSerializationWrapper"),
        ("torch.utils.data.datapipes.datapipe", "_MapDataPipeSerializationWrapper"),
    }
)

# numpy rebuilds ufuncs by importing a module and fetching a name given as arguments:
# an import-by-name gadget, safe only when the resolved name is itself allowlisted.
IMPORT_BY_NAME: frozenset[tuple[str, str]] = frozenset(
    {("numpy.core", "_ufunc_reconstruct"), ("numpy._core", "_ufunc_reconstruct")}
)

# Trusted only because the scanner resolves their arguments statically: the bytes a nested
# loader gets are scanned, the name an import-by-name function fetches is judged. When the
# arguments are computed at load time the scanner reports a dynamic call instead.
TRUSTED_NESTED_LOADERS: frozenset[tuple[str, str]] = frozenset({("torch.storage", "_load_from_bytes")})
# Wrappers that call what they wrap later: trusted when every wrapped callable (argument 0,
# and element 0 of a BUILD state) is itself allowlisted, which the scanner checks as a call.
# scikit-learn's HistGradientBoosting keeps partial(check_array, ...).
CALLABLE_WRAPPERS: frozenset[tuple[str, str]] = frozenset(
    {("functools", "partial"), ("_functools", "partial")}
)
# getattr(obj, name): what bound methods pickle as. The scanner resolves a constant, plain
# name on a known global or instance to that attribute and judges it; any other getattr is
# reported as the gadget it is.
ATTRIBUTE_GETTERS: frozenset[tuple[str, str]] = frozenset({("builtins", "getattr")})
# Allowlisted callables that return an argument unchanged: numpy.object_(f) is f. What they
# pass through is judged where it ends up.
PASS_THROUGH: frozenset[tuple[str, str]] = frozenset({("numpy", "object_")})
RESOLVED_BY_SCANNER = TRUSTED_NESTED_LOADERS | IMPORT_BY_NAME | CALLABLE_WRAPPERS | ATTRIBUTE_GETTERS

# Pure decoders that benign pickles use to build bytes (and attackers to hide them); the
# scanner evaluates them on constants to find nested pickles.
DECODERS: frozenset[tuple[str, str]] = frozenset(
    {
        ("_codecs", "encode"),
        ("codecs", "encode"),
        ("base64", "b64decode"),
        ("base64", "decodebytes"),
        ("binascii", "a2b_base64"),
        ("binascii", "unhexlify"),
        ("bytes", "fromhex"),
        ("builtins", "bytes.fromhex"),
        ("zlib", "decompress"),
    }
)

# --- the denylist: known code execution, process, file, network and import gadgets ---------

_DANGEROUS_MODULES = frozenset(
    {
        "os",
        "posix",
        "nt",
        "posixpath",
        "ntpath",
        "subprocess",
        "_posixsubprocess",
        "pty",
        "sys",
        "importlib",
        "runpy",
        "pickle",
        "_pickle",
        "cPickle",
        "dill",
        "cloudpickle",
        "marshal",
        "shutil",
        "socket",
        "_socket",
        "ctypes",
        "_ctypes",
        "cffi",
        "code",
        "codeop",
        "pdb",
        "bdb",
        "cProfile",
        "profile",
        "_lsprof",
        "timeit",
        "trace",
        "webbrowser",
        "multiprocessing",
        "asyncio",
        "signal",
        "pydoc",
        "zipimport",
        "pkgutil",
        "sqlite3",
        "_sqlite3",
        "http",
        "urllib",
        "urllib2",
        "requests",
        "httpx",
        "aiohttp",
        "ftplib",
        "smtplib",
        "telnetlib",
        "xmlrpc",
        "io",
        "_io",
        "pathlib",
        "zipfile",
        "tarfile",
        "tempfile",
        "site",
        "sysconfig",
        "distutils",
        "setuptools",
        "pip",
        "venv",
        "ensurepip",
        "idlelib",
        "lib2to3",
        "antigravity",
        "this",
        "turtle",
        "tkinter",
        "_tkinter",
        "_thread",
        "threading",
        "atexit",
        "inspect",
        "types",
        "gc",
        "glob",
        "fileinput",
        "mmap",
        "select",
        "selectors",
        "ssl",
        "dbm",
        "shelve",
        "logging.config",
        "imp",
        "platform",
        "uuid",
        "commands",
        "popen2",
        "spawn",
        "_winapi",
        "winreg",
        "msvcrt",
        "_osx_support",
        "crypt",
    }
)

_DANGEROUS_GLOBALS = frozenset(
    {
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("builtins", "compile"),
        ("builtins", "__import__"),
        ("builtins", "open"),
        ("builtins", "getattr"),
        ("builtins", "setattr"),
        ("builtins", "delattr"),
        ("builtins", "globals"),
        ("builtins", "locals"),
        ("builtins", "vars"),
        ("builtins", "input"),
        ("builtins", "breakpoint"),
        ("builtins", "help"),
        ("builtins", "exit"),
        ("builtins", "quit"),
        ("builtins", "memoryview"),
        ("operator", "attrgetter"),
        ("operator", "methodcaller"),
        ("operator", "itemgetter"),
        ("operator", "call"),
        ("_operator", "attrgetter"),
        ("_operator", "methodcaller"),
        ("_operator", "itemgetter"),
        ("_operator", "call"),
        ("functools", "reduce"),
        ("_functools", "reduce"),
        ("copyreg", "add_extension"),
        ("logging", "FileHandler"),
        ("numpy", "load"),
        ("numpy", "save"),
        ("numpy", "savez"),
        ("numpy", "savez_compressed"),
        ("numpy", "savetxt"),
        ("numpy", "fromfile"),
        ("numpy", "loadtxt"),
        ("numpy", "genfromtxt"),
        ("numpy", "fromregex"),
        ("numpy", "memmap"),
        ("numpy", "tofile"),
        ("numpy.testing._private.utils", "runstring"),
        ("numpy.lib.npyio", "load"),
        ("torch", "load"),
        ("torch", "save"),
        ("torch", "from_file"),
        ("torch.serialization", "load"),
        ("torch.serialization", "save"),
        ("torch.jit", "load"),
        ("torch.hub", "load"),
        ("torch.hub", "load_state_dict_from_url"),
        ("torch.hub", "download_url_to_file"),
        ("torch.utils.cpp_extension", "load"),
        ("torch.utils.cpp_extension", "load_inline"),
        ("torch._inductor.codecache", "compile_file"),
        ("joblib", "load"),
        ("joblib.numpy_pickle", "load"),
        ("pandas", "read_pickle"),
        ("pandas.io.pickle", "read_pickle"),
    }
)

# Subpackages of otherwise benign libraries that read/write files, compile or run code.
_DANGEROUS_PACKAGES = (
    "numpy.testing",
    "numpy.f2py",
    "numpy.distutils",
    "numpy.lib.npyio",
    "numpy.lib._npyio_impl",
    "numpy.ctypeslib",
    "torch.hub",
    "torch.utils.cpp_extension",
    "torch._inductor",
    "torch._dynamo",
    "torch.jit",
    "torch.package",
    "torch.serialization",
    "torch.multiprocessing",
    "torch.distributed",
    "torch.testing",
    "torch.utils.benchmark",
    "torch.compiler",
    "torch.ops",
    "torch.classes",
    "transformers.dynamic_module_utils",
    "huggingface_hub",
    "pandas.io",
)

# Attribute names whose presence in a dotted walk means the walk reaches code execution.
_DANGEROUS_SEGMENTS = frozenset(
    {
        "os",
        "posix",
        "nt",
        "subprocess",
        "sys",
        "system",
        "popen",
        "exec",
        "eval",
        "execfile",
        "compile",
        "__import__",
        "__builtins__",
        "builtins",
        "__globals__",
        "__subclasses__",
        "__getattribute__",
        "__reduce__",
        "__reduce_ex__",
        "getattr",
        "import_module",
        "loads",
        "spawnl",
        "spawnv",
        "execv",
        "execve",
        "execl",
        "fork",
        "check_output",
        "getoutput",
        "run_path",
        "run_module",
        "runstring",
        "_run_code",
        "open",
    }
)


@dataclass(frozen=True)
class Verdict:
    """The policy's answer for one global: allowed, or why not."""

    allowed: bool
    dangerous: bool = False
    reason: str = ""


def normalize(module: str, name: str) -> tuple[str, str]:
    return _TORCH_MODULE_RENAMES.get(module, module), name


def is_allowed(
    module: str,
    name: str,
    *,
    use: Use = Use.CALLED,
    torchscript: bool = False,
    extra: frozenset[tuple[str, str]] = frozenset(),
    resolved: bool = True,
) -> bool:
    """`resolved`: False where the scanner could not resolve the arguments of a
    RESOLVED_BY_SCANNER global (it is handed to another function that calls it)."""
    module, name = normalize(module, name)
    if name in ALLOWED.get(module, ()) or (module, name) in extra:
        return True
    if (module, name) in CONSTRUCT_ONLY and use <= Use.BUILT:
        return True  # benign files only build these; calling them does I/O
    if (module, name) in RESOLVED_BY_SCANNER:
        return resolved
    if torchscript:
        if module == TORCHSCRIPT_CLASS_PREFIX or module.startswith(TORCHSCRIPT_CLASS_PREFIX + "."):
            return True  # TorchScript classes: resolved by the compilation unit, never imported
        return name in TORCHSCRIPT_ALLOWED.get(module, ())
    return False


def judge(
    module: str,
    name: str,
    *,
    use: Use = Use.CALLED,
    torchscript: bool = False,
    extra: frozenset[tuple[str, str]] = frozenset(),
    resolved: bool = True,
) -> Verdict:
    if is_allowed(module, name, use=use, torchscript=torchscript, extra=extra, resolved=resolved):
        return Verdict(allowed=True)
    module, name = normalize(module, name)
    reason = _danger_reason(module, name)
    return Verdict(allowed=False, dangerous=bool(reason), reason=reason)


# What fixtures/denylist_walk.py found in the source of the standard library and the common ML
# packages: (module, name) -> the kinds of sink it reaches. Loaded on first use.
_GENERATED = Path(__file__).with_name("denylist_generated.txt")
_CATEGORIES = {
    "exec": "runs code (exec/eval/compile)",
    "process": "starts processes",
    "native": "loads native code (ctypes)",
    "import": "imports modules by name",
    "network": "opens sockets",
    "file-write": "writes or deletes files",
    "unpickle": "unpickles further bytes",
}


@functools.cache
def _generated_lines() -> list[bytes]:
    """The table's lines, kept as bytes and sorted: reading and splitting 5 MB costs a few
    milliseconds, where parsing every line cost fifty in each process that judged a global. The
    table is sorted by module then category, and a tab sorts below every character of a module
    name, so one module's lines are a run that a binary search finds."""
    lines = _GENERATED.read_bytes().split(b"\n")
    return [line for line in lines if line and not line.startswith(b"#")]


def generated_categories(module: str, name: str) -> frozenset[str]:
    """The kinds of sink fixtures/denylist_walk.py found module.name to reach (empty if none)."""
    lines = _generated_lines()
    key = module.encode() + b"\t"
    needle = b" " + name.encode() + b" "
    found = set()
    at = bisect.bisect_left(lines, key)
    while at < len(lines) and lines[at].startswith(key):
        category, _, names = lines[at][len(key) :].partition(b"\t")
        if needle in b" " + names + b" ":
            found.add(category.decode())
        at += 1
    return frozenset(found)


def setstate_unpickles(module: str, name: str) -> bool:
    """Whether BUILD on an instance of module.name runs a __setstate__ that unpickles its state."""
    return (module, name) in NESTED_SETSTATE or "unpickle" in generated_categories(
        module, f"{name}.__setstate__"
    )


def silencing(verdict: Verdict, module: str, name: str, policy: Policy) -> tuple[str | None, str]:
    """What the user's allow files do to a global the allowlist refused: (the allow file that
    silences its finding, or None; a note for the finding's message). A known gadget is silenced
    only with --allow-dangerous: an allow file must not turn os.system into a clean scan unseen."""
    allowed_by = policy.allowed_by(*normalize(module, name))
    if allowed_by is None:
        return None, ""
    if verdict.dangerous and not policy.allow_dangerous:
        return None, f"; {allowed_by} allows it, but a known gadget is silenced only with --allow-dangerous"
    return allowed_by, ""


def _danger_reason(module: str, name: str) -> str:
    head = name.split(".", 1)[0]
    if (module, name) in _DANGEROUS_GLOBALS or (module, head) in _DANGEROUS_GLOBALS:
        return "known code-execution, file or import gadget"
    reached = generated_categories(module, name) or generated_categories(module, head)
    if reached:
        kinds = ", ".join(_CATEGORIES[c] for c in sorted(reached))
        return f"its source {kinds} (found by walking the source of {module.split('.')[0]})"
    top = module.split(".", 1)[0]
    if any(module == p or module.startswith(p + ".") for p in _DANGEROUS_PACKAGES):
        return f"module {module!r} reads or writes files, compiles or runs code"
    if module in _DANGEROUS_MODULES or top in _DANGEROUS_MODULES:
        return f"module {module!r} runs commands, touches files or the network, or imports code"
    if (module, name) in NESTED_LOADERS:
        return "deserializes further bytes, which can carry their own payload"
    segments = name.split(".")
    if len(segments) > 1 and any(s in _DANGEROUS_SEGMENTS for s in segments):
        return f"dotted name walks attributes to {name!r}"
    if any(s in _DANGEROUS_SEGMENTS for s in module.split(".")[1:]):
        return f"module path reaches {module!r}"
    return ""
