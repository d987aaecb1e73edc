"""Child process: read the Keras attributes of HDF5 files' root groups, or where their datasets'
bytes are (for `aisbom convert`); answer in JSON.

Run by `model_files.scan_hdf5` through `child_process.ask`, never imported by the scanner:

    python -I hdf5_attributes.py MEMORY

It limits itself to MEMORY bytes of address space, then answers requests until its input ends.
A request is a JSON line {"max_text": N, "path": PATH, "size": BYTES} (a file on disk, which must
still be BYTES long) or {"max_text": N, "size": BYTES} followed by BYTES bytes of file. The answer
is a JSON line {"attrs": {name: text}, "too_large": {name: bytes}, "odd": {name: why}} or
{"error": why} (with "memory": true when the child ran out of memory; it then exits).

A request with "datasets": true (always a file on disk) is answered with {"datasets": [[name,
dtype, shape, offset, bytes], ...]}: every dataset, its NumPy type string, and where its raw bytes
lie in the file (offset null when they are not stored in one contiguous, unfiltered block).

Only the standard library and h5py are imported here, so a crash in libhdf5 costs nothing but
this process.
"""

from __future__ import annotations

import io
import json
import os
import sys

# The attributes Keras reads (legacy_h5_format / tf.keras hdf5_format), and two for evidence.
WANTED = ("model_config", "training_config", "keras_version", "backend")


def limit_memory(limit: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: the parent's timeout still applies
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def as_text(value: object) -> str | None:
    """The attribute as Keras reads it: a str, or bytes it decodes as UTF-8; None otherwise."""
    if isinstance(value, str):
        return value
    decode = getattr(value, "decode", None)  # bytes and numpy.bytes_, as Keras checks
    if decode is None:
        return None
    return decode("utf-8")


def read(source: object, max_text: int) -> dict:
    import h5py

    try:
        handle = h5py.File(source, "r")
    except Exception as exc:  # libhdf5 reports corruption as OSError, h5py as others
        return {"error": f"not a readable HDF5 file: {exc}"}
    attrs: dict[str, str] = {}
    too_large: dict[str, int] = {}
    odd: dict[str, str] = {}
    with handle:
        for name in WANTED:
            try:
                if name not in handle.attrs:
                    continue
                stored = handle.attrs.get_id(name).get_storage_size()
                if stored > max_text:  # fixed-length strings: refused before reading
                    too_large[name] = stored
                    continue
                text = as_text(handle.attrs[name])
            except UnicodeDecodeError as exc:
                odd[name] = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
                continue
            except MemoryError:
                raise
            except Exception as exc:
                if "alloc" in str(exc).lower():  # libhdf5's H5MM_malloc/realloc hit the cap
                    return {"error": f"attribute {name!r}: {exc}", "memory": True}
                odd[name] = f"unreadable: {exc}"
                continue
            if text is None:
                odd[name] = f"not a string (h5py reads a {type(handle.attrs[name]).__name__})"
            elif len(text) > max_text:
                too_large[name] = len(text)
            else:
                attrs[name] = text
    return {"attrs": attrs, "too_large": too_large, "odd": odd}


def datasets(source: object, limit: int) -> dict:
    """Every dataset's name, type, shape and contiguous byte range; h5py reads no data."""
    import h5py

    try:
        handle = h5py.File(source, "r")
    except Exception as exc:
        return {"error": f"not a readable HDF5 file: {exc}"}
    found: list[list[object]] = []

    def visit(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset) and len(found) <= limit:
            unfiltered = obj.chunks is None and not obj.id.get_create_plist().get_nfilters()
            offset = obj.id.get_offset() if unfiltered else None
            found.append([name, obj.dtype.str, list(obj.shape), offset, obj.id.get_storage_size()])

    with handle:
        handle.visititems(visit)
    if len(found) > limit:
        return {"error": f"more than {limit} datasets"}
    return {"datasets": found}


def answer(request: dict) -> dict:
    if request.get("datasets"):
        with open(request["path"], "rb") as source:
            if os.fstat(source.fileno()).st_size != int(request["size"]):
                return {"error": "the file changed size"}
            return datasets(source, int(request["max_datasets"]))
    max_text = int(request["max_text"])
    size = int(request["size"])
    if "path" not in request:
        data = sys.stdin.buffer.read(size)
        if len(data) != size:
            return {"error": "the file's bytes did not arrive"}
        return read(io.BytesIO(data), max_text)
    try:
        source = open(request["path"], "rb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        return {"error": f"cannot reopen the file: {exc}"}
    with source:
        if os.fstat(source.fileno()).st_size != size:
            return {"error": "the file changed size during the scan"}
        return read(source, max_text)


def reply(result: dict) -> None:
    sys.stdout.buffer.write(json.dumps(result, ensure_ascii=False).encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()


def main(argv: list[str]) -> int:
    limit_memory(int(argv[1]))
    try:
        import h5py  # noqa: F401
    except (ImportError, MemoryError) as exc:
        from importlib.util import find_spec

        if find_spec("h5py") is None:
            broken: dict[str, object] = {"error": f"h5py is not installed ({exc})"}
        else:  # its shared libraries did not fit in the address space
            broken = {"error": "h5py could not be loaded within the memory limit", "memory": True}
        for line in iter(sys.stdin.buffer.readline, b""):
            request = json.loads(line)
            if "path" not in request:  # take the payload, so the parent can finish sending it
                sys.stdin.buffer.read(int(request["size"]))
            reply(broken)
            return 1
        return 1
    for line in iter(sys.stdin.buffer.readline, b""):
        try:
            result = answer(json.loads(line))
        except MemoryError:
            reply({"error": "ran out of memory", "memory": True})
            return 1
        except (ValueError, KeyError, TypeError) as exc:
            reply({"error": f"bad request: {exc}"})
            return 1
        reply(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
