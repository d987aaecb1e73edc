"""Rebuild a pickle's data from the engine's symbolic run, without running anything.

The pickle engine (`scanners/pickles/engine.py`) records what a pickle would import, call and
mutate: its result is a tree of symbolic values (`Call`, `Global`, `Persistent`, `PDict` ...).
Here that tree is read back as data for the few callables whose effect is known exactly and
involves no code of the file's choosing: torch's tensor and parameter rebuilds over storages
(persistent ids), `OrderedDict`, `torch.Size`/`device`/dtypes, NumPy arrays, dtypes and scalars,
and joblib's array wrappers. Anything else, even on the scan's allowlist (a whole `nn.Module`, a
scikit-learn estimator), is refused with `NeedsCode`: its value is whatever its code would build.

The result is plain Python: dicts, lists, tuples, str/int/float/bool/None/bytes, and
`TensorView`s (storage + view) where tensors and arrays were. The same symbolic object (a tensor
tied under two names) becomes the same TensorView.
"""

from __future__ import annotations

import codecs
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass

from aisbom.convert.dtypes import DTYPES, DType, from_numpy
from aisbom.convert.errors import ConversionError, NeedsCode
from aisbom.convert.layout import Storage, TensorView, contiguous_strides, make_view
from aisbom.scanners.frame.context import Data
from aisbom.scanners.pickles.engine import (
    BytesRef,
    Call,
    DynamicGlobal,
    Global,
    Mutation,
    PDict,
    Persistent,
    PickleRun,
    PList,
    PSet,
    describe,
)
from aisbom.scanners.pickles.grammar import BigInt
from aisbom.scanners.pickles.policy import normalize
from aisbom.scanners.pickles.values import LongStr, PByteArray

_MAX_DEPTH = 200
_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray")
_TENSOR_TYPES = {("torch", "Tensor"), ("torch.nn.parameter", "Parameter"), ("torch.nn.parameter", "Buffer")}
_DICTS = {("collections", "OrderedDict"), ("builtins", "dict")}
_SETS = {("builtins", "set"), ("builtins", "frozenset")}

# A persistent id (the engine's symbolic tuple) -> the storage it names.
StorageLoader = Callable[[object], Storage]


@dataclass(frozen=True)
class InlineArray:
    """Where joblib wrote an array's bytes inside the pickle stream (see `JoblibSpans`)."""

    start: int


