"""Pickle streams: run them symbolically, judge every global against the allowlist,
and report what the pickle loader would import, construct, restore and call.

Verdicts are per global: a denylisted one is critical wherever it appears; any other global
outside the allowlist is high when called or when BUILD restores an instance of it (its
__setstate__ runs), and medium when only imported, referenced or constructed. Calls of
computed values (results of other calls, computed names), mutations of imported objects,
computed BUILD states and callables planted where the loader calls them are high: their
target cannot be known statically.

A stream is read as `_pickle.c` reads bytes in memory; where that run found a place another
CPython reading differs (pickle.py's grammar, a FRAME boundary), the stream is read those
ways too, each reading is judged, and the divergence is reported.
"""

from __future__ import annotations

import base64
import binascii
import encodings.aliases
import functools
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

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
    Persistent,
    PickleRun,
    Reading,
    describe,
    memory_budget,
    run_pickle,
)
from aisbom.scanners.pickles.policy import (
    ARGUMENT_USE,
    ATTRIBUTE_GETTERS,
    CALLABLE_WRAPPERS,
    DECODERS,
    IMPORT_BY_NAME,
    NESTED_LOADERS,
    PASS_THROUGH,
    RESOLVED_BY_SCANNER,
    TRUSTED_NESTED_LOADERS,
    Use,
    is_allowed,
    judge,
    normalize,
    setstate_unpickles,
    silencing,
)
from aisbom.severity import Severity
from aisbom.wording import counted

_MAX_EMBEDDED = 64 * 1024 * 1024  # bytes of one nested blob we pull into memory
_OTHER_READINGS = (Reading.C_STREAM, Reading.C_STRICT, Reading.PY)
# Attribute names the pickle module itself looks up on an instance and calls: BUILD calls
# __setstate__, APPENDS extend (or append), ADDITEMS add. Planting one in a state is a call.
_LOADER_CALLED = frozenset({"__setstate__", "extend", "append", "add"})
_PLAIN_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_TEXT = re.compile(rb"[\t\n\r\x20-\x7e]*")
_TIME_CHECK_EVERY = 4096  # events judged between deadline checks


@dataclass
class _GlobalUse:
    """One global the pickle fetches, and how it is used."""

    glob: Global
    use: Use
    count: int = 1  # times it was fetched
    example: str = ""  # a rendering of one call, for evidence
    resolved: bool = True  # False: a RESOLVED_BY_SCANNER global used where it cannot be resolved


@dataclass
class _Analysis:
    """What one pickle stream does with globals, and the nested payloads it carries."""

    uses: dict[tuple[str, str], _GlobalUse] = field(default_factory=dict)
    dynamic: list[tuple[str, int]] = field(default_factory=list)  # (what, offset)
    nested: list[tuple[str, object, int]] = field(default_factory=list)  # (label, bytes, offset)

    def use(self, glob: Global, how: Use, example: str = "", *, resolved: bool = True) -> None:
        key = (glob.module, glob.name)
        seen = self.uses.get(key)
        if seen is None:
            count = 1 if how is Use.IMPORTED else 0
            self.uses[key] = _GlobalUse(glob, how, count, example, resolved)
            return
        seen.resolved = seen.resolved and resolved
        if how is Use.IMPORTED:
            seen.count += 1
        if how > seen.use:
            seen.use = how
            seen.example = example or seen.example
        elif not seen.example and example:
            seen.example = example

    def flag(self, what: str, offset: int) -> None:
        self.dynamic.append((what, offset))

    @property
    def acted(self) -> bool:
        """Something ran: a call, a mutation, a computed fetch, or a dangerous import."""
        return bool(self.dynamic or any(u.use > Use.IMPORTED for u in self.uses.values()))


