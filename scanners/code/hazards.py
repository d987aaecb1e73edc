"""What a Python module shipped with a model does that model code has no need to, found in its
syntax tree: nothing is imported or run.

Names are resolved as the module resolves them: an import alias (`import subprocess as sp`), a
name imported from a module, a module imported by a literal name, getattr with a literal name and
a subscript of the builtins all lead to the callable they name. Every use is placed where it
runs: at import (module level, class bodies, decorators, defaults), while the model loads (a
constructor, a loader hook, or a function of the module that either calls by name), or only when
something calls it.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from dataclasses import dataclass

# What each kind of hazard does, as a finding says it.
KINDS = {
    "process": "starts a process or a shell",
    "code": "evaluates or loads code",
    "import": "imports a module whose name is computed at run time",
    "native": "loads native code",
    "network": "opens network connections",
    "download": "downloads files",
    "write": "writes or deletes files outside the model",
    "decode-exec": "executes what it decodes",
    "obfuscation": "reaches a callable through a computed name",
}
# Kinds that are critical when they run while the model loads (high otherwise).
CRITICAL_AT_LOAD = frozenset({"process", "code", "import", "native", "network"})
# Kinds that are critical wherever they are (code-obfuscated).
OBFUSCATION = frozenset({"decode-exec", "obfuscation"})

# Whole modules whose every callable is a hazard of that kind.
_MODULES = {
    "subprocess": "process",
    "pty": "process",
    "socket": "network",
    "ssl": "network",
    "http.client": "network",
    "urllib.request": "network",
    "urllib3": "network",
    "requests": "network",
    "httpx": "network",
    "aiohttp": "network",
    "ftplib": "network",
    "smtplib": "network",
    "telnetlib": "network",
    "paramiko": "network",
    "websocket": "network",
    "ctypes": "native",
    "_ctypes": "native",
    "cffi": "native",
    "runpy": "code",
    "code": "code",
}
# Constants of those modules, and exception classes whose names do not say so.
_CONSTANTS = frozenset({"PIPE", "STDOUT", "DEVNULL"})
_CONSTANT_PREFIXES: tuple[str, ...] = ("AF_", "SOCK_", "SOL_", "SO_", "IPPROTO_", "TCP_", "MSG_")
_CONSTANT_PREFIXES += ("SHUT_", "CERT_", "PROTOCOL_")
_EXCEPTIONS = frozenset({"timeout", "error", "gaierror", "herror"})
_EXACT = {
    **{
        f"os.{name}": "process"
        for name in [
            "system",
            "popen",
            "fork",
            "forkpty",
            "startfile",
            "posix_spawn",
            "posix_spawnp",
            "execl",
            "execle",
            "execlp",
            "execlpe",
            "execv",
            "execve",
            "execvp",
            "execvpe",
            "spawnl",
            "spawnle",
            "spawnlp",
            "spawnlpe",
            "spawnv",
            "spawnve",
            "spawnvp",
            "spawnvpe",
        ]
    },
    "platform.popen": "process",
    "commands.getoutput": "process",
    "commands.getstatusoutput": "process",
    "asyncio.create_subprocess_exec": "process",
    "asyncio.create_subprocess_shell": "process",
    "builtins.eval": "code",
    "builtins.exec": "code",
    "builtins.compile": "code",
    "builtins.execfile": "code",
    "builtins.breakpoint": "code",
    "types.FunctionType": "code",
    "types.CodeType": "code",
    "marshal.loads": "code",
    "marshal.load": "code",
    "importlib.util.spec_from_file_location": "code",
    "importlib.util.module_from_spec": "code",
    "importlib.machinery.SourceFileLoader": "code",
    "importlib.machinery.SourcelessFileLoader": "code",
    "importlib.machinery.ExtensionFileLoader": "native",
    "imp.load_source": "code",
    "imp.load_module": "code",
    "imp.load_compiled": "code",
    "imp.load_dynamic": "native",
    "zipimport.zipimporter": "code",
    "torch.hub.load": "code",  # fetches a GitHub repository and runs its hubconf.py
    "torch.ops.load_library": "native",
    "torch.classes.load_library": "native",
    "torch.utils.cpp_extension.load": "native",
    "torch.utils.cpp_extension.load_inline": "native",
    "torch.hub.download_url_to_file": "download",
    "torch.hub.load_state_dict_from_url": "download",
    "torch.utils.model_zoo.load_url": "download",
    "huggingface_hub.hf_hub_download": "download",
    "huggingface_hub.snapshot_download": "download",
    "huggingface_hub.file_download.hf_hub_download": "download",
    "huggingface_hub._snapshot_download.snapshot_download": "download",
    "wget.download": "download",
    "urllib.request.urlretrieve": "download",
}
# Imports by a name given at run time: a hazard only when the name is not a literal.
_IMPORTERS = frozenset({"builtins.__import__", "importlib.import_module", "importlib.__import__"})
# Functions whose result, executed, is decoded code.
_DECODERS = frozenset(
    {
        *(
            f"base64.{n}"
            for n in [
                "b64decode",
                "b32decode",
                "b16decode",
                "a85decode",
                "b85decode",
                "decodebytes",
                "decodestring",
                "standard_b64decode",
                "urlsafe_b64decode",
                "b32hexdecode",
            ]
        ),
        *(f"binascii.{n}" for n in ["a2b_base64", "a2b_hex", "unhexlify", "a2b_uu", "a2b_qp"]),
        "codecs.decode",
        "zlib.decompress",
        "gzip.decompress",
        "bz2.decompress",
        "lzma.decompress",
        "marshal.loads",
        "builtins.chr",
        "bytes.fromhex",
        "bytearray.fromhex",
    }
)
# Methods that decode whatever they are called on.
_DECODER_METHODS = frozenset({"fromhex", "decompress", "b64decode", "unhexlify"})
# Modules whose attributes reached by a computed name hide what is called.
_SENSITIVE_MODULES = frozenset(
    {
        "builtins",
        "os",
        "sys",
        "subprocess",
        "socket",
        "ctypes",
        "importlib",
        "shutil",
        "pty",
        "marshal",
        "pickle",
        "runpy",
        "posix",
        "nt",
        "codecs",
        "types",
        "urllib.request",
        "requests",
        "http.client",
    }
)
_OPENERS = frozenset({"builtins.open", "io.open", "codecs.open", "os.open", "os.fdopen"})
_PATH_WRITERS = frozenset(
    {
        "os.remove",
        "os.unlink",
        "os.rmdir",
        "os.removedirs",
        "os.rename",
        "os.replace",
        "os.chmod",
        "os.chown",
        "os.symlink",
        "os.link",
        "os.makedirs",
        "os.mkdir",
        "shutil.rmtree",
        "shutil.move",
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.copytree",
        "os.truncate",
    }
)
_PATH_METHODS = frozenset({"write_text", "write_bytes", "touch", "unlink", "rmdir", "mkdir", "symlink_to"})
# Names of methods a loader calls while loading: constructors, TorchServe's and Inference
# Endpoints' initialize, MLflow's load_context, pickling hooks.
LOAD_METHODS = frozenset(
    {
        "__init__",
        "__new__",
        "__post_init__",
        "__init_subclass__",
        "__set_name__",
        "__setstate__",
        "__class_getitem__",
        "initialize",
        "load_context",
    }
)
_BUILTIN_NAMES = frozenset(dir(builtins))
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class Hazard:
    line: int
    name: str  # what is called or referred to, resolved: "os.system", "builtins.exec"
    kind: str  # a key of KINDS
    when: str  # "import", "load" or "call"
    scope: str  # "module", "EvilModel.__init__"


def find_hazards(tree: ast.Module) -> list[Hazard]:
    """Every hazard of the module, in source order."""
    names = _Names(tree)
    reached = _reached_while_loading(tree)
    found: dict[tuple[int, str, str], Hazard] = {}
    for node, parent, when, scope in _placed(tree, reached):
        for name, kind in names.hazards(node, parent):
            line = getattr(node, "lineno", 0)
            key = (line, name, kind)
            if key not in found:
                found[key] = Hazard(line, name, kind, when, scope)
    return sorted(found.values(), key=lambda h: (h.line, h.name))


class _Names:
    """The module's names resolved to what they are bound to, flow-insensitively: an alias bound
    anywhere in the module counts everywhere (shipped code is not trusted to keep scopes apart)."""

    def __init__(self, tree: ast.Module) -> None:
        self.aliases: dict[str, str] = {}
        self.star: list[str] = []
        self.defined: set[str] = set()  # module-level names that shadow builtins
        assignments: list[tuple[str, ast.expr]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        top = a.name.split(".", 1)[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    if a.name == "*":
                        self.star.append(node.module)
                    else:
                        self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                assignments += [(t.id, node.value) for t in targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.NamedExpr):
                assignments.append((node.target.id, node.value))
        for statement in tree.body:
            if isinstance(statement, (*_FUNCTIONS, ast.ClassDef)):
                self.defined.add(statement.name)
        self.values: dict[str, list[ast.expr]] = {}
        for target, value in assignments:
            self.values.setdefault(target, []).append(value)
        for _ in range(3):  # aliases of aliases: `run = os.system; go = run`
            for target, value in assignments:
                resolved = self.qualified(value)
                if resolved and target not in self.aliases:
                    self.aliases[target] = resolved
        self.decoded = self._decoded_names()

    def qualified(self, node: ast.AST) -> str | None:
        """The dotted name an expression refers to, or None when it is not a known name."""
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.Attribute):
            if node.attr == "__dict__":
                return self.qualified(node.value)
            base = self.qualified(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Subscript):  # __builtins__["exec"], globals()["os"], vars(os)["system"]
            key = _literal(node.slice)
            if key is None:
                return None
            if isinstance(node.value, ast.Call) and self.qualified(node.value.func) == "builtins.globals":
                return self._name(key)
            base = self._container(node.value)
            return f"{base}.{key}" if base else None
        if isinstance(node, ast.Call):
            callee = self.qualified(node.func)
            first = _literal(node.args[0]) if node.args else None
            if callee in _IMPORTERS and first:
                return first
            if callee == "builtins.getattr" and len(node.args) >= 2:
                attr = _literal(node.args[1])
                base = self.qualified(node.args[0])
                return f"{base}.{attr}" if base and attr else None
        return None

    def _container(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Call) and self.qualified(node.func) == "builtins.vars" and node.args:
            return self.qualified(node.args[0])
        return self.qualified(node)

    def _name(self, name: str) -> str | None:
        if name in self.aliases:
            return self.aliases[name]
        if name in ("__builtins__", "builtins"):
            return "builtins"
        for module in self.star:
            if _kind(f"{module}.{name}"):
                return f"{module}.{name}"
        if name in _BUILTIN_NAMES and name not in self.defined:
            return f"builtins.{name}"
        return None

    def _decoded_names(self) -> set[str]:
        """Variables that hold something a decoder produced (`payload = b64decode(...)`)."""
        decoded: set[str] = set()
        for _ in range(4):
            for target, values in self.values.items():
                if target not in decoded and any(self._decodes(v, decoded) for v in values):
                    decoded.add(target)
        return decoded

    def _decodes(self, node: ast.AST, decoded: set[str]) -> bool:
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and inner.id in decoded:
                return True
            if isinstance(inner, ast.Call):
                if self.qualified(inner.func) in _DECODERS:
                    return True
                if isinstance(inner.func, ast.Attribute) and inner.func.attr in _DECODER_METHODS:
                    return True
        return False

    def hazards(self, node: ast.AST, parent: ast.AST | None) -> Iterator[tuple[str, str]]:
        """(name, kind) of each hazard `node` itself is."""
        if isinstance(node, ast.Call):
            yield from self._call_hazards(node)
        if not isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
            return
        if isinstance(parent, ast.Attribute | ast.Subscript) and parent.value is node:
            return  # part of a longer name, judged whole
        name = self.qualified(node)
        kind = _kind(name) if name else None
        if name is None or kind is None:
            return
        called = isinstance(parent, ast.Call) and parent.func is node
        if not called and name not in _EXACT and _is_data(name):
            return  # subprocess.PIPE, socket.AF_INET, except subprocess.CalledProcessError: runs nothing
        if called and kind in ("code", "process") and self._runs_decoded(parent):
            kind = "decode-exec"
        yield name, kind

    def _call_hazards(self, call: ast.Call) -> Iterator[tuple[str, str]]:
        callee = self.qualified(call.func)
        args = call.args
        if callee in _IMPORTERS and args and _literal(args[0]) is None:
            computed = any(self._decodes(a, self.decoded) for a in args)
            yield callee, "obfuscation" if computed else "import"
        elif callee == "builtins.getattr" and len(args) >= 2 and _literal(args[1]) is None:
            target = self.qualified(args[0])
            if target in _SENSITIVE_MODULES:
                yield f"getattr({target}, ...)", "obfuscation"
            elif target is None and self._computed_module(args[0]):
                # A name spelled in pieces hides what is called; one from a variable is a dynamic import.
                hidden = _assembled_from_literals(args[1])
                yield "getattr(a computed module, ...)", "obfuscation" if hidden else "import"
        elif self._writes_outside(callee, call):
            yield str(callee), "write"
        elif (
            isinstance(call.func, ast.Attribute)
            and call.func.attr in _PATH_METHODS
            and _outside(call.func.value, self)
        ):
            yield f"Path.{call.func.attr}", "write"

    def _runs_decoded(self, call: ast.AST | None) -> bool:
        return isinstance(call, ast.Call) and any(self._decodes(a, self.decoded) for a in _arguments(call))

    def _writes_outside(self, callee: str | None, call: ast.Call) -> bool:
        if callee in _OPENERS:
            return _opens_for_writing(call) and bool(call.args) and _outside(call.args[0], self)
        return callee in _PATH_WRITERS and any(_outside(a, self) for a in call.args)

    def _computed_module(self, node: ast.expr) -> bool:
        """Whether `node` is a module imported by a computed name, directly or through a variable."""
        values = self.values.get(node.id, []) if isinstance(node, ast.Name) else [node]
        return any(isinstance(v, ast.Call) and self.qualified(v.func) in _IMPORTERS for v in values)


def _assembled_from_literals(node: ast.expr) -> bool:
    """Whether a string is built only from literals ("sys" + "tem", "".join([...]), chr codes)."""
    names = [n for n in ast.walk(node) if isinstance(n, ast.Name)]
    return any(isinstance(n, ast.Constant) for n in ast.walk(node)) and all(
        n.id in ("chr", "str") for n in names
    )


def _is_data(name: str) -> bool:
    """A whole module's member that is a constant (PIPE, AF_INET, CERT_NONE) or an exception
    class (CalledProcessError, socket.timeout): referring to one runs nothing. Called, it is
    judged like every member. (Not every capitalised name: ctypes.CDLL and cffi.FFI load code.)"""
    last = name.rsplit(".", 1)[-1]
    return (
        last in _CONSTANTS
        or last.startswith(_CONSTANT_PREFIXES)
        or last.endswith(("Error", "Exception", "Expired"))
        or last in _EXCEPTIONS
    )


def _kind(name: str) -> str | None:
    if name in _EXACT:
        return _EXACT[name]
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        kind = _MODULES.get(".".join(parts[:end]))
        if kind:
            return kind
    return None


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _arguments(call: ast.Call) -> list[ast.expr]:
    return [*call.args, *(k.value for k in call.keywords)]


def _opens_for_writing(call: ast.Call) -> bool:
    mode = (
        call.args[1]
        if len(call.args) > 1
        else next((k.value for k in call.keywords if k.arg in ("mode", "flags")), None)
    )
    if mode is None:
        return False
    text = _literal(mode)
    if text is not None:
        return any(c in text for c in "wax+")
    return True  # os.open flags (O_WRONLY | O_CREAT) or a computed mode


_INSIDE_ANYWAY = ("/dev/null", "/dev/stdout", "/dev/stderr")


def _outside(node: ast.AST, names: _Names) -> bool:
    """Whether a path expression leads outside the model: an absolute or home path, '..', the
    home directory or the temporary directory, written as literals the code itself holds."""
    for inner in ast.walk(node):
        text = _literal(inner)
        if text is not None:
            if text in _INSIDE_ANYWAY:
                continue
            if (
                text.startswith(("/", "~", "\\"))
                or text[1:3] in (":\\", ":/")
                or ".." in text.replace("\\", "/").split("/")
            ):
                return True
        if isinstance(inner, ast.Call) and names.qualified(inner.func) in (
            "os.path.expanduser",
            "pathlib.Path.home",
            "tempfile.gettempdir",
            "os.getenv",
            "os.environ.get",
        ):
            return True
    return False


MAIN_BLOCK = "the __main__ block"


def _placed(tree: ast.Module, reached: set[str]) -> Iterator[tuple[ast.AST, ast.AST | None, str, str]]:
    """Every node with its parent, when it runs and its scope, without recursion (shipped code
    can nest deeper than Python's stack)."""
    stack: list[tuple[ast.AST, ast.AST | None, str, str]] = [(tree, None, "import", "module")]
    guard_holds = _main_guard_holds(tree)
    while stack:
        node, parent, when, scope = stack.pop()
        yield node, parent, when, scope
        if guard_holds and scope == "module" and isinstance(node, ast.If) and _is_main_guard(node.test):
            # `if __name__ == "__main__":` runs only when the file is run as a script, never when
            # a loader imports it; its else branch does run on import.
            stack += [(child, node, when, scope) for child in reversed([node.test, *node.orelse])]
            stack += [(child, node, "call", MAIN_BLOCK) for child in reversed(node.body)]
        elif isinstance(node, _FUNCTIONS):
            inner_scope = node.name if scope == "module" else f"{scope}.{node.name}"
            inner_when = "load" if node.name in LOAD_METHODS or node.name in reached else "call"
            outer = [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            stack += [(child, node, when, scope) for child in reversed(outer)]
            stack += [(child, node, inner_when, inner_scope) for child in reversed(node.body)]
        elif isinstance(node, ast.ClassDef):
            inner_scope = node.name if scope == "module" else f"{scope}.{node.name}"
            outer = [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
            stack += [(child, node, when, scope) for child in reversed(outer)]
            stack += [(child, node, when, inner_scope) for child in reversed(node.body)]
        else:
            stack += [(child, node, when, scope) for child in reversed(list(ast.iter_child_nodes(node)))]


def _is_main_guard(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = {ast.dump(test.left), ast.dump(test.comparators[0])}
    return sides == {ast.dump(ast.Name("__name__", ast.Load())), ast.dump(ast.Constant("__main__"))}


_RENAMERS = frozenset({"globals", "vars", "locals", "setattr", "exec", "eval", "compile", "__import__"})


def _main_guard_holds(tree: ast.Module) -> bool:
    """Whether `__name__` is surely the module's name at import: nothing binds it, names it as a
    string ("__name__" as a key of globals()) or reaches the module's namespace by other means.
    Otherwise a module could set `__name__ = "__main__"` and run its guarded block on import."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and (
            (node.id == "__name__" and not isinstance(node.ctx, ast.Load)) or node.id in _RENAMERS
        ):
            return False
        if isinstance(node, ast.Attribute) and node.attr == "__name__" and not isinstance(node.ctx, ast.Load):
            return False  # module.__name__ = "__main__" (reading a class's __name__ is common)
        if isinstance(node, ast.keyword) and node.arg == "__name__":
            return False  # vars(module).update(__name__="__main__")
        if isinstance(node, ast.Constant) and node.value == "__name__":
            return False
        if isinstance(node, (ast.Global, ast.Nonlocal)) and "__name__" in node.names:
            return False
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(a.asname == "__name__" for a in node.names):
            return False
    return True


def _reached_while_loading(tree: ast.Module) -> set[str]:
    """Names of the module's functions that run while it is imported or its classes constructed:
    called by name (`helper()`, `self.helper()`) from module level, a class body, a loader
    method, or a function already reached."""
    calls: dict[str, set[str]] = {}
    roots: set[str] = set()
    for node, _parent, when, scope in _placed(tree, set()):
        if not isinstance(node, ast.Call):
            continue
        callee = (
            node.func.id
            if isinstance(node.func, ast.Name)
            else (node.func.attr if isinstance(node.func, ast.Attribute) else None)
        )
        if callee is None:
            continue
        function = scope.rsplit(".", 1)[-1]
        if when == "import" or function in LOAD_METHODS:
            roots.add(callee)
        else:
            calls.setdefault(function, set()).add(callee)
    reached: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo += calls.get(name, ())
    return reached
