"""Jinja chat templates: parse to a syntax tree, fold obfuscated names, flag sandbox escapes.

A chat template is code. Loaders that render it with a plain `jinja2.Environment`
(llama-cpp-python before the CVE-2024-34359 fix, and any server that copied it) let it walk
Python attributes: `cycler.__init__.__globals__.os.popen(...)`. The sandbox stops such walks;
we never render, we read the tree jinja2's own parser builds (parsing runs nothing) and
evaluate it abstractly: strings are folded where they are constant (`'__glo' ~ 'bals__'`,
`"%c"|format(95)*2`, `|join`, `|reverse`, `[::-1]`, set variables, namespace attributes, loop
lists, macro arguments), everything else is an opaque value that remembers the attribute
path it came from.

Benign templates read `messages`, `message['role']`, `loop.index0`, `tools|tojson`,
`namespace(...)` holders and string methods; none of them ever touches a dunder, a private
attribute or an attribute whose name is computed, which is what gets flagged.
"""

from __future__ import annotations

import itertools
import re
import string
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import cast

from aisbom.scanners.frame.context import ScanContext
from aisbom.severity import Severity

# Attribute names that only sandbox escapes use (frames, code, function globals, the
# template's own context). Every `__dunder__` is treated the same way.
_ESCAPE_ATTRIBUTES = frozenset({
    "func_globals", "func_code", "_TemplateReference__context", "mro", "gi_frame", "gi_code",
    "cr_frame", "cr_code", "ag_frame", "ag_code", "f_globals", "f_locals", "f_builtins", "f_back",
    "f_code", "tb_frame", "tb_next", "co_code", "co_consts", "im_func", "im_self",
})  # fmt: skip
# Names that only matter as the end of an escape: modules and process/code functions.
_MODULE_LIKE = frozenset({
    "os", "popen", "system", "subprocess", "eval", "exec", "open", "import_module", "sys",
    "modules", "builtins", "spawn", "spawnv", "execv", "execve", "posix", "nt", "check_output",
    "getoutput", "Popen", "load_module", "importlib", "compile", "getattr", "setattr",
})  # fmt: skip
# Jinja's default globals and the ones web frameworks add: walking their attributes is
# how templates reach Python. Calling them (`namespace(x=1)`, `range(3)`) is normal.
_ESCAPE_GLOBALS = frozenset({
    "cycler", "joiner", "namespace", "lipsum", "range", "dict", "self", "config", "request",
    "session", "g", "url_for", "get_flashed_messages",
})  # fmt: skip
# Filters that take an attribute name (possibly dotted) as an argument.
_ATTRIBUTE_KWARG_FILTERS = frozenset({"map", "sort", "groupby", "sum", "unique", "min", "max"})
_ATTRIBUTE_ARG_FILTERS = frozenset({"selectattr", "rejectattr", "groupby"})
_STRING_FILTERS = frozenset({
    "string", "e", "escape", "safe", "forceescape", "lower", "upper", "capitalize", "title",
    "trim", "replace", "format", "join", "reverse", "center", "indent", "striptags", "truncate",
    "urlencode", "wordwrap", "xmlattr", "urlize",
})  # fmt: skip

# Bytes without either of these hold no Jinja statement or expression: nothing to analyse.
_JINJA_MARKERS = (b"{%", b"{{")


def looks_like_jinja(raw: bytes) -> bool:
    return any(marker in raw for marker in _JINJA_MARKERS)


_MAX_CANDIDATES = 16  # values tracked per expression before giving up on folding
_MAX_FOLDED = 4096  # characters of one folded string
_MAX_FINDINGS = 20  # per template: one escape is enough, a flood helps nobody


@dataclass(frozen=True)
class _Opaque:
    """A value known only by how it was obtained: an attribute path from a root name."""

    path: str
    escape_root: bool = False  # a Jinja global itself (cycler, lipsum ...), not its result
    escaped: bool = False  # the path already went through a dunder or a global's attributes
    is_str: bool = False  # built by string operations from parts we could not fold


@dataclass(frozen=True)
class _Dict:
    keys: tuple[object, ...]


@dataclass(frozen=True)
class _Method:
    owner: object  # a folded str or tuple
    name: str


@dataclass(frozen=True)
class _Macro:
    name: str


def _built(path: str = "<computed string>") -> _Opaque:
    return _Opaque(path, is_str=True)