def scan_pickle_stream(
    data: Data,
    ctx: ScanContext,
    *,
    start: int = 0,
    max_pickles: int | None = None,
    build_hook: BuildHook | None = None,
    reading: Reading | None = None,
) -> int | None:
    """Scan consecutive pickles from `start`, as a loader that calls pickle.load in a loop reads
    them (a pickle after a STOP is read when it does anything). Returns the offset after the last
    complete pickle, or None if the stream broke (which is reported). `reading`: read only that
    way (None: _pickle.c's, and the others wherever they differ)."""
    limit = ctx.limits.max_stacked_pickles if max_pickles is None else max_pickles
    budget = ctx.limits.max_pickle_opcodes
    pos, index = start, 0
    while True:
        if index and ctx.out_of_time():  # short pickles never reach the engine's own check
            ctx.report(
                "scan-limit",
                f"time limit reached after {counted(index, 'pickle')} stacked in one stream; "
                "the rest was not analysed",
                offset=pos,
                evidence={"limit": "max_seconds_per_file"},
            )
            return None
        run = _run(data, pos, ctx, budget, build_hook, reading or Reading.C_MEMORY)
        if index and not _acts(data, run):
            if max_pickles is None:
                _scan_trailing(data, pos, ctx)
            return pos
        budget -= run.opcodes
        first_finding = len(ctx.sink)
        _report_run(data, run, ctx, index)
        if reading is None and run.divergences:
            _read_other_ways(data, run, ctx, index, build_hook, first_finding)
        if run.end is None:
            return None
        pos, index = run.end, index + 1
        if pos >= len(data) or (max_pickles is not None and index >= max_pickles):
            return pos
        if index >= limit or budget <= 0:
            ctx.report(
                "scan-limit",
                f"more than {index} pickles stacked in one stream; the rest was not analysed",
                offset=pos,
                evidence={"limit": "max_stacked_pickles" if index >= limit else "max_pickle_opcodes"},
            )
            return None


def _run(
    data: Data, pos: int, ctx: ScanContext, opcodes: int, build_hook: BuildHook | None, reading: Reading
) -> PickleRun:
    return run_pickle(
        data,
        pos,
        max_opcodes=opcodes,
        deadline=ctx.budget.deadline,
        build_hook=build_hook,
        reading=reading,
        max_memory=memory_budget(ctx.limits, len(data) - pos),
        max_marks=ctx.limits.max_pickle_marks,
    )


def _acts(data: Data, run: PickleRun) -> bool:
    """Whether a loader reading on after a STOP would do something with these bytes: return an
    object, import or call, or at least start a new pickle (a PROTO opcode)."""
    if run.end is not None or run.limit or run.calls or run.globals:
        return True
    return data[run.start : run.start + 1] == b"\x80" and run.opcodes >= 2


def _read_other_ways(
    data: Data,
    primary: PickleRun,
    ctx: ScanContext,
    index: int,
    build_hook: BuildHook | None,
    first_finding: int,
) -> None:
    """Read a pickle the other ways CPython reads it and report what only they see."""
    replay = getattr(build_hook, "replay", None)
    hook = replay() if callable(replay) else build_hook
    offset, what = primary.divergences[0]
    ctx.report(
        "pickle-divergent-reading",
        f"CPython's unpicklers read this pickle differently (offset {offset}: {what}); "
        "each reading was analysed",
        offset=offset,
        evidence={"divergences": "; ".join(f"{o}: {w}" for o, w in primary.divergences[:8])},
    )
    # What this pickle's first reading reported (a stream of many pickles would make a set of
    # every earlier finding quadratic; other pickles' findings name their pickle anyway).
    seen = {_finding_key(f) for f in ctx.sink[first_finding:]}
    for reading in _OTHER_READINGS:
        scratch = replace(ctx, sink=[])
        run = _run(data, primary.start, ctx, ctx.limits.max_pickle_opcodes, hook, reading)
        _report_run(data, run, scratch, index)
        if run.end is not None and run.end != primary.end and run.end < len(data):
            # This reading ends elsewhere: a loop of pickle.load calls goes on from there.
            scan_pickle_stream(data, scratch, start=run.end, build_hook=hook, reading=reading)
        for finding in scratch.sink:
            key = _finding_key(finding)
            if key not in seen and finding.rule != "pickle-malformed":
                seen.add(key)
                ctx.keep(replace(finding, message=f"{finding.message} (as {reading.value} reads it)"))


def _finding_key(finding: object) -> tuple[object, ...]:
    return (
        getattr(finding, "rule", None),
        getattr(finding, "members", None),
        dict(getattr(finding, "evidence", ())).get("global"),
        getattr(finding, "message", "").split(" (as ")[0],
    )


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


