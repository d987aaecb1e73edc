"""Keras model files: Keras 3 `.keras` zips, HDF5 (`.h5`) models and JSON configs, read as data.

`.keras` is a zip (config.json, metadata.json, model.weights.h5, assets/): the registry gives it
the zip checks and recursive scanning of any zip (the weights file is sniffed as HDF5 and comes
back here), then `scan_keras_zip`: config.json, what `keras.saving.load_model` reads, is checked
by `config`.

HDF5 models keep their config in the root attributes `model_config` and `training_config`.
libhdf5 is C code with a history of crashes on crafted files, so the attributes are read by a
child process (`readers/hdf5_attributes.py` through `child_process.ask`) with a timeout and an
address-space cap: a crash or a hang becomes a finding on the file, never a lost report.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from aisbom.scanners.archives.zip_archive import DisjointSpans
from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.frame.sniff import hdf5_superblock, sniff
from aisbom.scanners.readers import json_document, zip_directory, zip_reader
from aisbom.scanners.readers.child_process import Failure, ask

CONFIG = "config.json"  # the member keras.saving.load_model reads
_CONFIG_ATTRIBUTES = ("model_config", "training_config")  # the attributes Keras reads
# The child script; a module attribute so tests can swap in one that crashes or hangs.
HDF5_CHILD = str(Path(__file__).resolve().parents[1] / "readers" / "hdf5_attributes.py")


def scan_keras_zip(data: Data, ctx: ScanContext) -> None:
    """The Keras check of a `.keras` zip: its config.json, every copy of it. The registry runs the
    zip checks first, so what they report (repeated names, unreadable members) is not repeated."""
    # scan_zip reported what limits or unreadable directories it met. zipfile (and so Keras) cuts
    # names at a NUL and reads the last copy of a repeated name; every copy is checked here.
    directories = zip_directory.read_directories(data, max_entries=ctx.limits.max_members)
    read = DisjointSpans()  # a copy whose bytes overlap one read already is not read again
    for entry in directories.entries():
        if entry.zipfile_name == CONFIG and not entry.is_dir and read.add(*DisjointSpans.of_entry(entry)):
            _check_config_member(data, entry, ctx.child(CONFIG))


def _check_config_member(data: Data, entry: zip_reader.ZipEntry, ctx: ScanContext) -> None:
    limit = ctx.limits.max_keras_config
    try:
        member = zip_reader.read_member(data, entry, max_size=limit)
    except zip_reader.ZipError:
        return  # scan_zip reported the member as unreadable
    if member.truncated:
        if sniff(member.data) == "json" and json_document.names_key(member.data, _KERAS_KEY):
            return  # scan_zip's JSON scan of the member reported the limit already
        ctx.report(
            "scan-limit",
            f"{CONFIG} holds more than {limit} bytes (max_keras_config); the Keras config was not analysed",
            evidence={"limit": "max_keras_config", "limit_value": str(limit)},
        )
        return
    config = _parse(member.data, ctx, CONFIG)
    if config is _UNREADABLE:
        return
    if is_keras_document(config) and sniff(member.data) == "json":
        return  # scan_zip's JSON scan of the member checked it already
    # Keras reads this member whatever it looks like (UTF-16 text, no top-level class ...).
    _check(config, ctx, CONFIG)


_UNREADABLE = object()


def _parse(text: str | bytes, ctx: ScanContext, where: str) -> object:
    """The JSON in `text` as Keras's json.loads reads it, or _UNREADABLE (and a finding)."""
    try:
        return json_document.loads(text)  # Keras parses it with json.loads too
    except RecursionError:
        ctx.report(
            "scan-limit",
            f"the Keras config in {where} nests too deeply to parse; it was not analysed",
            evidence={"limit": "json_depth", "where": where},
        )
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        ctx.report(
            "scan-error",
            f"the Keras config in {where} is not valid JSON ({exc}); it was not analysed",
            evidence={"where": where},
        )
    return _UNREADABLE


def _check_json(text: str | bytes, ctx: ScanContext, where: str) -> None:
    config = _parse(text, ctx, where)
    if config is not _UNREADABLE:
        _check(config, ctx, where)


def _check(config: object, ctx: ScanContext, where: str) -> None:
    from aisbom.scanners.keras.config import check_keras_config  # late: JSON files rarely need it

    check_keras_config(config, ctx, where=where)


def is_keras_document(document: object) -> bool:
    """A Keras model (or layer) config: what model_from_json and load_model build from."""
    return isinstance(document, dict) and isinstance(document.get("class_name"), str) and "config" in document


_KERAS_KEY = "class_name"