def _unknown(path: str = "<value>") -> _Opaque:
    return _Opaque(path)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _describe(value: object) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, _Opaque):
        return value.path
    if isinstance(value, (tuple, _Dict)):
        return "[...]" if isinstance(value, tuple) else "{...}"
    return repr(value)


@dataclass(frozen=True)
class _Issue:
    severity: Severity
    message: str
    line: int | None


class TemplateAnalysis:
    """Abstract evaluation of one parsed template; collects issues, runs nothing."""

    def __init__(self) -> None:
        self.env: dict[str, list[object]] = {}
        self.issues: dict[tuple[Severity, str], _Issue] = {}
        self.macros: dict[str, object] = {}  # name -> nodes.Macro
        # name -> one entry per call site -> candidate values of each positional argument
        self.macro_args: dict[str, list[list[list[object]]]] = {}
        self.chains: dict[str, tuple[Severity, str]] = {}  # escape path -> its issue key
        # Escape names (`__init__`) written as string values, and the names the analysis saw
        # used as attribute or item names: a held name never seen used reaches its lookup by a
        # route the evaluation cannot follow (a data-indexed list, a dict's items, a filter
        # applied by a computed name), and is reported at the end.
        self.held_names: dict[str, object] = {}
        self.used_names: set[str] = set()

    # --- reporting -----------------------------------------------------------------
    def _flag(self, severity: Severity, message: str, node: object) -> None:
        key = (severity, message)
        if key not in self.issues and len(self.issues) < _MAX_FINDINGS:
            self.issues[key] = _Issue(severity, message, getattr(node, "lineno", None))

    def _flag_chain(
        self, severity: Severity, owner_path: str | None, step: str, message: str, node: object
    ) -> None:
        """One finding per escape chain: a step that extends a flagged chain replaces it."""
        previous = self.chains.pop(owner_path, None) if owner_path is not None else None
        if previous is not None:
            old = self.issues.pop(previous, None)
            severity = max(severity, old.severity) if old else severity
        self._flag(severity, message, node)
        self.chains[step] = (severity, message)

    # --- statements ------------------------------------------------------------------
    def run(self, template: object) -> list[_Issue]:
        self._walk(template)
        # Macro bodies last, with the arguments every call site passed (three rounds, so
        # macros calling macros get their arguments too).
        for _ in range(3):
            for macro in list(self.macros.values()):
                self._walk_macro(macro)
        for name, node in self.held_names.items():
            if name not in self.used_names:
                self._flag(
                    Severity.HIGH,
                    f"template holds the attribute name {name!r} as a string, which only sandbox "
                    "escapes use, and looks it up in a way that cannot be followed without rendering",
                    node,
                )
        return sorted(self.issues.values(), key=lambda i: (-i.severity, i.line or 0, i.message))

    def _walk(self, node: object) -> None:
        from jinja2 import nodes

        if isinstance(node, nodes.Expr):
            self._eval(node)
            return
        if isinstance(node, nodes.Assign):
            self._assign(node.target, self._eval(node.node))
        elif isinstance(node, nodes.AssignBlock):
            value = self._fold_block(node.body)
            if node.filter is not None:
                value = self._filter(node.filter, value)
            self._assign(node.target, value)
        elif isinstance(node, nodes.For):
            self._assign(node.target, _elements(self._eval(node.iter)))
            for child in itertools.chain(node.body, node.else_):
                self._walk(child)
            if node.test is not None:
                self._eval(node.test)
        elif isinstance(node, nodes.Macro):
            self.macros[node.name] = node
            self.env[node.name] = [_Macro(node.name)]
            for default in node.defaults:
                self._eval(default)
        elif isinstance(node, nodes.With):
            for target, expr in zip(node.targets, node.values, strict=False):
                self._assign(target, self._eval(expr))
            for child in node.body:
                self._walk(child)
        elif isinstance(node, (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
            self._flag(
                Severity.MEDIUM,
                f"{{% {type(node).__name__.lower()} %}} loads another template, which chat "
                "templates never do; with a file-system loader it reads other files",
                node,
            )
            self._eval(node.template)
        else:
            for child in node.iter_child_nodes():  # type: ignore[attr-defined]
                self._walk(child)

    def _walk_macro(self, macro: object) -> None:
        calls = self.macro_args.get(macro.name, [])  # type: ignore[attr-defined]
        args = macro.args  # type: ignore[attr-defined]
        defaults = macro.defaults  # type: ignore[attr-defined]
        first_default = len(args) - len(defaults)
        for index, arg in enumerate(args):
            values: list[object] = []
            for call in calls:
                if index < len(call):
                    values += call[index]
            if index >= first_default:
                values += self._eval(defaults[index - first_default])
            self._bind(arg.name, values or [_unknown(arg.name)])
        for child in macro.body:  # type: ignore[attr-defined]
            self._walk(child)

    def _assign(self, target: object, values: list[object]) -> None:
        from jinja2 import nodes

        if isinstance(target, nodes.Name):
            self._bind(target.name, values)
        elif isinstance(target, nodes.NSRef):
            # {% set ns.x = ... %}: stored under the path of the namespace object(s) ns holds.
            holders = [h for h in self.env.get(target.name, []) if isinstance(h, _Opaque)]
            for holder in holders or [_Opaque(target.name)]:
                self._bind(f"{holder.path}.{target.attr}", values)
        elif isinstance(target, nodes.Tuple):
            for index, item in enumerate(target.items):
                parts = [v[index] for v in values if isinstance(v, tuple) and len(v) == len(target.items)]
                self._assign(item, parts or [_unknown()])

    def _bind(self, name: str, values: list[object]) -> None:
        # Flow-insensitive: a name holds every value any branch gave it, so a dunder set in
        # one branch and used after the `if` is still seen.
        merged = self.env.setdefault(name, [])
        for value in values:
            if value not in merged:
                merged.append(value)
        if len(merged) > _MAX_CANDIDATES:
            self.env[name] = [_collapse(merged)]

    def _fold_block(self, body: Iterable[object]) -> list[object]:
        """`{% set x %}...{% endset %}`: the body's output as a string."""
        from jinja2 import nodes

        parts: list[list[object]] = []
        for stmt in body:
            if isinstance(stmt, nodes.Output):
                for item in stmt.nodes:
                    if isinstance(item, nodes.TemplateData):
                        self._hold(item.data, item)
                        parts.append([item.data])
                    else:
                        parts.append(self._eval(item))
            else:
                self._walk(stmt)
                parts.append([_built()])
        return _concat(parts)

    def _hold(self, text: str, node: object) -> None:
        for name in _escape_names_in(text):
            self.held_names.setdefault(name, node)

    # --- expressions -----------------------------------------------------------------
    def _eval(self, node: object) -> list[object]:
        from jinja2 import nodes

        if isinstance(node, nodes.Const):
            if isinstance(node.value, str):
                self._hold(node.value, node)
            return [node.value]
        if isinstance(node, nodes.TemplateData):
            return [node.data]
        if isinstance(node, nodes.Name):
            return self._name(node)
        if isinstance(node, nodes.Getattr):
            return self._access(self._eval(node.node), [node.attr], node, how="attribute")
        if isinstance(node, nodes.Getitem):
            return self._getitem(node)
        if isinstance(node, nodes.Filter):
            if node.node is None:  # {% filter %} block: its input is the body
                self._visit_args(node)
                return [_built()]
            return self._filter(node, self._eval(node.node))
        if isinstance(node, nodes.Call):
            return self._call(node)
        if isinstance(node, nodes.Concat):
            return _concat([self._eval(item) for item in node.nodes])
        if isinstance(node, nodes.Add):
            return _product(self._eval(node.left), self._eval(node.right), _add)
        if isinstance(node, nodes.Mul):
            return _product(self._eval(node.left), self._eval(node.right), _mul)
        if isinstance(node, nodes.Mod):
            return _product(self._eval(node.left), self._eval(node.right), _percent)
        if isinstance(node, nodes.Neg):
            return [
                -v if isinstance(v, int) and not isinstance(v, bool) else _unknown()
                for v in self._eval(node.node)
            ]
        if isinstance(node, nodes.CondExpr):
            self._eval(node.test)
            values = self._eval(node.expr1)
            values += self._eval(node.expr2) if node.expr2 is not None else [""]
            return _bounded(values)
        if isinstance(node, (nodes.Or, nodes.And)):
            return _bounded(self._eval(node.left) + self._eval(node.right))
        if isinstance(node, (nodes.List, nodes.Tuple)):
            items = [self._eval(item) for item in node.items]
            return [tuple(v[0] if len(v) == 1 else _unknown() for v in items)]
        if isinstance(node, nodes.Dict):
            keys = []
            for pair in node.items:
                key = self._eval(pair.key)
                self._eval(pair.value)
                keys.append(key[0] if len(key) == 1 else _unknown())
            return [_Dict(tuple(keys))]
        if isinstance(node, nodes.Test):
            self._eval(node.node)
            self._visit_args(node)
            return [_unknown()]
        for child in node.iter_child_nodes():  # type: ignore[attr-defined]
            self._walk(child)
        return [_unknown()]

    def _name(self, node: object) -> list[object]:
        name = node.name  # type: ignore[attr-defined]
        if name in self.env:
            return list(self.env[name])
        if _is_dunder(name):
            self._flag(Severity.HIGH, f"template reads the variable {name!r}, which only escapes use", node)
            return [_Opaque(name, escaped=True)]
        return [_Opaque(name, escape_root=name in _ESCAPE_GLOBALS)]

    def _getitem(self, node: object) -> list[object]:
        from jinja2 import nodes

        targets = self._eval(node.node)  # type: ignore[attr-defined]
        arg = node.arg  # type: ignore[attr-defined]
        if isinstance(arg, nodes.Slice):
            bounds = [
                self._eval(part) if part is not None else [None] for part in (arg.start, arg.stop, arg.step)
            ]
            return _bounded([_slice(t, s) for t in targets for s in itertools.product(*bounds)])
        keys = self._eval(arg)
        named = [k for k in keys if isinstance(k, str) or (isinstance(k, _Opaque) and k.is_str)]
        result = self._access(targets, named, node, how="item") if named else []
        for key in keys:
            if isinstance(key, int) and not isinstance(key, bool):
                result += [_index(t, key) for t in targets]
            elif not isinstance(key, str) and key not in named:
                result += self._access(targets, [key], node, how="item")
        return _bounded(result or [_unknown()])

    def _access(
        self, targets: list[object], names: Iterable[object], node: object, *, how: str
    ) -> list[object]:
        """Attribute or item access: flags the dangerous ones, returns what they yield."""
        out: list[object] = []
        for target in targets:
            for name in names:
                out.append(self._access_one(target, name, node, how))
        return _bounded(out)

    def _access_one(self, target: object, name: object, node: object, how: str) -> object:
        owner = _describe(target)
        if not isinstance(name, str):
            # A name computed at render time (from data, or by string operations we cannot
            # fold): benign templates index dicts with loop variables, which is fine, but
            # attribute lookups by computed name (|attr, '{0.x}'.format) and string-built
            # item keys are how escapes hide their dunders.
            built = isinstance(name, _Opaque) and name.is_str
            if how == "attribute" or built or _dangerous_owner(target):
                self._flag(
                    Severity.HIGH,
                    f"{owner} is accessed by a name computed at render time "
                    f"({_describe(name)}); obfuscated lookups are how escapes hide dunders",
                    node,
                )
            return _Opaque(f"{owner}[{_describe(name)}]", escaped=_dangerous_owner(target))
        step = f"{owner}.{name}" if how == "attribute" else f"{owner}[{name!r}]"
        owner_path = target.path if isinstance(target, _Opaque) else None
        self.used_names.add(name)
        if (
            how == "attribute"
            and name in ("format", "format_map")
            and isinstance(target, _Opaque)
            and target.is_str
        ):
            # str.format walks the attributes its fields name ('{0.__init__.__globals__}'):
            # with a format string built at render time, those fields cannot be read.
            self._flag(
                Severity.HIGH,
                f"template calls {step} on a string built at render time; format fields walk "
                "attributes ('{0.__init__.__globals__}'), and these cannot be read without rendering",
                node,
            )
        if _is_dunder(name) or name in _ESCAPE_ATTRIBUTES or (isinstance(target, _Opaque) and target.escaped):
            self._flag_chain(
                Severity.CRITICAL,
                owner_path,
                step,
                f"template walks to {step}: a sandbox escape toward Python internals",
                node,
            )
            return _Opaque(step, escaped=True)
        if isinstance(target, _Opaque) and target.escape_root:
            self._flag_chain(
                Severity.HIGH,
                owner_path,
                step,
                f"template walks the attributes of a Jinja global ({step})",
                node,
            )
            # Still suspicious further down (high), but only a dunder makes it an escape.
            return _Opaque(step, escape_root=True)
        if name.startswith("_") and how == "attribute":
            self._flag(Severity.HIGH, f"template reads the private attribute {step}", node)
            return _Opaque(step)
        if how == "attribute" and name in _MODULE_LIKE and not isinstance(target, (str, tuple)):
            self._flag(Severity.HIGH, f"template reaches {step}, a module or process function name", node)
            return _Opaque(step)
        if isinstance(target, (str, tuple)) and how == "attribute":
            return _Method(target, name)
        if isinstance(target, _Opaque):
            ns_value = self.env.get(f"{target.path}.{name}")
            if ns_value is not None:  # namespace attribute set with {% set ns.x = ... %}
                return ns_value[0] if len(ns_value) == 1 else _collapse(ns_value)
            return _Opaque(step, is_str=False)
        return _unknown(step)

    def _visit_args(self, node: object) -> tuple[list[list[object]], dict[str, list[object]]]:
        args = [self._eval(a) for a in node.args]  # type: ignore[attr-defined]
        kwargs = {kw.key: self._eval(kw.value) for kw in node.kwargs}  # type: ignore[attr-defined]
        for kw in node.kwargs:  # type: ignore[attr-defined]
            self._hold(kw.key, kw)  # dict(__init__=1)|first is the string '__init__'
        for extra in (node.dyn_args, node.dyn_kwargs):  # type: ignore[attr-defined]
            if extra is not None:
                self._eval(extra)
        return args, kwargs

    def _filter(self, node: object, inputs: list[object]) -> list[object]:
        name = node.name  # type: ignore[attr-defined]
        args, kwargs = self._visit_args(node)
        if name == "attr":
            return self._access(inputs, args[0] if args else [_unknown()], node, how="attribute")
        attribute_names: list[object] = []
        if name in _ATTRIBUTE_KWARG_FILTERS and "attribute" in kwargs:
            attribute_names += kwargs["attribute"]
        if name in _ATTRIBUTE_ARG_FILTERS and args:
            attribute_names += args[0]
        if name == "map" and args and "attr" in args[0] and len(args) > 1:
            attribute_names += args[1]  # map('attr', name)
        if (
            name == "map"
            and args
            and "attribute" not in kwargs
            and any(not isinstance(f, str) for f in args[0])
        ):
            # map(f, ...) applies the filter named f: computed, it may be 'attr'.
            self._flag(
                Severity.HIGH,
                f"template applies |map with a filter named at render time ({_describe(args[0][0])}); "
                "it may be |attr, which looks up any attribute",
                node,
            )
        mapped: list[object] = []
        for dotted in attribute_names:
            # Jinja's attribute= arguments follow dotted paths: 'a.__class__'.
            parts = dotted.split(".") if isinstance(dotted, str) else [dotted]
            targets: list[object] = [
                _Opaque(f"item of {_describe(i)}", escaped=_dangerous_owner(i)) for i in inputs
            ]
            for part in parts:
                if isinstance(part, str) and part.isdigit():
                    continue
                if isinstance(part, _Opaque) and not part.is_str:
                    continue  # selectattr(key) with a data-driven key: nothing to see
                targets = self._access(targets, [part], node, how="attribute")
            mapped += targets
        if name == "map" and mapped:
            # A sequence of what the attribute walk reached: iterating it keeps the chain.
            return [_Opaque(f"{_describe(m)}|map", escaped=_dangerous_owner(m)) for m in mapped]
        if name in ("default", "d") and args:
            return _bounded(inputs + args[0])
        if name in (
            "map",
            "select",
            "reject",
            "selectattr",
            "rejectattr",
            "sort",
            "unique",
            "batch",
            "slice",
            "groupby",
            "dictsort",
            "items",
        ):
            return [_unknown(f"{_describe(inputs[0])}|{name}")] if inputs else [_unknown()]
        folded = [
            _fold_filter(
                name,
                value,
                [a[0] if len(a) == 1 else _unknown() for a in args],
                {k: v[0] if len(v) == 1 else _unknown() for k, v in kwargs.items()},
            )
            for value in inputs
        ]
        return _bounded(folded)

    def _call(self, node: object) -> list[object]:
        from jinja2 import nodes

        func_node = node.node  # type: ignore[attr-defined]
        funcs = self._eval(func_node)
        args, kwargs = self._visit_args(node)
        out: list[object] = []
        for func in funcs:
            if isinstance(func, _Macro):
                self.macro_args.setdefault(func.name, []).append(args)
                out.append(_unknown(f"{func.name}()"))
            elif isinstance(func, _Method):
                out.append(_fold_method(self, func, args, kwargs, node))
            elif isinstance(func, _Opaque) and func.escape_root and isinstance(func_node, nodes.Name):
                if func.path == "dict":
                    out.append(_Dict(tuple(kwargs)))
                else:
                    # namespace(x=1), cycler(...), joiner(), range(3): a fresh object holding data.
                    result = _Opaque(f"{func.path}()")
                    for key, value in kwargs.items():
                        self._bind(f"{result.path}.{key}", value)
                    out.append(result)
            elif isinstance(func, _Opaque):
                result = _Opaque(f"{func.path}()", escaped=func.escaped)
                if func.path in self.chains:
                    self.chains[result.path] = self.chains[func.path]
                out.append(result)
            else:
                out.append(_unknown())
        return _bounded(out)


# --- folding helpers ---------------------------------------------------------------


def _dangerous_owner(value: object) -> bool:
    return isinstance(value, _Opaque) and (value.escaped or value.escape_root)


def _collapse(values: list[object]) -> object:
    if all(isinstance(v, str) or (isinstance(v, _Opaque) and v.is_str) for v in values):
        return _built()
    return _unknown()


def _bounded(values: list[object]) -> list[object]:
    unique: list[object] = []
    for value in values:
        if value not in unique:
            unique.append(value)
    return unique if len(unique) <= _MAX_CANDIDATES else [_collapse(unique)]


def _product(left: list[object], right: list[object], op) -> list[object]:  # type: ignore[no-untyped-def]
    if len(left) * len(right) > _MAX_CANDIDATES:
        return [_collapse(left + right)]
    return _bounded([op(a, b) for a in left for b in right])


def _stringish(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, _Opaque) and value.is_str)


def _concat(parts: list[list[object]]) -> list[object]:
    results: list[object] = [""]
    for candidates in parts:
        if len(results) * len(candidates) > _MAX_CANDIDATES:
            return [_built()]
        results = _bounded([_join_two(a, _to_text(b)) for a in results for b in candidates])
    return results


def _to_text(value: object) -> object:
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, (bool, int, float)):
        return str(value)
    return _built()