def _report_run(data: Data, run: PickleRun, ctx: ScanContext, index: int) -> None:
    analyser = _Analyser(run, ctx.budget.deadline)
    analysis = analyser.analysis
    where = f" (pickle #{index + 1} in the stream)" if index else ""
    _report_globals(analysis, ctx, where)
    for what, offset in analysis.dynamic:
        ctx.report("pickle-dynamic-call", what + where, offset=offset)
    for ext in run.extensions:
        ctx.report(
            "pickle-extension-code",
            f"fetches {ext.what}: loaders stop here unless the loading process registered that "
            f"code with copyreg.add_extension{where}",
            offset=ext.offset,
        )
    _scan_embedded(data, analysis, ctx)
    if not analyser.complete:
        ctx.report(
            "scan-limit",
            f"time limit reached while judging what the pickle imports and calls "
            f"({counted(analyser.judged, 'event')} judged); the rest was not analysed",
            offset=run.start,
            evidence={"limit": "max_seconds_per_file"},
        )
    if run.limit:
        ctx.report(
            "scan-limit",
            f"pickle analysis stopped: {run.limit}; the rest of the stream was not analysed",
            offset=run.start,
            evidence={"limit": run.limit_name or run.limit},
        )
    elif run.error and not run.extensions:
        _report_break(data, run, analysis, ctx)


def _report_globals(analysis: _Analysis, ctx: ScanContext, where: str) -> None:
    torchscript = "torchscript" in ctx.hints
    for (module, name), seen in sorted(analysis.uses.items(), key=lambda kv: kv[1].glob.offset):
        verdict = judge(  # the allowlist alone; the user's allow files are asked below
            module, name, use=seen.use, torchscript=torchscript, resolved=seen.resolved
        )
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
        if verdict.dangerous or (module, name) in RESOLVED_BY_SCANNER:
            reason = verdict.reason or "its arguments could not be resolved, so it can reach anything"
            ctx.report(
                "pickle-dangerous-global",
                f"{_VERBS[seen.use]} {label}: {reason}{where}{note}",
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
        elif seen.use is Use.BUILT:
            ctx.report(
                "pickle-unknown-call",
                f"restores the state of a {label} (its __setstate__ runs at load time), which is "
                f"not on the allowlist{where}",
                offset=seen.glob.offset,
                evidence=evidence,
                silenced_by=silenced_by,
            )
        else:
            ctx.report(
                "pickle-unknown-global",
                f"{_VERBS[seen.use]} {label}, which is not on the allowlist{where}",
                offset=seen.glob.offset,
                evidence=evidence,
                silenced_by=silenced_by,
            )


_VERBS = {Use.CALLED: "calls", Use.BUILT: "builds", Use.CONSTRUCTED: "constructs", Use.IMPORTED: "imports"}


def _scan_embedded(data: Data, analysis: _Analysis, ctx: ScanContext) -> None:
    scanned: dict[int, object] = {}  # the same object handed over many times is scanned once
    for label, blob, offset in analysis.nested:
        if id(blob) in scanned:
            continue
        scanned[id(blob)] = blob
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
            "pickle-embedded", f"{label} at offset {offset}: scanned as a nested object", offset=offset
        )
        ctx.scan_nested(payload, f"{label}@{offset}")


def _report_break(data: Data, run: PickleRun, analysis: _Analysis, ctx: ScanContext) -> None:
    """A stream that breaks: everything before the break ran. Nothing runs without a global,
    so a break before any import is a damaged file (or data that merely starts like a
    pickle): medium. So is text whose only effect is importing a name it never uses (a
    word list whose first lines read as GLOBAL 'at dog'): pickle.load would import that
    module and fail. Any other break after an import is high."""
    imported = bool(analysis.uses)
    prefix = data[run.start : run.error_offset or run.start]
    text_import_only = imported and not analysis.acted and bool(_TEXT.fullmatch(prefix))
    if not imported:
        detail = "; it imports nothing before that point"
    elif text_import_only:
        detail = "; before that point it only imports names it never uses (text that reads as a pickle)"
    else:
        detail = "; everything before that point was analysed as executed"
    ctx.report(
        "pickle-malformed",
        f"malformed pickle at offset {run.error_offset}: {run.error}{detail}",
        severity=None if imported and not text_import_only else Severity.MEDIUM,
        offset=run.error_offset,
        evidence={"error": run.error or ""},
    )


