"""Differential test of the pickle engine against CPython's own unpicklers.

    python tests/scanners/shared/pickle_differential.py [--seconds 1800] [--seed N] [--out FILE.jsonl]

Generated and mutated streams go through the engine (each Reading) and, in a child process
(pickle_worker.py, under every CPython 3.9+ found), through `_pickle.c` reading bytes in memory
(pickle.loads), `_pickle.c` reading an io.BytesIO (torch.load's zip members) and `pickle.py`,
each with a recording `find_class` that returns stand-ins and never resolves a global. Every
import, call and method call the unpickler makes is an event; the engine's events must be the
same, in the same order. The engine may go on past a point where the real unpickler stopped
only where it noted an assumption (a value whose type only the loading process knows: the
stand-in is not the tuple or str a real object might be). Any other difference is a
disagreement: it is printed with the stream, and appended to --out (JSON lines).

tests/scanners/pickles/test_pickle_differential.py runs this for a bounded time in CI.
"""

from __future__ import annotations

import argparse
import base64
import glob
import json
import os
import pickle
import random
import struct
import subprocess
import sys
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from aisbom.scanners.pickles import engine
from aisbom.scanners.pickles.engine import (
    Call,
    DynamicGlobal,
    Global,
    Persistent,
    PickleRun,
    Reading,
    run_pickle,
)

WORKER = Path(__file__).with_name("pickle_worker.py")
TOO_LONG = "(a name too long to analyse)"
MAX_NAME = engine._MAX_NAME  # bytes: the engine decodes no longer module or attribute name
# Real unpickler mode -> the engine's reading of it.
MODES = {"memory": Reading.C_MEMORY, "stream": Reading.C_STREAM, "py": Reading.PY}


def interpreters() -> list[str]:
    """sys.executable, plus every other CPython 3.9+ installed under pyenv."""
    found = {os.path.realpath(sys.executable): sys.executable}
    for path in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))):
        version = path.split("/versions/")[1].split("/")[0]
        major_minor = tuple(int(x) for x in version.split(".")[:2])
        if major_minor >= (3, 9):
            found.setdefault(os.path.realpath(path), path)
    return list(found.values())