def _join_two(a: object, b: object) -> object:
    if isinstance(a, str) and isinstance(b, str) and len(a) + len(b) <= _MAX_FOLDED:
        return a + b
    return _built()


def _add(a: object, b: object) -> object:
    if isinstance(a, str) and isinstance(b, str):
        return _join_two(a, b)
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) + len(b) <= 256:
        return a + b
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    return _built() if _stringish(a) or _stringish(b) else _unknown()


def _mul(a: object, b: object) -> object:
    if isinstance(b, str) and isinstance(a, int):
        a, b = b, a
    if isinstance(a, str) and isinstance(b, int) and not isinstance(b, bool):
        return a * b if 0 <= len(a) * b <= _MAX_FOLDED else _built()
    if isinstance(a, int) and isinstance(b, int) and abs(a) < 1 << 32 and abs(b) < 1 << 32:
        return a * b
    return _built() if _stringish(a) or _stringish(b) else _unknown()


def _percent(fmt: object, args: object) -> object:
    if not isinstance(fmt, str):
        return _unknown() if not _stringish(fmt) else _built()
    return _printf(fmt, list(args) if isinstance(args, tuple) else [args])


def _printf(fmt: str, args: list[object]) -> object:
    """`'%c%s' % (95, 'x')` for the plain conversions only: widths could make huge strings."""
    out: list[str] = []
    position = 0
    index = 0
    while index < len(fmt):
        char = fmt[index]
        if char != "%":
            out.append(char)
            index += 1
            continue
        spec = fmt[index + 1 : index + 2]
        index += 2
        if spec == "%":
            out.append("%")
            continue
        if spec not in ("s", "c", "d", "i", "r") or position >= len(args):
            return _built()
        value = args[position]
        position += 1
        if spec == "c" and isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 0x110000:
            out.append(chr(value))
        elif spec == "c" and isinstance(value, str) and len(value) == 1:
            out.append(value)
        elif (spec in ("s", "r") and isinstance(value, (str, int, float))) or (
            spec in ("d", "i") and isinstance(value, int)
        ):
            out.append(str(value))
        else:
            return _built()
    text = "".join(out)
    return text if len(text) <= _MAX_FOLDED else _built()