class _Analyser:
    """Turns a run's events into uses of globals (judged later) and dynamic findings.

    Linear in the events: each event does bounded work, except a BUILD state, whose items are
    read once per state object (150,000 BUILDs sharing one memoized dict of 150,000 items
    would otherwise take hours). The deadline is checked every few thousand events."""

    def __init__(self, run: PickleRun, deadline: float | None = None) -> None:
        self.analysis = _Analysis()
        self.states_read: dict[tuple[object, int], object] = {}  # (why, id) -> the state: ids stay unique
        self.judged = 0  # events judged
        self.complete = True  # False: the deadline stopped the judging
        events: list[Callable[[], None]] = []
        for glob in run.globals:
            events.append(functools.partial(self.fetched, glob))
        for call in run.calls:
            events.append(functools.partial(self.call, call))
        for mutation in run.mutations:
            events.append(functools.partial(self.mutation, mutation))
        for done, event in enumerate(events):
            if done % _TIME_CHECK_EVERY == 0 and deadline is not None and time.monotonic() > deadline:
                self.complete = False
                return
            event()
            self.judged = done + 1

    def fetched(self, glob: Global | DynamicGlobal) -> None:
        if isinstance(glob, Global):
            self.analysis.use(glob, Use.IMPORTED)
        else:
            self.analysis.flag(f"fetches {glob.what}, whose target is only known at load time", glob.offset)

    # -- what a value is, when it is called --

    def callees(self, value: object, depth: int = 0) -> list[Global | str]:
        """What calling `value` calls: globals, or descriptions of values computed at load time."""
        if isinstance(value, Global):
            return [value]
        if depth > 8:
            return [f"{describe(value)} (too deeply wrapped to follow)"]
        if isinstance(value, Call) and isinstance(value.func, Global):
            key = normalize(value.func.module, value.func.name)
            args = value.args if isinstance(value.args, tuple) else ()
            if key in CALLABLE_WRAPPERS:
                return [t for w in _partial_targets(value) for t in self.callees(w, depth + 1)]
            if key in PASS_THROUGH and len(args) == 1:
                return self.callees(args[0], depth + 1)
            if key in ATTRIBUTE_GETTERS:
                attribute = _attribute(value)
                if attribute is not None:
                    return [attribute]
        if isinstance(value, DynamicGlobal):
            return [value.what]
        if isinstance(value, (Call, Persistent)):
            return [f"{describe(value)}, a value computed at load time"]
        return []  # a constant: calling it fails

    def at_call_position(self, value: object, use: Use, example: str, offset: int, via: str) -> None:
        """`value` is called (or constructed) later by a function it was handed to, or by the
        loader; whatever it resolves to is used that way, with arguments the scanner never sees.
        What an allowlisted function returns (a bit generator, an array) is data the curation
        of that function vouches for; the functions themselves are judged where they are called."""
        func = value.func if isinstance(value, Call) else None
        if (
            isinstance(func, Global)
            and not self.wrapper(func)
            and is_allowed(func.module, func.name, resolved=False)
        ):
            return
        for target in self.callees(value):
            if isinstance(target, Global):
                self.analysis.use(target, use, example, resolved=False)
            else:
                self.analysis.flag(f"{via} is handed {target}: {example}", offset)

    def reference(self, value: object, offset: int, via: str) -> None:
        """`value` is stored where later code may call it: a partial's wrapped function. Named
        functions count as referenced (judged when imported); computed ones cannot be judged."""
        for target in self.callees(value):
            if isinstance(target, Global):
                key = normalize(target.module, target.name)
                if key in RESOLVED_BY_SCANNER:  # a deferred getattr / nested load: unresolvable
                    self.analysis.use(target, Use.CALLED, via, resolved=False)
            else:
                self.analysis.flag(f"{via} wraps {target}", offset)

    @staticmethod
    def wrapper(func: Global) -> bool:
        key = normalize(func.module, func.name)
        return key in CALLABLE_WRAPPERS or key in PASS_THROUGH or key in ATTRIBUTE_GETTERS

    # -- events --

    def call(self, call: Call) -> None:
        func = call.func
        rendering = describe(call)
        if call.kind == "new":  # NEWOBJ: cls.__new__(cls, *args)
            if isinstance(func, Global):
                self.analysis.use(func, Use.CONSTRUCTED)
            else:
                self.analysis.flag(
                    f"constructs an instance of a class computed at load time: {rendering}", call.offset
                )
            return
        if not isinstance(func, Global):
            self.called_value(call, rendering)
            return
        key = normalize(func.module, func.name)
        args = call.args if isinstance(call.args, tuple) else ()
        self.analysis.use(func, Use.CALLED, rendering)
        if key in IMPORT_BY_NAME:
            if len(args) == 2 and all(isinstance(a, str) for a in args):
                # It imports args[0] and fetches args[1]: judge that name as if fetched directly.
                self.analysis.use(Global(args[0], args[1], call.offset), Use.IMPORTED)  # type: ignore[arg-type]
            else:
                self.analysis.flag(f"imports a name computed at load time: {rendering}", call.offset)
        if key in ATTRIBUTE_GETTERS:
            attribute = _attribute(call)
            if attribute is None:
                self.analysis.use(func, Use.CALLED, rendering, resolved=False)
            else:
                self.analysis.use(attribute, Use.IMPORTED)
        if key in CALLABLE_WRAPPERS and args:
            self.reference(args[0], call.offset, f"{func.dotted}(…)")
        if key in NESTED_LOADERS:
            blob = _constant_bytes(args[0]) if args else None
            if blob is not None:
                self.analysis.nested.append((f"{func.dotted} argument", blob, call.offset))
            elif key in TRUSTED_NESTED_LOADERS:
                self.analysis.flag(f"loads bytes computed at load time: {rendering}", call.offset)
        for position, arg_use in ARGUMENT_USE.get(key, {}).items():
            if position < len(args) and args[position] is not None:
                self.at_call_position(args[position], arg_use, rendering, call.offset, func.dotted)

    def called_value(self, call: Call, rendering: str) -> None:
        """REDUCE/INST/OBJ of something other than a plain global: resolved through wrappers
        the scanner models (partial, numpy.object_, getattr), else a computed call."""
        for target in self.callees(call.func):
            if isinstance(target, Global):
                self.analysis.use(target, Use.CALLED, rendering, resolved=False)
            else:
                self.analysis.flag(f"calls {target}: {rendering}", call.offset)

    def mutation(self, mutation: Mutation) -> None:
        target = mutation.target
        if isinstance(target, (Global, DynamicGlobal)):
            name = target.dotted if isinstance(target, Global) else target.what
            self.analysis.flag(
                f"{mutation.opcode} modifies the imported object {name} with {describe(mutation.argument)}",
                mutation.offset,
            )
        elif isinstance(target, Persistent):
            argument = describe(mutation.argument)
            self.analysis.flag(
                f"{mutation.opcode} modifies what persistent_load returned with {argument}", mutation.offset
            )
        elif mutation.opcode == "BUILD" and isinstance(target, Call):
            self.build(target, mutation.argument, mutation.offset)
        # SETITEM / APPEND on an instance call its own methods: judged with its class.

    def build(self, instance: Call, state: object, offset: int) -> None:
        """BUILD runs the class's __setstate__ (or sets attributes): the class counts as built,
        a computed state or one that plants what the loader calls next is flagged."""
        cls = _class_of(instance)
        if isinstance(cls, Global):
            self.analysis.use(cls, Use.BUILT)
            key = normalize(cls.module, cls.name)
            if key in CALLABLE_WRAPPERS:  # partial.__setstate__((func, args, kwargs, dict))
                wrapped = state[0] if isinstance(state, tuple) and state else None
                if wrapped is not None:
                    self.reference(wrapped, offset, f"{cls.dotted}'s restored state")
            if setstate_unpickles(*key) and self.first_reading(("bytes", key), state):
                for blob in _state_bytes(state):
                    self.analysis.nested.append((f"{cls.dotted} state", blob, offset))
        elif cls is not None:
            self.analysis.flag(f"BUILD restores the state of {cls}", offset)
        if self.first_reading("state", state):
            self.state(state, offset)

    def first_reading(self, why: object, state: object) -> bool:
        """True the first time a state object is read for `why`: the analysis sees the final
        value of every object, so reading a shared state again finds nothing new."""
        if not isinstance(state, (PDict, tuple)):
            return True
        key = (why, id(state))
        if key in self.states_read:
            return False
        self.states_read[key] = state
        return True

    def state(self, state: object, offset: int) -> None:
        parts = state if isinstance(state, tuple) and len(state) == 2 else (state,)
        for part in parts:
            if part is None:
                continue
            if isinstance(part, PDict):
                self.state_dict(part, offset)
            elif isinstance(part, (DynamicGlobal, Persistent)) or (
                isinstance(part, Call) and not isinstance(part.func, Global)
            ):
                self.analysis.flag(f"BUILD state is computed at load time: {describe(part)}", offset)

    def state_dict(self, state: PDict, offset: int) -> None:
        for key, value in state.items:
            if isinstance(key, (Global, DynamicGlobal, Call, Persistent)):
                self.analysis.flag(
                    f"BUILD state sets an attribute whose name is computed at load time "
                    f"({describe(key)} = {describe(value)})",
                    offset,
                )
            elif key in _LOADER_CALLED:
                self.at_call_position(
                    value, Use.CALLED, f"{key} = {describe(value)}", offset, f"BUILD planting {key}"
                )
            elif _is_partial(value):
                assert isinstance(value, Call) and isinstance(value.func, Global)
                for wrapped in _partial_targets(value):
                    self.reference(wrapped, offset, f"{value.func.dotted} in a restored state")


