"""A second reading of every safetensors header, by the `safetensors` library itself.

The library's parser runs no code and is what loaders use, so it defines what a safetensors
file is. It reads the header beside aisbom's own reader (`header.py`, which runs first and
reports every problem it sees); where the two disagree (one refuses what the other accepts, or
they list different tensors), the file means different things to different readers, which is a
finding.

Bounded: the library is handed the header only. Small objects are handed over whole
(`deserialize`); larger ones as a sparse copy, the header followed by a hole as long as the
tensor data, which the library maps and validates without any tensor byte being read or
written.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from dataclasses import dataclass

from aisbom.findings import Finding
from aisbom.scanners.frame.context import Data, ScanContext

# What aisbom's reader reports when the library would refuse the file: the header, offsets that
# do not tile the data buffer, bytes no tensor accounts for.
_REFUSALS = frozenset(
    {"safetensors-header-invalid", "safetensors-offsets-invalid", "safetensors-hidden-data"}
)
_WHOLE = 1024 * 1024  # objects up to this size are handed to the library whole
_MAX_LISTED = 5


@dataclass(frozen=True)
class _Reading:
    """One reading of a header: its tensors, or why it was refused."""

    tensors: dict[str, tuple[str, tuple[int, ...]]] | None  # name -> (dtype, shape); None: refused
    error: str = ""


def scan_with_library(data: Data, ctx: ScanContext) -> None:
    mine = _aisbom_reading(data, ctx)
    theirs = _library_reading(data, ctx)
    if theirs is None:
        return
    if mine.tensors is None and theirs.tensors is not None:
        _disagree(ctx, "the safetensors library loads this file, which aisbom's reader refuses (see above)")
    elif mine.tensors is not None and theirs.tensors is None:
        _disagree(
            ctx, f"the safetensors library refuses this file ({theirs.error}), which aisbom's reader accepts"
        )
    elif mine.tensors is not None and theirs.tensors is not None and mine.tensors != theirs.tensors:
        differing = sorted(set(mine.tensors.items()) ^ set(theirs.tensors.items()))
        names = sorted({name for name, _ in differing})[:_MAX_LISTED]
        _disagree(ctx, f"the safetensors library and aisbom's reader list different tensors ({names})")


def _disagree(ctx: ScanContext, message: str) -> None:
    ctx.report("parser-disagreement", message, evidence={"library": "safetensors"})


def _aisbom_reading(data: Data, ctx: ScanContext) -> _Reading:
    """What aisbom's reader made of the file: refused if it reported a refusal on this object,
    else the tensors of the header's last entry per name (as the library keeps them)."""
    if any(_refuses(f) and f.members == ctx.members for f in ctx.sink):
        return _Reading(None)
    (length,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(bytes(data[8 : 8 + length]))  # safe: JSON data; header.py parsed it already
    except (ValueError, RecursionError):
        return _Reading(None)
    if not isinstance(header, dict):
        return _Reading(None)
    return _Reading(
        {
            name: (entry["dtype"], tuple(entry["shape"]))
            for name, entry in header.items()
            if name != "__metadata__" and isinstance(entry, dict)
        }
    )


def _refuses(finding: Finding) -> bool:
    """A finding of aisbom's reader that means the library refuses the file too. (A tensor entry
    that repeats a field, and a repeated __metadata__ key, are refused; repeated tensor names and
    keys inside __metadata__ are not.)"""
    if finding.rule == "safetensors-duplicate-key":
        evidence = dict(finding.evidence)
        return "tensor" in evidence or (
            finding.message.startswith("header repeats")
            and "__metadata__" in evidence.get("keys", "").split(",")
        )
    return finding.rule in _REFUSALS


def _library_reading(data: Data, ctx: ScanContext) -> _Reading | None:
    """The library's reading, or None when it cannot be asked (aisbom's limits refuse the header
    before the library is handed it; the library's own checks agree)."""
    if len(data) < 8:
        return None
    (length,) = struct.unpack("<Q", data[:8])
    if length > ctx.limits.max_safetensors_header or 8 + length > len(data):
        return None  # the library refuses these too (HeaderTooLarge, InvalidHeaderLength)
    from safetensors import SafetensorError, deserialize, safe_open  # late: rarely needed

    if len(data) <= _WHOLE:
        try:
            listed = deserialize(bytes(data))
        except (SafetensorError, ValueError) as exc:
            return _Reading(None, str(exc)[:200])
        return _Reading({name: (info["dtype"], tuple(info["shape"])) for name, info in listed})
    try:
        with _sparse_copy(bytes(data[: 8 + length]), len(data)) as path:
            try:
                with safe_open(path, framework="numpy") as f:
                    tensors = {}
                    for name in f.keys():  # noqa: SIM118 (safe_open has keys(), not iteration)
                        part = f.get_slice(name)
                        tensors[name] = (part.get_dtype(), tuple(part.get_shape()))
                    return _Reading(tensors)
            except (SafetensorError, ValueError) as exc:
                return _Reading(None, str(exc)[:200])
    except OSError as exc:
        # The temporary copy could not be made or read (a full or read-only temporary
        # directory): the library never saw the header, which is no verdict of its own.
        ctx.report(
            "scan-error",
            f"the safetensors library's second reading of the header could not run ({exc})",
            evidence={"library": "safetensors"},
        )
        return None


class _sparse_copy:  # noqa: N801 (a context manager used like a function)
    """A temporary file holding `head`, extended with a hole to `size` bytes."""

    def __init__(self, head: bytes, size: int) -> None:
        self.head, self.size = head, size

    def __enter__(self) -> str:
        fd, self.path = tempfile.mkstemp(prefix="aisbom-", suffix=".safetensors")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self.head)
                f.truncate(self.size)
        except BaseException:
            os.unlink(self.path)  # (a full disk: nothing is left behind)
            raise
        return self.path

    def __exit__(self, *exc: object) -> None:
        os.unlink(self.path)