def scan_json(data: Data, ctx: ScanContext) -> None:
    """A JSON file that is a Keras model config (a template that only looks like JSON is not)."""
    if json_document.starts_as_template(data) or not _wants_document(data, ctx):
        return
    document = json_document.parse(data, ctx)
    if document is not None and is_keras_document(document.value):
        _check(document.value, ctx, ctx.name)


def _wants_document(data: Data, ctx: ScanContext) -> bool:
    """Whether the JSON file may be a Keras model config: config.json of an unpacked .keras
    directory or a Hugging Face Keras repository (load_model reads both), model.json
    (model_from_json)."""
    limit = ctx.limits.max_keras_config
    return json_document.wants_document(
        data, ctx, _KERAS_KEY, limit=limit, limit_name="max_keras_config", skipped="its model config was"
    )


def scan_hdf5(data: Data, ctx: ScanContext) -> None:
    superblock = hdf5_superblock(data)
    if superblock:
        # A user block: libhdf5 skips it, anything else may read it; sniffed and scanned.
        ctx.scan_nested(data[:superblock], "HDF5 user block")
    result = _read_attributes(data, ctx)
    if result is None:
        return
    for name, size in sorted(result.get("too_large", {}).items()):
        ctx.report(
            "scan-limit",
            f"HDF5 attribute {name!r} holds {size} bytes, more than max_keras_config "
            f"({ctx.limits.max_keras_config}); it was not analysed",
            evidence={"limit": "max_keras_config", "attribute": name, "size": str(size)},
        )
    for name, why in sorted(result.get("odd", {}).items()):
        if name in _CONFIG_ATTRIBUTES:
            ctx.report(
                "scan-error",
                f"HDF5 attribute {name!r} could not be read as text: {why}; it was not analysed",
                evidence={"attribute": name},
            )
    attrs = result.get("attrs", {})
    for name in _CONFIG_ATTRIBUTES:
        text = attrs.get(name)
        if isinstance(text, str):
            _check_json(text, ctx, name)


def _read_attributes(data: Data, ctx: ScanContext) -> dict | None:
    """The Keras attributes of the HDF5 file in `data`, read in a child process; None (and a
    finding) if they could not be read."""
    limits = ctx.limits
    request: dict[str, object] = {"max_text": limits.max_keras_config, "size": len(data)}
    payload: bytes | None = None
    if not ctx.members and ctx.source is not None and os.path.isfile(ctx.source):
        # A file on disk: the child reopens it instead of receiving a copy of a large mapping.
        request["path"] = ctx.source
    else:
        payload = data if isinstance(data, bytes) else data[:]
    remaining = ctx.budget.deadline - time.monotonic()
    timeout = min(limits.max_hdf5_seconds, remaining)
    if timeout <= 0:
        ctx.report(
            "scan-limit",
            f"time limit of {limits.max_seconds_per_file:g}s per file reached; the HDF5 "
            "attributes were not analysed",
            evidence={"limit": "max_seconds_per_file"},
        )
        return None
    result = ask(HDF5_CHILD, request, payload, timeout=timeout, memory=limits.max_hdf5_memory)
    if isinstance(result, Failure):
        _report_failure(result, ctx, timeout)
        return None
    if result.get("error"):
        ctx.report(
            "scan-error",
            f"HDF5 file could not be read: {result['error']}; its Keras config (if any) was not analysed",
            evidence={"reader": "h5py"},
        )
        return None
    return result


def _report_failure(failure: Failure, ctx: ScanContext, timeout: float) -> None:
    if failure.kind == "timeout":
        limit = "max_hdf5_seconds" if timeout >= ctx.limits.max_hdf5_seconds else "max_seconds_per_file"
        ctx.report(
            "scan-limit",
            f"reading the HDF5 attributes took longer than {timeout:g}s ({limit}); the file may be "
            "crafted to hang libhdf5. Its Keras config was not analysed",
            evidence={"limit": limit, "limit_value": f"{timeout:g}"},
        )
    elif failure.kind == "memory":
        ctx.report(
            "scan-limit",
            f"reading the HDF5 attributes needed more memory than allowed ({failure.detail}); "
            "its Keras config was not analysed",
            evidence={"limit": "max_hdf5_memory"},
        )
    else:
        what = "crashed" if failure.kind == "crash" else "failed"
        ctx.report(
            "scan-error",
            f"the HDF5 reader {what} on this file ({failure.detail}): it is malformed or crafted "
            "to crash libhdf5, which Keras and h5py use too. Its Keras config was not analysed",
            evidence={"reader": "h5py", "failure": failure.kind},
        )
