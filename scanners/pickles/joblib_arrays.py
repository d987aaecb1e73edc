"""joblib files: one pickle whose NumPy arrays are written raw *inside* the stream.

joblib's pickle loader overrides BUILD: after building a NumpyArrayWrapper it reads the array
bytes straight from the file (after an alignment padding byte in joblib >= 1.2), or, for
object arrays, a whole nested pickle, and then goes on with the outer pickle. A plain pickle
scanner sees those bytes as garbage. `JoblibArrays` is the BUILD hook that skips raw array
bytes and scans nested pickles, so the stream is read exactly as joblib.load reads it.
"""

from __future__ import annotations

from dataclasses import replace

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.pickles.engine import Call, Global, PDict
from aisbom.scanners.pickles.numpy_arrays import pickled_itemsize
from aisbom.scanners.pickles.stream import scan_pickle_stream
from aisbom.scanners.readers.dimensions import product_up_to

# joblib's wrapper, and the copy scikit-learn < 0.23 bundled as sklearn.externals.joblib.
_WRAPPERS = {
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
}


class JoblibArrays:
    """BUILD hook: (instance, state, position after BUILD) -> where the pickle goes on."""

    def __init__(self, data: Data, ctx: ScanContext) -> None:
        self.data = data
        self.ctx = ctx
        self.arrays = 0

    def replay(self) -> JoblibArrays:
        """The same hook for another reading of the stream: it skips the same array bytes
        but reports nothing (the first reading already scanned the nested object arrays)."""
        return JoblibArrays(self.data, replace(self.ctx, sink=[]))

    def __call__(self, instance: object, state: object, pos: int) -> int | None:
        if not (isinstance(instance, Call) and isinstance(instance.func, Global)):
            return None
        if (instance.func.module, instance.func.name) not in _WRAPPERS or not isinstance(state, PDict):
            return None
        self.arrays += 1
        dtype, shape = state.get("dtype"), state.get("shape")
        if _has_object(dtype):
            member = self.ctx.child(f"object-array@{pos}")
            return scan_pickle_stream(self.data, member, start=pos, max_pickles=1)
        size = _array_bytes(dtype, shape)
        if size is None:
            self.ctx.report(
                "scan-error",
                f"joblib array at offset {pos} has a dtype or shape that cannot be sized; "
                "the rest of the stream was not analysed",
                offset=pos,
            )
            return len(self.data)  # nothing after this point can be read reliably
        if state.get("numpy_array_alignment_bytes") is not None:
            if pos >= len(self.data):
                return None
            pos += 1 + self.data[pos]  # padding-length byte, then that many padding bytes
        return pos + size


def _dtype_parts(dtype: object) -> tuple[str, tuple[object, ...]] | None:
    if not (isinstance(dtype, Call) and isinstance(dtype.args, tuple) and dtype.args):
        return None
    typestr = dtype.args[0]
    if not isinstance(typestr, str):
        return None
    state = dtype.state if isinstance(dtype.state, tuple) else ()
    return typestr, state


def _has_object(dtype: object) -> bool:
    parts = _dtype_parts(dtype)
    if parts is None:
        return False
    typestr, state = parts
    if typestr.startswith("O"):
        return True
    flags = state[7] if len(state) > 7 else 0
    return isinstance(flags, int) and bool(flags & 1)  # NPY_ITEM_REFCOUNT: holds objects


def _array_bytes(dtype: object, shape: object) -> int | None:
    parts = _dtype_parts(dtype)
    if parts is None or not isinstance(shape, tuple):
        return None
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        return None
    typestr, state = parts
    itemsize = pickled_itemsize(typestr, state[5] if len(state) > 5 else -1)  # as numpy resolves it
    return None if itemsize is None else product_up_to(shape, 1 << 64) * itemsize
