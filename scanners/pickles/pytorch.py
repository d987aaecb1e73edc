"""PyTorch containers, opened the way torch.load and torch.jit.load open them.

- zip checkpoints (torch.save since 1.6): `<prefix>/data.pkl` is unpickled; tensor storages
  live in `<prefix>/data/<key>` and are raw bytes that are never read here. torch reads the
  zip with miniz, which trusts the central directory and tolerates bad CRCs, local/central
  name mismatches and odd flag bits, so we do too (readers/zip_reader.py) and report them.
  Its central directory is located as miniz locates it, and as zipfile does where the two
  differ (readers/zip_directory.py): every member either lists is scanned.
  Every member that is a pickle is scanned, whatever its name; members are read within the
  same limits as any zip member (`zip_archive.read_zip_member`), decompression budget included.
- TorchScript archives (torch.jit.save): `constants.pkl` and `data.pkl` are read by the
  TorchScript pickle loader, which resolves `__torch__.*` classes in its compilation unit and
  never imports Python modules; they are scanned with that allowlist.
- TorchScript mobile archives (`_save_for_lite_interpreter`, `.ptl`): the same, plus
  `bytecode.pkl`, which the lite interpreter runs instead of `code/`; it is a pickle (scanned
  as every member is) whose operator table names the operators the bytecode calls, checked
  like the source in `code/`, which a lite interpreter never reads.
- legacy files (torch.save before 1.6, or `_use_new_zipfile_serialization=False`): five
  pickles in a row (magic number, protocol, sys info, the object, storage keys), then raw
  storages. All five are scanned.
"""

from __future__ import annotations

import re

from aisbom.scanners.archives.zip_archive import DisjointSpans, read_zip_member, report_divergence
from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.pickles.engine import looks_like_pickle
from aisbom.scanners.pickles.stream import scan_pickle_stream
from aisbom.scanners.readers import zip_directory, zip_reader

# Raw tensor storages: `<prefix>/data/<key>` (keys are decimal), and TorchScript's
# `<prefix>/constants/<key>`. They are bytes, not pickles, and are the bulk of the file.
_STORAGE = re.compile(r"(^|/)(data|constants)/\d+$")
_LEGACY_PICKLES = 5
# The TorchScript patterns are compiled on first use (re caches them): most archives have no code.
_TORCHSCRIPT_CODE = r"(^|/)code/.*\.py$"
_DEF = r"^\s*def\s+([A-Za-z_][A-Za-z0-9_]*)"
# Operators that read or write files, or load native libraries, reachable from TorchScript.
_UNSAFE_TORCHSCRIPT_OP = (
    r"\b((?:torch|ops\.aten)\.(?:from_file|save|load|_load_for_mobile|_save_for_mobile)"
    r"|(?:torch\.)?ops\.load_library|torch\.classes\.load_library)\s*\("
)


# The same operators as the mobile bytecode names them (`torch.from_file` is `aten::from_file`).
_UNSAFE_MOBILE_OPS = (b"aten::from_file", b"aten::save", b"debugprims::load_tensor")


def scan_pytorch_zip(data: Data, ctx: ScanContext) -> None:
    _scan_torch_zip(data, ctx, torchscript=False)


def scan_torchscript(data: Data, ctx: ScanContext) -> None:
    _scan_torch_zip(data, ctx, torchscript=True)


def scan_pytorch_legacy(data: Data, ctx: ScanContext) -> None:
    if not ctx.members:
        ctx.report(
            "pickle-format",
            "legacy PyTorch file (pickles): loading it with torch.load can run code",
        )
    scan_pickle_stream(data, ctx, max_pickles=_LEGACY_PICKLES)


