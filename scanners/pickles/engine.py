"""A symbolic pickle machine: runs the opcode stream the way CPython's unpicklers would, but
every import, call and mutation becomes a recorded event instead of an effect.

Why not pickletools or fickling: both stop at the first malformed opcode and neither tracks
what the pickle loader *executed* before it (a REDUCE followed by garbage still runs);
pickletools does not model the stack or memo, so STACK_GLOBAL names taken from the memo stay
unknown; fickling builds a full AST, which is slow on large checkpoints and unbounded in memory.
This machine is iterative (no recursion on deep nesting) and bounded (opcodes, time).

It mirrors `_pickle.c` (CPython 3.9-3.14) by default and `pickle.py` on request (`Reading`):
the grammar of text arguments (`grammar`), which checks on a value's type make the loader
raise (a REDUCE whose arguments are a list, a dict key that is a list ...; see `values`), and
how FRAMEs delimit reads. Where the other pickle reader, or the same C code reading from a stream
instead of from memory, would read the stream differently, the run records a divergence; the
scanner then reads it the other ways too. Everything before an error has been executed, so
events up to the error are kept.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import enum
import mmap
import re
import struct
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from aisbom.limits import Limits
from aisbom.scanners.frame.context import Data
from aisbom.scanners.pickles import grammar
from aisbom.scanners.pickles.grammar import BadArgument, BigInt
from aisbom.scanners.pickles.values import (
    UNKNOWN,
    BytesRef,
    Call,
    DynamicGlobal,
    Global,
    LongStr,
    PByteArray,
    PDict,
    Persistent,
    PList,
    PSet,
    has_buffer,
    is_callable,
    is_dict,
    is_hashable,
    is_str,
    iterated,
)
from aisbom.wording import counted

__all__ = [
    "BigInt",
    "BuildHook",
    "BytesRef",
    "Call",
    "DynamicGlobal",
    "Global",
    "LongStr",
    "Mutation",
    "PByteArray",
    "PDict",
    "PList",
    "PSet",
    "Persistent",
    "PickleError",
    "PickleRun",
    "Reading",
    "describe",
    "looks_like_pickle",
    "memory_budget",
    "run_pickle",
]

# Constants larger than these are kept as references into the data, not copied.
_INLINE_BYTES = 64 * 1024
_INLINE_STR = 1024 * 1024
# A module or attribute name longer than this is not decoded: it is a name no allowlist holds
# (a module found on disk has a path of at most 4 KiB), and a 60 MiB name copied into every
# finding took 11 s and 780 MiB to report. It counts as a global computed at load time.
_MAX_NAME = 64 * 1024
_MAX_NUMBER_LINE = 64 * 1024 * 1024  # nor an INT/LONG/FLOAT literal
# A newline is looked for this many bytes at a time in a mapped file, each stretch searched
# dropped from the process: a text argument with no newline for gigabytes (a safetensors file
# whose header length starts with "P" or "F") would otherwise map the whole file into it.
_NEWLINE_STEP = 8 * 1024 * 1024
_CHECK_EVERY = 1 << 16  # opcodes between time and memory checks
_MAX_NOTES = 64  # divergences and assumptions kept per run
# What the machine keeps, estimated in bytes (CPython 3.11, 64-bit): a value pushed (a small
# object and its stack slot), a MARK (an empty list), a container (its object and item list),
# a memo entry, a recorded event (import, call, mutation, persistent id), an item copied.
_VALUE_COST = 64
_MARK_COST = 64
_CONTAINER_COST = 160
_MEMO_COST = 80
_EVENT_COST = 160
_ITEM_COST = 8
_NO_MEMORY_LIMIT = 1 << 62
_NO_MARK_LIMIT = 1 << 62


class Reading(enum.Enum):
    """One way a CPython pickle reader reads a stream.

    C_MEMORY: `_pickle.c` on bytes in memory (pickle.loads), or on a file whose read-ahead
    buffer covers every frame: FRAME only checks that its bytes exist.
    C_STREAM: `_pickle.c` on a file without peek() (io.BytesIO: torch.load's zip members, and
    any file object once a frame outgrows the read-ahead buffer): the frame is read as one
    buffer, and a read that runs past its end silently drops the rest of it.
    C_STRICT: `_pickle.c` since 3.13.15 / 3.14.7, which enforces frame boundaries.
    PY: `pickle.py`'s `_Unpickler`: its own grammar, frame boundaries enforced, a line at the end
    of the data needs no newline.
    """

    C_MEMORY = "_pickle.c"
    C_STREAM = "_pickle.c reading a stream"
    C_STRICT = "_pickle.c since 3.13.15"
    PY = "pickle.py"


@dataclass(frozen=True)
class Mutation:
    """An opcode that calls a method of an existing object: BUILD, SETITEM(S), APPEND(S), ADDITEMS."""

    opcode: str
    target: object
    argument: object
    offset: int


@dataclass
class PickleRun:
    """What one pass of the symbolic machine over a pickle stream saw."""

    start: int
    reading: Reading = Reading.C_MEMORY
    end: int | None = None  # offset just after STOP; None if the stream broke
    proto: int = 0
    opcodes: int = 0
    result: object = None
    error: str | None = None
    error_offset: int | None = None
    limit: str | None = None  # why a limit stopped the run
    limit_name: str | None = None  # which `Limits` field it was
    globals: list[Global | DynamicGlobal] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    mutations: list[Mutation] = field(default_factory=list)
    extensions: list[DynamicGlobal] = field(default_factory=list)  # EXT codes, which stop the run
    persistents: list[Persistent] = field(default_factory=list)  # persistent ids, in order
    saw_frame: bool = False
    # (offset, what): where another Reading would read this stream differently.
    divergences: list[tuple[int, str]] = field(default_factory=list)
    # (offset, what): where the run went on past a check it could not decide (a value whose
    # type only the loading process knows); the loader may stop there instead.
    assumptions: list[tuple[int, str]] = field(default_factory=list)


class PickleError(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class _Limit(Exception):
    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


# BUILD hook: (instance, state, position after the BUILD opcode) -> where to continue, or None.
# joblib writes raw array bytes right after the BUILD of a NumpyArrayWrapper.
BuildHook = Callable[[object, object, int], int | None]


def _find_newline(data: Data, start: int) -> int:
    """`data.find(b"\\n", start)`; in a mapped file, with the memory of one step at a time."""
    if not isinstance(data, mmap.mmap) or len(data) - start <= _NEWLINE_STEP:
        return data.find(b"\n", start)
    known = _last_search
    if known is not None and known[0] is data and known[1] <= start <= known[2]:
        return known[3]  # the other reading of the same line: searched once
    at = start
    nl = -1
    while at < len(data):
        end = min(at + _NEWLINE_STEP, len(data))
        nl = data.find(b"\n", at, end)
        if nl >= 0:
            break
        _drop_pages(data, at, end)
        at = end
    _remember(data, start, nl)
    return nl


def _drop_pages(data: mmap.mmap, start: int, end: int) -> None:
    """Give back this process's memory of a stretch of the mapping just read (the pages stay in
    the page cache for other readers)."""
    if hasattr(mmap, "MADV_DONTNEED"):
        first = start - start % mmap.PAGESIZE
        data.madvise(mmap.MADV_DONTNEED, first, end - first)


# The last long search: (the data, from, up to, its answer). Both readings of a pickle (C's and
# pickle.py's) read the same line; the data is held, so no other mapping can take its identity.
_last_search: tuple[mmap.mmap, int, int, int] | None = None


def _remember(data: mmap.mmap, start: int, nl: int) -> None:
    global _last_search
    _last_search = (data, start, nl if nl >= 0 else len(data), nl)


class PickleMachine:
    def __init__(
        self,
        data: Data,
        start: int = 0,
        *,
        max_opcodes: int = 50_000_000,
        deadline: float | None = None,
        build_hook: BuildHook | None = None,
        reading: Reading = Reading.C_MEMORY,
        max_memory: int = _NO_MEMORY_LIMIT,
        max_marks: int = _NO_MARK_LIMIT,
    ) -> None:
        self.data = data
        self.size = len(data)
        self.pos = start
        self.max_opcodes = max_opcodes
        self.deadline = deadline
        self.build_hook = build_hook
        self.reading = reading
        self.c = reading is not Reading.PY  # _pickle.c's grammar
        self.run_info = PickleRun(start=start, reading=reading)
        self.stack: list[object] = []
        self.metastack: list[list[object]] = []
        self.memo: dict[int, object] = {}
        # Estimated bytes of what the machine keeps, against its budget (checked with the
        # time; at once for a charge that copies many items).
        self.kept = 0
        self.max_memory = max_memory
        self.max_marks = max_marks
        # Tuples built by the machine that hold an unhashable value (a list, a dict ...), kept
        # so their ids stay theirs: hashing a tuple is then one lookup, however large or
        # deeply shared it is (tuples of a memoized tuple, repeated, would be exponential).
        self.unhashable_tuples: dict[int, tuple[object, ...]] = {}
        self.proto = 0
        # End of the current FRAME (or of _pickle.c's stream buffer); None outside frames.
        self.frame_end: int | None = None

    # -- driver --

    def run(self) -> PickleRun:
        info = self.run_info
        dispatch = _DISPATCH
        data = self.data
        count = 0
        try:
            while True:
                if self.frame_end is not None:
                    self.frame_read(1, self.pos)
                op_offset = self.pos
                if op_offset >= self.size:
                    raise PickleError("pickle data was truncated (no STOP opcode)", op_offset)
                code = data[op_offset]
                self.pos += 1
                handler = dispatch.get(code)
                if handler is None:
                    raise PickleError(f"invalid load key {bytes([code])!r}", op_offset)
                count += 1
                if count & (_CHECK_EVERY - 1) == 0:
                    self._check_limits(count)
                if handler(self, op_offset):  # STOP
                    info.end = self.pos
                    break
        except PickleError as exc:
            info.error = str(exc)
            info.error_offset = exc.offset
        except _Limit as exc:
            info.limit = str(exc)
            info.limit_name = exc.name
        info.opcodes = count
        info.proto = self.proto
        return info

    def _check_limits(self, count: int) -> None:
        if count > self.max_opcodes:
            raise _Limit(f"more than {self.max_opcodes} opcodes", "max_pickle_opcodes")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _Limit("time limit reached", "max_seconds_per_file")
        self._check_memory()

    def _check_memory(self) -> None:
        if self.kept > self.max_memory:
            raise _Limit(
                f"the analysis would keep more than {counted(self.max_memory, 'byte')} of values",
                "max_pickle_memory",
            )

    def charge(self, cost: int) -> None:
        """Count `cost` more bytes kept; a large charge (a copy) is checked at once."""
        self.kept += cost
        if cost > _CONTAINER_COST:
            self._check_memory()

    # -- notes --

    def diverge(self, offset: int, what: str) -> None:
        if len(self.run_info.divergences) < _MAX_NOTES:
            self.run_info.divergences.append((offset, what))

    def assume(self, offset: int, what: str) -> None:
        if len(self.run_info.assumptions) < _MAX_NOTES:
            self.run_info.assumptions.append((offset, what))

    # -- frames --

    def frame_read(self, n: int, offset: int, *, copies: bool = False) -> None:
        """Apply what the reading does when n bytes are read at self.pos inside a frame.
        `copies`: _pickle.c copies the bytes out of its buffer and reads the rest from the
        file (BINBYTES and BYTEARRAY8 payloads), so nothing is dropped."""
        frame_end = self.frame_end
        assert frame_end is not None
        if self.pos >= frame_end:
            self.frame_end = None  # the frame is used up: reads go back to the file
        elif self.pos + n > frame_end:
            self.cross_frame_end(offset, frame_end, copies)

    def cross_frame_end(self, offset: int, frame_end: int, copies: bool) -> None:
        self.frame_end = None
        reading = self.reading
        if reading is Reading.C_MEMORY:
            self.diverge(offset, "an opcode argument runs past the end of its FRAME")
        elif reading is Reading.C_STREAM:
            if not copies:
                # _Unpickler_Read refills its buffer from the file, which is already past the
                # frame: the rest of the frame is skipped and the read starts at its end.
                self.pos = frame_end
        else:
            raise PickleError("pickle exhausted before end of frame", offset)

    # -- reading arguments --

    def read(self, n: int, offset: int, *, copies: bool = False) -> bytes:
        if self.frame_end is not None:
            self.frame_read(n, offset, copies=copies)
        end = self.pos + n
        if n < 0 or end > self.size:
            raise PickleError("pickle data was truncated", offset)
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def skip(self, n: int, offset: int, *, copies: bool = False) -> int:
        if self.frame_end is not None:
            self.frame_read(n, offset, copies=copies)
        start = self.pos
        if n < 0 or start + n > self.size:
            raise PickleError("pickle data was truncated", offset)
        self.pos = start + n
        return start

    def _line_end(self, offset: int) -> int:
        """Where the current line ends (just after its newline, or the end of the data), after
        applying frame rules. Under _pickle.c a line must end with a newline."""
        nl = _find_newline(self.data, self.pos)
        frame_end = self.frame_end
        if frame_end is not None:
            if self.pos >= frame_end:
                self.frame_end = None
            elif nl < 0 or nl >= frame_end:
                self.cross_frame_end(offset, frame_end, False)
                nl = _find_newline(self.data, self.pos)
        if nl >= 0:
            return nl + 1
        if self.c:
            if self.pos < self.size:
                self.diverge(offset, "a text argument at the end of the data has no newline")
            raise PickleError("pickle data was truncated (a line without a newline)", offset)
        return self.size

    def readline(self, offset: int, *, limit: int = _MAX_NAME) -> bytes | None:
        """One text argument line, its newline included (pickle.py: maybe without one at the
        end of the data); None if it is longer than `limit` (not copied)."""
        end = self._line_end(offset)
        start = self.pos
        self.pos = end
        if end - start > limit:
            return None
        return self.data[start:end]

    def text_line(self, offset: int) -> bytes | tuple[int, int]:
        """A line without its last byte (the newline), as STRING/UNICODE/GLOBAL read it: any
        length (protocol 0 keeps whole weight blobs in one line); one over _INLINE_STR is
        returned as its (start, end) span, never copied."""
        end = self._line_end(offset)
        start = self.pos
        self.pos = end
        stop = max(start, end - 1)
        if stop - start > _INLINE_STR:
            return (start, stop)
        return self.data[start:stop]

    def _uint(self, n: int, offset: int) -> int:
        return int.from_bytes(self.read(n, offset), "little")

    # -- stack --

    def push(self, value: object) -> None:
        self.kept += _VALUE_COST
        self.stack.append(value)

    def pop(self, offset: int) -> object:
        if not self.stack:
            raise PickleError("unpickling stack underflow", offset)
        return self.stack.pop()

    def top(self, offset: int) -> object:
        if not self.stack:
            raise PickleError("unpickling stack underflow", offset)
        return self.stack[-1]

    def pop_mark(self, offset: int) -> list[object]:
        if not self.metastack:
            raise PickleError("could not find MARK", offset)
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    # -- globals --

    def make_global(self, module: str, name: str, offset: int) -> Global:
        self.kept += _EVENT_COST
        raw = (module, name)
        if self.proto < 3:  # fix_imports, on by default in every loader we know
            if raw in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[raw]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        value = Global(module, name, offset, raw if (module, name) != raw else None)
        self.run_info.globals.append(value)
        return value

    def dynamic_global(self, what: str, offset: int) -> DynamicGlobal:
        self.kept += _EVENT_COST
        value = DynamicGlobal(what, offset)
        self.run_info.globals.append(value)
        return value

    def persistent(self, pid: object, offset: int) -> Persistent:
        self.kept += _EVENT_COST
        value = Persistent(pid, offset)
        self.run_info.persistents.append(value)
        return value

    def record_call(self, call: Call) -> Call:
        self.kept += _EVENT_COST
        self.run_info.calls.append(call)
        return call

    def mutate(self, opcode: str, target: object, argument: object, offset: int) -> None:
        self.kept += _EVENT_COST
        self.run_info.mutations.append(Mutation(opcode, target, argument, offset))

    # -- checks on values, as CPython makes them --

    def require(self, known: bool | None, offset: int, error: str, assumption: str) -> None:
        """Raise `error` when the check is known to fail; note `assumption` when it is unknown."""
        if known is False:
            raise PickleError(error, offset)
        if known is None:
            self.assume(offset, assumption)

    def require_hashable(self, values: list[object] | tuple[object, ...], offset: int) -> None:
        for value in values:
            if not self.hashable(value):
                raise PickleError(f"unhashable type: {describe(value)}", offset)

    def hashable(self, value: object) -> bool:
        """What hash(value) would do (unknown values are assumed hashable); a tuple is looked
        up, its items were judged when it was built."""
        if type(value) is tuple:
            return id(value) not in self.unhashable_tuples
        return is_hashable(value)

    def push_tuple(self, items: tuple[object, ...]) -> None:
        if not all(self.hashable(item) for item in items):
            self.unhashable_tuples[id(items)] = items
            self.kept += _MEMO_COST
        self.push(items)


# --- opcode handlers: each takes (machine, opcode offset) and returns True only on STOP ---


def _op_mark(m: PickleMachine, off: int) -> None:
    if len(m.metastack) >= m.max_marks:
        raise _Limit(f"more than {m.max_marks} MARKs open at once", "max_pickle_marks")
    m.kept += _MARK_COST
    m.metastack.append(m.stack)
    m.stack = []


def _op_stop(m: PickleMachine, off: int) -> bool:
    m.run_info.result = m.pop(off)
    return True


def _op_pop(m: PickleMachine, off: int) -> None:
    if m.stack:
        m.stack.pop()
    else:
        m.pop_mark(off)


def _op_pop_mark(m: PickleMachine, off: int) -> None:
    m.pop_mark(off)


def _op_dup(m: PickleMachine, off: int) -> None:
    m.push(m.top(off))


# Text arguments that both unpicklers read the same way (the common case), parsed directly.
_PLAIN_INT = re.compile(rb"-?(?:0|[1-9][0-9]{0,17})\n")
_PLAIN_FLOAT = re.compile(rb"-?[0-9]+\.[0-9]+(?:e-?[0-9]{1,2})?\n")
_PLAIN_KEY = re.compile(rb"[0-9]{1,18}\n")


def _number_line(
    m: PickleMachine,
    off: int,
    what: str,
    c_parse: Callable[[bytes], object],
    py_parse: Callable[[bytes], object],
) -> bytes | _Literal | None:
    """The line of an INT/LONG/FLOAT: the bytes of a short one, what both grammars make of a
    long one, None past `_MAX_NUMBER_LINE` (not parsed)."""
    end = m._line_end(off)
    start = m.pos
    m.pos = end
    if end - start > _MAX_NUMBER_LINE:
        m.assume(off, f"{what} literal over {_MAX_NUMBER_LINE} bytes was not parsed")
        return None
    if m.c and end - start < 2:
        raise PickleError("pickle data was truncated", off)
    if end - start <= _LONG_LITERAL:
        return m.data[start:end]
    return _long_literal(m.data, start, end, c_parse, py_parse)


@dataclass(frozen=True)
class _Literal:
    """What `_pickle.c`'s and `pickle.py`'s grammars make of one long number literal: the
    value, or the BadArgument they raise."""

    head: bytes  # its first bytes, for messages
    newline: bool
    c: object
    py: object


def _outcome(parse: Callable[[bytes], object], line: bytes) -> object:
    try:
        return parse(line)
    except BadArgument as exc:
        return exc


# Long literals of the mapped file last read, by (start, end, grammar): every reading of a
# pickle (up to four when they diverge) and the format sniffing read the same line, which costs
# a copy and a pass of each grammar over it; read once, the outcome serves them all. The mapping
# is held, so no other one can take its identity (bytes data is not kept: it would stay alive).
# What is kept lives until a long literal of another file: at most the size of this file's
# literals (an int of a long hexadecimal literal included; parsing it again for every reading
# cost more: 3.2 s against 1.0 s of CPU for 63 MiB).
_LONG_LITERAL = 64 * 1024
_MAX_LITERALS_KEPT = 64
_literals: tuple[mmap.mmap, dict[tuple[int, int, object], _Literal]] | None = None


def _long_literal(
    data: Data, start: int, end: int, c_parse: Callable[[bytes], object], py_parse: Callable[[bytes], object]
) -> _Literal:
    global _literals
    held = _literals  # (read once: a thread scanning another file may replace it meanwhile)
    kept = held[1] if held is not None and held[0] is data else None
    key = (start, end, c_parse)
    if kept is not None and key in kept:
        return kept[key]
    line = data[start:end]
    literal = _Literal(line[:40], line.endswith(b"\n"), _outcome(c_parse, line), _outcome(py_parse, line))
    if isinstance(data, mmap.mmap):
        if kept is None or len(kept) >= _MAX_LITERALS_KEPT:
            kept = {}
            _literals = (data, kept)
        kept[key] = literal
    return literal


def _parse(
    m: PickleMachine,
    off: int,
    line: bytes | _Literal,
    c_parse: Callable[[bytes], object],
    py_parse: Callable[[bytes], object],
    what: str,
) -> object:
    """Parse `line` as this reading of CPython does; note where the other one would not."""
    if isinstance(line, _Literal):
        head, newline, c_value, py_value = line.head, line.newline, line.c, line.py
    else:  # (the other grammar is asked only where it matters: _pickle.c needs the newline)
        head, newline = line[:40], line.endswith(b"\n")
        c_value = _outcome(c_parse, line) if m.c or newline else None
        py_value = _outcome(py_parse, line) if newline or not m.c else None
    mine, other = (c_value, py_value) if m.c else (py_value, c_value)
    if isinstance(mine, BadArgument):
        if m.c and newline and not isinstance(other, BadArgument):
            m.diverge(off, f"{what} argument {head!r} is accepted by the other reading")
        raise PickleError(f"invalid {what} argument {head!r}: {mine}", off) from None
    if newline and isinstance(other, BadArgument):
        m.diverge(off, f"{what} argument {head!r} is refused by the other reading")
    if isinstance(mine, BigInt):
        m.assume(off, f"{what} literal of {mine.digits} digits: over the default int_max_str_digits")
    return mine


def _op_int(m: PickleMachine, off: int) -> None:
    line = _number_line(m, off, "INT", grammar.c_int, grammar.py_int)
    if line is None:
        m.push(BigInt(_MAX_NUMBER_LINE))
    elif isinstance(line, bytes) and _PLAIN_INT.fullmatch(line):
        m.push(False if line == b"00\n" else True if line == b"01\n" else int(line))
    else:
        m.push(_parse(m, off, line, grammar.c_int, grammar.py_int, "INT"))


def _op_long(m: PickleMachine, off: int) -> None:
    line = _number_line(m, off, "LONG", grammar.c_long, grammar.py_long)
    if line is None:
        m.push(BigInt(_MAX_NUMBER_LINE))
    else:
        m.push(_parse(m, off, line, grammar.c_long, grammar.py_long, "LONG"))


def _op_float(m: PickleMachine, off: int) -> None:
    line = _number_line(m, off, "FLOAT", grammar.c_float, grammar.py_float)
    if line is None:
        m.push(0.0)
    elif isinstance(line, bytes) and len(line) <= 32 and _PLAIN_FLOAT.fullmatch(line):
        m.push(float(line))  # (the length first: a long run of digits would backtrack)
    else:
        m.push(_parse(m, off, line, grammar.c_float, grammar.py_float, "FLOAT"))


def _op_binint(m: PickleMachine, off: int) -> None:
    m.push(struct.unpack("<i", m.read(4, off))[0])


def _op_binint1(m: PickleMachine, off: int) -> None:
    m.push(m.read(1, off)[0])


def _op_binint2(m: PickleMachine, off: int) -> None:
    m.push(m._uint(2, off))


def _op_long1(m: PickleMachine, off: int) -> None:
    n = m.read(1, off)[0]
    m.push(int.from_bytes(m.read(n, off), "little", signed=True))


def _op_long4(m: PickleMachine, off: int) -> None:
    (n,) = struct.unpack("<i", m.read(4, off))
    if n < 0:
        raise PickleError("LONG pickle has negative byte count", off)
    if n > 1024:  # a huge integer is data, not code; do not build it
        m.skip(n, off)
        m.push(BigInt(n * 2))
    else:
        m.push(int.from_bytes(m.read(n, off), "little", signed=True))


def _op_binfloat(m: PickleMachine, off: int) -> None:
    m.push(struct.unpack(">d", m.read(8, off))[0])


def _op_none(m: PickleMachine, off: int) -> None:
    m.push(None)


def _op_true(m: PickleMachine, off: int) -> None:
    m.push(True)


def _op_false(m: PickleMachine, off: int) -> None:
    m.push(False)


def _bytes_value(m: PickleMachine, n: int, off: int) -> bytes | BytesRef:
    if n > _INLINE_BYTES:
        return BytesRef(m.skip(n, off, copies=True), n)
    return m.read(n, off, copies=True)


def _str_value(m: PickleMachine, n: int, off: int, codec: str = "utf-8") -> str | LongStr:
    if n > _INLINE_STR:
        start = m.skip(n, off)
        if codec != "latin-1":
            m.assume(off, f"a string of {counted(n, 'byte')} was not checked for valid UTF-8")
        return LongStr(start, start + n, codec)
    raw = m.read(n, off)
    if codec == "latin-1":
        return raw.decode("latin-1")
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        raise PickleError("invalid UTF-8 in unicode string", off) from None


# STRING/BINSTRING hold Python 2 str; loaders decode them with encoding='ASCII' (default),
# 'latin1' (numpy, torch for old files) or 'bytes'. latin-1 never fails and keeps every byte,
# so names still resolve: the reading that goes furthest.


def _op_string(m: PickleMachine, off: int) -> None:
    raw = m.text_line(off)
    if isinstance(raw, tuple):  # too long to decode: check its quotes, keep it in place
        start, end = raw
        first, last = m.data[start : start + 1], m.data[end - 1 : end]
        if first != last or first not in (b"'", b'"'):
            raise PickleError("the STRING opcode argument must be quoted", off)
        m.assume(off, "escapes of a STRING over 1 MiB were not checked")
        m.push(LongStr(start + 1, end - 1, "escape"))
        return
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[:1] in (b"'", b'"'):
        raw = raw[1:-1]
    else:
        raise PickleError("the STRING opcode argument must be quoted", off)
    m.push(_escape_decode(raw, off))


def _escape_decode(raw: bytes, off: int) -> str:
    """STRING's Python 2 escapes, as PyBytes_DecodeEscape reads them (an unknown escape such
    as \\q is kept; CPython only warns about it)."""
    if b"\\" not in raw:
        return raw.decode("latin-1")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return codecs.escape_decode(raw)[0].decode("latin-1")  # type: ignore[attr-defined, no-any-return]
    except ValueError:
        raise PickleError("invalid escape in STRING argument", off) from None


def _op_binstring(m: PickleMachine, off: int) -> None:
    # _pickle.c reads the length unsigned, pickle.py signed.
    n = m._uint(4, off)
    if n >= 2**31:
        if not m.c:
            raise PickleError("BINSTRING pickle has negative byte count", off)
        m.diverge(off, "BINSTRING length over 2 GiB: pickle.py refuses it")
    m.push(_str_value(m, n, off, "latin-1"))


def _op_short_binstring(m: PickleMachine, off: int) -> None:
    n = m.read(1, off)[0]
    m.push(m.read(n, off).decode("latin-1"))


def _op_binbytes(m: PickleMachine, off: int) -> None:
    m.push(_bytes_value(m, m._uint(4, off), off))


def _op_short_binbytes(m: PickleMachine, off: int) -> None:
    m.push(_bytes_value(m, m.read(1, off)[0], off))


def _op_binbytes8(m: PickleMachine, off: int) -> None:
    m.push(_bytes_value(m, _size8(m, off), off))


def _op_bytearray8(m: PickleMachine, off: int) -> None:
    m.push(PByteArray(_bytes_value(m, _size8(m, off), off)))


def _size8(m: PickleMachine, off: int) -> int:
    n = m._uint(8, off)
    if n >= 2**63:
        raise PickleError("length exceeds the system's maximum size", off)
    return n


def _op_unicode(m: PickleMachine, off: int) -> None:
    raw = m.text_line(off)
    if isinstance(raw, tuple):
        m.assume(off, "escapes of a UNICODE string over 1 MiB were not checked")
        m.push(LongStr(raw[0], raw[1], "raw-unicode-escape"))
        return
    try:
        m.push(raw.decode("raw-unicode-escape"))
    except UnicodeDecodeError:
        raise PickleError("invalid UNICODE argument", off) from None


def _op_binunicode(m: PickleMachine, off: int) -> None:
    m.push(_str_value(m, m._uint(4, off), off))


def _op_short_binunicode(m: PickleMachine, off: int) -> None:
    m.push(_str_value(m, m.read(1, off)[0], off))


def _op_binunicode8(m: PickleMachine, off: int) -> None:
    m.push(_str_value(m, _size8(m, off), off))


def _op_empty_tuple(m: PickleMachine, off: int) -> None:
    m.push(())


def _op_tuple(m: PickleMachine, off: int) -> None:
    m.push_tuple(tuple(m.pop_mark(off)))


def _op_tuple1(m: PickleMachine, off: int) -> None:
    m.push_tuple((m.pop(off),))


def _op_tuple2(m: PickleMachine, off: int) -> None:
    b = m.pop(off)
    a = m.pop(off)
    m.push_tuple((a, b))


def _op_tuple3(m: PickleMachine, off: int) -> None:
    c = m.pop(off)
    b = m.pop(off)
    a = m.pop(off)
    m.push_tuple((a, b, c))


def _op_empty_list(m: PickleMachine, off: int) -> None:
    m.kept += _CONTAINER_COST
    m.push(PList())


def _op_list(m: PickleMachine, off: int) -> None:
    m.kept += _CONTAINER_COST
    m.push(PList(m.pop_mark(off)))


def _op_empty_dict(m: PickleMachine, off: int) -> None:
    m.kept += _CONTAINER_COST
    m.push(PDict())


def _op_dict(m: PickleMachine, off: int) -> None:
    items = m.pop_mark(off)
    if len(items) % 2:
        raise PickleError("odd number of items for DICT", off)
    m.require_hashable(items[::2], off)
    m.kept += _CONTAINER_COST
    m.push(PDict(list(zip(items[::2], items[1::2], strict=True))))


def _op_empty_set(m: PickleMachine, off: int) -> None:
    m.kept += _CONTAINER_COST
    m.push(PSet())


def _op_frozenset(m: PickleMachine, off: int) -> None:
    items = m.pop_mark(off)
    m.require_hashable(items, off)
    m.kept += _CONTAINER_COST
    m.push(PSet(items, frozen=True))


def _op_append(m: PickleMachine, off: int) -> None:
    value = m.pop(off)
    target = m.top(off)
    if isinstance(target, PList):
        target.items.append(value)
    else:
        _append_to_object(m, target, [value], off, "APPEND")


def _op_appends(m: PickleMachine, off: int) -> None:
    items = m.pop_mark(off)
    target = m.top(off)
    if isinstance(target, PList):
        target.items.extend(items)
    elif items or not m.c:  # _pickle.c does nothing for an empty APPENDS; pickle.py calls extend
        _append_to_object(m, target, items, off, "APPENDS")


def _append_to_object(m: PickleMachine, target: object, items: list[object], off: int, op: str) -> None:
    if isinstance(target, UNKNOWN):
        m.mutate(op, target, tuple(items), off)  # calls its extend() or append()
    elif isinstance(target, PByteArray):
        m.assume(off, f"{op} on a bytearray")
    else:
        if not items:
            m.diverge(off, "an empty APPENDS on an object without extend(): pickle.py raises")
        raise PickleError(f"{op} on {describe(target)}, which has no extend() or append()", off)


def _op_setitem(m: PickleMachine, off: int) -> None:
    value = m.pop(off)
    key = m.pop(off)
    target = m.top(off)
    _set_items(m, target, [(key, value)], off, "SETITEM")


def _op_setitems(m: PickleMachine, off: int) -> None:
    items = m.pop_mark(off)
    target = m.top(off)
    pairs = list(zip(items[::2], items[1::2], strict=False))
    if len(items) % 2:
        if m.c:
            if pairs and isinstance(target, UNKNOWN):
                m.diverge(off, "SETITEMS with an odd number of items: pickle.py sets the pairs first")
            raise PickleError("odd number of items for SETITEMS", off)
        if pairs:
            _set_items(m, target, pairs, off, "SETITEMS")
        raise PickleError("odd number of items for SETITEMS", off)
    if pairs:
        _set_items(m, target, pairs, off, "SETITEMS")


def _set_items(
    m: PickleMachine, target: object, pairs: list[tuple[object, object]], off: int, op: str
) -> None:
    if isinstance(target, PDict):
        m.require_hashable([k for k, _ in pairs], off)
        target.items.extend(pairs)
    elif isinstance(target, PList):
        for key, value in pairs:
            if isinstance(key, UNKNOWN):
                m.assume(off, f"{op} on a list with an index computed at load time")
            elif type(key) not in (int, bool):
                raise PickleError("list indices must be integers or slices", off)
            elif not -len(target.items) <= key < len(target.items):  # type: ignore[operator]
                raise PickleError("list assignment index out of range", off)
            else:
                target.items[key] = value  # type: ignore[index]
    elif isinstance(target, UNKNOWN):
        m.mutate(op, target, tuple(pairs), off)  # calls its __setitem__
    elif isinstance(target, PByteArray):
        m.assume(off, f"{op} on a bytearray")
    else:
        raise PickleError(f"{describe(target)} does not support item assignment", off)


def _op_additems(m: PickleMachine, off: int) -> None:
    items = m.pop_mark(off)
    target = m.top(off)
    if isinstance(target, PSet) and not target.frozen:
        m.require_hashable(items, off)
        target.items.extend(items)
    elif isinstance(target, UNKNOWN):
        if items:
            m.mutate("ADDITEMS", target, tuple(items), off)  # calls its add()
    elif items or not m.c:
        if not items:
            m.diverge(off, "an empty ADDITEMS on an object without add(): pickle.py raises")
        raise PickleError(f"ADDITEMS on {describe(target)}, which has no add()", off)


def _get(kind: str) -> Callable[[PickleMachine, int], None]:
    def handler(m: PickleMachine, off: int) -> None:
        key = _memo_key(m, off, kind)
        try:
            m.push(m.memo[key])
        except KeyError:
            raise PickleError(f"Memo value not found at index {key}", off) from None

    return handler


def _put(kind: str) -> Callable[[PickleMachine, int], None]:
    def handler(m: PickleMachine, off: int) -> None:
        key = _memo_key(m, off, kind)
        if key < 0:
            raise PickleError("negative PUT argument", off)
        if key >= 1 << 24 and m.c:  # pickle.py's memo is a dict: any index costs the same
            m.assume(off, f"memo index {key}: _pickle.c allocates a table that large")
        m.kept += _MEMO_COST
        m.memo[key] = m.top(off)

    return handler


def _memo_key(m: PickleMachine, off: int, kind: str) -> int:
    if kind == "1":
        return m.read(1, off)[0]
    if kind == "4":
        return m._uint(4, off)
    line = m.readline(off, limit=4096)
    if line is None:
        raise PickleError("memo key too long", off)
    if m.c and len(line) < 2:
        raise PickleError("pickle data was truncated", off)
    if _PLAIN_KEY.fullmatch(line):
        return int(line)
    key = _parse(m, off, line, grammar.c_memo_key, grammar.py_memo_key, "memo key")
    assert isinstance(key, int)
    return key


def _op_memoize(m: PickleMachine, off: int) -> None:
    m.kept += _MEMO_COST
    m.memo[len(m.memo)] = m.top(off)


def _op_proto(m: PickleMachine, off: int) -> None:
    proto = m.read(1, off)[0]
    if proto > 5:
        raise PickleError(f"unsupported pickle protocol: {proto}", off)
    m.proto = proto


def _op_frame(m: PickleMachine, off: int) -> None:
    m.run_info.saw_frame = True
    size = m._uint(8, off)
    if size >= 2**63:
        raise PickleError("FRAME length exceeds the system's maximum", off)
    reading, pos, frame_end = m.reading, m.pos, m.frame_end
    inside = frame_end is not None and pos < frame_end
    if inside and reading in (Reading.C_STRICT, Reading.PY):
        raise PickleError("beginning of a new frame before end of current frame", off)
    if inside:
        assert frame_end is not None
        if reading is Reading.C_MEMORY:
            m.diverge(off, "a FRAME begins before the previous one ends")
        elif pos + size <= frame_end:
            return  # _pickle.c's buffer already holds it: the outer frame goes on
        else:
            m.pos = pos = frame_end  # the refill from the file skips the rest of the frame
    if pos + size > m.size:
        if reading is not Reading.PY:
            raise PickleError("pickle data was truncated (FRAME longer than the data)", off)
        m.diverge(off, "FRAME longer than the data")
    m.frame_end = min(pos + size, m.size)


def _global_names(m: PickleMachine, off: int, codec: str) -> tuple[str, str] | None:
    """The two lines of GLOBAL/INST, decoded; None when a name is too long to decode."""
    names: list[str | None] = []
    for _ in range(2):
        line = m.readline(off)
        if line is None:
            m.assume(off, f"a name over {_MAX_NAME} bytes was not decoded")
            names.append(None)
            continue
        if m.c and len(line) < 2:
            if line == b"\n":
                m.diverge(off, "an empty module or name line: pickle.py still calls find_class")
            raise PickleError("pickle data was truncated", off)
        try:
            names.append(line[:-1].decode(codec))
        except UnicodeDecodeError:
            raise PickleError(f"GLOBAL names are not {codec}", off) from None
    module, name = names
    if module is None or name is None:
        return None
    return module, name


def _op_global(m: PickleMachine, off: int) -> None:
    names = _global_names(m, off, "utf-8")
    if names is None:
        m.push(m.dynamic_global("GLOBAL with a name too long to analyse", off))
    else:
        m.push(m.make_global(names[0], names[1], off))


def _op_stack_global(m: PickleMachine, off: int) -> None:
    name = m.pop(off)
    module = m.pop(off)
    known = (is_str(module), is_str(name))
    if False in known:
        raise PickleError("STACK_GLOBAL requires str", off)
    if None in known:
        m.assume(off, "STACK_GLOBAL names computed at load time")
        what = f"STACK_GLOBAL with computed names ({describe(module)}, {describe(name)})"
        m.push(m.dynamic_global(what, off))
        return
    module_text, name_text = _text(m, module), _text(m, name)
    if module_text is None or name_text is None:
        m.push(m.dynamic_global("STACK_GLOBAL with a name too long to analyse", off))
    else:
        m.push(m.make_global(module_text, name_text, off))


def _text(m: PickleMachine, value: object) -> str | None:
    if isinstance(value, str):
        return value
    assert isinstance(value, LongStr)
    if value.end - value.start > _MAX_NAME:
        return None
    raw = bytes(m.data[value.start : value.end])
    try:
        if value.codec == "escape":
            return _escape_decode(raw, value.start)
        return raw.decode(value.codec, "surrogatepass")
    except (UnicodeDecodeError, ValueError):
        return None


def _ext(size: int) -> Callable[[PickleMachine, int], None]:
    def handler(m: PickleMachine, off: int) -> None:
        raw = m.read(size, off)
        code = int.from_bytes(raw, "little", signed=size == 4)
        if code <= 0:
            raise PickleError("EXT specifies code <= 0", off)
        # No pickle reader ships a registered extension (copyreg's registry starts empty, and
        # neither torch nor numpy fills it): every loader stops here.
        m.run_info.extensions.append(DynamicGlobal(f"extension registry code {code}", off))
        raise PickleError(f"unregistered extension code {code}", off)

    return handler


def _op_reduce(m: PickleMachine, off: int) -> None:
    args = m.pop(off)
    func = m.pop(off)
    m.require(is_callable(func), off, f"{describe(func)} is not callable", "REDUCE target is callable")
    m.push(m.record_call(Call(func, _call_args(m, args, off, "REDUCE"), "reduce", off)))


def _call_args(m: PickleMachine, args: object, off: int, op: str) -> object:
    """The arguments of a REDUCE or NEWOBJ: _pickle.c requires a tuple; pickle.py unpacks
    any iterable (`func(*args)`)."""
    if isinstance(args, tuple):
        return args
    if isinstance(args, UNKNOWN):
        m.assume(off, f"{op} arguments computed at load time")
        return args
    try:
        items = iterated(args)  # a copy: a memoized list unpacked again and again adds up
    except TypeError:
        raise PickleError(f"{op} arguments are not a tuple: {describe(args)}", off) from None
    if m.c:
        m.diverge(off, f"{op} arguments are a {type(args).__name__}: pickle.py unpacks them")
        raise PickleError(f"{op} arguments are not a tuple: {describe(args)}", off)
    if items:
        m.charge(len(items) * _ITEM_COST)
    return items


def _op_newobj(m: PickleMachine, off: int) -> None:
    args = m.pop(off)
    cls = m.pop(off)
    _new(m, cls, args, None, off, "NEWOBJ")


def _op_newobj_ex(m: PickleMachine, off: int) -> None:
    kwargs = m.pop(off)
    args = m.pop(off)
    cls = m.pop(off)
    _new(m, cls, args, kwargs, off, "NEWOBJ_EX")


def _new(m: PickleMachine, cls: object, args: object, kwargs: object, off: int, op: str) -> None:
    m.require(is_callable(cls), off, f"{op} class argument must be a type", f"{op} class is a type")
    args = _call_args(m, args, off, op)
    if op == "NEWOBJ_EX":
        m.require(is_dict(kwargs), off, f"{op} kwargs argument must be a dict", f"{op} kwargs is a dict")
    m.push(m.record_call(Call(cls, args, "new", off, kwargs)))


def _op_inst(m: PickleMachine, off: int) -> None:
    if m.c and not m.metastack:  # _pickle.c looks for the MARK before it reads the names
        m.diverge(off, "INST without a MARK: pickle.py imports the class before it fails")
        raise PickleError("could not find MARK", off)
    names = _global_names(m, off, "ascii")
    cls: Global | DynamicGlobal
    if names is None:
        cls = m.dynamic_global("INST with a name too long to analyse", off)
    else:
        cls = m.make_global(names[0], names[1], off)
    if not m.metastack:
        raise PickleError("could not find MARK", off)  # pickle.py: after find_class ran
    args = m.pop_mark(off)
    m.push(m.record_call(Call(cls, tuple(args), "inst", off)))


def _op_obj(m: PickleMachine, off: int) -> None:
    args = m.pop_mark(off)
    if not args:
        raise PickleError("OBJ without a class", off)
    cls = args[0]
    m.require(is_callable(cls), off, f"{describe(cls)} is not callable", "OBJ class is callable")
    m.push(m.record_call(Call(cls, tuple(args[1:]), "obj", off)))


def _op_build(m: PickleMachine, off: int) -> None:
    state = m.pop(off)
    inst = m.top(off)
    if isinstance(inst, UNKNOWN):
        m.mutate("BUILD", inst, state, off)  # calls its __setstate__, or sets its attributes
        if isinstance(inst, Call):
            inst.state = state
    else:
        _build_builtin(m, inst, state, off)
    if m.build_hook is not None:
        resume = m.build_hook(inst, state, m.pos)
        if resume is not None:
            if not m.pos <= resume <= m.size:
                raise PickleError("inline data runs past the end of the file", off)
            m.pos = resume


def _build_builtin(m: PickleMachine, inst: object, state: object, off: int) -> None:
    """BUILD on a constant or container: no __setstate__ and no __dict__, so only an empty
    state works. _pickle.c accepts None (or (None, {})); pickle.py any falsy state."""
    slot: object = None
    split = isinstance(state, tuple) and len(state) == 2
    if split:
        state, slot = state  # type: ignore[misc]
    c_ok = state is None and (not split or (isinstance(slot, PDict) and not slot.items))
    py_ok = not _truthy(state) and not _truthy(slot)
    if c_ok != py_ok:
        m.diverge(off, "BUILD on a built-in value: the two unpicklers accept different empty states")
    if not (c_ok if m.c else py_ok):
        raise PickleError(f"BUILD cannot set state on {describe(inst)}", off)


def _truthy(value: object) -> bool:
    if isinstance(value, (PDict, PList, PSet)):
        return bool(value.items)
    if isinstance(value, PByteArray):
        return _truthy(value.data)
    if isinstance(value, (BytesRef, LongStr, BigInt)):
        return True
    if isinstance(value, UNKNOWN):
        return True
    return bool(value)


_ASCII = re.compile(rb"[\x00-\x7f]*")


def _all_ascii(data: Data, start: int, end: int) -> bool:
    """`data[start:end].isascii()`, read in place; a mapped file a step at a time, each stretch
    read dropped from the process again (as `_find_newline` does)."""
    step = _NEWLINE_STEP if isinstance(data, mmap.mmap) else max(end - start, 1)
    for at in range(start, end, step):
        stop = min(at + step, end)
        if _ASCII.fullmatch(data, at, stop) is None:
            return False
        if isinstance(data, mmap.mmap):
            _drop_pages(data, at, stop)
    return True


def _op_persid(m: PickleMachine, off: int) -> None:
    line = m.text_line(off)
    pid: str | LongStr
    if isinstance(line, tuple):  # any length is handed to persistent_load: checked in place
        start, end = line
        if not _all_ascii(m.data, start, end):
            raise PickleError("persistent IDs in protocol 0 must be ASCII strings", off)
        pid = LongStr(start, end, "latin-1")  # (ASCII reads the same)
    else:
        try:
            pid = line.decode("ascii")
        except UnicodeDecodeError:
            raise PickleError("persistent IDs in protocol 0 must be ASCII strings", off) from None
    m.push(m.persistent(pid, off))


def _op_binpersid(m: PickleMachine, off: int) -> None:
    m.push(m.persistent(m.pop(off), off))


def _op_next_buffer(m: PickleMachine, off: int) -> None:
    raise PickleError("pickle stream refers to out-of-band data but no buffers were given", off)


def _op_readonly_buffer(m: PickleMachine, off: int) -> None:
    value = m.top(off)
    m.require(has_buffer(value), off, "READONLY_BUFFER on a value without a buffer", "READONLY_BUFFER")


_DISPATCH: dict[int, Callable[[PickleMachine, int], object]] = {
    ord(k): v
    for k, v in {
        "(": _op_mark,
        ".": _op_stop,
        "0": _op_pop,
        "1": _op_pop_mark,
        "2": _op_dup,
        "F": _op_float,
        "I": _op_int,
        "J": _op_binint,
        "K": _op_binint1,
        "L": _op_long,
        "M": _op_binint2,
        "N": _op_none,
        "P": _op_persid,
        "Q": _op_binpersid,
        "R": _op_reduce,
        "S": _op_string,
        "T": _op_binstring,
        "U": _op_short_binstring,
        "V": _op_unicode,
        "X": _op_binunicode,
        "a": _op_append,
        "b": _op_build,
        "c": _op_global,
        "d": _op_dict,
        "}": _op_empty_dict,
        "e": _op_appends,
        "g": _get("line"),
        "h": _get("1"),
        "i": _op_inst,
        "j": _get("4"),
        "l": _op_list,
        "]": _op_empty_list,
        "o": _op_obj,
        "p": _put("line"),
        "q": _put("1"),
        "r": _put("4"),
        "s": _op_setitem,
        "t": _op_tuple,
        ")": _op_empty_tuple,
        "u": _op_setitems,
        "G": _op_binfloat,
        "\x80": _op_proto,
        "\x81": _op_newobj,
        "\x82": _ext(1),
        "\x83": _ext(2),
        "\x84": _ext(4),
        "\x85": _op_tuple1,
        "\x86": _op_tuple2,
        "\x87": _op_tuple3,
        "\x88": _op_true,
        "\x89": _op_false,
        "\x8a": _op_long1,
        "\x8b": _op_long4,
        "B": _op_binbytes,
        "C": _op_short_binbytes,
        "\x8c": _op_short_binunicode,
        "\x8d": _op_binunicode8,
        "\x8e": _op_binbytes8,
        "\x8f": _op_empty_set,
        "\x90": _op_additems,
        "\x91": _op_frozenset,
        "\x92": _op_newobj_ex,
        "\x93": _op_stack_global,
        "\x94": _op_memoize,
        "\x95": _op_frame,
        "\x96": _op_bytearray8,
        "\x97": _op_next_buffer,
        "\x98": _op_readonly_buffer,
    }.items()
}


def memory_budget(limits: Limits, size: int) -> int:
    """Estimated bytes the machine may keep while reading `size` bytes of pickle."""
    return min(limits.max_pickle_memory, limits.pickle_memory_floor + limits.pickle_memory_per_byte * size)


def run_pickle(
    data: Data,
    start: int = 0,
    *,
    max_opcodes: int = 50_000_000,
    deadline: float | None = None,
    build_hook: BuildHook | None = None,
    reading: Reading = Reading.C_MEMORY,
    max_memory: int = _NO_MEMORY_LIMIT,
    max_marks: int = _NO_MARK_LIMIT,
) -> PickleRun:
    """Symbolically run one pickle starting at `start`, as `reading` reads it, keeping at most
    `max_memory` estimated bytes of values and `max_marks` open MARKs."""
    machine = PickleMachine(
        data,
        start,
        max_opcodes=max_opcodes,
        deadline=deadline,
        build_hook=build_hook,
        reading=reading,
        max_memory=max_memory,
        max_marks=max_marks,
    )
    return machine.run()


# --- recognising pickles that have no header (protocols 0 and 1 are printable text) ----------

_IDENTIFIER_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_SNIFF_WINDOW = 64 * 1024
_SNIFF_OPCODES = 20_000


def looks_like_pickle(data: Data) -> bool:
    """True if a pickle loader reading `data` from its first byte would act on it: it imports
    a plausible name or calls something before it breaks, or it returns an object (a complete
    pickle, or a stack of them, of a few opcodes), or it runs thousands of valid opcodes.
    Text that merely starts with an opcode letter breaks before any of that ("cat dog" is
    GLOBAL 'at dog'... broken at once)."""
    if not data or data[0] not in _DISPATCH:
        return False
    window = data[:_SNIFF_WINDOW] if len(data) > _SNIFF_WINDOW else data
    stacked = _stacked_opcodes(window)
    if stacked is True:
        return True
    if stacked is None and len(data) > len(window):
        # A constant longer than the window (protocol 0 keeps a string on one line of any
        # length) hides everything after it: read the whole file, still opcode-bounded.
        return _stacked_opcodes(data) is True
    return False


def _stacked_opcodes(data: Data) -> bool | None:
    """True: a loader acts on it; False: it does not; None: the data ran out first."""
    pos, complete = 0, 0
    budget = _SNIFF_OPCODES
    while budget > 0:
        run = run_pickle(data, pos, max_opcodes=budget)
        budget -= run.opcodes
        if run.calls or any(_plausible(g) for g in run.globals):
            return True
        if run.end is None and run.divergences:  # where pickle.py reads on, it may act
            other = run_pickle(data, pos, max_opcodes=budget, reading=Reading.PY)
            if other.calls or any(_plausible(g) for g in other.globals):
                return True
        if run.limit:
            return complete + run.opcodes >= 64  # thousands of valid opcodes are no accident
        if run.end is None:
            if run.error and "truncated" in run.error and complete + run.opcodes >= 64:
                return True
            if run.error and "truncated" in run.error and run.opcodes < 64:
                return None if complete == 0 else complete >= 8
            return complete >= 8
        complete += run.opcodes
        pos = run.end
        rest = data[pos : pos + 16]
        if not rest.strip():  # pickle.load stops at STOP; whitespace after it is nothing
            return complete >= 2
        if rest[0] not in _DISPATCH:
            return complete >= 8
    return True


def _plausible(glob: Global | DynamicGlobal) -> bool:
    """An import a loader could perform: a module name that is a dotted Python identifier (the
    module is imported before the name is looked up; a name computed at load time counts too)."""
    if isinstance(glob, DynamicGlobal):
        return True
    module, name = glob.raw or (glob.module, glob.name)
    return bool(_IDENTIFIER_PATH.fullmatch(module) and (not name or _IDENTIFIER_PATH.fullmatch(name)))


# --- human-readable rendering of values, for evidence ------------------------------------


def describe(value: object, depth: int = 0, budget: list[int] | None = None) -> str:
    """A short, bounded, Python-like rendering of a symbolic value."""
    budget = budget if budget is not None else [40]
    budget[0] -= 1
    if budget[0] < 0 or depth > 4:
        return "…"
    if isinstance(value, Global):
        return value.dotted
    if isinstance(value, DynamicGlobal):
        return f"<{value.what}>"
    if isinstance(value, Call):
        args = value.args
        inner = (  # at most 8 arguments: a call's arguments can be a list of millions unpacked
            ", ".join(describe(a, depth + 1, budget) for a in args[:8]) + (", …" if len(args) > 8 else "")
            if isinstance(args, tuple)
            else f"*{describe(args, depth + 1, budget)}"
        )
        return f"{describe(value.func, depth + 1, budget)}({inner})"
    if isinstance(value, Persistent):
        return f"<persistent {describe(value.pid, depth + 1, budget)}>"
    if isinstance(value, BytesRef):
        return f"<{counted(value.length, 'byte')}>"
    if isinstance(value, LongStr):
        return f"<string of {counted(value.end - value.start, 'byte')} at offset {value.start}>"
    if isinstance(value, BigInt):
        return f"<integer of about {value.digits} digits>"
    if type(value) is int and value.bit_length() > 256:  # (str() of a long int is quadratic, or refused)
        return f"<integer of about {value.bit_length() * 30103 // 100000 + 1} digits>"
    if isinstance(value, PByteArray):
        return f"bytearray({describe(value.data, depth + 1, budget)})"
    if isinstance(value, PList):
        return _items("[", value.items, "]", depth, budget)
    if isinstance(value, PSet):
        return _items(
            "frozenset({" if value.frozen else "{", value.items, "})" if value.frozen else "}", depth, budget
        )
    if isinstance(value, PDict):
        parts = [
            f"{describe(k, depth + 1, budget)}: {describe(v, depth + 1, budget)}" for k, v in value.items[:8]
        ]
        return "{" + ", ".join(parts) + (", …}" if len(value.items) > 8 else "}")
    if isinstance(value, tuple):
        inner = ", ".join(describe(v, depth + 1, budget) for v in value[:8])
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "…"


def _items(open_: str, items: list[object], close: str, depth: int, budget: list[int]) -> str:
    inner = ", ".join(describe(v, depth + 1, budget) for v in items[:8])
    return open_ + inner + (", …" if len(items) > 8 else "") + close