def _slice(target: object, bounds: tuple[object, ...]) -> object:
    if isinstance(target, (str, tuple)) and all(b is None or isinstance(b, int) for b in bounds):
        start, stop, step = cast("tuple[int | None, int | None, int | None]", bounds)
        if step == 0:
            return _unknown()
        return target[start:stop:step]
    return _built() if _stringish(target) else _unknown()


def _index(target: object, key: int) -> object:
    if isinstance(target, (str, tuple)) and -len(target) <= key < len(target):
        return target[key]
    return _unknown(f"{_describe(target)}[{key}]")


def _elements(values: list[object]) -> list[object]:
    """What a for loop over these values binds its target to."""
    out: list[object] = []
    for value in values:
        if isinstance(value, (str, tuple)) and len(value) <= _MAX_CANDIDATES:
            out += list(value)
        elif isinstance(value, _Dict):
            out += list(value.keys)
        else:
            out.append(_Opaque(f"item of {_describe(value)}", escaped=_dangerous_owner(value)))
    return _bounded(out)


def _fold_filter(name: str, value: object, args: list[object], kwargs: dict[str, object]) -> object:
    if name in ("string", "e", "escape", "safe", "forceescape", "trim") and isinstance(value, str):
        return value.strip() if name == "trim" else value
    if name in ("lower", "upper", "capitalize", "title") and isinstance(value, str):
        return getattr(str, name)(value)
    if name == "reverse" and isinstance(value, (str, tuple)):
        return value[::-1]
    if name == "list":
        if isinstance(value, str):
            return tuple(value)
        if isinstance(value, tuple):
            return value
        if isinstance(value, _Dict):
            return value.keys
    if name in ("first", "last") and isinstance(value, (str, tuple, _Dict)):
        items = value.keys if isinstance(value, _Dict) else value
        return (items[0] if name == "first" else items[-1]) if items else _unknown()
    if name == "join" and isinstance(value, (tuple, str)):
        sep = args[0] if args else kwargs.get("d", "")
        texts = [_to_text(v) for v in value]
        if isinstance(sep, str) and all(isinstance(v, str) for v in texts):
            text = sep.join(cast("list[str]", texts))
            return text if len(text) <= _MAX_FOLDED else _built()
        return _built()
    if name == "replace" and isinstance(value, str) and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str) and old:
            text = value.replace(old, new, 64)
            return text if len(text) <= _MAX_FOLDED else _built()
    if name == "format" and isinstance(value, str):
        return _printf(value, args)
    if name in _STRING_FILTERS or _stringish(value):
        return _built(f"{_describe(value)}|{name}")
    return _unknown(f"{_describe(value)}|{name}")


