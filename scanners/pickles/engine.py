"""A symbolic pickle machine: runs the opcode stream the way CPython's pickle loader would, but
every import, call and mutation becomes a recorded event instead of an effect.

Why not pickletools or fickling: both stop at the first malformed opcode and neither tracks
what the pickle loader *executed* before it (a REDUCE followed by garbage still runs); pickletools
does not model the stack or memo, so STACK_GLOBAL names taken from the memo stay unknown;
fickling builds a full AST, which is slow on large checkpoints and unbounded in memory. This
machine is iterative (no recursion on deep nesting), bounded (opcodes, time, constant sizes)
and mirrors `_pickle.c` (Python 3.11) on the points that matter for safety:

- `GLOBAL`/`INST` lines are UTF-8, and the last byte of each line is dropped as the newline;
- `find_class` remaps Python 2 names (`_compat_pickle`) when the stream's protocol is < 3, and
  walks dotted names as attributes when it is >= 4;
- `MARK` fences the stack: pops below the innermost mark underflow; `POP` on an empty fenced
  stack pops the mark;
- everything before an error has been executed, so events up to the error are kept.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aisbom.scanners.frame.context import Data
from aisbom.wording import counted

# Constants larger than these are kept as references into the data, not copied.
_INLINE_BYTES = 64 * 1024
_INLINE_STR = 1024 * 1024
_CHECK_EVERY = 1 << 16  # opcodes between time checks
_MAX_LINE = 1024 * 1024  # protocol 0 text arguments; real ones are names and numbers


# --- values on the symbolic stack ---------------------------------------------------------


@dataclass(eq=False)
class Global:
    """What GLOBAL/STACK_GLOBAL/INST/EXT fetched, resolved as find_class would."""

    module: str
    name: str
    offset: int
    raw: tuple[str, str] | None = None  # the names as written, when remapping changed them

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(eq=False)
class DynamicGlobal:
    """A global whose identity is only known at load time (EXT codes, computed names)."""

    what: str
    offset: int


@dataclass(eq=False)
class Call:
    """The result of calling or constructing `func` (REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX)."""

    func: object
    args: object
    kind: str  # "reduce" | "inst" | "obj" | "new"
    offset: int
    kwargs: object = None
    state: object = None  # what BUILD set on the result, if anything


@dataclass(eq=False)
class Persistent:
    """What persistent_load returns (PyTorch storages)."""

    pid: object
    offset: int


@dataclass(eq=False)
class BytesRef:
    """A large bytes constant, left in place: `data[offset:offset + length]`."""

    offset: int
    length: int


@dataclass(eq=False)
class Opaque:
    """A value the machine does not model (out-of-band buffers, huge strings)."""

    what: str


@dataclass(eq=False)
class PDict:
    items: list[tuple[object, object]] = field(default_factory=list)

    def get(self, key: str) -> object:
        for k, v in self.items:
            if k == key:
                return v
        return None


@dataclass(eq=False)
class PList:
    items: list[object] = field(default_factory=list)


@dataclass(eq=False)
class PSet:
    items: list[object] = field(default_factory=list)
    frozen: bool = False


# --- what happened -----------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    """An opcode that calls a method of an existing object: BUILD, SETITEM(S), APPEND(S), ADDITEMS."""

    opcode: str
    target: object
    argument: object
    offset: int


@dataclass
class PickleRun:
    start: int
    end: int | None = None  # offset just after STOP; None if the stream broke
    proto: int = 0
    opcodes: int = 0
    result: object = None
    error: str | None = None
    error_offset: int | None = None
    limit: str | None = None  # which limit stopped the run
    globals: list[Global | DynamicGlobal] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    mutations: list[Mutation] = field(default_factory=list)


class PickleError(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class _Limit(Exception):
    pass


# BUILD hook: (instance, state, position after the BUILD opcode) -> where to continue, or None.
# joblib writes raw array bytes right after the BUILD of a NumpyArrayWrapper.
BuildHook = Callable[[object, object, int], int | None]

_MARK = object()


class PickleMachine:
    def __init__(
        self,
        data: Data,
        start: int = 0,
        *,
        max_opcodes: int = 50_000_000,
        deadline: float | None = None,
        build_hook: BuildHook | None = None,
    ) -> None:
        self.data = data
        self.size = len(data)
        self.pos = start
        self.max_opcodes = max_opcodes
        self.deadline = deadline
        self.build_hook = build_hook
        self.run_info = PickleRun(start=start)
        self.stack: list[object] = []
        self.metastack: list[list[object]] = []
        self.memo: dict[int, object] = {}
        self.proto = 0

    # -- driver --

    def run(self) -> PickleRun:
        info = self.run_info
        dispatch = _DISPATCH
        data = self.data
        count = 0
        try:
            while True:
                if self.pos >= self.size:
                    raise PickleError("pickle data was truncated (no STOP opcode)", self.pos)
                op_offset = self.pos
                code = data[self.pos]
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
        info.opcodes = count
        info.proto = self.proto
        return info

    def _check_limits(self, count: int) -> None:
        if count > self.max_opcodes:
            raise _Limit(f"more than {self.max_opcodes} opcodes")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _Limit("time limit reached")

    # -- reading arguments --

    def _read(self, n: int, offset: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > self.size:
            raise PickleError("pickle data was truncated", offset)
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def _skip(self, n: int, offset: int) -> int:
        start = self.pos
        if n < 0 or start + n > self.size:
            raise PickleError("pickle data was truncated", offset)
        self.pos = start + n
        return start

    def _readline(self, offset: int) -> bytes:
        # Like _pickle.c: a line runs to '\n' or to the end of the data; the caller drops
        # its last byte as the newline even when it was not one.
        nl = self.data.find(b"\n", self.pos, self.pos + _MAX_LINE)
        if nl < 0 and self.size - self.pos > _MAX_LINE:
            raise PickleError(f"text argument longer than {_MAX_LINE} bytes", offset)
        end = self.size if nl < 0 else nl + 1
        line = self.data[self.pos : end]
        self.pos = end
        if len(line) < 1:
            raise PickleError("pickle data was truncated", offset)
        return line

    def _data_line(self, offset: int) -> bytes | tuple[int, int]:
        """The argument of STRING/UNICODE, without its newline. _pickle.c bounds no line,
        and protocol 0 pickles keep whole weight blobs in one (a CRF model file as an
        escaped S'...'), so any length is read; one over _INLINE_STR is returned as its
        (start, end) span, never copied."""
        nl = self.data.find(b"\n", self.pos)
        if nl < 0:  # _pickle.c would drop the last byte as the newline: it fails either way
            raise PickleError("pickle data was truncated", offset)
        start, end = self.pos, nl + 1
        self.pos = end
        if end - 1 - start > _INLINE_STR:
            return (start, end - 1)
        return self.data[start : end - 1]

    def _uint(self, n: int, offset: int) -> int:
        return int.from_bytes(self._read(n, offset), "little")

    # -- stack --

    def push(self, value: object) -> None:
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
        raw = (module, name)
        if self.proto < 3:  # fix_imports, on by default in every loader we know
            if raw in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[raw]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        value = Global(module, name, offset, raw if (module, name) != raw else None)
        self.run_info.globals.append(value)
        return value

    def _record_call(self, call: Call) -> Call:
        self.run_info.calls.append(call)
        return call

    def _mutate(self, opcode: str, target: object, argument: object, offset: int) -> None:
        self.run_info.mutations.append(Mutation(opcode, target, argument, offset))


# --- opcode handlers: each takes (machine, opcode offset) and returns True only on STOP ---


def _op_mark(m: PickleMachine, off: int) -> None:
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


def _parse_line(m: PickleMachine, off: int, what: str) -> str:
    line = m._readline(off)[:-1]
    try:
        return line.decode("ascii")
    except UnicodeDecodeError:
        raise PickleError(f"{what} argument is not ASCII", off) from None


def _op_float(m: PickleMachine, off: int) -> None:
    text = _parse_line(m, off, "FLOAT")
    try:
        m.push(float(text))
    except ValueError:
        raise PickleError(f"could not convert FLOAT argument {text[:40]!r}", off) from None


def _op_int(m: PickleMachine, off: int) -> None:
    text = _parse_line(m, off, "INT")
    if text == "00":
        m.push(False)
    elif text == "01":
        m.push(True)
    else:
        try:
            m.push(int(text, 0 if text.strip().startswith(("0x", "0o", "0b")) else 10))
        except ValueError:
            raise PickleError(f"invalid INT argument {text[:40]!r}", off) from None


def _op_long(m: PickleMachine, off: int) -> None:
    text = _parse_line(m, off, "LONG")
    if text.endswith("L"):
        text = text[:-1]
    try:
        m.push(int(text))
    except ValueError:
        raise PickleError(f"invalid LONG argument {text[:40]!r}", off) from None


def _op_binint(m: PickleMachine, off: int) -> None:
    m.push(struct.unpack("<i", m._read(4, off))[0])


def _op_binint1(m: PickleMachine, off: int) -> None:
    m.push(m._read(1, off)[0])


def _op_binint2(m: PickleMachine, off: int) -> None:
    m.push(m._uint(2, off))


def _op_long1(m: PickleMachine, off: int) -> None:
    n = m._read(1, off)[0]
    m.push(int.from_bytes(m._read(n, off), "little", signed=True))


def _op_long4(m: PickleMachine, off: int) -> None:
    (n,) = struct.unpack("<i", m._read(4, off))
    if n < 0:
        raise PickleError("LONG pickle has negative byte count", off)
    if n > 1024:  # a huge integer is data, not code; do not build it
        m._skip(n, off)
        m.push(Opaque(f"integer of {counted(n, 'byte')}"))
    else:
        m.push(int.from_bytes(m._read(n, off), "little", signed=True))


def _op_binfloat(m: PickleMachine, off: int) -> None:
    m.push(struct.unpack(">d", m._read(8, off))[0])


def _op_none(m: PickleMachine, off: int) -> None:
    m.push(None)


def _op_true(m: PickleMachine, off: int) -> None:
    m.push(True)


def _op_false(m: PickleMachine, off: int) -> None:
    m.push(False)


def _bytes_value(m: PickleMachine, n: int, off: int) -> object:
    if n > _INLINE_BYTES:
        return BytesRef(m._skip(n, off), n)
    return m._read(n, off)


def _str_value(m: PickleMachine, n: int, off: int) -> object:
    if n > _INLINE_STR:
        start = m._skip(n, off)
        return Opaque(f"string of {counted(n, 'byte')} at offset {start}")
    raw = m._read(n, off)
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        raise PickleError("invalid UTF-8 in unicode string", off) from None


def _legacy_str(raw: bytes) -> str:
    # STRING/BINSTRING hold Python 2 str; loaders decode them with encoding='ASCII' (default),
    # 'latin1' (numpy, torch) or 'bytes'. latin-1 keeps every byte, so names still resolve.
    return raw.decode("latin-1")


def _op_string(m: PickleMachine, off: int) -> None:
    raw = m._data_line(off)
    if isinstance(raw, tuple):  # too long to decode: check its quotes, keep it opaque
        start, end = raw
        first, last = m.data[start : start + 1], m.data[end - 1 : end]
        if first != last or first not in (b"'", b'"'):
            raise PickleError("the STRING opcode argument must be quoted", off)
        m.push(Opaque(f"string of {end - start - 2} escaped bytes at offset {start + 1}"))
        return
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[:1] in (b"'", b'"'):
        raw = raw[1:-1]
    else:
        raise PickleError("the STRING opcode argument must be quoted", off)
    try:
        m.push(_legacy_str(codecs.escape_decode(raw)[0]))
    except ValueError:
        raise PickleError("invalid escape in STRING argument", off) from None


def _op_binstring(m: PickleMachine, off: int) -> None:
    (n,) = struct.unpack("<i", m._read(4, off))
    if n < 0:
        raise PickleError("BINSTRING pickle has negative byte count", off)
    value = _bytes_value(m, n, off)
    m.push(_legacy_str(value) if isinstance(value, bytes) else value)


def _op_short_binstring(m: PickleMachine, off: int) -> None:
    n = m._read(1, off)[0]
    m.push(_legacy_str(m._read(n, off)))


def _op_binbytes(m: PickleMachine, off: int) -> None:
    m.push(_bytes_value(m, m._uint(4, off), off))


def _op_short_binbytes(m: PickleMachine, off: int) -> None:
    m.push(_bytes_value(m, m._read(1, off)[0], off))


def _op_binbytes8(m: PickleMachine, off: int) -> None:
    m.push(_bytes_value(m, m._uint(8, off), off))


def _op_bytearray8(m: PickleMachine, off: int) -> None:
    m.push(_bytes_value(m, m._uint(8, off), off))


def _op_unicode(m: PickleMachine, off: int) -> None:
    raw = m._data_line(off)
    if isinstance(raw, tuple):
        m.push(Opaque(f"string of {raw[1] - raw[0]} escaped bytes at offset {raw[0]}"))
        return
    try:
        m.push(raw.decode("raw-unicode-escape"))
    except UnicodeDecodeError:
        raise PickleError("invalid UNICODE argument", off) from None


def _op_binunicode(m: PickleMachine, off: int) -> None:
    m.push(_str_value(m, m._uint(4, off), off))


def _op_short_binunicode(m: PickleMachine, off: int) -> None:
    m.push(_str_value(m, m._read(1, off)[0], off))


def _op_binunicode8(m: PickleMachine, off: int) -> None:
    m.push(_str_value(m, m._uint(8, off), off))


def _op_empty_tuple(m: PickleMachine, off: int) -> None:
    m.push(())


def _op_tuple(m: PickleMachine, off: int) -> None:
    m.push(tuple(m.pop_mark(off)))


def _op_tuple1(m: PickleMachine, off: int) -> None:
    m.push((m.pop(off),))


def _op_tuple2(m: PickleMachine, off: int) -> None:
    b = m.pop(off)
    a = m.pop(off)
    m.push((a, b))


def _op_tuple3(m: PickleMachine, off: int) -> None:
    c = m.pop(off)
    b = m.pop(off)
    a = m.pop(off)
    m.push((a, b, c))


def _op_empty_list(m: PickleMachine, off: int) -> None:
    m.push(PList())


def _op_list(m: PickleMachine, off: int) -> None:
    m.push(PList(m.pop_mark(off)))


def _op_empty_dict(m: PickleMachine, off: int) -> None:
    m.push(PDict())


def _op_dict(m: PickleMachine, off: int) -> None:
    items = m.pop_mark(off)
    if len(items) % 2:
        raise PickleError("odd number of items for DICT", off)
    m.push(PDict(list(zip(items[::2], items[1::2], strict=True))))


def _op_empty_set(m: PickleMachine, off: int) -> None:
    m.push(PSet())


def _op_frozenset(m: PickleMachine, off: int) -> None:
    m.push(PSet(m.pop_mark(off), frozen=True))


def _op_append(m: PickleMachine, off: int) -> None:
    value = m.pop(off)
    target = m.top(off)
    if isinstance(target, PList):
        target.items.append(value)
    else:
        m._mutate("APPEND", target, value, off)


def _op_appends(m: PickleMachine, off: int) -> None:
    items = m.pop_mark(off)
    target = m.top(off)
    if isinstance(target, PList):
        target.items.extend(items)
    else:
        m._mutate("APPENDS", target, tuple(items), off)


def _op_setitem(m: PickleMachine, off: int) -> None:
    value = m.pop(off)
    key = m.pop(off)
    target = m.top(off)
    if isinstance(target, PDict):
        target.items.append((key, value))
    else:
        m._mutate("SETITEM", target, (key, value), off)


def _op_setitems(m: PickleMachine, off: int) -> None:
    items = m.pop_mark(off)
    if len(items) % 2:
        raise PickleError("odd number of items for SETITEMS", off)
    target = m.top(off)
    pairs = list(zip(items[::2], items[1::2], strict=True))
    if isinstance(target, PDict):
        target.items.extend(pairs)
    else:
        m._mutate("SETITEMS", target, tuple(pairs), off)


def _op_additems(m: PickleMachine, off: int) -> None:
    items = m.pop_mark(off)
    target = m.top(off)
    if isinstance(target, PSet) and not target.frozen:
        target.items.extend(items)
    else:
        m._mutate("ADDITEMS", target, tuple(items), off)


def _read_memo_key(m: PickleMachine, off: int, kind: str) -> int:
    if kind == "line":
        text = _parse_line(m, off, "memo")
        try:
            return int(text)
        except ValueError:
            raise PickleError(f"invalid memo key {text[:40]!r}", off) from None
    return m._uint(1 if kind == "1" else 4, off)


def _get(kind: str) -> Callable[[PickleMachine, int], None]:
    def handler(m: PickleMachine, off: int) -> None:
        key = _read_memo_key(m, off, kind)
        try:
            m.push(m.memo[key])
        except KeyError:
            raise PickleError(f"Memo value not found at index {key}", off) from None

    return handler


def _put(kind: str) -> Callable[[PickleMachine, int], None]:
    def handler(m: PickleMachine, off: int) -> None:
        key = _read_memo_key(m, off, kind)
        if key < 0:
            raise PickleError("negative PUT argument", off)
        m.memo[key] = m.top(off)

    return handler


def _op_memoize(m: PickleMachine, off: int) -> None:
    m.memo[len(m.memo)] = m.top(off)


def _op_proto(m: PickleMachine, off: int) -> None:
    proto = m._read(1, off)[0]
    if proto > 5:
        raise PickleError(f"unsupported pickle protocol: {proto}", off)
    m.proto = proto


def _op_frame(m: PickleMachine, off: int) -> None:
    m._read(8, off)  # framing only groups opcodes; the content is read as usual


def _global_lines(m: PickleMachine, off: int) -> tuple[str, str]:
    try:
        module = m._readline(off)[:-1].decode("utf-8")
        name = m._readline(off)[:-1].decode("utf-8")
    except UnicodeDecodeError:
        raise PickleError("GLOBAL names are not UTF-8", off) from None
    return module, name


def _op_global(m: PickleMachine, off: int) -> None:
    module, name = _global_lines(m, off)
    m.push(m.make_global(module, name, off))


def _op_stack_global(m: PickleMachine, off: int) -> None:
    name = m.pop(off)
    module = m.pop(off)
    if isinstance(module, str) and isinstance(name, str):
        m.push(m.make_global(module, name, off))
    elif isinstance(module, (Call, Global, DynamicGlobal, Persistent)) or isinstance(
        name, (Call, Global, DynamicGlobal, Persistent)
    ):
        value = DynamicGlobal(f"STACK_GLOBAL with computed names ({describe(module)}, {describe(name)})", off)
        m.run_info.globals.append(value)
        m.push(value)
    else:
        raise PickleError("STACK_GLOBAL requires str", off)


def _ext(size: int) -> Callable[[PickleMachine, int], None]:
    def handler(m: PickleMachine, off: int) -> None:
        code = m._uint(size, off)
        if code <= 0:
            raise PickleError("EXT specifies code <= 0", off)
        value = DynamicGlobal(f"extension registry code {code}", off)
        m.run_info.globals.append(value)
        m.push(value)

    return handler


def _op_reduce(m: PickleMachine, off: int) -> None:
    args = m.pop(off)
    func = m.pop(off)
    m.push(m._record_call(Call(func, args, "reduce", off)))


def _op_newobj(m: PickleMachine, off: int) -> None:
    args = m.pop(off)
    cls = m.pop(off)
    m.push(m._record_call(Call(cls, args, "new", off)))


def _op_newobj_ex(m: PickleMachine, off: int) -> None:
    kwargs = m.pop(off)
    args = m.pop(off)
    cls = m.pop(off)
    m.push(m._record_call(Call(cls, args, "new", off, kwargs)))


def _op_inst(m: PickleMachine, off: int) -> None:
    module, name = _global_lines(m, off)
    args = m.pop_mark(off)
    cls = m.make_global(module, name, off)
    m.push(m._record_call(Call(cls, tuple(args), "inst", off)))


def _op_obj(m: PickleMachine, off: int) -> None:
    args = m.pop_mark(off)
    if not args:
        raise PickleError("OBJ without a class", off)
    m.push(m._record_call(Call(args[0], tuple(args[1:]), "obj", off)))


def _op_build(m: PickleMachine, off: int) -> None:
    state = m.pop(off)
    inst = m.top(off)
    m._mutate("BUILD", inst, state, off)
    if isinstance(inst, Call):
        inst.state = state
    if m.build_hook is not None:
        resume = m.build_hook(inst, state, m.pos)
        if resume is not None:
            if not m.pos <= resume <= m.size:
                raise PickleError("inline data runs past the end of the file", off)
            m.pos = resume


def _op_persid(m: PickleMachine, off: int) -> None:
    pid = _parse_line(m, off, "PERSID")
    m.push(Persistent(pid, off))


def _op_binpersid(m: PickleMachine, off: int) -> None:
    m.push(Persistent(m.pop(off), off))


def _op_next_buffer(m: PickleMachine, off: int) -> None:
    raise PickleError("pickle stream refers to out-of-band data but no buffers were given", off)


def _op_readonly_buffer(m: PickleMachine, off: int) -> None:
    m.top(off)


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


def run_pickle(
    data: Data,
    start: int = 0,
    *,
    max_opcodes: int = 50_000_000,
    deadline: float | None = None,
    build_hook: BuildHook | None = None,
) -> PickleRun:
    """Symbolically run one pickle starting at `start`."""
    return PickleMachine(data, start, max_opcodes=max_opcodes, deadline=deadline, build_hook=build_hook).run()


# --- sniffing protocol 0/1 pickles, which have no header -----------------------------------

_IDENTIFIER_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_SNIFF_WINDOW = 64 * 1024


def looks_like_pickle(data: Data) -> bool:
    """True if `data` runs as a pickle: it reaches STOP cleanly, or it calls a well-formed
    global before breaking (a truncated payload still runs). Text that merely starts with
    an opcode letter ("cat\ndog\n" reads as GLOBAL at.dog) breaks before any call."""
    if not data or data[0] not in _DISPATCH:
        return False
    window = data[:_SNIFF_WINDOW] if len(data) > _SNIFF_WINDOW else data
    run = run_pickle(window, max_opcodes=20_000)
    if len(data) > len(window) and run.error and "truncated" in run.error and run.opcodes < 64:
        # A constant longer than the window (protocol 0 keeps a string on one line of any
        # length) hides everything after it: read the whole file, still opcode-bounded.
        window = data
        run = run_pickle(data, max_opcodes=20_000)
    if run.end is not None and run.error is None:
        # pickle.load stops at STOP and ignores what follows, so trailing bytes prove nothing.
        if run.globals or run.calls:
            return True
        return run.opcodes >= 8 or (run.opcodes >= 2 and not data[run.end : run.end + 16].strip())
    if run.limit or (len(data) > len(window) and run.error and "truncated" in run.error):
        return run.opcodes >= 64  # thousands of valid opcodes are no accident
    return any(
        isinstance(call.func, Global)
        and _IDENTIFIER_PATH.match((call.func.raw or (call.func.module, call.func.name))[0])
        and _IDENTIFIER_PATH.match((call.func.raw or (call.func.module, call.func.name))[1])
        for call in run.calls
    )


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
        inner = (
            ", ".join(describe(a, depth + 1, budget) for a in args)
            if isinstance(args, tuple)
            else f"*{describe(args, depth + 1, budget)}"
        )
        return f"{describe(value.func, depth + 1, budget)}({inner})"
    if isinstance(value, Persistent):
        return f"<persistent {describe(value.pid, depth + 1, budget)}>"
    if isinstance(value, BytesRef):
        return f"<{counted(value.length, 'byte')}>"
    if isinstance(value, Opaque):
        return f"<{value.what}>"
    if isinstance(value, PList):
        return (
            "["
            + ", ".join(describe(v, depth + 1, budget) for v in value.items[:8])
            + (", …]" if len(value.items) > 8 else "]")
        )
    if isinstance(value, PSet):
        return "{" + ", ".join(describe(v, depth + 1, budget) for v in value.items[:8]) + "}"
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