def _scan_torch_zip(data: Data, ctx: ScanContext, *, torchscript: bool) -> None:
    kind = "TorchScript archive" if torchscript else "PyTorch checkpoint"
    if not ctx.members:
        ctx.report("pickle-format", f"{kind} (zip of pickles): loading it can run code")
    directories = zip_directory.read_directories(data, max_entries=ctx.limits.max_members)
    if not directories.readable:
        ctx.report("scan-error", f"{kind} cannot be read as a zip: {directories.first_failure()}")
        return
    report_divergence(ctx, directories)
    entries = directories.entries()  # miniz's (torch.load's) and zipfile's, each once
    if not directories.complete:
        ctx.report(
            "scan-limit",
            f"{kind} lists more than {ctx.limits.max_members} members; the rest were not analysed",
            evidence={"limit": "max_members"},
        )
    for name in directories.repeated_names():
        ctx.report(
            "archive-tampered",
            f"member {name!r} appears more than once; loaders pick different copies",
        )
    hints = ctx.hints | {"torchscript"} if torchscript else ctx.hints
    read = DisjointSpans()  # an entry whose bytes overlap one read already is not read again
    for entry in entries:
        if entry.is_dir:
            continue
        if _STORAGE.search(entry.name) or not read.add(*DisjointSpans.of_entry(entry)):
            continue
        if ctx.out_of_time():
            ctx.report(
                "scan-limit",
                "time limit reached inside the archive; remaining members not analysed",
                evidence={"limit": "max_seconds_per_file"},
            )
            return
        try:
            member = read_zip_member(data, entry, ctx.child(entry.name))
        except zip_reader.ZipError as exc:
            ctx.report("scan-error", f"member {entry.name!r} cannot be read: {exc}")
            continue
        if member.local_name is not None:
            ctx.report(
                "archive-tampered",
                f"member {entry.name!r} is called {member.local_name!r} in its local header; "
                "torch.load uses the central directory name",
            )
        if not member.crc_ok:
            ctx.report(
                "archive-tampered",
                f"member {entry.name!r} fails its CRC check; torch.load does not check it",
            )
        payload = member.data
        if torchscript and re.search(_TORCHSCRIPT_CODE, entry.name):
            _scan_torchscript_code(payload, ctx.child(entry.name))
        elif entry.name.endswith(".pkl") or _is_pickle(payload):
            scan_pickle_stream(payload, ctx.child(entry.name, hints=hints))
            if torchscript and entry.name.rsplit("/", 1)[-1] == "bytecode.pkl":
                _scan_mobile_operators(payload, ctx.child(entry.name))
        else:
            ctx.scan_nested(payload, entry.name, hints=hints)


def _scan_torchscript_code(source: bytes, ctx: ScanContext) -> None:
    """TorchScript source is a Python subset that can only call torch operators; flag the
    operators that reach the file system or load native code."""
    text = source.decode("utf-8", "replace")
    method = "?"
    definitions, unsafe_ops = re.compile(_DEF), re.compile(_UNSAFE_TORCHSCRIPT_OP)
    for number, line in enumerate(text.splitlines(), start=1):
        definition = definitions.match(line)
        if definition:
            method = definition.group(1)
        for match in unsafe_ops.finditer(line):
            when = "when the archive is loaded" if method == "__setstate__" else "when it is called"
            ctx.report(
                "torchscript-unsafe-op",
                f"method {method}() calls {match.group(1)} (line {number}), which runs {when}",
                evidence={"operator": match.group(1), "method": method, "line": line.strip()[:200]},
            )


def _scan_mobile_operators(bytecode: bytes, ctx: ScanContext) -> None:
    """The lite interpreter's operator table names each operator as a string; flag the ones that
    reach the file system, as in `code/`, since the mobile runtime runs this and not `code/`."""
    on_load = b".__setstate__" in bytecode
    when = "on loading, in __setstate__ or" if on_load else "when"
    for operator in [op.decode() for op in _UNSAFE_MOBILE_OPS if _pickled_string_in(op, bytecode)]:
        ctx.report(
            "torchscript-unsafe-op",
            f"mobile bytecode calls {operator}, which the lite interpreter (_load_for_lite_interpreter) "
            f"runs {when} a method calling it runs",
            evidence={"operator": operator, "setstate": str(on_load).lower()},
        )


def _pickled_string_in(text: bytes, data: bytes) -> bool:
    """Whether `data` holds `text` as a whole pickled string (SHORT_BINUNICODE, BINUNICODE or
    BINUNICODE8: its opcode and exact length right before it), not as part of a longer one."""
    size = len(text)
    prefixes = (
        b"\x8c" + bytes([size]),
        b"X" + size.to_bytes(4, "little"),
        b"\x8d" + size.to_bytes(8, "little"),
    )
    start = data.find(text)
    while start >= 0:
        if any(data[start - len(p) : start] == p for p in prefixes if start >= len(p)):
            return True
        start = data.find(text, start + 1)
    return False


def _is_pickle(payload: bytes) -> bool:
    if payload[:1] == b"\x80" and payload[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return True
    return looks_like_pickle(payload)