_DUNDER = re.compile(r"__[A-Za-z][A-Za-z0-9_]*__")
_PATH = re.compile(r"[A-Za-z0-9_.\[\]]+")


def _escape_name(part: str) -> bool:
    return bool(_DUNDER.fullmatch(part)) or part in _ESCAPE_ATTRIBUTES


def _escape_names_in(text: str) -> set[str]:
    """Escape attribute names a string spells as a lookup: the whole string ('__init__'), a
    dotted attribute path ('__init__.__globals__', as map(attribute=) takes) or the fields of a
    format string ('{0.__init__}'). Prose that merely mentions a dunder is not a lookup."""
    if len(text) > _MAX_FOLDED or "_" not in text:
        return set()
    paths = [text] if _PATH.fullmatch(text) else []
    if "{" in text:
        paths += list(_format_fields(text))
    return {part for path in paths for part in re.split(r"[.\[\]]", path) if _escape_name(part)}


def _format_fields(fmt: str) -> Iterator[str]:
    """Field names of a str.format string ('0.__class__', 'x[y]'): parsing, not formatting."""
    try:
        for _, field, _, _ in string.Formatter().parse(fmt):
            if field:
                yield field
    except ValueError:
        return


def _fold_method(
    analysis: TemplateAnalysis,
    method: _Method,
    args: list[list[object]],
    kwargs: dict[str, list[object]],
    node: object,
) -> object:
    owner, name = method.owner, method.name
    first = [a[0] if len(a) == 1 else _unknown() for a in args]
    if isinstance(owner, str):
        if name in ("format", "format_map"):
            # str.format walks attributes of its arguments: '{0.__init__.__globals__}'.
            for field in _format_fields(owner):
                path = field.replace("[", ".").replace("]", "").split(".")[1:]
                targets: list[object] = [_unknown("format argument")]
                for part in path:
                    targets = analysis._access(targets, [part], node, how="attribute")
            if all(isinstance(a, str) for a in first) and "{" in owner:
                simple = all(f == "" or f.isdigit() for f in _format_fields(owner))
                if simple and len(first) <= 16:
                    try:
                        text = owner.format(*first)
                    except (IndexError, KeyError, ValueError):
                        return _built()
                    return text if len(text) <= _MAX_FOLDED else _built()
            return _built()
        if name == "join" and first and isinstance(first[0], (tuple, str)):
            return _fold_filter("join", first[0], [owner], {})
        if name in ("upper", "lower", "strip", "lstrip", "rstrip", "title", "capitalize", "swapcase") and (
            not first or all(isinstance(a, str) for a in first)
        ):
            return getattr(owner, name)(*first[:1])
        if name == "replace" and len(first) >= 2:
            return _fold_filter("replace", owner, first, {})
        return _built(f"{_describe(owner)}.{name}()")
    if isinstance(owner, tuple) and name == "pop":
        if not first and owner:
            return owner[-1]
        if first and isinstance(first[0], int) and -len(owner) <= first[0] < len(owner):
            return owner[first[0]]
    return _unknown(f"{_describe(owner)}.{name}()")