class Worker:
    """One child process running pickle_worker.py under one interpreter."""

    def __init__(self, python: str) -> None:
        self.python = python
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONWARNINGS="ignore")
        self.proc = subprocess.Popen(
            [self.python, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    def run(self, data: bytes, timeout: float = 20.0) -> dict[str, object] | None:
        """The worker's result for `data`, or None if it crashed or hung (then restarted)."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        try:
            self.proc.stdin.write(struct.pack("<I", len(data)) + data)
            self.proc.stdin.flush()
            line = _readline_with_timeout(self.proc, timeout)
        except (BrokenPipeError, OSError):
            line = None
        if not line:
            self.stop()
            return None
        return json.loads(line)  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def _readline_with_timeout(proc: subprocess.Popen[bytes], timeout: float) -> bytes | None:
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return None
    return proc.stdout.readline()


# --- the engine's events, in the worker's terms ------------------------------------------


def engine_events(run: PickleRun) -> list[list[object]]:
    """Imports, calls and method calls in execution order, labelled like the worker's stand-ins
    (g<n>: the n-th find_class result, r<n>: the n-th call's result, p<n>: persistent ids);
    assumptions appear as ["?", what] where the engine went on past an undecidable check."""
    labels: dict[int, str] = {}
    events: list[tuple[int, int, list[object]]] = []
    n = 0
    for glob_ in run.globals:
        if isinstance(glob_, Global):
            labels[id(glob_)] = f"g{n}"
            n += 1
            module, name = glob_.raw or (glob_.module, glob_.name)
            events.append((glob_.offset, 0, ["i", module, name]))
        elif "too long to analyse" in glob_.what:  # a GLOBAL/INST the engine did not decode
            labels[id(glob_)] = f"g{n}"
            n += 1
            events.append((glob_.offset, 0, ["i", TOO_LONG, TOO_LONG]))
    for index, call in enumerate(run.calls):
        labels[id(call)] = f"r{index}"
    for index, persistent in enumerate(run.persistents):
        labels[id(persistent)] = f"p{index}"
    for call in run.calls:
        events.append((call.offset, 1, ["c", _label(call.func, labels)]))
    for mutation in run.mutations:
        events.append((mutation.offset, 2, ["m", _label(mutation.target, labels)]))
    for offset, what in run.assumptions:
        events.append((offset, -1, ["?", what]))
    events.sort(key=lambda e: (e[0], e[1]))
    return [e[2] for e in events]


def _label(value: object, labels: dict[int, str]) -> str:
    if isinstance(value, (Global, Call, Persistent)) or id(value) in labels:
        return labels.get(id(value), "?")
    if isinstance(value, DynamicGlobal):
        return "dynamic"
    return "constant"


def _collapse(events: list[list[object]]) -> list[list[object]]:
    """Consecutive method calls on one object are one event (SETITEMS calls __setitem__ per
    pair, the engine records the opcode once). The engine's assumption notes ("?") sit between
    events without separating them: the loader records none."""
    out: list[list[object]] = []
    for event in events:
        last = next((e for e in reversed(out) if e[0] != "?"), None)
        if event[0] == "m" and last == event:
            continue
        out.append(event)
    return out


def _same(real: list[object], mine: list[object]) -> bool:
    """The same event; an import the engine left undecoded matches an import of a name that long."""
    if mine[:1] == ["i"] and mine[1] == TOO_LONG and real[:1] == ["i"]:
        return max(len(str(n).encode("utf-8", "surrogatepass")) for n in real[1:]) >= MAX_NAME
    return real == mine


@dataclass
class Verdict:
    ok: bool
    why: str = ""


def compare(real: dict[str, object], run: PickleRun) -> Verdict:
    """Same events in the same order; the engine may only go further after an assumption."""
    real_events = _collapse([list(e) for e in real["events"]])  # type: ignore[attr-defined]
    mine = _collapse(engine_events(run))
    assumed = False
    i = 0
    for event in mine:
        if event[0] == "?":
            assumed = True
            continue
        if i < len(real_events) and _same(real_events[i], event):
            i += 1
            continue
        if i == len(real_events) and not real["ok"] and assumed:
            return Verdict(True)  # the loader stopped where the engine could not decide
        return Verdict(
            False, f"event {i}: engine {event}, real {real_events[i : i + 1] or 'nothing (stopped)'}"
        )
    if i < len(real_events):
        if run.limit:
            return Verdict(True)
        return Verdict(False, f"engine missed {real_events[i : i + 3]}")
    engine_ok = run.end is not None
    if engine_ok != real["ok"] and not run.limit:
        if not engine_ok and run.extensions:
            return Verdict(True) if not real["ok"] else Verdict(False, "engine stopped at EXT")
        if engine_ok and assumed:
            return Verdict(True)
        engine = "completed" if engine_ok else f"failed: {run.error}"
        return Verdict(False, f"engine {engine}, real {real['error'] or 'completed'}")
    if engine_ok and real["tell"] is not None and real["tell"] != run.end and not _has_frame(run):
        return Verdict(False, f"engine ends at {run.end}, real at {real['tell']}")
    return Verdict(True)


def _has_frame(run: PickleRun) -> bool:
    return run.saw_frame


# --- streams ---------------------------------------------------------------------------------

_NAMES = [
    ("os", "system"), ("builtins", "eval"), ("my_pkg", "Tool"), ("collections", "OrderedDict"),
    ("a.b", "c.d"), ("__builtin__", "exec"), ("copy_reg", "_reconstructor"), ("", "x"), ("x", ""),
    ("numpy", "object_"), ("functools", "partial"), ("torch._utils", "_rebuild_tensor_v2"),
    ("é", "ü"), ("os", "path.join"), ("builtins", "getattr"),
]  # fmt: skip
_INTS = [
    b"0", b"1", b"00", b"01", b"-5", b"0x10", b"-0x10", b"010", b"08", b" 7", b"7 ", b"+3", b"1_000",
    b"12\x00junk", b"\x00", b"0x", b"99999999999999999999", b"0o17", b"0b101", b"- 5", b"abc", b"",
    b"0777777777777777777777777", b"9" * 4400, b"0x" + b"f" * 300,
]  # fmt: skip
_FLOATS = [
    b"1.5", b" 1.5", b"1.5 ", b"1_0", b"1e999", b"-1e999", b"1e-999", b"inf", b"-Infinity", b"nan",
    b"infinit", b".", b"1.", b".5", b"1e", b"0x10", b"1.5\x00x", b"\x00", b"", b"2", b"-0.0",
]  # fmt: skip

# Literals past the engine's long-line path (64 KiB) and the default int_max_str_digits (4300):
# the ones both readings accept must be read exactly, the ones a reading refuses refused there.
_LONG = 70_000
LONG_INTS = [
    b"1" * _LONG, b"0" * _LONG, b" " * _LONG + b"1", b"1" + b" " * _LONG, b"1_" * _LONG + b"1",
    b"1_" * _LONG, b"1" * _LONG + b"x", b"12\x00" + b"1" * _LONG, b"1" * _LONG + b"\x00",
    b"0x" + b"f" * _LONG, b"0x" + b"0" * _LONG, b"0o" + b"7" * _LONG, b"-" + b"9" * _LONG,
    b"0" * _LONG + b"1", b"1__1" + b"1" * _LONG,
]  # fmt: skip
LONG_FLOATS = [
    b"1" * _LONG, b"1" * _LONG + b".5", b"0." + b"0" * _LONG + b"1", b"1e" + b"1" * _LONG,
    b"1e-" + b"1" * _LONG, b"1e" + b"0" * _LONG + b"1", b"1" * _LONG + b"e-70010", b" " * _LONG + b"1.5",
    b"1_" * _LONG + b"1", b"1" * _LONG + b"x", b"1" * _LONG + b"\x00x", b"0" * _LONG, b"." + b"5" * _LONG,
    b"-" + b"0" * _LONG + b"e99999", b"inf" + b" " * _LONG,
]  # fmt: skip


def long_literal_streams() -> list[bytes]:
    """Each long literal as INT, LONG or FLOAT, followed by a call the readings that accept it
    make (a stand-in's, never resolved), and long GLOBAL/INST names and STRING/UNICODE lines."""
    after = b"0cmy_pkg\nTool\n)R."
    streams = [op + text + b"\n" + after for op in (b"I", b"L") for text in LONG_INTS]
    streams += [b"L" + text + b"L\n" + after for text in LONG_INTS[:4]]
    streams += [b"F" + text + b"\n" + after for text in LONG_FLOATS]
    name = b"a" * _LONG
    streams += [
        b"c" + name + b"\nTool\n)R.",
        b"cmy_pkg\n" + name + b"\n)R.",
        b"(i" + name + b"\nTool\n.",
        b"S'" + name + b"'\n" + after,
        b'S"' + name + b"'\n" + after,
        b"V" + name + b"\n" + after,
        b"P" + name * 16 + b"\n" + after,  # over 1 MiB: handed to persistent_load all the same
        b"P" + name * 16 + b"\xe9\n" + after,
        b"\x80\x02\x8b" + struct.pack("<i", _LONG) + b"\x01" * _LONG + after,
        b"\x80\x02\x8b" + struct.pack("<i", 1 << 30) + b"\x01" * 8 + after,
        b"c" + b"a" * 1000 + b"\nTool\n)R.",  # under the engine's name limit: decoded
    ]
    return streams


class Generator:
    """Random pickles that are mostly well formed (so that they get far), with the grammar
    corners and framing tricks where the unpicklers differ."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def stream(self) -> bytes:
        rng = self.rng
        out = bytearray()
        proto = rng.choice([None, 0, 1, 2, 3, 4, 5])
        if proto is not None and rng.random() < 0.9:
            out += b"\x80" + bytes([proto])
        depth, marks, memo = 0, 0, 0
        for _ in range(rng.randint(1, 30)):
            op, delta, mark_delta, memo_delta = self.op(depth, marks, memo)
            out += op
            depth = max(0, depth + delta)
            marks = max(0, marks + mark_delta)
            memo += memo_delta
        if rng.random() < 0.9:
            out += b"N." if depth == 0 else b"."
        data = bytes(out)
        if rng.random() < 0.3:
            data = self.framed(data)
        if rng.random() < 0.1:
            data += self.stream()
        return data

    def framed(self, data: bytes) -> bytes:
        """Insert FRAME opcodes whose lengths fit, fall short of or overrun opcode boundaries."""
        rng = self.rng
        cut = rng.randint(0, len(data))
        length = max(0, len(data) - cut + rng.choice([0, 0, -1, -2, 1, 3, -5]))
        frame = b"\x95" + struct.pack("<Q", length)
        return data[:cut] + frame + data[cut:]

    def op(self, depth: int, marks: int, memo: int) -> tuple[bytes, int, int, int]:
        """(bytes, stack delta, mark delta, memo delta) of one random opcode."""
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            return self.constant(), 1, 0, 0
        if r < 0.38:
            return self.global_op(), 1, 0, 0
        if r < 0.45:
            return b"(", 0, 1, 0
        if r < 0.55 and depth >= 2:
            return rng.choice([b"R", b"\x81", b"s", b"a", b"b", b"\x86"]), -1, 0, 0
        if r < 0.62:
            closing = rng.choice([b"t", b"l", b"d", b"e", b"u", b"\x90", b"\x91", b"o", b"1"])
            return closing, 0, -1, 0
        if r < 0.70:
            return self.memo_op(memo)
        if r < 0.75:
            return rng.choice([b"\x85", b"\x87", b"2", b"0", b"\x92"]), 0, 0, 0
        if r < 0.80:
            return self.inst(), 1, -1, 0
        if r < 0.84:
            return self.stack_global(), 1, 0, 0
        if r < 0.87:
            return rng.choice([b"Q", b"P1\n", b"Pab\n", b"\x98", b"\x97"]), 0, 0, 0
        if r < 0.89:
            return rng.choice([b"\x82\x01", b"\x83\x00\x00", b"\x84\xff\xff\xff\xff"]), 1, 0, 0
        if r < 0.93:
            return b"\x95" + struct.pack("<Q", rng.choice([0, 1, 2, 5, 9, 20, 1 << 40])), 0, 0, 0
        return rng.choice([b")", b"]", b"}", b"\x8f", b"N", b"\x88", b"\x89"]), 1, 0, 0

    def constant(self) -> bytes:
        rng = self.rng
        kind = rng.randrange(14)
        text = rng.choice([b"x", b"os", b"system", b"__setstate__", b"", b"\xe9", b"a" * 200])
        ints = LONG_INTS if rng.random() < 0.02 else _INTS
        if kind == 0:
            return b"I" + rng.choice(ints) + rng.choice([b"\n", b"\n", b"\n", b""])
        if kind == 1:
            return b"L" + rng.choice(ints) + rng.choice([b"L\n", b"\n", b"LL\n"])
        if kind == 2:
            return b"F" + rng.choice(LONG_FLOATS if rng.random() < 0.02 else _FLOATS) + b"\n"
        if kind == 3:
            quote = rng.choice([b"'", b'"', b""])
            body = rng.choice([b"abc", b"\\x41", b"\\q", b"\\x4", b"it's", b""])
            return b"S" + quote + body + rng.choice([quote, b"'"]) + b"\n"
        if kind == 4:
            return b"V" + rng.choice([b"abc", b"\\u0041", b"\\u12", b"\xff"]) + b"\n"
        if kind == 5:
            return b"\x8c" + bytes([len(text)]) + text
        if kind == 6:
            return b"X" + struct.pack("<I", len(text)) + text
        if kind == 7:
            return b"U" + bytes([len(text)]) + text
        if kind == 8:
            return b"T" + struct.pack("<i", len(text)) + text
        if kind == 9:
            return b"C" + bytes([len(text)]) + text
        if kind == 10:
            return b"\x96" + struct.pack("<Q", len(text)) + text
        if kind == 11:
            return rng.choice(
                [b"K\x05", b"M\x01\x02", b"J\xff\xff\xff\xff", b"\x8a\x01\x05", b"G" + b"\x00" * 8]
            )
        if kind == 12:
            return b"\x8d" + struct.pack("<Q", len(text)) + text
        return rng.choice([b"N", b"\x88", b"\x89", b")", b"]", b"}"])

    def global_op(self) -> bytes:
        module, name = self.rng.choice(_NAMES)
        line_end = self.rng.choice([b"\n", b"\n", b"\n", b"\n", b""])
        return b"c" + module.encode() + b"\n" + name.encode() + line_end

    def stack_global(self) -> bytes:
        module, name = self.rng.choice(_NAMES)
        m, n = module.encode(), name.encode()
        return b"\x8c" + bytes([len(m)]) + m + b"\x8c" + bytes([len(n)]) + n + b"\x93"

    def inst(self) -> bytes:
        module, name = self.rng.choice(_NAMES)
        mark = b"(" if self.rng.random() < 0.8 else b""
        return mark + b"N" * self.rng.randint(0, 2) + b"i" + module.encode() + b"\n" + name.encode() + b"\n"

    def memo_op(self, memo: int) -> tuple[bytes, int, int, int]:
        rng = self.rng
        index = rng.randint(0, max(0, memo))
        text = rng.choice([str(index).encode(), b" " + str(index).encode(), b"1_0", b"0\x00", b"-1", b"x"])
        choice = rng.randrange(7)
        if choice == 0:
            return b"p" + text + b"\n", 0, 0, 1
        if choice == 1:
            return b"q" + bytes([index % 256]), 0, 0, 1
        if choice == 2:
            return b"r" + struct.pack("<I", rng.choice([index, 1 << 30])), 0, 0, 1
        if choice == 3:
            return b"\x94", 0, 0, 1
        if choice == 4:
            return b"g" + text + b"\n", 1, 0, 0
        if choice == 5:
            return b"h" + bytes([index % 256]), 1, 0, 0
        return b"j" + struct.pack("<I", index), 1, 0, 0


class _Plain:
    """A class of this module: pickles name it, the worker never imports it."""

    def __init__(self, value: object) -> None:
        self.value = value


def real_pickles(rng: random.Random) -> bytes:
    """pickle.dumps of random data, at a random protocol (protocols 4-5 frame their output)."""
    values: list[object] = [
        None, True, 1, -(2**70), 1.5, "text", b"bytes", bytearray(b"ba"), (1, "a"), [1, [2]],
        {"k": [1, 2]}, {1, 2}, frozenset({3}), OrderedDict(a=1), defaultdict(list, a=[1]),
        _Plain({"x": [1, 2]}), "é" * 40, b"\x00" * 70000,
    ]  # fmt: skip
    obj = [rng.choice(values) for _ in range(rng.randint(1, 6))]
    return pickle.dumps(obj, protocol=rng.randint(0, 5))


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if not out:
            out += b"N."
        i = rng.randrange(len(out))
        kind = rng.randrange(7)
        if kind == 0:
            out[i] = rng.randrange(256)
        elif kind == 1:
            out[i:i] = bytes([rng.choice(b"()tlduebsaR0129\x85\x86\x93\x94\x95.N\n")])
        elif kind == 2:
            del out[i : i + rng.randint(1, 4)]
        elif kind == 3:
            j = rng.randrange(len(out))
            out[i:i] = out[j : j + rng.randint(1, 8)]
        elif kind == 4:
            del out[i:]
        elif kind == 5:
            out[i:i] = rng.choice([b"\n", b"\x00", b"L\n", b"\x95" + struct.pack("<Q", rng.randint(0, 12))])
        else:
            out[i:i] = Generator(rng).global_op() + rng.choice([b")R", b")\x81", b"}b", b"(tR", b""])
    return bytes(out)


def next_stream(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.45:
        return Generator(rng).stream()
    if r < 0.6:
        return real_pickles(rng)
    base = Generator(rng).stream() if rng.random() < 0.6 else real_pickles(rng)
    return mutate(base, rng)


# --- driver ------------------------------------------------------------------------------------


@dataclass
class Tally:
    streams: int = 0
    checks: int = 0
    skipped: int = 0  # worker crashed or hung
    disagreements: list[dict[str, object]] = field(default_factory=list)


def check_stream(data: bytes, worker: Worker, tally: Tally) -> None:
    real = worker.run(data)
    tally.streams += 1
    if real is None:
        tally.skipped += 1
        return
    for mode, reading in MODES.items():
        run = run_pickle(data, reading=reading, max_opcodes=1_000_000)
        verdict = compare(real[mode], run)  # type: ignore[arg-type]
        tally.checks += 1
        if not verdict.ok:
            tally.disagreements.append(
                {
                    "mode": mode,
                    "python": real["version"],
                    "why": verdict.why,
                    "data": base64.b64encode(data).decode(),
                    "real": real[mode],
                    "engine": engine_events(run),
                    "engine_error": run.error,
                }
            )


def run_for(seconds: float, seed: int, *, pythons: list[str] | None = None, limit: int = 0) -> Tally:
    rng = random.Random(seed)
    workers = [Worker(p) for p in (pythons or interpreters())]
    tally = Tally()
    deadline = time.monotonic() + seconds
    try:
        index = 0
        while time.monotonic() < deadline and (not limit or tally.streams < limit):
            data = next_stream(rng)
            check_stream(data, workers[index % len(workers)], tally)
            index += 1
    finally:
        for worker in workers:
            worker.stop()
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument(
        "--out", type=Path, default=None, help="append disagreements to this file (JSON lines)"
    )
    args = parser.parse_args(argv)
    pythons = interpreters()
    print(f"seed {args.seed}; interpreters: {', '.join(pythons)}", flush=True)
    started = time.monotonic()
    tally = run_for(args.seconds, args.seed, pythons=pythons)
    elapsed = time.monotonic() - started
    print(
        f"{tally.streams} streams, {tally.checks} comparisons in {elapsed:.0f}s; "
        f"{tally.skipped} skipped (worker crash/hang); {len(tally.disagreements)} disagreements",
        flush=True,
    )
    if args.out is not None:
        with args.out.open("a") as out:
            for item in tally.disagreements:
                out.write(json.dumps(item) + "\n")
    for item in tally.disagreements[:20]:
        print(json.dumps({k: item[k] for k in ("mode", "python", "why", "data", "engine_error")}))
    return 1 if tally.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