def _is_partial(value: object) -> bool:
    return (
        isinstance(value, Call)
        and isinstance(value.func, Global)
        and normalize(value.func.module, value.func.name) in CALLABLE_WRAPPERS
    )


def _partial_targets(partial: Call) -> list[object]:
    """The callables a functools.partial calls: its first argument, and the function its
    BUILD state swaps in."""
    args = partial.args if isinstance(partial.args, tuple) else ()
    targets = [args[0]] if args else []
    state = partial.state
    if isinstance(state, tuple) and state and state[0] is not None:
        targets.append(state[0])
    return targets


def _class_of(instance: Call) -> Global | str | None:
    """The class whose __setstate__ BUILD runs on `instance`: the class constructed, the
    class a reconstructor instantiates (its first argument), or the function whose result it
    is (trusted if that function is)."""
    func = instance.func
    if not isinstance(func, Global):
        return describe(func) + ", computed at load time"
    key = normalize(func.module, func.name)
    args = instance.args if isinstance(instance.args, tuple) else ()
    if (
        instance.kind != "new"
        and ARGUMENT_USE.get(key, {}).get(0) is Use.CONSTRUCTED
        or (func.name.startswith("__pyx_unpickle_"))
    ):
        first = args[0] if args else None
        if isinstance(first, Global):
            return first
        return None if first is None else describe(first) + ", computed at load time"
    return func


