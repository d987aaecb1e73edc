"""Runs CPython's real unpicklers on streams and records what they import and call.

TEST HARNESS ONLY (never imported by product code). It runs in a child process of
pickle_differential.py, under any CPython 3.9+, reading length-prefixed streams on stdin and
writing one JSON line per stream. `find_class` never resolves a global: it records the
(module, name) it was asked for and returns a stand-in class. Every stand-in records being
called or constructed, and the methods the unpickler calls on objects (__setstate__,
__setitem__, extend, append, add), then returns a new stand-in. Nothing a stream names is
ever imported or run. Address space is capped, so a stream that declares a huge length fails
with MemoryError instead of taking the machine's memory.
"""

import contextlib
import io
import json
import pickle
import resource
import struct
import sys

_events = []
_counts = {"g": 0, "r": 0, "p": 0}


def _label(obj):
    return getattr(obj, "_standin_label", None) or "?"


def _standin(kind):
    label = f"{kind}{_counts[kind]}"
    _counts[kind] += 1
    return _Meta("StandIn", (object,), {"__new__": _new, "_standin_label": label})


class _Meta(type):
    """Every stand-in is a class, so NEWOBJ (which needs a type) works on it too."""

    def __call__(cls, *args, **kwargs):
        _events.append(["c", _label(cls)])
        return _standin("r")

    def __setstate__(cls, state):
        _events.append(["m", _label(cls)])

    def __setitem__(cls, key, value):
        _events.append(["m", _label(cls)])

    def extend(cls, items):
        _events.append(["m", _label(cls)])

    def append(cls, item):
        _events.append(["m", _label(cls)])

    def add(cls, item):
        _events.append(["m", _label(cls)])

    def __iter__(cls):
        return iter(())


def _new(cls, *args, **kwargs):
    _events.append(["c", _label(cls)])
    return _standin("r")


def _find_class(module, name):
    _events.append(["i", module, name])
    return _standin("g")


def _persistent_load(pid):
    return _standin("p")


class _CUnpickler(pickle.Unpickler):
    # Python 2 strings decoded as latin-1 (numpy's and torch's choice for old files): the
    # encoding that never fails, as the engine reads them.
    def __init__(self, file):
        pickle.Unpickler.__init__(self, file, encoding="latin1")

    def find_class(self, module, name):
        return _find_class(module, name)

    def persistent_load(self, pid):
        return _persistent_load(pid)


class _PyUnpickler(pickle._Unpickler):
    def __init__(self, file):
        pickle._Unpickler.__init__(self, file, encoding="latin1")

    def find_class(self, module, name):
        return _find_class(module, name)

    def persistent_load(self, pid):
        return _persistent_load(pid)


def _run(mode, data):
    del _events[:]
    for key in _counts:
        _counts[key] = 0
    result = {"ok": False, "error": None, "tell": None}
    stream = io.BytesIO(data)
    try:
        if mode == "memory":  # pickle.loads: _pickle.c with the whole input as its buffer
            _CUnpickler(_WholeFile(data)).load()
        elif mode == "stream":
            _CUnpickler(stream).load()
            result["tell"] = stream.tell()
        else:
            _PyUnpickler(stream).load()
            result["tell"] = stream.tell()
        result["ok"] = True
    except RecursionError:
        result["error"] = "RecursionError"
    except MemoryError:
        result["error"] = "MemoryError"
    except Exception as exc:  # every error ends the load: only that it stopped matters
        result["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    result["events"] = list(_events)
    return result


class _WholeFile:
    """A file object without peek() whose first read returns all the data: _pickle.c then
    holds the whole input in its buffer, as pickle.loads does."""

    def __init__(self, data):
        self._data = data
        self._pos = 0

    def read(self, n=-1):
        chunk = self._data[self._pos :]  # everything, whatever was asked
        self._pos = len(self._data)
        return chunk

    def readinto(self, buf):
        chunk = self._data[self._pos : self._pos + len(buf)]
        buf[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    def readline(self):
        end = self._data.find(b"\n", self._pos)
        end = len(self._data) if end < 0 else end + 1
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk


def main():
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))
    sys.setrecursionlimit(10000)
    stdin, stdout = sys.stdin.buffer, sys.stdout
    while True:
        header = stdin.read(4)
        if len(header) < 4:
            return
        (size,) = struct.unpack("<I", header)
        data = stdin.read(size)
        modes = ("memory", "stream", "py")
        out = {mode: _run(mode, data) for mode in modes}
        out["version"] = ".".join(str(n) for n in sys.version_info[:3])
        stdout.write(json.dumps(out) + "\n")
        stdout.flush()


if __name__ == "__main__":
    main()
