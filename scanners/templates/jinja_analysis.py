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
attribute or an attribute whose name is computed, which is what gets flagged. A name is computed
when the template makes it: string operations, a macro's output, `caller()`, a filter or method
over constants, an item of a container it built. Only names read from the render-time data
(a message's role, a loop variable over tools) are not.
"""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from aisbom.scanners.frame.context import ScanContext
from aisbom.scanners.readers.fresh_stack import retry_on_fresh_stack
from aisbom.scanners.templates.folding import (
    ESCAPE_ATTRIBUTES,
    MAX_CANDIDATES,
    MAX_FOLDED,
    FoldedDict,
    Macro,
    Method,
    Opaque,
    add,
    bounded,
    built,
    collapse,
    computed,
    concat,
    dangerous_owner,
    describe,
    elements,
    escape_names_in,
    fold_filter,
    format_fields,
    index_value,
    is_dunder,
    mul,
    percent,
    product,
    slice_value,
    unknown,
)
from aisbom.severity import Severity
from aisbom.wording import counted

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
# Globals whose calls return values the template chose: cycler('a', 'b').next(), joiner(sep)(), lipsum().
_VALUE_MAKERS = frozenset({"cycler", "joiner", "lipsum"})
# Filters that take an attribute name (possibly dotted) as an argument.
_ATTRIBUTE_KWARG_FILTERS = frozenset({"map", "sort", "groupby", "sum", "unique", "min", "max"})
_ATTRIBUTE_ARG_FILTERS = frozenset({"selectattr", "rejectattr", "groupby"})


_MAX_FINDINGS = 20  # per template: one escape is enough, a flood helps nobody


@dataclass(frozen=True)
class _Issue:
    severity: Severity
    message: str
    line: int | None


_TIME_CHECK_EVERY = 4096  # statements walked between deadline checks


class OutOfTime(Exception):
    """The file's deadline passed during the analysis."""


class TemplateAnalysis:
    """Abstract evaluation of one parsed template; collects issues, runs nothing."""

    def __init__(self, deadline: float | None = None) -> None:
        self.deadline = deadline
        self.walked = 0  # statements walked, for the deadline checks
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

        self.walked += 1
        if self.walked % _TIME_CHECK_EVERY == 0 and self.deadline and time.monotonic() > self.deadline:
            raise OutOfTime

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
            self._assign(node.target, elements(self._eval(node.iter)))
            for child in itertools.chain(node.body, node.else_):
                self._walk(child)
            if node.test is not None:
                self._eval(node.test)
        elif isinstance(node, nodes.Macro):
            self.macros[node.name] = node
            self.env[node.name] = [Macro(node.name)]
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
        # What each call site passed, gathered per argument in one pass over the calls (one
        # pass per argument would be arguments x call sites: hours for a 1 MiB template).
        passed: list[list[object]] = [[] for _ in args]
        for call in calls:
            for index, value in enumerate(call[: len(args)]):
                passed[index] += value
        for index, arg in enumerate(args):
            values = passed[index]
            if index >= first_default:
                values += self._eval(defaults[index - first_default])
            self._bind(arg.name, values or [unknown(arg.name)])
        # Extra positional and keyword arguments: whatever the call sites computed.
        self._bind("varargs", [built("varargs")])
        self._bind("kwargs", [built("kwargs")])
        for child in macro.body:  # type: ignore[attr-defined]
            self._walk(child)

    def _assign(self, target: object, values: list[object]) -> None:
        from jinja2 import nodes

        if isinstance(target, nodes.Name):
            self._bind(target.name, values)
        elif isinstance(target, nodes.NSRef):
            # {% set ns.x = ... %}: stored under the path of the namespace object(s) ns holds.
            holders = [h for h in self.env.get(target.name, []) if isinstance(h, Opaque)]
            for holder in holders or [Opaque(target.name)]:
                self._bind(f"{holder.path}.{target.attr}", values)
        elif isinstance(target, nodes.Tuple):
            for index, item in enumerate(target.items):
                parts = [v[index] for v in values if isinstance(v, tuple) and len(v) == len(target.items)]
                made = any(computed(v) for v in values)  # pairs of a container the template built
                self._assign(item, parts or [built() if made else unknown()])

    def _bind(self, name: str, values: list[object]) -> None:
        # Flow-insensitive: a name holds every value any branch gave it, so a dunder set in
        # one branch and used after the `if` is still seen.
        merged = self.env.setdefault(name, [])
        for value in values:
            if value not in merged:
                merged.append(value)
                if len(merged) > MAX_CANDIDATES:  # at once: the search is quadratic in `merged`
                    self.env[name] = [collapse(merged + values)]
                    return

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
                parts.append([built()])
        return concat(parts)

    def _hold(self, text: str, node: object) -> None:
        for name in escape_names_in(text):
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
                return [built()]
            return self._filter(node, self._eval(node.node))
        if isinstance(node, nodes.Call):
            return self._call(node)
        if isinstance(node, nodes.Concat):
            return concat([self._eval(item) for item in node.nodes])
        if isinstance(node, nodes.Add):
            return product(self._eval(node.left), self._eval(node.right), add)
        if isinstance(node, nodes.Mul):
            return product(self._eval(node.left), self._eval(node.right), mul)
        if isinstance(node, nodes.Mod):
            return product(self._eval(node.left), self._eval(node.right), percent)
        if isinstance(node, nodes.Neg):
            return [
                -v if isinstance(v, int) and not isinstance(v, bool) else unknown()
                for v in self._eval(node.node)
            ]
        if isinstance(node, nodes.CondExpr):
            self._eval(node.test)
            values = self._eval(node.expr1)
            values += self._eval(node.expr2) if node.expr2 is not None else [""]
            return bounded(values)
        if isinstance(node, (nodes.Or, nodes.And)):
            return bounded(self._eval(node.left) + self._eval(node.right))
        if isinstance(node, (nodes.List, nodes.Tuple)):
            items = [self._eval(item) for item in node.items]
            return [tuple(v[0] if len(v) == 1 else unknown() for v in items)]
        if isinstance(node, nodes.Dict):
            keys = []
            for pair in node.items:
                key = self._eval(pair.key)
                self._eval(pair.value)
                keys.append(key[0] if len(key) == 1 else unknown())
            return [FoldedDict(tuple(keys))]
        if isinstance(node, nodes.Test):
            self._eval(node.node)
            self._visit_args(node)
            return [unknown()]
        for child in node.iter_child_nodes():  # type: ignore[attr-defined]
            self._walk(child)
        return [unknown()]

    def _name(self, node: object) -> list[object]:
        name = node.name  # type: ignore[attr-defined]
        if name in self.env:
            return list(self.env[name])
        if is_dunder(name):
            self._flag(Severity.HIGH, f"template reads the variable {name!r}, which only escapes use", node)
            return [Opaque(name, escaped=True)]
        if name == "caller":  # a call block's body, rendered: a string the template makes
            return [built("caller")]
        return [Opaque(name, escape_root=name in _ESCAPE_GLOBALS)]

    def _getitem(self, node: object) -> list[object]:
        from jinja2 import nodes

        targets = self._eval(node.node)  # type: ignore[attr-defined]
        arg = node.arg  # type: ignore[attr-defined]
        if isinstance(arg, nodes.Slice):
            bounds = [
                self._eval(part) if part is not None else [None] for part in (arg.start, arg.stop, arg.step)
            ]
            return bounded([slice_value(t, s) for t in targets for s in itertools.product(*bounds)])
        keys = self._eval(arg)
        named = [k for k in keys if isinstance(k, str) or (isinstance(k, Opaque) and k.is_str)]
        result = self._access(targets, named, node, how="item") if named else []
        for key in keys:
            if isinstance(key, int) and not isinstance(key, bool):
                result += [index_value(t, key) for t in targets]
            elif not isinstance(key, str) and key not in named:
                result += self._access(targets, [key], node, how="item")
        return bounded(result or [unknown()])

    def _access(
        self, targets: list[object], names: Iterable[object], node: object, *, how: str
    ) -> list[object]:
        """Attribute or item access: flags the dangerous ones, returns what they yield."""
        out: list[object] = []
        for target in targets:
            for name in names:
                out.append(self._access_one(target, name, node, how))
        return bounded(out)

    def _access_one(self, target: object, name: object, node: object, how: str) -> object:
        owner = describe(target)
        if not isinstance(name, str):
            # A name computed at render time (from data, or by string operations we cannot
            # fold): benign templates index dicts with loop variables, which is fine, but
            # attribute lookups by computed name (|attr, '{0.x}'.format) and string-built
            # item keys are how escapes hide their dunders.
            made = isinstance(name, Opaque) and name.is_str
            step = f"{owner}[{describe(name)}]"
            if how == "attribute" or made or dangerous_owner(target):
                # One finding per chain: each further computed step replaces the last one.
                self._flag_chain(
                    Severity.HIGH,
                    target.path if isinstance(target, Opaque) else None,
                    step,
                    f"{owner} is accessed by a name computed at render time "
                    f"({describe(name)}); obfuscated lookups are how escapes hide dunders",
                    node,
                )
            return Opaque(step, escaped=dangerous_owner(target))
        step = f"{owner}.{name}" if how == "attribute" else f"{owner}[{name!r}]"
        owner_path = target.path if isinstance(target, Opaque) else None
        self.used_names.add(name)
        if (
            how == "attribute"
            and name in ("format", "format_map")
            and isinstance(target, Opaque)
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
        if is_dunder(name) or name in ESCAPE_ATTRIBUTES or (isinstance(target, Opaque) and target.escaped):
            self._flag_chain(
                Severity.CRITICAL,
                owner_path,
                step,
                f"template walks to {step}: a sandbox escape toward Python internals",
                node,
            )
            return Opaque(step, escaped=True)
        if isinstance(target, Opaque) and target.escape_root:
            self._flag_chain(
                Severity.HIGH,
                owner_path,
                step,
                f"template walks the attributes of a Jinja global ({step})",
                node,
            )
            # Still suspicious further down (high), but only a dunder makes it an escape.
            return Opaque(step, escape_root=True)
        if name.startswith("_") and how == "attribute":
            self._flag(Severity.HIGH, f"template reads the private attribute {step}", node)
            return Opaque(step)
        if how == "attribute" and name in _MODULE_LIKE and not isinstance(target, (str, tuple)):
            self._flag(Severity.HIGH, f"template reaches {step}, a module or process function name", node)
            return Opaque(step)
        if isinstance(target, (str, tuple)) and how == "attribute":
            return Method(target, name)
        if computed(target):  # an item or method of something the template made
            return built(step)
        if isinstance(target, Opaque):
            ns_value = self.env.get(f"{target.path}.{name}")
            if ns_value is not None:  # namespace attribute set with {% set ns.x = ... %}
                return ns_value[0] if len(ns_value) == 1 else collapse(ns_value)
            return Opaque(step, is_str=False)
        return unknown(step)

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
            return self._access(inputs, args[0] if args else [unknown()], node, how="attribute")
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
                f"template applies |map with a filter named at render time ({describe(args[0][0])}); "
                "it may be |attr, which looks up any attribute",
                node,
            )
        mapped: list[object] = []
        for dotted in attribute_names:
            # Jinja's attribute= arguments follow dotted paths: 'a.__class__'.
            parts = dotted.split(".") if isinstance(dotted, str) else [dotted]
            targets: list[object] = [
                Opaque(f"item of {describe(i)}", escaped=dangerous_owner(i)) for i in inputs
            ]
            for part in parts:
                if isinstance(part, str) and part.isdigit():
                    continue
                if isinstance(part, Opaque) and not part.is_str:
                    continue  # selectattr(key) with a data-driven key: nothing to see
                targets = self._access(targets, [part], node, how="attribute")
            mapped += targets
        if name == "map" and mapped:
            # A sequence of what the attribute walk reached: iterating it keeps the chain.
            return [Opaque(f"{describe(m)}|map", escaped=dangerous_owner(m)) for m in mapped]
        if name in ("default", "d") and args:
            return bounded(inputs + args[0])
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
            if inputs and all(computed(i) for i in inputs):
                return [built(f"{describe(inputs[0])}|{name}")]
            return [unknown(f"{describe(inputs[0])}|{name}")] if inputs else [unknown()]
        folded = [
            fold_filter(
                name,
                value,
                [a[0] if len(a) == 1 else unknown() for a in args],
                {k: v[0] if len(v) == 1 else unknown() for k, v in kwargs.items()},
            )
            for value in inputs
        ]
        return bounded(folded)

    def _call(self, node: object) -> list[object]:
        from jinja2 import nodes

        func_node = node.node  # type: ignore[attr-defined]
        funcs = self._eval(func_node)
        args, kwargs = self._visit_args(node)
        out: list[object] = []
        for func in funcs:
            if isinstance(func, Macro):
                self.macro_args.setdefault(func.name, []).append(args)
                out.append(built(f"{func.name}()"))  # a macro returns its rendered output
            elif isinstance(func, Method):
                out.append(_fold_method(self, func, args, kwargs, node))
            elif isinstance(func, Opaque) and func.escape_root and isinstance(func_node, nodes.Name):
                if func.path == "dict":
                    out.append(FoldedDict(tuple(kwargs)))
                else:
                    # namespace(x=1), cycler(...), joiner(), range(3): a fresh object holding data;
                    # cycler, joiner and lipsum hand back what the template gave them (or text).
                    result = Opaque(f"{func.path}()", is_str=func.path in _VALUE_MAKERS)
                    for key, value in kwargs.items():
                        self._bind(f"{result.path}.{key}", value)
                    out.append(result)
            elif isinstance(func, Opaque):
                result = Opaque(f"{func.path}()", escaped=func.escaped, is_str=func.is_str)
                if func.path in self.chains:
                    self.chains[result.path] = self.chains[func.path]
                out.append(result)
            else:
                out.append(unknown())
        return bounded(out)


def _fold_method(
    analysis: TemplateAnalysis,
    method: Method,
    args: list[list[object]],
    kwargs: dict[str, list[object]],
    node: object,
) -> object:
    owner, name = method.owner, method.name
    first = [a[0] if len(a) == 1 else unknown() for a in args]
    if isinstance(owner, str):
        if name in ("format", "format_map"):
            # str.format walks attributes of its arguments: '{0.__init__.__globals__}'.
            for field in format_fields(owner):
                path = field.replace("[", ".").replace("]", "").split(".")[1:]
                targets: list[object] = [unknown("format argument")]
                for part in path:
                    targets = analysis._access(targets, [part], node, how="attribute")
            if all(isinstance(a, str) for a in first) and "{" in owner:
                simple = all(f == "" or f.isdigit() for f in format_fields(owner))
                if simple and len(first) <= 16:
                    try:
                        text = owner.format(*first)
                    except (IndexError, KeyError, ValueError):
                        return built()
                    return text if len(text) <= MAX_FOLDED else built()
            return built()
        if name == "join" and first and isinstance(first[0], (tuple, str)):
            return fold_filter("join", first[0], [owner], {})
        if name in ("upper", "lower", "strip", "lstrip", "rstrip", "title", "capitalize", "swapcase") and (
            not first or all(isinstance(a, str) for a in first)
        ):
            return getattr(owner, name)(*first[:1])
        if name == "replace" and len(first) >= 2:
            return fold_filter("replace", owner, first, {})
        return built(f"{describe(owner)}.{name}()")
    if isinstance(owner, tuple) and name == "pop":
        if not first and owner:
            return owner[-1]
        if first and isinstance(first[0], int) and -len(owner) <= first[0] < len(owner):
            return owner[first[0]]
    return unknown(f"{describe(owner)}.{name}()")


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


def _parse(source: str) -> object:
    """jinja2's syntax tree of `source` (never rendered); a template too deep for the stack left
    here is parsed again on a fresh stack, as a loader would parse it."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    environment = _ENV

    def parse() -> object:
        with warnings.catch_warnings():  # odd escapes in string literals warn from jinja's lexer
            warnings.simplefilter("ignore")
            return environment.parse(source)  # safe: parses to an AST, never renders

    try:
        return parse()
    except RecursionError:
        return retry_on_fresh_stack(parse)


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
            f"chat template {key!r} has {counted(len(source), 'character')}, over the limit of "
            f"{ctx.limits.max_template_chars}; not analysed",
            offset=offset,
            evidence={**evidence, "limit": "max_template_chars"},
        )
        return
    try:
        tree = _parse(source)
    except jinja2.TemplateSyntaxError as exc:
        if not lenient:  # Jinja refuses it, so renders nothing: medium, not an escape
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
            "scan-limit",
            f"chat template {key!r} nests too deeply for Jinja's parser here; a loader with more "
            "stack may parse and render it, so it was not analysed",
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
    deadline = ctx.budget.deadline
    try:
        try:
            issues = TemplateAnalysis(deadline).run(tree)
        except RecursionError:  # deep in the scan's stack: once more from a fresh one
            issues = retry_on_fresh_stack(lambda: TemplateAnalysis(deadline).run(tree))
    except OutOfTime:
        ctx.report(
            "scan-limit",
            f"time limit reached while analysing chat template {key!r}; not fully analysed",
            offset=offset,
            evidence={**evidence, "limit": "max_seconds_per_file"},
        )
        return
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
