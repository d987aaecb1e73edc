"""Keras model configs: what loading one would import, call or run. Read as data, never loaded.

One walker serves every format that carries a Keras config:

* Keras 3 `.keras` config.json: objects are {"module", "class_name", "config", "registered_name"}
  (+ "build_config", "compile_config", "shared_object_id"); Python lambdas, wherever they sit
  (a Lambda layer's function, an activation ...), are {"class_name": "__lambda__", "config":
  {"code" or "value": base64 marshal}}.
* Keras 2 / tf.keras HDF5 `model_config` and `training_config`, and tf.keras SavedModel metadata:
  objects are {"class_name", "config"}; a Lambda's `function` is [base64 marshal, defaults,
  closure] (or the base64 alone) with `function_type` "lambda", a function name with
  "function", or a raw value with "raw"; `module` names the module lending it globals.

Nested models, wrappers (TimeDistributed, Bidirectional), build/compile configs, losses,
metrics and optimizers are all plain nested values, so one bounded walk over every dict and list
reaches them. What it reports (one finding per distinct payload or reference, naming where):

* keras-lambda: marshalled Python bytecode; critical when it uses code-execution names.
* keras-unsafe-reference: objects Keras < 3.9 imports from any module (CVE-2025-1550), Keras APIs
  that are not modelling objects (get_file, enable_unsafe_deserialization ...), TensorFlow ops
  that touch files or run Python, layers that load another model (TFSMLayer).
* keras-custom-object: objects the loading program must supply (registered or custom classes).

TorchModuleWrapper layers embed a torch.save() pickle: it is scanned like any other member.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import re
from dataclasses import dataclass, field

from aisbom.scanners.frame.context import ScanContext
from aisbom.scanners.keras.names import KERAS_CLASSES, KERAS_FUNCTIONS
from aisbom.scanners.pickles.policy import judge
from aisbom.scanners.readers.marshal_code import summarize
from aisbom.scanners.tensorflow.ops import FILE_OPS, NETWORK_OPS, PATH_OPS, PYTHON_OPS
from aisbom.severity import Severity

_MAX_DEPTH = 512  # nesting of dicts and lists; Keras models nest a handful of levels per model
_TIME_CHECK_EVERY = 10_000  # nodes between deadline checks
_MAX_PLACES = 5  # places quoted per finding
_TRAIL_HEAD, _TRAIL_TAIL = 2, 5  # enclosing objects shown in a place: outermost, innermost
_MAX_NAMES = 40  # names quoted from one bytecode payload
_MAX_QUOTED = 8  # strings quoted from one bytecode payload

# Packages whose objects Keras deserializes as modelling objects.
_KERAS_PACKAGES = frozenset({"keras", "keras_hub", "keras_nlp", "keras_cv", "tf_keras"})
_TF_PACKAGES = frozenset({"tensorflow"})

# Objects that are data, never imported: tensors, arrays, slices, bytes ...
_DATA_OBJECTS = frozenset(
    {"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__"}
)

# Keras 2's JSON encoder (json_utils, used for SavedModel and keras_metadata.pb metadata and
# decoded by every Keras 2 loader) writes tuples and shapes as {"class_name": "__tuple__",
# "items": [...]} and {"class_name": "TensorShape", "items": [...]}; its decoder turns them into
# a tuple / tf.TensorShape by class name alone. Without a module nothing can import them.
_KERAS2_JSON_DATA = frozenset({"__tuple__", "TensorShape"})

# Keras APIs that are not modelling objects (Keras refuses them in configs since 3.11). Those
# that fetch or write files, load further models or bytecode, or switch safe mode off are
# critical, matched by name wherever they live in the Keras packages (keras.utils.get_file,
# keras.src.utils.file_utils.get_file, keras.src.legacy.saving.legacy_h5_format.load_model_from_hdf5 ...).
_KERAS_CRITICAL_APIS = re.compile(
    r"get_file"  # downloads anything anywhere (CVE-2025-8747)
    r"|enable_unsafe"  # turns safe_mode off for the rest of the load (CVE-2025-9906)
    r"|func_load|deserializ|model_from_|(?:load|save)_(?:model|weights)|save_img"
)
# Keras's file helpers (keras.src.utils.file_utils: remove, rmtree, copy, extract_archive, and
# the urlretrieve it imports) and exporters: a Functional model calls a layer that resolves
# to a function with the arguments of its inbound nodes, so each is a file or network write.
_KERAS_FILE_APIS = frozenset(
    {
        "remove",
        "rmtree",
        "copy",
        "makedirs",
        "extract_archive",
        "extract_open_archive",
        "urlretrieve",
        "File",
        "listdir",
        "plot_model",
        "model_to_dot",
        "KerasFileEditor",
        "ExportArchive",
        "export_saved_model",
    }
)
_KERAS_OTHER_APIS = frozenset(
    {
        "audio_dataset_from_directory",
        "image_dataset_from_directory",
        "text_dataset_from_directory",
        "load_img",
        "clear_session",
        "register_keras_serializable",
        "serialize_keras_object",
        "get_registered_object",
        "get_custom_objects",
    }
)

# TensorFlow functions (tf.* names, TFOpLambda symbols, module members) that touch files, run
# Python or load native code. `raw_ops.X` names and TensorFlowOpLayer ops are judged by the op
# tables of the TensorFlow scanner.
_TF_DANGEROUS = frozenset(
    {
        "write_file",
        "read_file",
        "matching_files",
        "gfile",
        "GFile",
        "py_function",
        "numpy_function",
        "py_func",
        "eager_py_func",
        "load_library",
        "load_op_library",
        "load_file_system_library",
        "create_file_writer",
        # tensorflow.python.lib.io.file_io, which any module path can reach in Keras < 3.9
        "file_io",
        "FileIO",
        "write_string_to_file",
        "atomic_write_string_to_file",
        "read_file_to_string",
        "delete_file",
        "delete_recursively",
        "recursive_create_dir",
        "create_dir",
        "rename",
    }
)
# Names that mean code execution, processes, files or imports when bytecode uses them (or
# when a config fetches them from builtins or the loading script).
DANGEROUS_CODE_NAMES = frozenset(
    {
        "eval", "exec", "compile", "__import__", "open", "breakpoint", "input", "getattr",
        "setattr", "delattr", "globals", "vars", "__builtins__", "__globals__", "__subclasses__",
        "__code__", "system", "popen", "Popen", "spawnl", "spawnv", "spawnve", "spawnlp", "spawnvp",
        "execv", "execve", "execl", "execvp", "fork", "check_call", "check_output",
        "getoutput", "getstatusoutput", "import_module", "run_path", "run_module", "os", "posix",
        "nt", "subprocess", "builtins", "importlib", "runpy", "marshal", "pickle", "dill", "ctypes",
        "socket", "shutil", "pty", "sys", "unlink", "rmtree", "rmdir", "urlopen",
        "urlretrieve", "requests", "webbrowser", "loads", "get_file", "write_file", "py_func",
        "py_function", "numpy_function", "load_library", "load_op_library",
    }
)  # fmt: skip
_PYTHON_BUILTINS = frozenset(dir(builtins))
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class _Verdict:
    """The rule, severity and reason a config place is reported with."""

    rule: str
    severity: Severity
    why: str


@dataclass
class _Hit:
    """One finding, gathered over every place the same payload or reference appears."""

    rule: str
    severity: Severity
    message: str
    evidence: dict[str, str]
    places: list[str] = field(default_factory=list)  # the first _MAX_PLACES, quoted
    # Every distinct place, by hash: a config can name one object in millions of places, and
    # keeping (or searching) them all would be quadratic.
    distinct_places: set[int] = field(default_factory=set)
    count: int = 0


@dataclass(frozen=True)
class _Trail:
    """The Keras objects around a value, outermost first, as findings show them: the outer two
    and the inner five (a config nests up to _MAX_DEPTH levels; a whole path copied for every
    value and joined for every finding made deep configs quadratic)."""

    head: tuple[str, ...] = ()
    tail: tuple[str, ...] = ()
    depth: int = 0

    def plus(self, label: str) -> _Trail:
        if len(self.head) < _TRAIL_HEAD:
            return _Trail((*self.head, label), (), self.depth + 1)
        return _Trail(self.head, (*self.tail, label)[-_TRAIL_TAIL:], self.depth + 1)

    def __bool__(self) -> bool:
        return self.depth > 0

    @property
    def last(self) -> str:
        return (self.tail or self.head or ("",))[-1]

    def text(self) -> str:
        skipped = self.depth - len(self.head) - len(self.tail)
        middle = (f"... {skipped} more ...",) if skipped else ()
        return " > ".join((*self.head, *middle, *self.tail))


def check_keras_config(config: object, ctx: ScanContext, *, where: str = "config.json") -> None:
    """Report what loading the Keras config `config` (parsed JSON) would run or import.

    `where` names the config in messages (a file, an HDF5 attribute, a metadata node)."""
    _Walk(ctx, where).run(config)


class _Walk:
    def __init__(self, ctx: ScanContext, where: str) -> None:
        self.ctx = ctx
        self.where = where
        self.hits: dict[tuple[str, ...], _Hit] = {}
        self.deep = False
        # Lambda layers call a function given by reference with these keyword arguments.
        self.call_arguments: dict[int, object] = {}

    def run(self, config: object) -> None:
        ctx = self.ctx
        # (value, depth, trail of enclosing Keras objects, key it sits under)
        stack: list[tuple[object, int, _Trail, str]] = [(config, 0, _Trail(), "")]
        nodes = 0
        while stack:
            node, depth, trail, key = stack.pop()
            nodes += 1
            if nodes > ctx.limits.max_keras_config_nodes:
                ctx.report(
                    "scan-limit",
                    f"Keras config in {self.where} holds more than {ctx.limits.max_keras_config_nodes} "
                    "objects and lists; the rest was not analysed",
                    evidence={"limit": "max_keras_config_nodes", "where": self.where},
                )
                break
            if nodes % _TIME_CHECK_EVERY == 0 and ctx.out_of_time():
                ctx.report(
                    "scan-limit",
                    f"time limit of {ctx.limits.max_seconds_per_file:g}s per file reached in the Keras "
                    f"config in {self.where}; the rest was not analysed",
                    evidence={"limit": "max_seconds_per_file", "where": self.where},
                )
                break
            if depth > _MAX_DEPTH:
                self.deep = True
                continue
            if isinstance(node, dict):
                if isinstance(node.get("class_name"), str):
                    trail = self._object(node, trail, key)
                children = [(v, k if isinstance(k, str) else key) for k, v in node.items()]
            elif isinstance(node, list):
                children = [(v, key) for v in node]
            else:
                continue
            for child, child_key in reversed(children):
                if isinstance(child, (dict, list)):
                    stack.append((child, depth + 1, trail, child_key))
        if self.deep:
            ctx.report(
                "scan-limit",
                f"Keras config in {self.where} nests deeper than {_MAX_DEPTH} levels; the deeper "
                "values were not analysed",
                evidence={"limit": "keras_config_depth", "where": self.where},
            )
        self._report()

    # --- one Keras object ------------------------------------------------------------------

    def _object(self, node: dict, trail: _Trail, key: str) -> _Trail:
        class_name: str = node["class_name"]
        inner = node.get("config")
        settings = inner if isinstance(inner, dict) else {}
        name = settings.get("name")
        label = _clip(class_name) + (f" {_clip(name)!r}" if isinstance(name, str) else "")
        here = trail.plus(label)
        if class_name == "__lambda__":
            code = settings.get("code", settings.get("value"))
            extras = {"defaults": settings.get("defaults"), "closure": settings.get("closure")}
            if isinstance(code, list) and code:  # func_load also takes [code, defaults, closure]
                code, extras = code[0], {"defaults": code[1:2], "closure": code[2:3]}
            self._lambda(code, extras, trail, key)
            return trail
        if class_name in _DATA_OBJECTS:
            return trail
        if class_name in _KERAS2_JSON_DATA and "items" in node and "module" not in node:
            return trail  # its items are still walked
        self._reference(node, class_name, inner, trail, key)
        function = settings.get("function")
        if class_name == "Lambda" and isinstance(function, dict) and settings.get("arguments"):
            self.call_arguments[id(function)] = settings["arguments"]
        if "function" in settings or "output_shape" in settings:
            self._legacy_lambda(class_name, settings, here)
        if class_name in ("TFOpLambda", "SlicingOpLambda"):
            self._tf_symbol(settings.get("function"), here)
        elif class_name == "TensorFlowOpLayer":
            self._tf_node_def(settings.get("node_def"), here)
        elif class_name == "TFSMLayer":
            self._saved_model_layer(settings, here)
        elif class_name == "TorchModuleWrapper":
            self._torch_module(settings.get("module"), here)
        return here

    # --- bytecode ----------------------------------------------------------------------------

    def _legacy_lambda(self, class_name: str, settings: dict, here: _Trail) -> None:
        """Keras 1/2 Lambda functions: [code, defaults, closure], or code with function_type
        "lambda" (Keras 3 converts any list to a lambda when it reads an HDF5 file)."""
        for value_key, type_key, module_key in (
            ("function", "function_type", "module"),
            ("output_shape", "output_shape_type", "output_shape_module"),
        ):
            value, kind = settings.get(value_key), settings.get(type_key)
            module = settings.get(module_key)
            module = module if isinstance(module, str) else None
            if (
                isinstance(value, list)
                and value
                and isinstance(value[0], str)
                and (class_name == "Lambda" or kind == "lambda")
            ):
                extras = {"defaults": value[1:2], "closure": value[2:3]}
                self._lambda(value[0], extras, here, value_key, module=module)
            elif isinstance(value, str) and kind == "lambda":
                self._lambda(value, {}, here, value_key, module=module)
            elif isinstance(value, str) and kind == "function":
                self._named_function(value, module, here, value_key)

    def _lambda(
        self,
        code: object,
        extras: dict,
        owners: _Trail,
        key: str,
        *,
        module: str | None = None,
    ) -> None:
        """A lambda held by the last of `owners` (the Keras objects around it) under `key`."""
        owner = owners.last or "the model config"
        place = owners.text()
        key = _clip(key, 60)
        held = f"a Python lambda ({key})" if key and key != "config" else "a Python lambda"
        evidence = {"where": self.where, "object": owner}
        if key:
            evidence["key"] = key
        if module:
            module = _clip(module)
            evidence["globals_module"] = module
        if not isinstance(code, str):
            self._add(
                ("keras-lambda", "malformed", place),
                "keras-lambda",
                Severity.HIGH,
                f"{owner} in {self.where} holds {held} whose code is a {type(code).__name__}, not "
                "base64 text: Keras fails to load it, other readers may not",
                evidence,
                place,
            )
            return
        raw = _decode_code(code)
        summary = summarize(raw)
        texts = list(summary.strings) + _strings_in(extras)
        dangerous = sorted(
            {n for n in summary.names if n in DANGEROUS_CODE_NAMES}
            | {t for s in texts for t in _IDENTIFIER.findall(s) if t in DANGEROUS_CODE_NAMES}
        )
        module_reason = judge(module, "*").reason if module else ""
        severity = Severity.CRITICAL if dangerous or module_reason else Severity.HIGH
        if summary.decoded:
            uses = ", ".join(summary.names[:_MAX_NAMES]) or "no global names"
            reading = f"it uses {uses}"
        else:
            uses = ", ".join(summary.names[:_MAX_NAMES]) or "none"
            reading = (
                f"its bytecode did not decode with this Python ({summary.problem}); "
                f"identifiers found in the payload: {uses}"
            )
        quoted = ", ".join(repr(s[:80]) for s in texts[:_MAX_QUOTED])
        message = (
            f"{owner} in {self.where} holds {held} as marshalled bytecode, which Keras runs when the model "
            f"is loaded with safe_mode=False or called: {reading}"
            + (f"; strings {quoted}" if quoted else "")
            + (f"; dangerous names: {', '.join(dangerous)}" if dangerous else "")
            + (f"; it takes its globals from module {module!r} ({module_reason})" if module_reason else "")
        )
        evidence |= {
            "decoded": "yes" if summary.decoded else "no",
            "names": ", ".join(summary.names[:_MAX_NAMES]),
            "bytecode_bytes": str(len(raw)),
        }
        if quoted:
            evidence["strings"] = quoted
        if dangerous:
            evidence["dangerous_names"] = ", ".join(dangerous)
        self._add(("keras-lambda", code), "keras-lambda", severity, message, evidence, place)

    # --- references to Python objects -------------------------------------------------------

    def _reference(self, node: dict, class_name: str, inner: object, trail: _Trail, key: str) -> None:
        module = node.get("module")
        module = module if isinstance(module, str) and module else None
        registered = node.get("registered_name")
        registered = registered if isinstance(registered, str) else None
        if class_name == "function":
            if not isinstance(inner, str):
                return  # Keras refuses it
            name, kind = inner, "function"
        elif class_name == "__typespec__":
            spec = node.get("spec_name")
            if not isinstance(spec, str):
                return
            name, kind = spec, "class"
        else:
            name, kind = class_name, "class"
        verdict = _judge_reference(module, name, registered, kind == "function")
        if verdict is None:
            return
        shown = f"{kind} {_clip(name)!r}" + (f" of module {_clip(module)!r}" if module else "")
        if registered and registered not in (name, "function"):
            shown += f" (registered as {_clip(registered)!r})"
        message = f"{shown} in {self.where}: {verdict.why}"
        evidence = {"where": self.where, "module": _clip(module or ""), "name": _clip(name)}
        arguments = self.call_arguments.get(id(node))
        if arguments is not None:
            evidence["call_arguments"] = _short(arguments)
            message += f"; the Lambda layer calls it with {_short(arguments)}"
        if registered and registered != "function":
            evidence["registered_name"] = _clip(registered)
        place = trail.text() + (f" ({_clip(key, 60)})" if key and key != "config" else "")
        self._add(
            (verdict.rule, module or "", name, registered or ""),
            verdict.rule,
            verdict.severity,
            message,
            evidence,
            place,
        )

    def _named_function(self, name: str, module: str | None, here: _Trail, key: str) -> None:
        """Keras 2 Lambda functions given by name: looked up among custom objects and in the
        globals of `module` (when the loading process has imported it)."""
        if module and judge(module, name).dangerous:
            verdict = _Verdict(
                "keras-unsafe-reference",
                Severity.CRITICAL,
                f"the Lambda calls {_clip(name)!r} from the globals of module {_clip(module)!r}, which "
                f"runs commands, touches files or imports code",
            )
        elif name in KERAS_FUNCTIONS:
            return
        else:
            verdict = _Verdict(
                "keras-custom-object",
                Severity.MEDIUM,
                "a Lambda function given by name: the loading program must supply it "
                "(custom_objects); the code is not in the file",
            )
        place = here.text()
        message = f"function {_clip(name)!r} ({_clip(key, 60)} of {here.last}) in {self.where}: {verdict.why}"
        evidence = {"where": self.where, "module": _clip(module or ""), "name": _clip(name)}
        self._add(
            (verdict.rule, module or "", name, ""), verdict.rule, verdict.severity, message, evidence, place
        )

    # --- TensorFlow ops and other models ------------------------------------------------------

    def _tf_symbol(self, symbol: object, here: _Trail) -> None:
        """TFOpLambda: a tf.* function named by its API path ("math.add", "io.write_file")."""
        if not isinstance(symbol, str):
            return
        symbol = _clip(symbol)
        danger = _tf_danger(symbol.split("."))
        if danger:
            self._add(
                ("keras-unsafe-reference", "tf", symbol),
                "keras-unsafe-reference",
                danger[0],
                f"{here.last} in {self.where} calls tf.{symbol}, which {danger[1]}",
                {"where": self.where, "function": symbol},
                here.text(),
            )

    def _tf_node_def(self, node_def: object, here: _Trail) -> None:
        """TensorFlowOpLayer (tf.keras 2.0-2.3): one raw TensorFlow op, run on every call."""
        op = node_def.get("op") if isinstance(node_def, dict) else None
        danger = _tf_op_danger(op) if isinstance(op, str) else None  # only known ops: short names
        if danger:
            self._add(
                ("keras-unsafe-reference", "tf-op", str(op)),
                "keras-unsafe-reference",
                danger[0],
                f"{here.last} in {self.where} runs the TensorFlow op {op}, which {danger[1]}",
                {"where": self.where, "op": str(op)},
                here.text(),
            )

    def _saved_model_layer(self, settings: dict, here: _Trail) -> None:
        path = _clip(str(settings.get("filepath")))
        self._add(
            ("keras-unsafe-reference", "TFSMLayer", str(path)),
            "keras-unsafe-reference",
            Severity.HIGH,
            f"{here.last} in {self.where} loads the TensorFlow SavedModel at {path!r} when the model "
            "loads: its graph runs, and it is outside this file, so it was not scanned",
            {"where": self.where, "filepath": str(path)},
            here.text(),
        )

    def _torch_module(self, encoded: object, here: _Trail) -> None:
        """TorchModuleWrapper keeps base64 torch.save() bytes, which Keras hands to torch.load."""
        if not isinstance(encoded, str):
            return
        member = f"{self.where}: {here.last} module"
        try:
            raw = base64.b64decode(encoded.encode("ascii"))
        except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
            self.ctx.report(
                "scan-error",
                f"{here.last} in {self.where}: its torch module is not base64 "
                f"({exc}); it could not be analysed",
                evidence={"where": self.where},
            )
            return
        self.ctx.scan_nested(raw, member)

    # --- findings ---------------------------------------------------------------------------

    def _add(
        self,
        key: tuple[str, ...],
        rule: str,
        severity: Severity,
        message: str,
        evidence: dict[str, str],
        place: str,
    ) -> None:
        hit = self.hits.get(key)
        if hit is None:
            hit = self.hits[key] = _Hit(rule, severity, message, evidence)
        hit.count += 1
        if place and hash(place) not in hit.distinct_places:
            hit.distinct_places.add(hash(place))
            if len(hit.places) < _MAX_PLACES:
                hit.places.append(place)

    def _report(self) -> None:
        for hit in self.hits.values():
            evidence = dict(hit.evidence)
            message = hit.message
            if hit.places:
                shown = ", ".join(hit.places[:_MAX_PLACES])
                more = len(hit.distinct_places) - len(hit.places)
                evidence["places"] = shown + (f" and {more} more" if more > 0 else "")
                message += f" [at {shown}" + (f" and {more} more places" if more > 0 else "") + "]"
            if hit.count > 1:
                evidence["occurrences"] = str(hit.count)
            self.ctx.report(hit.rule, message, severity=hit.severity, evidence=evidence)


# --- verdicts ---------------------------------------------------------------------------------


def _judge_reference(
    module: str | None, name: str, registered: str | None, is_function: bool
) -> _Verdict | None:
    """How bad it is that the config names `name` from `module`; None when it is Keras's own."""
    custom = registered is not None and ">" in registered
    if module is None:
        if (
            name in KERAS_CLASSES
            or name in KERAS_FUNCTIONS
            or (
                name.startswith("Custom>") and name[len("Custom>") :] in KERAS_CLASSES  # tf 2.11 optimizers
            )
        ):
            return None
        return _Verdict(
            "keras-custom-object",
            Severity.MEDIUM,
            "not a Keras built-in: the loading program must supply it (custom_objects or a registered "
            "class); its code is not in the file",
        )
    package = module.split(".", 1)[0]
    if package in _KERAS_PACKAGES:
        if _KERAS_CRITICAL_APIS.search(name) or name in _KERAS_FILE_APIS or name in DANGEROUS_CODE_NAMES:
            return _Verdict(
                "keras-unsafe-reference",
                Severity.CRITICAL,
                "a Keras API that fetches or writes files, loads further models or turns "
                "safe_mode off, not a modelling object (Keras < 3.11 resolves it)",
            )
        if name in _KERAS_OTHER_APIS:
            return _Verdict(
                "keras-unsafe-reference",
                Severity.HIGH,
                "a Keras API that is not a modelling object (Keras < 3.11 resolves it)",
            )
        return None
    if package in _TF_PACKAGES:
        danger = _tf_danger([*module.split(".")[1:], name])
        if danger:
            return _Verdict("keras-unsafe-reference", danger[0], f"a TensorFlow function that {danger[1]}")
        return None
    old_keras = "Keras < 3.9 imports it from any module, even with safe_mode=True (CVE-2025-1550)"
    if module == "builtins":
        if name in KERAS_FUNCTIONS:
            return None  # Keras's own activations, losses, metrics ... are saved this way
        if name in _PYTHON_BUILTINS:
            severity = Severity.CRITICAL if name in DANGEROUS_CODE_NAMES else Severity.HIGH
            why = f"a Python built-in, not a Keras object; {old_keras}"
            return _Verdict("keras-unsafe-reference", severity, why)
        if not is_function:
            return None  # nothing Keras can fetch (e.g. a lambda's captured module, saved by name)
        return _Verdict(
            "keras-custom-object",
            Severity.MEDIUM,
            "a custom function saved by name: the loading program must supply it; its code is not "
            "in the file",
        )
    if module == "__main__":
        if name in DANGEROUS_CODE_NAMES:
            return _Verdict(
                "keras-unsafe-reference",
                Severity.HIGH,
                f"fetched from the loading program's own globals; {old_keras}",
            )
        return _Verdict(
            "keras-custom-object",
            Severity.MEDIUM,
            "a class of the program that saved the model: the loading program must supply it",
        )
    verdict = judge(module, name)
    if verdict.dangerous:
        return _Verdict("keras-unsafe-reference", Severity.CRITICAL, f"{verdict.reason}; {old_keras}")
    if custom and registered is not None and registered.rsplit(">", 1)[-1] == name:
        return _Verdict(
            "keras-custom-object",
            Severity.MEDIUM,
            f"a registered custom object: the loading program must supply it (if it does not, {old_keras})",
        )
    why = f"outside the Keras and TensorFlow namespaces; {old_keras}"
    return _Verdict("keras-unsafe-reference", Severity.HIGH, why)


