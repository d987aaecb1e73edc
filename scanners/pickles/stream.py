"""Pickle streams: run them symbolically, judge every global against the allowlist,
and report what the pickle loader would import, construct and call.

Verdicts are per global: a denylisted one is critical wherever it appears; any other global
outside the allowlist is high when called and medium when only imported or constructed.
Calls of computed values (results of other calls, extension codes, computed names) and
mutations of imported objects are high: their target cannot be known statically.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import zlib
from dataclasses import dataclass, field

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.frame.sniff import sniff
from aisbom.scanners.pickles.engine import (
    BuildHook,
    BytesRef,
    Call,
    DynamicGlobal,
    Global,
    Mutation,
    PDict,
    PickleRun,
    describe,
    looks_like_pickle,
    run_pickle,
)
from aisbom.scanners.pickles.policy import (
    ARGUMENT_USE,
    CALLABLE_WRAPPERS,
    DECODERS,
    IMPORT_BY_NAME,
    NESTED_LOADERS,
    TRUSTED_NESTED_LOADERS,
    Use,
    judge,
    normalize,
    silencing,
)
from aisbom.severity import Severity
from aisbom.wording import counted

_MAX_EMBEDDED = 64 * 1024 * 1024  # bytes of one nested blob we pull into memory


@dataclass
class _GlobalUse:
    glob: Global
    use: Use
    count: int = 1  # times it was fetched
    example: str = ""  # a rendering of one call, for evidence


@dataclass
class _Analysis:
    uses: dict[tuple[str, str], _GlobalUse] = field(default_factory=dict)
    dynamic: list[tuple[str, int]] = field(default_factory=list)  # (what, offset)
    nested: list[tuple[str, object, int]] = field(default_factory=list)  # (label, bytes, offset)

    def use(self, glob: Global, how: Use, example: str = "") -> None:
        key = (glob.module, glob.name)
        seen = self.uses.get(key)
        if seen is None:
            self.uses[key] = _GlobalUse(glob, how, 1 if how is Use.IMPORTED else 0, example)
            return
        if how is Use.IMPORTED:
            seen.count += 1
        if how > seen.use:
            seen.use = how
            seen.example = example or seen.example
        elif not seen.example and example:
            seen.example = example


def scan_pickle_stream(
    data: Data,
    ctx: ScanContext,
    *,
    start: int = 0,
    max_pickles: int | None = None,
    build_hook: BuildHook | None = None,
) -> int | None:
    """Scan consecutive pickles from `start`. Returns the offset after the last complete
    pickle, or None if the stream broke (which is reported)."""
    limit = ctx.limits.max_stacked_pickles if max_pickles is None else max_pickles
    pos = start
    for index in range(limit):
        run = run_pickle(
            data,
            pos,
            max_opcodes=ctx.limits.max_pickle_opcodes,
            deadline=ctx.budget.deadline,
            build_hook=build_hook,
        )
        _report_run(data, run, ctx, index)
        if run.end is None:
            return None
        pos = run.end
        if pos >= len(data) or (max_pickles is not None and index + 1 >= max_pickles):
            return pos
        if not _another_pickle_follows(data, pos):
            if max_pickles is None:
                _scan_trailing(data, pos, ctx)
            return pos
    ctx.report(
        "scan-limit",
        f"more than {limit} pickles stacked in one stream; the rest was not analysed",
        offset=pos,
        evidence={"limit": "max_stacked_pickles"},
    )
    return None


def _scan_trailing(data: Data, pos: int, ctx: ScanContext) -> None:
    """Bytes after the last pickle: pickle.load never reads them, but other loaders may
    (a zip appended to a pickle is a zip to zipfile), so anything recognisable is scanned."""
    size = len(data) - pos
    trailing = data[pos : pos + min(size, ctx.limits.max_in_memory)]
    fmt = sniff(trailing)
    ctx.report(
        "pickle-trailing-data",
        f"{counted(size, 'byte')} ({fmt}) after the end of the pickle at offset {pos}",
        offset=pos,
        evidence={"format": fmt},
    )
    if fmt not in ("text", "data", "json", "empty"):
        ctx.scan_nested(trailing, f"trailing-data@{pos}")


def _another_pickle_follows(data: Data, pos: int) -> bool:
    if data[pos : pos + 1] == b"\x80" and data[pos + 1 : pos + 2] in (
        b"\x02",
        b"\x03",
        b"\x04",
        b"\x05",
    ):
        return True
    return looks_like_pickle(data[pos : pos + 65536])


def _report_run(data: Data, run: PickleRun, ctx: ScanContext, index: int) -> None:
    torchscript = "torchscript" in ctx.hints
    analysis = _analyse(run)
    where = f" (pickle #{index + 1} in the stream)" if index else ""

    for (module, name), seen in sorted(analysis.uses.items(), key=lambda kv: kv[1].glob.offset):
        verdict = judge(module, name, use=seen.use, torchscript=torchscript)  # the allowlist alone
        if verdict.allowed:
            continue
        silenced_by, note = silencing(verdict, module, name, ctx.policy)  # the user's allow files
        evidence = {"global": f"{module}.{name}", "use": seen.use.name.lower()}
        if seen.glob.raw:
            evidence["as_written"] = f"{seen.glob.raw[0]} {seen.glob.raw[1]}"
        if seen.example:
            evidence["call"] = seen.example
        if seen.count > 1:
            evidence["occurrences"] = str(seen.count)
        label = f"{module}.{name}"
        if verdict.dangerous:
            action = {Use.CALLED: "calls", Use.CONSTRUCTED: "constructs", Use.IMPORTED: "imports"}
            ctx.report(
                "pickle-dangerous-global",
                f"{action[seen.use]} {label}: {verdict.reason}{where}{note}",
                offset=seen.glob.offset,
                evidence=evidence,
                silenced_by=silenced_by,
            )
        elif seen.use is Use.CALLED:
            ctx.report(
                "pickle-unknown-call",
                f"calls {label}, which is not on the allowlist{where}",
                offset=seen.glob.offset,
                evidence=evidence,
                silenced_by=silenced_by,
            )
        else:
            verb = "constructs" if seen.use is Use.CONSTRUCTED else "imports"
            ctx.report(
                "pickle-unknown-global",
                f"{verb} {label}, which is not on the allowlist{where}",
                offset=seen.glob.offset,
                evidence=evidence,
                silenced_by=silenced_by,
            )

    for what, offset in analysis.dynamic:
        ctx.report("pickle-dynamic-call", what + where, offset=offset)

    for label, blob, offset in analysis.nested:
        payload = _materialize(data, blob)
        if payload is None:
            ctx.report(
                "scan-limit",
                f"embedded data of {_size(blob)} bytes at offset {offset} is too large to analyse",
                offset=offset,
                evidence={"limit": "embedded size"},
            )
            continue
        ctx.report(
            "pickle-embedded",
            f"{label} at offset {offset}: scanned as a nested object",
            offset=offset,
        )
        ctx.scan_nested(payload, f"{label}@{offset}")

    if run.limit:
        ctx.report(
            "scan-limit",
            f"pickle analysis stopped: {run.limit}; the rest of the stream was not analysed",
            offset=run.start,
            evidence={"limit": run.limit},
        )
    elif run.error:
        # Nothing runs without a global: a break before any import is a damaged file (or
        # data that merely starts like a pickle), not a hidden payload.
        executed = bool(analysis.uses or analysis.dynamic)
        ctx.report(
            "pickle-malformed",
            f"malformed pickle at offset {run.error_offset}: {run.error}"
            + (
                "; everything before that point was analysed as executed"
                if executed
                else "; it imports nothing before that point"
            ),
            severity=None if executed else Severity.MEDIUM,
            offset=run.error_offset,
            evidence={"error": run.error},
        )


def _analyse(run: PickleRun) -> _Analysis:
    analysis = _Analysis()
    for glob in run.globals:
        if isinstance(glob, Global):
            analysis.use(glob, Use.IMPORTED)
        else:
            analysis.dynamic.append(
                (f"fetches {glob.what}, whose target is only known at load time", glob.offset)
            )

    for call in run.calls:
        _analyse_call(call, analysis)
    for mutation in run.mutations:
        _analyse_mutation(mutation, analysis)
    return analysis


def _analyse_call(call: Call, analysis: _Analysis) -> None:
    func = call.func
    rendering = describe(call)
    if not isinstance(func, Global):
        if isinstance(func, DynamicGlobal):
            what = f"calls {func.what}: {rendering}"
        else:
            what = f"calls a value computed at load time: {rendering}"
        analysis.dynamic.append((what, call.offset))
        return
    key = normalize(func.module, func.name)
    how = Use.CONSTRUCTED if call.kind == "new" else Use.CALLED
    args = call.args if isinstance(call.args, tuple) else ()

    if key in IMPORT_BY_NAME:
        if len(args) == 2 and all(isinstance(a, str) for a in args):
            # It imports args[0] and fetches args[1]: judge that name as if fetched directly.
            analysis.use(Global(args[0], args[1], call.offset), Use.IMPORTED)
        else:
            analysis.dynamic.append((f"imports a name computed at load time: {rendering}", call.offset))
    if key in NESTED_LOADERS:
        blob = _constant_bytes(args[0]) if args else None
        if blob is not None:
            analysis.nested.append((f"{func.dotted} argument", blob, call.offset))
        elif key in TRUSTED_NESTED_LOADERS:
            analysis.dynamic.append((f"loads bytes computed at load time: {rendering}", call.offset))
    analysis.use(func, how, rendering if how is Use.CALLED else "")

    for position, arg_use in ARGUMENT_USE.get(key, {}).items():
        if position >= len(args):
            continue
        arg = args[position]
        if isinstance(arg, Global):
            analysis.use(arg, arg_use, rendering)
        elif isinstance(arg, DynamicGlobal):
            analysis.dynamic.append((f"{func.dotted} is handed {arg.what}: {rendering}", call.offset))
        # A Call argument is an instance built by a global that is judged on its own.


def _analyse_mutation(mutation: Mutation, analysis: _Analysis) -> None:
    target = mutation.target
    if isinstance(target, (Global, DynamicGlobal)):
        name = target.dotted if isinstance(target, Global) else target.what
        analysis.dynamic.append(
            (
                f"{mutation.opcode} modifies the imported object {name} with {describe(mutation.argument)}",
                mutation.offset,
            )
        )
        return
    if mutation.opcode == "BUILD":
        _wrapped_by_state(mutation, analysis)
        # A state that plants __setstate__ makes the next BUILD call it.
        for state in mutation.argument if isinstance(mutation.argument, tuple) else (mutation.argument,):
            if isinstance(state, PDict):
                planted = state.get("__setstate__")
                if isinstance(planted, Global):
                    analysis.use(planted, Use.CALLED, f"__setstate__ = {planted.dotted}")
                elif planted is not None:
                    analysis.dynamic.append(
                        (f"BUILD plants __setstate__ = {describe(planted)}", mutation.offset)
                    )


def _wrapped_by_state(mutation: Mutation, analysis: _Analysis) -> None:
    """partial's BUILD state is (func, args, kwargs, dict): its func replaces the one it was
    built with, so it counts as called too."""
    target = mutation.target
    if not (isinstance(target, Call) and isinstance(target.func, Global)):
        return
    if normalize(target.func.module, target.func.name) not in CALLABLE_WRAPPERS:
        return
    state = mutation.argument
    wrapped = state[0] if isinstance(state, tuple) and state else None
    if isinstance(wrapped, Global):
        analysis.use(wrapped, Use.CALLED, f"{target.func.dotted}({wrapped.dotted}, …)")
    elif wrapped is not None:
        analysis.dynamic.append(
            (f"{target.func.dotted} wraps {describe(wrapped)}, computed at load time", mutation.offset)
        )


def _constant_bytes(value: object) -> object | None:
    """Bytes a pickle hands to a loader, if they are a constant or a pure decoding of one."""
    if isinstance(value, (bytes, BytesRef)):
        return value
    if isinstance(value, str):
        return value.encode("latin-1", "replace")
    if isinstance(value, Call) and isinstance(value.func, Global):
        key = (value.func.module, value.func.name)
        args = value.args if isinstance(value.args, tuple) else ()
        if key in DECODERS and args:
            return _decode(key, args)
    return None


def _decode(key: tuple[str, str], args: tuple[object, ...]) -> bytes | None:
    try:
        if key in (("_codecs", "encode"), ("codecs", "encode")):
            text, encoding = args[0], (args[1] if len(args) > 1 else "utf-8")
            if (
                isinstance(text, str)
                and isinstance(encoding, str)
                and codecs.lookup(encoding).name
                in (
                    "latin-1",
                    "iso8859-1",
                    "utf-8",
                    "ascii",
                )
            ):
                return text.encode(encoding)
            return None
        raw = args[0]
        if isinstance(raw, str):
            raw = raw.encode("latin-1")
        if not isinstance(raw, bytes):
            return None
        if key[1] in ("b64decode", "decodebytes", "a2b_base64"):
            return base64.b64decode(raw)
        if key[1] in ("unhexlify", "fromhex", "bytes.fromhex"):
            return binascii.unhexlify(raw)
        if key == ("zlib", "decompress"):
            decompressor = zlib.decompressobj()
            return decompressor.decompress(raw, _MAX_EMBEDDED)
    except (ValueError, LookupError, zlib.error, binascii.Error):
        return None
    return None


def _size(blob: object) -> int:
    return blob.length if isinstance(blob, BytesRef) else len(blob)  # type: ignore[arg-type]


def _materialize(data: Data, blob: object) -> bytes | None:
    if isinstance(blob, BytesRef):
        if blob.length > _MAX_EMBEDDED:
            return None
        return bytes(data[blob.offset : blob.offset + blob.length])
    return blob if isinstance(blob, bytes) else None