class JoblibSpans:
    """BUILD hook for the engine: joblib writes each NumpyArrayWrapper's bytes right after its
    BUILD (after one padding-length byte and the padding, in joblib >= 1.2); remember where, and
    tell the engine to go on after them."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self.starts: dict[int, int] = {}
        self.problem: str | None = None  # an array that is not numbers: nothing after it is read

    def __call__(self, instance: object, state: object, pos: int) -> int | None:
        if not (isinstance(instance, Call) and isinstance(instance.func, Global)):
            return None
        if (instance.func.module, instance.func.name) != ("joblib.numpy_pickle", "NumpyArrayWrapper"):
            return None
        if not isinstance(state, PDict):
            return None
        if state.get("numpy_array_alignment_bytes") is not None and pos < len(self.data):
            pos += 1 + self.data[pos]
        dtype = _numpy_dtype(state.get("dtype"))
        shape = state.get("shape")
        if dtype is None or not isinstance(shape, tuple) or not all(isinstance(n, int) for n in shape):
            self.problem = f"joblib array at offset {pos} holds {describe(state.get('dtype'))}, not numbers"
            return len(self.data)
        self.starts[id(instance)] = pos
        return pos + math.prod(shape) * dtype[0].itemsize


class Rebuilder:
    def __init__(
        self,
        run: PickleRun,
        data: Data,
        *,
        storages: StorageLoader | None = None,
        inline: JoblibSpans | None = None,
    ) -> None:
        self.data = data
        self.storages = storages
        self.inline = inline
        self.mutations: dict[int, list[Mutation]] = {}
        for mutation in run.mutations:
            self.mutations.setdefault(id(mutation.target), []).append(mutation)
        self.done: dict[int, object] = {}
        self.active: set[int] = set()
        self.result = run.result

    def tree(self) -> object:
        return self.value(self.result, 0)

    def value(self, v: object, depth: int) -> object:
        if v is None or isinstance(v, (str, int, float, bytes)):
            return v
        key = id(v)
        if key in self.done:
            return self.done[key]
        if key in self.active:
            raise ConversionError("a value contains itself; safetensors metadata cannot hold it")
        if depth > _MAX_DEPTH:
            raise ConversionError(f"values are nested deeper than {_MAX_DEPTH} levels")
        self.active.add(key)
        try:
            result = self._value(v, depth + 1)
        finally:
            self.active.discard(key)
        self.done[key] = result
        return result

    def _value(self, v: object, depth: int) -> object:
        if isinstance(v, tuple):
            return tuple(self.value(x, depth) for x in v)
        if isinstance(v, PList):
            self._no_mutations(v)
            return [self.value(x, depth) for x in v.items]
        if isinstance(v, PSet):
            self._no_mutations(v)
            return [self.value(x, depth) for x in v.items]
        if isinstance(v, PDict):
            self._no_mutations(v)
            return self._dict(v.items, depth)
        if isinstance(v, BytesRef):
            return bytes(self.data[v.offset : v.offset + v.length])
        if isinstance(v, Global):
            return _global_value(v)
        if isinstance(v, Call):
            return self._call(v, depth)
        if isinstance(v, Persistent):
            raise ConversionError(f"a storage ({describe(v.pid)}) is used outside a tensor")
        if isinstance(v, LongStr):
            return _long_str(self.data, v)
        if isinstance(v, PByteArray):
            inner = v.data
            return bytearray(self._value(inner, depth) if isinstance(inner, BytesRef) else inner)  # type: ignore[arg-type]
        if isinstance(v, BigInt):
            raise ConversionError(f"an integer literal of {v.digits} digits, which Python refuses to read")
        if isinstance(v, DynamicGlobal):
            raise NeedsCode(f"the value {describe(v)} is only known by running the pickle")
        raise NeedsCode(f"the value {describe(v)} is not plain data")

    def _no_mutations(self, v: object) -> None:
        # The engine applies item additions to plain containers itself; anything recorded on
        # one (BUILD on a list) calls a method of it.
        if id(v) in self.mutations:
            raise NeedsCode(f"{self.mutations[id(v)][0].opcode} on {describe(v)} runs code")

    def _dict(self, pairs: list[tuple[object, object]], depth: int) -> dict[object, object]:
        out: dict[object, object] = {}
        for k, v in pairs:
            key, value = self.value(k, depth), self.value(v, depth)
            try:
                out[key] = value
            except TypeError:  # unhashable: a list, a dict, a tensor
                raise ConversionError(f"a dict key ({describe(k)}) is not a plain value") from None
        return out

    # -- calls --

    def _call(self, call: Call, depth: int) -> object:
        if not isinstance(call.func, Global):
            raise NeedsCode(f"calls a value computed at load time: {describe(call)}")
        key = normalize(call.func.module, call.func.name)
        args = call.args if isinstance(call.args, tuple) else None
        if args is None:
            raise NeedsCode(f"calls {call.func.dotted} with arguments computed at load time")
        if key[0] == "torch._utils" and key[1].startswith("_rebuild_"):
            return self._torch_rebuild(key[1], call, args, depth)
        if key == ("torch._tensor", "_rebuild_from_type_v2"):
            func, new_type, inner, _state = (*args, None, None, None, None)[:4]
            if not (isinstance(new_type, Global) and (new_type.module, new_type.name) in _TENSOR_TYPES):
                raise NeedsCode(f"a tensor of class {describe(new_type)} needs that class's code")
            if not isinstance(inner, tuple):
                raise ConversionError(f"malformed tensor rebuild: {describe(call)}")
            # The inner rebuild is a call of our own making: not memoized (its id is reused).
            return self._tensor(self._call(Call(func, inner, "reduce", call.offset), depth), call)
        if key in _TENSOR_TYPES and args:  # Parameter(data, requires_grad)
            return self._tensor(self.value(args[0], depth), call)
        if key in _DICTS:
            return self._dict_call(call, args, depth)
        if key in _SETS and len(args) <= 1:
            items = self.value(args[0], depth) if args else []
            if not isinstance(items, (list, tuple)):
                raise ConversionError(f"malformed set: {describe(call)}")
            return list(items)
        if key == ("torch", "Size") and len(args) == 1:
            return tuple(self._ints(self.value(args[0], depth), call))
        if key == ("torch", "device") and args and all(isinstance(a, (str, int)) for a in args):
            return ":".join(str(a) for a in args)
        if key == ("_codecs", "encode") and len(args) == 2 and all(isinstance(a, str) for a in args):
            if args[1] not in ("latin1", "latin-1"):
                raise NeedsCode(f"decodes bytes with codec {args[1]!r}")
            return args[0].encode("latin-1")  # how protocols 0-2 write bytes
        if key in (("builtins", "bytes"), ("builtins", "bytearray")) and not args:
            return b""
        if key[0] in _NUMPY_CORE and key[1] == "_reconstruct":
            return self._numpy_array(call, args)
        if key[0] in _NUMPY_CORE and key[1] == "scalar":
            return _numpy_scalar(self.value(args[1], depth) if len(args) > 1 else None, args[0], call)
        if key in (("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")):
            return self._numpy_frombuffer(call, args, depth)
        if key == ("joblib.numpy_pickle", "NumpyArrayWrapper"):
            return self._joblib_array(call)
        raise NeedsCode(
            f"rebuilding {call.func.dotted} needs its code; the static path rebuilds tensors, "
            "arrays, dicts, lists and plain values only"
        )

    def _dict_call(self, call: Call, args: tuple[object, ...], depth: int) -> dict[object, object]:
        pairs: list[tuple[object, object]] = []
        if args:
            initial = args[0]
            if isinstance(initial, PDict):
                pairs.extend(initial.items)
            elif isinstance(initial, PList) and all(_pair(p) for p in initial.items):
                # OrderedDict(items): (key, value) tuples, or [key, value] lists (protocol 2)
                pairs.extend(
                    (p[0], p[1]) if isinstance(p, tuple) else (p.items[0], p.items[1]) for p in initial.items
                )  # type: ignore[union-attr,index]
            else:
                raise NeedsCode(f"builds a dict from {describe(initial)}")
        for mutation in self.mutations.get(id(call), []):
            if mutation.opcode in ("SETITEM", "SETITEMS"):  # the engine records both as pairs
                pairs.extend(mutation.argument)  # type: ignore[arg-type]
            elif mutation.opcode != "BUILD":  # BUILD: instance attributes (state_dict's _metadata)
                raise NeedsCode(f"{mutation.opcode} on a dict runs code")
        return self._dict(pairs, depth)

    def _torch_rebuild(self, name: str, call: Call, args: tuple[object, ...], depth: int) -> TensorView:
        if name in ("_rebuild_parameter", "_rebuild_parameter_with_state") and len(args) >= 3:
            self._no_hooks(args[2], call, depth)
            return self._tensor(self.value(args[0], depth), call)
        if name not in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3") or len(args) < 4:
            raise ConversionError(f"torch._utils.{name} rebuilds a tensor that safetensors cannot hold")
        if name != "_rebuild_tensor" and len(args) >= 6:
            self._no_hooks(args[5], call, depth)
        storage = self._storage(args[0])
        dtype = storage.dtype
        if name == "_rebuild_tensor_v3":
            if len(args) < 7 or not isinstance(args[6], Global):
                raise ConversionError(f"malformed tensor rebuild: {describe(call)}")
            dtype = _torch_dtype(args[6])
        offset, shape, stride = (self.value(a, depth) for a in args[1:4])
        return make_view(storage, dtype, offset, shape, stride, what=f"tensor at pickle offset {call.offset}")

    def _no_hooks(self, hooks: object, call: Call, depth: int) -> None:
        if hooks is not None and self.value(hooks, depth) not in ({}, None):
            raise NeedsCode(f"a tensor carries backward hooks, which are code: {describe(call)}")

    def _tensor(self, value: object, call: Call) -> TensorView:
        if not isinstance(value, TensorView):
            raise ConversionError(f"a tensor rebuild does not hold a tensor: {describe(call)}")
        return value

    def _storage(self, pid: object) -> Storage:
        if not isinstance(pid, Persistent) or self.storages is None:
            raise ConversionError(f"a tensor's storage is not a persistent id: {describe(pid)}")
        return self.storages(pid.pid)

    def _ints(self, value: object, call: Call) -> tuple[int, ...]:
        if not isinstance(value, tuple) or not all(isinstance(n, int) for n in value):
            raise ConversionError(f"expected integers: {describe(call)}")
        return value

    # -- NumPy and joblib arrays, bytes inside the pickle stream --

    def _numpy_array(self, call: Call, args: tuple[object, ...]) -> TensorView:
        # ndarray.__reduce__: _reconstruct(ndarray, (0,), b'b'), then BUILD with
        # (version, shape, dtype, is_fortran, raw bytes).
        cls = args[0] if args else None
        if not (isinstance(cls, Global) and cls.name == "ndarray" and cls.module in ("numpy",)):
            raise NeedsCode(f"an array of class {describe(cls)} needs that class's code")
        state = call.state
        if not (isinstance(state, tuple) and len(state) == 5):
            raise ConversionError(f"malformed NumPy array state at pickle offset {call.offset}")
        _version, shape, dtype, fortran, raw = state
        return self._array(raw, dtype, shape, fortran is True, call)

    def _numpy_frombuffer(self, call: Call, args: tuple[object, ...], depth: int) -> TensorView:
        if len(args) != 4:
            raise ConversionError(f"malformed NumPy array: {describe(call)}")
        raw, dtype, shape, order = args
        return self._array(raw, dtype, self.value(shape, depth), order == "F", call)

    def _joblib_array(self, call: Call) -> TensorView:
        state = call.state
        start = self.inline.starts.get(id(call)) if self.inline is not None else None
        if not isinstance(state, PDict) or start is None:
            raise ConversionError(f"joblib array at pickle offset {call.offset} has no data")
        subclass = state.get("subclass")
        if not (isinstance(subclass, Global) and subclass.name == "ndarray"):
            raise NeedsCode(f"an array of class {describe(subclass)} needs that class's code")
        return self._array(
            InlineArray(start), state.get("dtype"), state.get("shape"), state.get("order") == "F", call
        )

    def _array(self, raw: object, dtype: object, shape: object, fortran: bool, call: Call) -> TensorView:
        parsed = _numpy_dtype(dtype)
        if parsed is None:
            raise NeedsCode(
                f"array at pickle offset {call.offset} has dtype {describe(dtype)}: not numbers "
                "(objects, strings or records), so not a tensor"
            )
        element, big = parsed
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ConversionError(f"array at pickle offset {call.offset} has shape {describe(shape)}")
        nbytes = math.prod(shape) * element.itemsize
        if isinstance(raw, bytes):
            data, start, available = raw, 0, len(raw)
        elif isinstance(raw, BytesRef):
            data, start, available = self.data, raw.offset, raw.length
        elif isinstance(raw, InlineArray):
            data, start, available = self.data, raw.start, len(self.data) - raw.start
        else:
            raise NeedsCode(f"array at pickle offset {call.offset} holds {describe(raw)}, not bytes")
        if available < nbytes:
            raise ConversionError(
                f"array at pickle offset {call.offset} needs {nbytes} bytes, {available} are there"
            )
        storage = Storage(f"array@{call.offset}", element, nbytes, data, start, big_endian=big)
        stride = contiguous_strides(shape[::-1])[::-1] if fortran else contiguous_strides(shape)
        return make_view(storage, element, 0, shape, stride, what=f"array at pickle offset {call.offset}")


def _pair(item: object) -> bool:
    return (isinstance(item, tuple) and len(item) == 2) or (isinstance(item, PList) and len(item.items) == 2)


def _global_value(glob: Global) -> str:
    """A global used as a value: torch dtypes (kept as their name), nothing else."""
    if glob.module == "torch" and glob.name in DTYPES:
        return glob.dotted
    raise NeedsCode(f"the value {glob.dotted} is a Python object, not plain data")


def _torch_dtype(glob: Global) -> DType:
    if glob.module == "torch" and glob.name in DTYPES:
        return DTYPES[glob.name]
    raise ConversionError(f"{glob.dotted} is not a torch dtype")


def _numpy_dtype(dtype: object) -> tuple[DType, bool] | None:
    """(element type, big-endian) of a pickled numpy.dtype(...) with its BUILD state."""
    if not (isinstance(dtype, Call) and isinstance(dtype.func, Global) and dtype.func.name == "dtype"):
        return None
    if dtype.func.module not in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray"):
        return None
    args = dtype.args if isinstance(dtype.args, tuple) else ()
    if not args or not isinstance(args[0], str):
        return None
    state = dtype.state if isinstance(dtype.state, tuple) else ()
    if len(state) >= 5 and (state[3] is not None or state[4] is not None):
        return None  # fields or names: a structured dtype
    order = state[1] if len(state) > 1 and isinstance(state[1], str) else "="
    return from_numpy(order + args[0] if args[0][:1].isalpha() else args[0])


def _numpy_scalar(raw: object, dtype: object, call: Call) -> object:
    parsed = _numpy_dtype(dtype)
    if parsed is None or not isinstance(raw, bytes):
        raise NeedsCode(f"a NumPy scalar of dtype {describe(dtype)} is not a plain number")
    element, big = parsed
    codes = {"float64": "d", "float32": "f", "float16": "e", "int64": "q", "int32": "i", "int16": "h",
             "int8": "b", "uint8": "B", "uint16": "H", "uint32": "I", "uint64": "Q", "bool": "?"}  # fmt: skip
    code = codes.get(element.name)
    if code is None or len(raw) != element.itemsize:
        raise NeedsCode(f"a NumPy scalar of dtype {element.name} is not a plain number")
    return struct.unpack((">" if big else "<") + code, raw)[0]


def _long_str(data: Data, value: LongStr) -> str:
    """A string the engine left in the file (too long to copy while scanning), decoded as the
    pickle module decodes it; STRING's Python 2 escapes as pickle's default ASCII encoding reads them."""
    raw = bytes(data[value.start : value.end])
    try:
        if value.codec == "escape":
            return codecs.escape_decode(raw)[0].decode("ascii")  # type: ignore[attr-defined]
        return raw.decode(value.codec)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConversionError(f"a string that pickle cannot decode ({exc})") from None
