"""The one rule table. Scanners report by rule id; formats and docs read the metadata here.

`docs/rules.md` is generated from this table (`python -m aisbom.rules > docs/rules.md`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from aisbom.severity import Severity

CONVERT = "Convert the weights to safetensors (or another non-executable format) and load those."


@dataclass(frozen=True)
class Rule:
    """One rule of the table: its id, default severity and what it means."""

    id: str
    severity: Severity  # default; a scanner may raise or lower it with a reason
    title: str
    trigger: str  # what makes it fire
    why: str  # why it matters
    fix: str  # what to do
    # One line each, for the terminal report under every finding (from _BRIEF below).
    brief_why: str = ""
    remedy: str = ""


_RULES = [
    Rule(
        "pickle-dangerous-global",
        Severity.CRITICAL,
        "Pickle imports a known code-execution callable",
        "A GLOBAL/STACK_GLOBAL/INST resolves (after fix_imports remapping, module aliases and "
        "dotted-name walks) to a callable known to run code, spawn processes, write files or "
        "load further pickles (os.system, builtins.eval, subprocess.Popen, pickle.loads ...).",
        "Unpickling this file runs attacker-chosen code with the loader's privileges.",
        "Do not load the file. " + CONVERT,
    ),
    Rule(
        "pickle-unknown-call",
        Severity.HIGH,
        "Pickle calls a callable outside the allowlist",
        "REDUCE, INST, OBJ or a higher-order allowlisted rebuild function invokes a global "
        "that is not on the exact (module, qualified name) allowlist for model files.",
        "Any callable reachable by import can be invoked by a pickle; the next gadget is "
        "always one a denylist forgot, so only allowlisted calls are trusted.",
        "Inspect the named callable. If it is genuinely safe, extend the allowlist with "
        "--allow FILE; otherwise do not load the file. " + CONVERT,
    ),
    Rule(
        "pickle-dynamic-call",
        Severity.HIGH,
        "Pickle calls a value computed at load time",
        "A REDUCE/NEWOBJ/BUILD acts on something that is not a plain global: the result of "
        "another call, an extension-registry code, or a global whose name is computed.",
        "Computed callables are how attackers reach getattr chains and hidden imports; "
        "their target cannot be known without running the pickle.",
        "Do not load the file. " + CONVERT,
    ),
    Rule(
        "pickle-divergent-reading",
        Severity.MEDIUM,
        "CPython's unpicklers read the pickle differently",
        "_pickle.c (pickle.load), _pickle.c reading a stream (torch.load's zip members), "
        "_pickle.c since 3.13.15 and pickle.py disagree on this stream: a text argument one of "
        "them refuses, an argument that runs past the end of its FRAME, a REDUCE on a list. "
        "Each reading is analysed and what only one of them runs is reported as such.",
        "Benign writers never produce such streams; a scanner that reads only one way is blind "
        "to what the other loaders run.",
        "Do not load the file. " + CONVERT,
    ),
    Rule(
        "pickle-extension-code",
        Severity.MEDIUM,
        "Pickle fetches a global through the extension registry",
        "An EXT1/EXT2/EXT4 opcode names an object by a code registered with "
        "copyreg.add_extension. No loader registers any (CPython, torch and numpy start with "
        "an empty registry), so loading stops there.",
        "Nothing runs in a default process; a process that registered codes would import "
        "whatever it registered.",
        "Re-download the file from its source and verify its hash.",
    ),
    Rule(
        "marshal-code",
        Severity.MEDIUM,
        "Python code object (marshal data, .pyc)",
        "The file is a compiled Python module or a marshalled code object. It is not a model "
        "format and is not analysed as one; the names and strings it holds are listed.",
        "A code object runs as soon as a program imports or executes it.",
        "Remove compiled code from model repositories, or review its source.",
    ),
    Rule(
        "pickle-unknown-global",
        Severity.MEDIUM,
        "Pickle imports or constructs a class outside the allowlist",
        "A global outside the allowlist is imported (which runs its module's import-time code) "
        "or only constructed (NEWOBJ / copyreg reconstruction), but never called.",
        "Construction runs __new__/__setstate__ of the class, and import runs module code; "
        "usually a custom class of the training code, sometimes a gadget.",
        "Check the class comes from code you trust; add it with --allow FILE to silence. "
        "Use --strict to fail on these.",
    ),
    Rule(
        "torchscript-unsafe-op",
        Severity.CRITICAL,
        "TorchScript code calls an operator that touches files or loads code",
        "The TorchScript source in an archive's code/ directory calls torch.from_file, torch.save, "
        "torch.load or loads an operator library.",
        "TorchScript methods run inside torch.jit.load (__setstate__) or on every call (forward); "
        "file operators write or read arbitrary paths without any pickle being involved.",
        "Do not load the archive. Export the weights to safetensors and rebuild the module in code.",
    ),
    Rule(
        "pickle-malformed",
        Severity.HIGH,
        "Pickle stream is malformed",
        "An opcode is unknown, truncated, or inconsistent (stack underflow, missing memo "
        "entry, no STOP). Everything before that point is analysed as the pickle loader would "
        "execute it.",
        "The pickle loader executes opcodes one by one: calls made before the break still run. "
        "Benign tools never write broken pickles; a damaged file is also not the one published.",
        "Re-download the file from its source and verify its hash.",
    ),
    Rule(
        "pickle-trailing-data",
        Severity.LOW,
        "Data after the end of the pickle",
        "Bytes follow the final STOP opcode and are not another pickle.",
        "pickle.load ignores them, but a different loader might read them; they can hide payloads.",
        "Re-export the file with its original tool.",
    ),
    Rule(
        "pickle-embedded",
        Severity.INFO,
        "Pickle embedded inside another pickle",
        "A bytes constant is itself a pickle stream (for example one handed to pickle.loads); "
        "it was scanned and its findings are reported under this member.",
        "Nested pickles hide payloads from scanners that only look at the outer stream.",
        "Treat findings inside the embedded pickle like findings of the file itself.",
    ),
    Rule(
        "pickle-format",
        Severity.LOW,
        "Pickle-based serialization",
        "The file (or a member) is a pickle or a format that wraps one (PyTorch, joblib, "
        "NumPy object arrays). No unsafe call was found.",
        "Pickle can execute code by design; this verdict is only as good as the allowlist.",
        CONVERT,
    ),
    Rule(
        "numpy-object-array",
        Severity.LOW,
        "NumPy array of Python objects",
        "A .npy array (alone or in .npz) has an object dtype, so its payload is a pickle "
        "that np.load unpickles once allow_pickle is enabled.",
        "np.load refuses it by default, but users often enable allow_pickle to make it load.",
        "Store numeric arrays only, or convert to safetensors.",
    ),
    Rule(
        "archive-path-traversal",
        Severity.HIGH,
        "Archive member escapes the extraction directory",
        "A zip/tar/7z member name is absolute, has a drive letter, or contains '..' segments; "
        "or a tar link or zip symlink entry (Unix mode bits, as unzip and bsdtar honour them) "
        "points outside the archive.",
        "Extracting the archive (as many model loaders do) overwrites files outside the target.",
        "Do not extract the archive; obtain a clean copy.",
    ),
    Rule(
        "archive-tampered",
        Severity.MEDIUM,
        "Archive structure is inconsistent",
        "Zip local and central headers disagree (name, sizes), a CRC does not match, flag bits "
        "are set that tools interpret differently, names repeat, entries overlap or hide between "
        "others; a tar has gaps or device nodes; bytes follow the end of a compressed stream.",
        "Loaders that tolerate the inconsistency (PyTorch does) may see different content than "
        "scanners that trust one of the headers.",
        "Re-create the archive with standard tools and re-verify its hash.",
    ),
    Rule(
        "template-injection",
        Severity.CRITICAL,
        "Chat template reaches Python internals",
        "A Jinja chat template (GGUF tokenizer.chat_template*, tokenizer_config.json, "
        "chat_template.jinja/.json), parsed and never rendered, walks to a dunder or frame "
        "attribute (__globals__, __class__, __init__, __subclasses__, _TemplateReference__context "
        "...), after folding obfuscated names built with ~, +, |attr, |format, |join, |reverse, "
        "slices, set variables, namespace attributes and macro arguments (critical); or it "
        "walks from a Jinja global (cycler, joiner, namespace, lipsum, range, self, request ...), "
        "reaches module-like names (os, popen, eval ...) or private attributes, or builds an "
        "attribute name it is impossible to resolve without rendering (high).",
        "Loaders that render chat templates with a non-sandboxed jinja2.Environment (CVE-2024-34359 "
        "in llama-cpp-python) run the template's Python attribute walk, which reaches os.popen: "
        "loading the model runs commands. Benign chat templates only read messages and tokens.",
        "Do not render the template. Replace it with the model family's published chat template, "
        "and render templates only with jinja2.sandbox.ImmutableSandboxedEnvironment.",
    ),
    Rule(
        "template-unparseable",
        Severity.MEDIUM,
        "Chat template does not parse",
        "A chat template stored in a model file or tokenizer config is not valid Jinja for "
        "jinja2's parser (with the loop-control and generation extensions that Hugging Face "
        "enables).",
        "jinja2 refuses it, so a loader that renders with jinja2 runs nothing (hence medium); "
        "but another Jinja version or engine (llama.cpp's C++ one, a future jinja2) may accept "
        "it and run what it contains. Published templates always parse, so a broken one is not "
        "the one published. (Templates too large or too deeply nested to analyse are scan-limit.)",
        "Replace the template with the model family's published chat template.",
    ),
    Rule(
        "gguf-header-invalid",
        Severity.HIGH,
        "GGUF header is truncated or inconsistent",
        "A GGUF header declares counts or lengths that the file cannot hold (key/value or tensor "
        "count, string or array length past the end), tensor data outside the file, more than "
        "4 dimensions, or an unknown version or value type (high); or tensors are misaligned, "
        "overlap, have an unknown ggml type, or keys and tensor names repeat (medium).",
        "GGUF loaders have had heap overflows from exactly these fields; lying counts make "
        "readers allocate or read out of bounds, and repeated keys let two readers see "
        "different metadata. Writers never produce them.",
        "Re-download the file from its source and verify its hash; do not load it with an old "
        "llama.cpp or gguf reader.",
    ),
    Rule(
        "tf-python-op",
        Severity.CRITICAL,
        "TensorFlow graph calls back into Python",
        "A node of a SavedModel or frozen GraphDef graph, or of a function in its library, is a "
        "PyFunc, PyFuncStateless or EagerPyFunc op (tf.py_func / tf.numpy_function / "
        "tf.py_function); or a TFLite model runs one as a Flex op (FlexPyFunc ...).",
        "These ops run a Python function registered in the loading process under the token in "
        "the graph; whoever controls that registry (a custom loader, a Keras Lambda, another "
        "model in the same process) runs arbitrary code when the graph runs. Exported serving "
        "models never need them.",
        "Do not run the graph. Re-export the model without py_function/numpy_function, or "
        "rebuild it from its weights in code you control.",
    ),
    Rule(
        "tf-file-op",
        Severity.HIGH,
        "TensorFlow graph reads, writes or lists files",
        "A node (in the main graph or any library function) is ReadFile, WriteFile, "
        "MatchingFiles, a whole-file reader, a dataset writer or snapshot, PrintV2 with a "
        "file:// output stream or a debug op dumping to files (high); a dataset/record "
        "reader, ImmutableConst or a summary writer (medium); or a checkpoint or vocabulary op "
        "(SaveV2, MergeV2Checkpoints, RestoreV2, InitializeTableFromTextFile ...) whose constant "
        "path is absolute, a URL or contains '..' (high when it writes, medium when it reads). "
        "In a TFLite model, the same ops run as Flex ops (FlexReadFile, FlexWriteFile ...), "
        "checkpoint ops included (their paths are tensors: high when they write, medium when "
        "they read).",
        "Graph ops run with the loading process's file access: a model can read secrets such as "
        "~/.ssh keys into its outputs, list directories, or overwrite files such as shell "
        "start-up scripts, without any Python in the file. Every SavedModel has checkpoint ops, "
        "so those count only when they leave the model directory.",
        "Do not run the graph. Inspect the listed nodes; re-export the model from code you "
        "trust, or convert the weights to safetensors.",
    ),
    Rule(
        "tf-network-op",
        Severity.HIGH,
        "TensorFlow graph opens network connections",
        "A node is an RPC op (RpcClient, RpcCall, RpcServer, Rpc, TryRpc) or a debug op "
        "streaming to a grpc:// URL (high), or reads from a tf.data service (medium); in a "
        "SavedModel, a GraphDef or a TFLite model's Flex ops.",
        "The graph can send inputs, outputs or file contents to a remote host, or accept "
        "connections, whenever the model runs.",
        "Do not run the graph in a networked environment; re-export the model without these ops.",
    ),
    Rule(
        "tflite-custom-op",
        Severity.MEDIUM,
        "TFLite model uses a custom operator",
        "An operator code of a TFLite model is CUSTOM with a name that is not a Flex op "
        "('Flex' + a TensorFlow op name, judged with the TensorFlow rules instead). Low: a Flex "
        "op whose TensorFlow op reaches nothing outside the graph.",
        "The interpreter runs a custom operator only through a native kernel that the user "
        "registers in the op resolver: that code runs with the process's privileges, and a "
        "model may name one the user already links in. Flex ops need the Select TF ops "
        "delegate, i.e. the whole TensorFlow runtime.",
        "Find out which library provides the operator and register only a build you trust; "
        "prefer a model made of builtin operators.",
    ),
    Rule(
        "onnx-external-data-traversal",
        Severity.HIGH,
        "ONNX tensor reads its data from outside the model directory",
        "A tensor's external_data location (or basepath) is absolute, has a drive letter, a URL "
        "scheme, a '..' segment, a backslash, a leading '~' or a NUL byte; in an initializer, a "
        "Constant or other node attribute, a subgraph (If/Loop/Scan), a training graph or a "
        "model function.",
        "Loading the model reads the named file (/etc/passwd, ~/.ssh/id_rsa, cloud credentials) "
        "into a tensor, where the model's outputs can disclose it (CVE-2022-25882, "
        "CVE-2024-27318). onnx >= 1.16 and current onnxruntime refuse such paths; older "
        "versions and other runtimes follow them.",
        "Do not load the model. Obtain one whose external data files sit next to it under "
        "relative names (model.onnx + model.onnx.data).",
    ),
    Rule(
        "onnx-python-op",
        Severity.HIGH,
        "ONNX node dispatches to Python code",
        "A node is onnxruntime's PyOp (which imports the module and class the node names) or "
        "ORT training's PythonOp/PythonOpGrad.",
        "Running the model calls Python code chosen by the model file: with PyOp, any importable "
        "module; with PythonOp, whatever autograd function the host registered under that name.",
        "Do not run the model with Python operators enabled. Read the node's module/class or "
        "op name and check you trust and meant to register that code.",
    ),
    Rule(
        "onnx-custom-op",
        Severity.MEDIUM,
        "ONNX model uses a custom operator domain",
        "A node's domain is not a standard ONNX domain ('', ai.onnx, ai.onnx.ml, "
        "ai.onnx.training, ai.onnx.preview.training) nor onnxruntime's own (com.microsoft...), "
        "and no function of that name is defined in the model (onnxruntime-extensions' "
        "ai.onnx.contrib included: its ops are native or host-registered Python functions, "
        "never code from the model). Low: an operator of a standard "
        "domain that the installed onnx does not know.",
        "Running the model needs a native operator library that the user loads into the "
        "runtime (register_custom_ops_library): that library runs with the process's "
        "privileges, and a model may name one the user already has.",
        "Find out which library provides the domain and load only a build you trust; prefer a "
        "model made of standard operators.",
    ),
    Rule(
        "onnx-tensor-inconsistent",
        Severity.HIGH,
        "ONNX tensor is inconsistent with its shape or type",
        "A tensor has negative or overflowing dimensions, an unknown data_type, a payload "
        "whose size differs from dims x element size (raw_data, typed fields or external data "
        "length), data stored twice or in the wrong field, several external locations, or a "
        "non-numeric offset/length. Medium: a consistent tensor that declares more than "
        "max_onnx_tensor_bytes. Low: unknown external_data keys.",
        "Runtimes have read out of bounds on such tensors, and loaders that resolve the "
        "inconsistency differently compute with different weights; huge declared sizes exhaust "
        "memory at load time. Exporters never write them.",
        "Re-export the model from its source, or re-download it and verify its hash.",
    ),
    Rule(
        "safetensors-header-invalid",
        Severity.HIGH,
        "safetensors header is invalid",
        "The 8-byte header length is 0, over max_safetensors_header or past the end of the "
        "file; the header is not UTF-8 or not one JSON object; a tensor entry lacks dtype, "
        "shape or data_offsets, has an unknown dtype, a shape that is not a list of "
        "non-negative integers, or offsets that are not two ordered integers; __metadata__ "
        "is not a map of strings to strings.",
        "The safetensors library refuses such a file, but hand-written readers (C++, JS, "
        "converters, older libraries) each guess differently: what one loader computes with is "
        "not what another, or this scan, saw.",
        "Re-download the file and verify its hash; re-save it with the safetensors library.",
    ),
    Rule(
        "safetensors-duplicate-key",
        Severity.HIGH,
        "safetensors header repeats a key",
        "A key appears twice in the JSON header: a tensor name, __metadata__ or a key in it, "
        "or a field of a tensor entry.",
        "JSON parsers disagree on duplicates: the safetensors library and Python keep the last "
        "entry and ignore the first without any check, other readers keep the first or fail. "
        "Two loaders of the same file then see different tensors.",
        "Re-save the file with the safetensors library from weights you trust.",
    ),
    Rule(
        "safetensors-offsets-invalid",
        Severity.HIGH,
        "safetensors tensor offsets are inconsistent",
        "A tensor's byte range is not shape x dtype size, runs past the end of the file, "
        "overlaps another tensor, or the ranges do not start at the beginning of the data "
        "buffer.",
        "Overlapping tensors alias each other's bytes; out-of-bounds ranges read past the file "
        "in readers that do not check. The safetensors library refuses such files; other "
        "readers do not all check.",
        "Re-save the file with the safetensors library from weights you trust.",
    ),
    Rule(
        "safetensors-hidden-data",
        Severity.HIGH,
        "safetensors file holds bytes no tensor describes",
        "Bytes lie between two tensors' ranges or after the last one. They are scanned as a "
        "file of their own.",
        "Data no tensor claims is invisible to tools that list the tensors, which makes it a "
        "hiding place for a second payload (a pickle, an archive) that other code extracts.",
        "Re-save the file with the safetensors library from weights you trust.",
    ),
    Rule(
        "safetensors-header-unusual",
        Severity.LOW,
        "safetensors header has unusual but accepted content",
        "The JSON header starts with whitespace, is padded with characters other than spaces, "
        "or a tensor entry has fields besides dtype, shape and data_offsets.",
        "The safetensors library accepts and ignores these, but they are not written by it; "
        "they can carry data past tools that only read known fields.",
        "Re-save the file with the safetensors library if its origin matters.",
    ),
    Rule(
        "safetensors-converted",
        Severity.INFO,
        "safetensors file says it was converted by aisbom",
        "The header's __metadata__ records the file it was made from (aisbom.source), that "
        "file's SHA-256 (aisbom.source_sha256) and how it was read (aisbom.conversion: static "
        "or sandboxed), as `aisbom convert` writes them.",
        "It links the weights back to the checkpoint they came from; `aisbom bom` records the "
        "conversion as a formulation step. The record is what the file claims: check the "
        "source's hash against the checkpoint you trust.",
        "Nothing to fix.",
    ),
    Rule(
        "keras-lambda",
        Severity.HIGH,
        "Keras model carries Python bytecode",
        "A Keras config (.keras config.json, HDF5 model_config/training_config, SavedModel "
        "metadata) holds a marshalled Python function: a Lambda layer's function or output_shape "
        "(Keras 3 __lambda__ objects, Keras 2 [code, defaults, closure] lists), or a __lambda__ "
        "anywhere else, such as an activation. Critical when the decoded code objects name "
        "code-execution, process, file or import functions (eval, exec, __import__, open, os, "
        "system, subprocess ...).",
        "Keras rebuilds the function from the bytecode and runs it when the model is built or "
        "called (CVE-2024-3660); safe_mode=True refuses it, but users switch safe_mode off to load "
        "such models, and tf.keras 2 had no safe mode at all.",
        "Do not load the file with safe_mode=False. Re-create the Lambda as a registered custom "
        "layer in code, re-save the model without Lambda layers, or take only the weights "
        "(convert them to safetensors).",
    ),
    Rule(
        "keras-unsafe-reference",
        Severity.HIGH,
        "Keras config imports an object from outside Keras",
        "An object's module/class_name/registered_name (or a function given by name) points "
        "outside the Keras and TensorFlow namespaces; or names a Keras API that is not a "
        "modelling object (get_file, enable_unsafe_deserialization, load_model ...); or a "
        "TensorFlow function or op that touches files or runs Python (TFOpLambda, "
        "TensorFlowOpLayer); or a TFSMLayer loads another SavedModel. Critical for modules and "
        "functions that run commands, touch files or import code.",
        "Keras before 3.9 imports any module a config names and fetches the attribute, even with "
        "safe_mode=True (CVE-2025-1550); Keras before 3.11 resolves its own non-modelling APIs "
        "(CVE-2025-8747, CVE-2025-9906). The file then decides what the loader calls.",
        "Do not load the file with an older Keras. Upgrade Keras (>= 3.11), load with "
        "safe_mode=True, and rebuild the model from code with only Keras layers and your own "
        "registered custom objects; or take only the weights (convert them to safetensors).",
    ),
    Rule(
        "keras-custom-object",
        Severity.MEDIUM,
        "Keras model needs custom objects",
        "A config names a class or function that is not a Keras built-in: a registered custom "
        "object ('Package>Name'), a class of the saving program, or a custom function saved by "
        "name.",
        "The code is not in the file: the loading program supplies it (custom_objects, "
        "register_keras_serializable). Loading runs whatever that code does; an older Keras may "
        "also import the named module when the object is not registered.",
        "Check that the custom objects come from code you trust and are registered before "
        "loading. Use --strict to fail on these.",
    ),
    Rule(
        "model-ships-code",
        Severity.MEDIUM,
        "Model ships code that its loader imports",
        "A model file makes its loader import Python code from the model itself: an auto_map in "
        "config.json, tokenizer_config.json, processor_config.json, preprocessor_config.json or "
        "generation_config.json and custom_pipelines (transformers, trust_remote_code=True); "
        "sentence-transformers modules.json entries that are not library classes; diffusers "
        "model_index.json custom pipeline or component classes; an Inference Endpoints handler.py; "
        "a TorchServe .mar handler; MLflow MLmodel flavors with loader modules or code paths; a "
        "Keras custom object whose module is a file of the target. The finding names the loader, "
        "the option that enables it and the files.",
        "Loading the model runs that code with the loader's privileges. The code itself is "
        "analysed (code-* rules); this finding says only that the user must opt in to run it.",
        "Read the named files, or load a revision whose code you reviewed (pin code_revision). "
        "Prefer models whose architecture is part of the library.",
    ),
    Rule(
        "model-code-elsewhere",
        Severity.HIGH,
        "Model loads code from another repository",
        "An auto_map value names a class in another repository ('org/repo--module.Class'), or a "
        "diffusers custom_pipeline names a Hub repository: the loader downloads and imports that "
        "repository's code.",
        "The code that runs is not part of what was scanned, signed or pinned: its repository can "
        "change it at any time. This is a supply-chain edge of the model.",
        "Scan the other repository at the revision the loader would fetch, or vendor its code into "
        "the model and pin it.",
    ),
    Rule(
        "model-code-elsewhere-scanned",
        Severity.INFO,
        "Another repository's code, scanned from the Hugging Face cache",
        "A model-code-elsewhere repository is in the local Hugging Face cache at refs/main, the "
        "revision the loader fetches: its Python files were scanned offline, and what they hold "
        "is reported on the file that names the repository. The finding records the commit and "
        "each file's SHA-256: the supply-chain edge.",
        "The code the loader would run today is the Hub's latest main, which may differ from the "
        "cached commit: the model-code-elsewhere finding stands.",
        "Pin the other repository's revision (code_revision) to the commit scanned, or vendor its code.",
    ),
    Rule(
        "model-code-elsewhere-unchecked",
        Severity.HIGH,
        "Another repository's code could not be checked",
        "A model-code-elsewhere repository is not in the local Hugging Face cache at refs/main, "
        "its cached commit lacks the module the reference names, or the scan's limit on other "
        "repositories was reached. aisbom does not fetch it: the scan is incomplete.",
        "Code the loader imports was not analysed.",
        "Scan that repository (aisbom scan hf://ORG/NAME), or fill the cache and scan again.",
    ),
    Rule(
        "model-code-reference-invalid",
        Severity.HIGH,
        "Model's code reference is malformed or leaves the model",
        "A code reference (auto_map, modules.json, model_index.json, a TorchServe manifest, MLflow "
        "code paths) is not a string, is not of the form the loader expects, or points outside "
        "the model: an absolute path, '..', a drive letter.",
        "A loader that joins the model's path with an absolute or '..' path imports a file that "
        "was never part of the model, nor of this scan.",
        "Do not load the model; references must name modules inside it.",
    ),
    Rule(
        "code-dangerous-call",
        Severity.HIGH,
        "Shipped code runs processes, evaluates code, loads native code or reaches the network",
        "Python code shipped with a model calls or refers to a process or shell launcher, "
        "eval/exec/compile, an import of a computed name, ctypes or another native loader, sockets "
        "or HTTP, a download, or writes outside the model. Critical when it runs while the model "
        "loads (at import, in a constructor or in a function they call) and executes code or "
        "reaches the network; high otherwise.",
        "Model code has no need for any of these; they are how shipped code takes over the "
        "machine of whoever loads the model.",
        "Do not load the model with trust_remote_code=True (or its loader's equivalent) until "
        "the named line is understood.",
    ),
    Rule(
        "code-obfuscated",
        Severity.CRITICAL,
        "Shipped code decodes and executes, or hides what it calls",
        "Python code shipped with a model executes what it decodes (base64, zlib, marshal, codecs, "
        "hex, character codes ...) or reaches a callable through a computed attribute of a module "
        "or of the builtins.",
        "Legitimate model code has nothing to hide; obfuscation exists to slip past review.",
        "Do not load the model.",
    ),
    Rule(
        "code-bandit",
        Severity.MEDIUM,
        "Bandit reports a security issue in shipped code",
        "PyCQA's bandit, run as a library on Python code shipped with a model (its '# nosec' "
        "comments ignored), reports an issue of medium or high severity that aisbom's own checks "
        "did not already report on that line. The finding carries bandit's test id and severity.",
        "Bandit's checks cover unsafe deserialisation, weak TLS, temporary files and more; in "
        "code the loader runs, each is the model author's to explain.",
        "Read the named line; see bandit's documentation for the test id.",
    ),
    Rule(
        "code-unanalysable",
        Severity.HIGH,
        "Shipped Python code could not be analysed",
        "A Python file shipped with a model does not parse (a syntax error, source for another "
        "Python version, null bytes, an encoding declared wrongly) or is too large or too deeply "
        "nested to analyse.",
        "A file aisbom cannot parse can still be run by some interpreter; its behaviour is unknown, "
        "so the scan is incomplete and never exits 0.",
        "Read the file by hand; remove it from the model if nothing loads it.",
    ),
    Rule(
        "parser-disagreement",
        Severity.HIGH,
        "The format's own library reads the file differently",
        "A format's own parse-only library (safetensors) reads the file beside aisbom's reader, "
        "and one refuses what the other accepts, or they list different contents.",
        "Every bypass is a differential: what was checked may not be what the loader loads.",
        "Do not load the file; report it (and, if the file is valid, an aisbom bug).",
    ),
    Rule(
        "format-name-mismatch",
        Severity.MEDIUM,
        "Named like one model format, holds another",
        "A file (or member) named like a model format (.safetensors, .onnx, .gguf, .pt, .keras, "
        ".h5, .npy, .pkl, .joblib ...) holds another format, or none aisbom recognises (a Git "
        "LFS pointer, a truncated download); low for a .bin that holds text or nothing.",
        "Loaders choose a reader by the name: the file will be refused, or read as something "
        "its name does not announce (a pickle named .safetensors). The content is scanned as "
        "what it is; the name never lowers a severity.",
        "Check where the file came from; download it again (git lfs pull for LFS pointers).",
    ),
    Rule(
        "format-not-analysed",
        Severity.MEDIUM,
        "Model format recognised but not analysed",
        "The file's content is a model format aisbom recognises and does not analyse: Core ML, "
        "a TensorRT plan, OpenVINO IR, a PaddlePaddle program, MXNet, ncnn, Caffe, Darknet, legacy "
        "GGML, ExecuTorch, ONNX Runtime's ORT format, Java serialized objects. The finding names "
        "the format and says what loading it can do, where that is known.",
        "Nothing in the file was checked, so it cannot be shown to be safe: the scan is incomplete "
        "and never exits 0, whatever --fail-on says, or a format aisbom does not read would be a "
        "way around the scan. Medium by default, because nothing was seen that runs code and most "
        "of these loaders run only their own kernels (custom layers need code the application "
        "supplies); high where the file itself can carry native code the loader runs (a TensorRT "
        "plan's plugin libraries) or where reading it runs code the file chooses (Java "
        "deserialization's readObject gadget chains, as pickle's REDUCE).",
        "Ship and load a format aisbom analyses (safetensors, ONNX, GGUF ...) where you can; "
        "otherwise review the file and where it came from by hand. A file you do not load is "
        "best left out of what you ship.",
    ),
    Rule(
        "scan-limit",
        Severity.HIGH,
        "Not fully analysed: a resource limit was hit",
        "Decompressed size, compression ratio, nesting depth, opcode count, member count, "
        "the memory an analysis keeps (pickle stack, memo, marks), findings per file or "
        "time exceeded a limit; the rest of the object was not analysed.",
        "An unanalysed part can hide anything; zip bombs and deep nesting are attacks in themselves.",
        "Inspect the file by hand, or raise the limit if the file is trusted and simply large.",
    ),
    Rule(
        "scan-error",
        Severity.HIGH,
        "Not fully analysed: the file could not be parsed",
        "A container or format the file claims to be (by its magic bytes) is corrupt or "
        "unsupported, so its content could not be analysed.",
        "A file that cannot be analysed cannot be shown to be safe.",
        "Re-download the file and verify its hash; report a bug if the file is valid.",
    ),
    Rule(
        "file-unreadable",
        Severity.HIGH,
        "File could not be read",
        "Opening or reading the file failed (permissions, I/O error, vanished during the scan).",
        "An unread file cannot be shown to be safe.",
        "Fix the permissions or the storage and scan again.",
    ),
    Rule(
        "file-changed",
        Severity.HIGH,
        "File changed while it was scanned",
        "The file was written, truncated or replaced between the moment it was opened and the "
        "end of its scan (its size, modification or change time moved), twice in a row; or it "
        "shrank under the scan. No hash or verdict is recorded for it.",
        "The bytes judged and the bytes hashed must be the same: otherwise a report can pair a "
        "clean verdict with the hash of other content, and a BOM, lock or signature trusts it.",
        "Scan again once nothing writes to the file; find out what changed it.",
    ),
    Rule(
        "symlink-outside-target",
        Severity.HIGH,
        "Symbolic link leaves the scanned directory",
        "A symlink in the target points outside it, is broken, or loops; it was not followed.",
        "A loader follows the link and reads a file that was never scanned.",
        "Replace the link with the file it points to, or scan the directory it points into.",
    ),
]

# rule id -> (why it matters, what to do), one short line each: what the terminal and HTML reports
# print under a finding. The full text is in the table above, and `aisbom rules RULE` prints it.
_BRIEF: dict[str, tuple[str, str]] = {
    "pickle-dangerous-global": (
        "loading it runs this code",
        "do not load it; convert the weights to safetensors",
    ),
    "pickle-unknown-call": (
        "loading it calls code the allowlist does not know",
        "check the callable; trust it with --allow FILE, or convert to safetensors",
    ),
    "pickle-dynamic-call": (
        "what loading it calls is computed at load time",
        "do not load it; convert the weights to safetensors",
    ),
    "pickle-unknown-global": (
        "loading it imports or builds a class the allowlist does not know",
        "check the class is yours; trust it with --allow FILE",
    ),
    "torchscript-unsafe-op": (
        "the TorchScript code reads, writes or loads files when it runs",
        "do not load it; export the weights to safetensors",
    ),
    "pickle-malformed": (
        "calls made before the break still run when it loads",
        "re-download it and verify its hash; do not load it",
    ),
    "pickle-trailing-data": (
        "bytes after the pickle that another loader may read",
        "re-export the file with its original tool",
    ),
    "pickle-embedded": ("a pickle hidden inside the data", "treat it as the file's own findings"),
    "pickle-format": (
        "pickle can run code by design",
        "prefer safetensors; with torch, load with weights_only=True",
    ),
    "numpy-object-array": (
        "np.load with allow_pickle enabled runs pickle code",
        "store numeric arrays only, or use safetensors",
    ),
    "archive-path-traversal": (
        "extracting it writes outside the target",
        "do not extract it; rebuild the archive with safe names",
    ),
    "archive-tampered": (
        "loaders and scanners may see different content",
        "re-create the archive with standard tools",
    ),
    "template-injection": (
        "rendering the chat template can run Python",
        "do not render it; use the model family's published template",
    ),
    "template-unparseable": (
        "a template that cannot be parsed cannot be checked",
        "replace it with the published chat template",
    ),
    "gguf-header-invalid": (
        "GGUF loaders have overflowed on such headers",
        "re-download it and verify its hash",
    ),
    "tf-python-op": ("the graph calls Python functions when it runs", "do not run the graph"),
    "tf-file-op": ("the graph reads or writes files when it runs", "do not run the graph"),
    "tf-network-op": ("the graph can reach the network when it runs", "do not run it on a networked host"),
    "tflite-custom-op": (
        "it needs a native kernel you register, which runs as your process",
        "register only a kernel build you trust",
    ),
    "onnx-external-data-traversal": (
        "loading it reads a file outside the model into a tensor",
        "do not load it; keep external data beside the model",
    ),
    "onnx-python-op": ("running it calls Python chosen by the file", "do not enable Python operators"),
    "onnx-custom-op": (
        "it needs a native operator library, which runs as your process",
        "load only an operator library you trust",
    ),
    "onnx-tensor-inconsistent": (
        "runtimes disagree on such tensors, or read out of bounds",
        "re-export the model, or re-download it and verify its hash",
    ),
    "safetensors-header-invalid": (
        "readers disagree on an invalid header",
        "re-download it and verify its hash",
    ),
    "safetensors-duplicate-key": (
        "parsers keep different copies of a duplicated tensor",
        "re-save it with the safetensors library",
    ),
    "safetensors-offsets-invalid": (
        "tensors overlap or leave the file",
        "re-save it with the safetensors library",
    ),
    "safetensors-hidden-data": (
        "bytes no tensor claims can hide a payload",
        "re-save it with the safetensors library",
    ),
    "safetensors-header-unusual": (
        "the header holds what the library never writes",
        "re-save it with the safetensors library",
    ),
    "keras-lambda": (
        "a Lambda layer runs its bytecode when the model is built",
        "remove the Lambda layer; never load with safe_mode=False",
    ),
    "keras-unsafe-reference": (
        "older Keras imports the module the config names",
        "load only with Keras 3.9 or later, safe_mode=True",
    ),
    "keras-custom-object": (
        "loading runs custom code your program supplies",
        "register only custom objects you trust",
    ),
    "pickle-divergent-reading": (
        "CPython's unpicklers would run different things",
        "do not load it; convert the weights to safetensors",
    ),
    "pickle-extension-code": (
        "a process with registered codes would import them",
        "re-download it and verify its hash",
    ),
    "marshal-code": (
        "compiled Python code runs when imported or executed",
        "remove compiled code, or review its source",
    ),
    "safetensors-converted": (
        "the file says which checkpoint it was converted from",
        "check that source hash against the checkpoint you trust",
    ),
    "parser-disagreement": (
        "the loader's own library reads the file differently",
        "do not load it; report it",
    ),
    "format-name-mismatch": (
        "its name announces another format than it holds",
        "check its origin; download it again (git lfs pull)",
    ),
    "model-ships-code": (
        "trust_remote_code=True (or the like) runs this Python",
        "read it before you opt in, or use a built-in architecture",
    ),
    "model-code-elsewhere": (
        "the loader fetches and runs code from another repository",
        "pin that repository's revision and scan it",
    ),
    "model-code-elsewhere-scanned": (
        "the other repository's cached code was scanned: findings below",
        "pin its revision (code_revision) to the commit scanned",
    ),
    "model-code-elsewhere-unchecked": (
        "code the loader imports from another repository was not analysed",
        "scan that repository: aisbom scan hf://ORG/NAME",
    ),
    "model-code-reference-invalid": (
        "a code reference leaves the model or is malformed",
        "do not load the model until it is fixed",
    ),
    "code-dangerous-call": (
        "the shipped code runs processes, code, libraries or network",
        "do not enable remote code; remove the call",
    ),
    "code-obfuscated": (
        "the shipped code decodes something and runs it",
        "do not load it; ask the publisher for the plain source",
    ),
    "code-bandit": (
        "bandit flags a risky construct in the shipped code",
        "review the line before you opt in to running the code",
    ),
    "code-unanalysable": (
        "the shipped code could not be read: not shown safe",
        "review it by hand before you opt in to running it",
    ),
    "file-changed": (
        "the file changed under the scan: the verdict is for no bytes",
        "scan again once nothing writes to it",
    ),
    "format-not-analysed": (
        "aisbom does not read this format, so it is not shown safe",
        "ship a format aisbom analyses, or review it by hand",
    ),
    "scan-limit": ("part of it was not analysed", "inspect it by hand, or raise the limit if trusted"),
    "scan-error": ("it could not be parsed, so it is not shown safe", "re-download it and verify its hash"),
    "file-unreadable": ("an unread file cannot be shown safe", "fix the permissions or storage, scan again"),
    "symlink-outside-target": (
        "a loader would read a file that was not scanned",
        "replace the link with its file, or scan its target",
    ),
}

RULES: dict[str, Rule] = {
    rule.id: replace(
        rule, brief_why=_BRIEF.get(rule.id, ("", ""))[0], remedy=_BRIEF.get(rule.id, ("", ""))[1]
    )
    for rule in _RULES
}


# Prose appended to docs/rules.md: what the pickle allowlist admits beyond plain data, and the
# judgements behind the verdicts real model files get.
NOTES: tuple[tuple[str, str], ...] = (
    (
        "What the pickle allowlist admits from checkpoints, and why",
        "A checkpoint must not fail the default scan for the metadata its framework writes. "
        "Admitted (scanners/pickles/allowlist.py): everything `torch.load` with `weights_only=True` "
        "admits in torch 2.13 (tensor and storage types, dtypes, quantization schemes, the "
        "`torch._utils` rebuild functions, `torch._tensor._rebuild_from_type_v2`, `torch.Size`, "
        "`torch.device`, nested tensors and device-mesh layouts); what PyTorch Lightning writes "
        "around the weights (`argparse.Namespace` hyper-parameters, `torch.torch_version."
        "TorchVersion`, Lightning's `AttributeDict`); Hugging Face `training_args.bin` "
        "(TrainingArguments only constructed and restored, never called); NumPy's pre-1.0 "
        "`numpy.core._internal._reconstruct` and `numpy.matrixlib.defmatrix.matrix`; NLTK's "
        "`FreqDist` (a Counter rebuilt from a dict); the `NumpyArrayWrapper` of the joblib "
        "scikit-learn < 0.23 bundled as `sklearn.externals.joblib`. Each is a type whose "
        "construction and state restoration only store data: no `__setstate__` with side "
        "effects, no I/O, no import by name. A name is never admitted by its module.",
    ),
    (
        "Judgements on real model files",
        "Referencing a function is not calling it: a `functools.partial` stored in a model "
        "(gensim keeps one per TF-IDF `smartirs` scheme) makes its function referenced "
        "(medium when not allowlisted, critical when it is a known gadget); calling the "
        "partial, or handing it to a function that calls it, calls its function. A bound "
        "method pickled as `getattr(obj, 'name')` with a plain constant name is judged as that "
        "method of the object's class, not as `getattr`; a dunder or private name, or one "
        "computed at load time, is still the `getattr` gadget. The data of a NumPy array of "
        "numbers cannot hold code, so an `.npz` member that is such an array is not cut by the "
        "compression-ratio limit (a 933 MB boolean mask deflates 391:1), and the ratio is only "
        "judged past `Limits.ratio_floor` (64 MiB) of decompressed data. A member cut by a "
        "limit is reported once, by `scan-limit`; its scanner does not report the cut again "
        "as truncated content. Text whose first lines read as a GLOBAL opcode that is never "
        "used (a word list starting `cat`, `dog`) is scanned as a pickle and gets `medium`: "
        "pickle.load would only import a module of that name and fail. An EXT opcode is "
        "`medium`: it needs an extension registered in the loading process, which CPython, "
        "torch and numpy never do.",
    ),
    (
        "Where the denylist comes from",
        "Severity uses a denylist of what reaches code execution, processes, native code, "
        "imports by name, sockets, file writes or unpickling: "
        "`scanners/pickles/denylist_generated.txt`, written by `fixtures/denylist_walk.py`, "
        "which parses the source of the standard library and of torch, numpy, scipy, "
        "scikit-learn, joblib, pandas, transformers, huggingface_hub, accelerate, Lightning, "
        "Keras, ONNX, safetensors, cloudpickle, dill, pip, setuptools, XGBoost and LightGBM "
        "with `ast` (nothing imported or run) and follows calls through imports, aliases, "
        "`self` and `super()`. The table's header names the versions walked. It never makes "
        "anything safe: the allowlist decides that.",
    ),
)


def rules_markdown() -> str:
    """The rules reference, rendered from the table above."""
    lines = [
        "# aisbom rules",
        "",
        "Generated from `aisbom/rules.py` by `python -m aisbom.rules`; do not edit by hand.",
        "",
        "| rule | severity | title |",
        "|---|---|---|",
    ]
    lines += [f"| `{r.id}` | {r.severity.label} | {r.title} |" for r in RULES.values()]
    for r in RULES.values():
        lines += [
            "",
            f"## `{r.id}`",
            "",
            f"- **Severity:** {r.severity.label}",
            f"- **In short** (the report's line under each finding): {r.brief_why} — fix: {r.remedy}",
            f"- **Triggered by:** {r.trigger}",
            f"- **Why it matters:** {r.why}",
            f"- **How to fix:** {r.fix}",
        ]
    for title, text in NOTES:
        lines += ["", f"## {title}", "", text]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(rules_markdown(), end="")
