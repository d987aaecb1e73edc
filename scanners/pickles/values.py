"""The values on the symbolic pickle stack, and what the machine knows of their Python type.

Constants built by opcodes are plain Python values (None, bool, int, float, str, bytes, tuple)
or the containers below, whose contents the machine tracks. What a global, a call or
persistent_load produces is unknown: it could be anything, so a check the pickle module makes on
its type ("argument list must be a tuple", "STACK_GLOBAL requires str") cannot be decided.
The predicates here answer True, False, or None for "unknown"; the machine stops where
CPython would raise on a known value and notes an assumption where it cannot know.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from aisbom.scanners.pickles.grammar import BigInt


@dataclass(eq=False)
class Global:
    """What GLOBAL/STACK_GLOBAL/INST fetched, resolved as find_class would."""

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
class LongStr:
    """A str constant too large to copy: its encoded form is `data[start:end]`, in `codec`
    ("utf-8", "latin-1", "raw-unicode-escape" or "escape" for STRING's Python 2 escapes)."""

    start: int
    end: int
    codec: str


@dataclass(eq=False)
class PByteArray:
    """BYTEARRAY8: a mutable, unhashable bytes."""

    data: object  # bytes or BytesRef


@dataclass(eq=False)
class PDict:
    """A dict the pickle builds, as the symbolic machine tracks it."""

    items: list[tuple[object, object]] = field(default_factory=list)
    # str keys -> their last value, over items[:_indexed]: items are only ever appended, so a
    # lookup reads each new item once (a BUILD hook asking a shared state of 150,000 items
    # for its "dtype" at every BUILD would otherwise be quadratic).
    _index: dict[str, object] = field(default_factory=dict, repr=False)
    _indexed: int = field(default=0, repr=False)

    def get(self, key: str) -> object:
        """The value a real dict would hold for `key`: the last one assigned."""
        items, index = self.items, self._index
        for k, v in itertools.islice(items, self._indexed, None):
            if type(k) is str:
                index[k] = v
        self._indexed = len(items)
        return index.get(key)


@dataclass(eq=False)
class PList:
    """A list the pickle builds, as the symbolic machine tracks it."""

    items: list[object] = field(default_factory=list)


@dataclass(eq=False)
class PSet:
    """A set or frozenset the pickle builds, as the symbolic machine tracks it."""

    items: list[object] = field(default_factory=list)
    frozen: bool = False


# Values whose Python type only the loading process knows.
UNKNOWN = (Global, DynamicGlobal, Call, Persistent)
# Constants whose type is known and which hold no code.
_SCALARS = (type(None), bool, int, float, str, bytes, BigInt, BytesRef, LongStr)


def is_tuple(value: object) -> bool | None:
    if isinstance(value, tuple):
        return True
    return None if isinstance(value, UNKNOWN) else False


def is_dict(value: object) -> bool | None:
    if isinstance(value, PDict):
        return True
    return None if isinstance(value, UNKNOWN) else False


def is_str(value: object) -> bool | None:
    if type(value) is str or isinstance(value, LongStr):
        return True
    return None if isinstance(value, UNKNOWN) else False


def is_callable(value: object) -> bool | None:
    """Constants and containers are never callable; what a global or call gives may be."""
    return None if isinstance(value, UNKNOWN) else False


def has_buffer(value: object) -> bool | None:
    if isinstance(value, (bytes, BytesRef, PByteArray)):
        return True
    return None if isinstance(value, UNKNOWN) else False


def iterated(value: object) -> tuple[object, ...] | None:
    """`tuple(value)` for a known value, as `f(*value)` would unpack it; None if unknown.
    Raises TypeError for a value Python cannot iterate."""
    if isinstance(value, tuple):
        return value
    if isinstance(value, PList):
        return tuple(value.items)
    if isinstance(value, PSet):
        return tuple(value.items)
    if isinstance(value, PDict):
        return tuple(k for k, _ in value.items)
    if isinstance(value, (str, bytes)):
        return tuple(value)
    if isinstance(value, UNKNOWN):
        return None
    if isinstance(value, (LongStr, BytesRef, PByteArray)):
        return ()  # iterable, but too large to spell out: its items are constants
    raise TypeError("not iterable")


def is_hashable(value: object, depth: int = 0) -> bool:
    """What hash(value) would do; unknown values (stand-ins for any object) are assumed hashable."""
    if isinstance(value, (PList, PDict, PByteArray)) or (isinstance(value, PSet) and not value.frozen):
        return False
    if isinstance(value, tuple) and depth < 100:
        return all(is_hashable(item, depth + 1) for item in value)
    return True


def is_constant(value: object) -> bool:
    """A value built by opcodes alone (no global, call or persistent id anywhere in it)."""
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, tuple):
        return all(is_constant(v) for v in value)
    return False