def _attribute(call: Call) -> Global | None:
    """getattr(obj, "name") with a plain constant name, on a global or an instance of a known
    class: that attribute (a bound method of the class, when obj is an instance)."""
    args = call.args if isinstance(call.args, tuple) else ()
    if len(args) not in (2, 3) or type(args[1]) is not str or not _PLAIN_ATTRIBUTE.fullmatch(args[1]):
        return None
    owner = args[0]
    if isinstance(owner, Call):
        owner = _class_of(owner)
    if not isinstance(owner, Global):
        return None
    return Global(owner.module, f"{owner.name}.{args[1]}", call.offset)


def _state_bytes(state: object) -> list[object]:
    """Byte strings in a BUILD state (the state itself, or one level into a tuple or dict)."""
    values = (
        list(state)
        if isinstance(state, tuple)
        else [v for _, v in state.items]
        if isinstance(state, PDict)
        else [state]
    )
    return [v for v in values if isinstance(v, (bytes, BytesRef))]


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


def _codec_key(name: str) -> str:
    """An encoding name as the encodings package normalises it before its alias table."""
    return "_".join(name.lower().replace("-", " ").split())


# The encodings whose result the scanner works out (their aliases as the encodings package
# lists them), looked up without codecs.lookup: that imports encodings.<name> for a name the
# file chose, and scanning must import nothing a file names.
_TEXT_CODECS = {
    alias: {"latin_1": "latin-1", "utf_8": "utf-8", "ascii": "ascii"}[target]
    for alias, target in [*encodings.aliases.aliases.items(), ("latin_1", "latin_1"), ("utf_8", "utf_8")]
    if target in ("latin_1", "utf_8", "ascii")
} | {"ascii": "ascii"}


def _decode(key: tuple[str, str], args: tuple[object, ...]) -> bytes | None:
    try:
        if key in (("_codecs", "encode"), ("codecs", "encode")):
            text, encoding = args[0], (args[1] if len(args) > 1 else "utf-8")
            codec = _TEXT_CODECS.get(_codec_key(encoding)) if isinstance(encoding, str) else None
            if isinstance(text, str) and codec is not None:
                return text.encode(codec)
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