def _tf_danger(segments: list[str]) -> tuple[Severity, str] | None:
    """How bad the TensorFlow API path `segments` is, and what it does; None if harmless."""
    for i, segment in enumerate(segments):
        if segment == "raw_ops" and i + 1 < len(segments):
            return _tf_op_danger(segments[i + 1])
        if segment in _TF_DANGEROUS or segment in _KERAS_FILE_APIS or _KERAS_CRITICAL_APIS.search(segment):
            # (tf.keras.utils.get_file, tf.keras.models.load_model: Keras's own file APIs)
            return Severity.CRITICAL, "touches files, runs Python or loads native code"
    return None


def _tf_op_danger(op: str) -> tuple[Severity, str] | None:
    """A raw TensorFlow op, judged with the TensorFlow scanner's tables."""
    if op in PYTHON_OPS:
        return Severity.CRITICAL, "runs a Python function registered in the loading process"
    if op in FILE_OPS or op in NETWORK_OPS:
        return FILE_OPS.get(op) or NETWORK_OPS[op]
    if op in PATH_OPS:  # in a layer, the checkpoint path comes from the model's own inputs
        writes = PATH_OPS[op][1]
        return Severity.HIGH, "writes checkpoint files" if writes else "reads checkpoint or vocabulary files"
    return None


def _decode_code(code: str) -> bytes:
    """The marshal bytes of a Lambda, decoded as Keras's func_load does: base64, or the string
    itself when it is not base64."""
    try:
        return base64.decodebytes(code.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error):
        return code.encode("raw_unicode_escape")


def _strings_in(value: object, found: list[str] | None = None, depth: int = 0) -> list[str]:
    """Strings in a lambda's defaults and closure (bounded)."""
    found = [] if found is None else found
    if depth > 8 or len(found) >= _MAX_QUOTED:
        return found
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, dict):
        # A serialized object's module/class_name are metadata; what it holds is its config.
        items = [value.get("config")] if "class_name" in value else list(value.values())
        for item in items:
            _strings_in(item, found, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _strings_in(item, found, depth + 1)
    return found


def _short(value: object, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _clip(text: str, limit: int = 120) -> str:
    """Names from the file, shortened for messages (a hostile config can make them huge)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