# --- entry point -------------------------------------------------------------------


def _environment():  # type: ignore[no-untyped-def]
    """jinja2's parser with the extensions Hugging Face enables, plus `do`, so every real
    template parses; the `{% generation %}` tag of assistant-mask templates is a plain block."""
    import jinja2
    from jinja2 import nodes
    from jinja2.ext import Extension

    class _Generation(Extension):
        tags = {"generation"}

        def parse(self, parser):  # type: ignore[no-untyped-def]
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body, lineno=lineno)

    return jinja2.Environment(extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do", _Generation])


_ENV = None


def count_nodes(tree: object, limit: int) -> int:
    """Nodes in the tree, counted iteratively up to `limit` (+1 when over)."""
    stack = [tree]
    count = 0
    while stack and count <= limit:
        node = stack.pop()
        count += 1
        stack.extend(node.iter_child_nodes())  # type: ignore[attr-defined]
    return count


def check_template(
    source: str,
    ctx: ScanContext,
    *,
    key: str,
    offset: int | None = None,
    lenient: bool = False,
) -> None:
    """Report escapes in one chat template. `lenient`: a text file that only might be a
    template (a README with `{{ }}` examples, Flask docs with `request.args`) reports resolved
    escape chains only: no parse errors, no merely suspicious lookups."""
    import jinja2

    evidence = {"key": key}
    if len(source) > ctx.limits.max_template_chars:
        if lenient:  # no loader reads it as a template: nothing was left unanalysed
            return
        ctx.report(
            "scan-limit",
            f"chat template {key!r} has {len(source)} characters, over the limit of "
            f"{ctx.limits.max_template_chars}; not analysed",
            offset=offset,
            evidence={**evidence, "limit": "max_template_chars"},
        )
        return
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    try:
        with warnings.catch_warnings():  # odd escapes in string literals warn from jinja's lexer
            warnings.simplefilter("ignore")
            tree = _ENV.parse(source)  # safe: parses to an AST, never renders
    except jinja2.TemplateSyntaxError as exc:
        if not lenient:
            ctx.report(
                "template-unparseable",
                f"chat template {key!r} is not valid Jinja (line {exc.lineno}: {exc.message}); "
                "it cannot be analysed, and another Jinja version or engine may read it differently",
                offset=offset,
                evidence=evidence,
            )
        return
    except RecursionError:
        if lenient:
            return
        ctx.report(
            "template-unparseable",
            f"chat template {key!r} nests too deeply to parse; not analysed",
            offset=offset,
            evidence={**evidence, "limit": "nesting"},
        )
        return
    if count_nodes(tree, ctx.limits.max_template_nodes) > ctx.limits.max_template_nodes:
        if lenient:
            return
        ctx.report(
            "scan-limit",
            f"chat template {key!r} has more than {ctx.limits.max_template_nodes} syntax nodes; not analysed",
            offset=offset,
            evidence={**evidence, "limit": "max_template_nodes"},
        )
        return
    try:
        issues = TemplateAnalysis().run(tree)
    except RecursionError:
        ctx.report(
            "scan-limit",
            f"chat template {key!r} nests too deeply to analyse",
            offset=offset,
            evidence={**evidence, "limit": "nesting"},
        )
        return
    for issue in issues:
        if lenient and issue.severity < Severity.CRITICAL:
            continue
        where = f" (line {issue.line})" if issue.line else ""
        ctx.report(
            "template-injection",
            f"chat template {key!r}{where}: {issue.message}",
            severity=issue.severity,
            offset=offset,
            evidence=evidence,
        )
