"""The one rule table. Scanners report by rule id; formats and docs read the metadata here.

`docs/rules.md` is generated from this table (`python -m aisbom.rules > docs/rules.md`).
"""

from __future__ import annotations

from dataclasses import dataclass

from aisbom.severity import Severity

CONVERT = "Convert the weights to safetensors (or another non-executable format) and load those."


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity  # default; a scanner may raise or lower it with a reason
    title: str
    trigger: str  # what makes it fire
    why: str  # why it matters
    fix: str  # what to do


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
        "or a tar link member points outside the archive.",
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
        "scan-limit",
        Severity.HIGH,
        "Not fully analysed: a resource limit was hit",
        "Decompressed size, compression ratio, nesting depth, opcode count, member count or "
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
        "symlink-outside-target",
        Severity.HIGH,
        "Symbolic link leaves the scanned directory",
        "A symlink in the target points outside it, is broken, or loops; it was not followed.",
        "A loader follows the link and reads a file that was never scanned.",
        "Replace the link with the file it points to, or scan the directory it points into.",
    ),
]

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


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
    lines += [f"| `{r.id}` | {r.severity.label} | {r.title} |" for r in _RULES]
    for r in _RULES:
        lines += [
            "",
            f"## `{r.id}`",
            "",
            f"- **Severity:** {r.severity.label}",
            f"- **Triggered by:** {r.trigger}",
            f"- **Why it matters:** {r.why}",
            f"- **How to fix:** {r.fix}",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(rules_markdown(), end="")
