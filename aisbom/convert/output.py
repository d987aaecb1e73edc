"""What goes into the safetensors file: each tensor once, every other value as JSON metadata.

safetensors holds no shared memory. Tensors that are the same view of the same storage (weights
tied under two names) are written once under the first name in sorted order, and each other name
is recorded in `__metadata__` as `{other: kept}`, as `safetensors.torch.save_model` records the
names it drops. Tensors that overlap in a storage as *different* views cannot be written without
duplicating bytes that the checkpoint shares, or dropping one: refused. Views of one storage that
do not overlap (a flattened LSTM's weights) are separate tensors and written as such.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aisbom.convert.errors import ConversionError
from aisbom.convert.flatten import Flat
from aisbom.convert.layout import TensorView, tensor_bytes
from aisbom.convert.safetensors_file import OutTensor
from aisbom.scanners.safetensors.header import METHOD_KEY, SOURCE_KEY, SOURCE_SHA256_KEY

VALUES_KEY = "aisbom.values"  # JSON of every value that is not a tensor, by name
RESERVED = frozenset({"format", VALUES_KEY, SOURCE_KEY, SOURCE_SHA256_KEY, METHOD_KEY})


@dataclass(frozen=True)
class Planned:
    tensors: list[OutTensor]
    metadata: dict[str, str]
    aliases: dict[str, str]  # dropped name -> kept name


def plan(flat: Flat, *, framework: str | None, provenance: dict[str, str]) -> Planned:
    kept, aliases = _deduplicate(flat.tensors)
    tensors = [_out(name, view) for name, view in kept.items()]
    metadata: dict[str, str] = {}
    if framework:
        metadata["format"] = framework
    for dropped, name in sorted(aliases.items()):
        if dropped in RESERVED:
            raise ConversionError(f"a tensor named {dropped!r} cannot be recorded as an alias")
        metadata[dropped] = name
    if flat.values:
        metadata[VALUES_KEY] = json.dumps(flat.values, ensure_ascii=False, sort_keys=True)
    metadata.update(provenance)
    return Planned(tensors, metadata, aliases)


def _deduplicate(tensors: dict[str, TensorView]) -> tuple[dict[str, TensorView], dict[str, str]]:
    by_storage: dict[int, list[tuple[str, TensorView]]] = {}
    for name, view in tensors.items():
        if view.numel:
            by_storage.setdefault(id(view.storage), []).append((name, view))
    aliases: dict[str, str] = {}
    for group in by_storage.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda item: (item[1].byte_span(), item[0]))
        widest: tuple[str, TensorView] | None = None  # the view reaching furthest so far
        for name, view in group:
            first, end = view.byte_span()
            if widest is not None and first < widest[1].byte_span()[1]:
                if not _same_view(widest[1], view):
                    raise ConversionError(
                        f"tensors {widest[0]!r} and {name!r} are different views of the same bytes; "
                        "safetensors cannot share memory, and writing both would duplicate it"
                    )
                aliases[name] = widest[0]
                continue
            if widest is None or end > widest[1].byte_span()[1]:
                widest = (name, view)
    # The kept name of each tied group is its smallest, as save_model keeps it.
    groups: dict[str, list[str]] = {}
    for dropped, root in aliases.items():
        groups.setdefault(root, [root]).append(dropped)
    final: dict[str, str] = {}
    for members in groups.values():
        keep = min(members)
        final.update({m: keep for m in members if m != keep})
    return {n: v for n, v in tensors.items() if n not in final}, final


def _same_view(a: TensorView, b: TensorView) -> bool:
    return (a.dtype, a.offset, a.shape, a.stride) == (b.dtype, b.offset, b.shape, b.stride)


def _out(name: str, view: TensorView) -> OutTensor:
    code = view.dtype.safetensors
    if code is None:
        raise ConversionError(f"tensor {name!r} is {view.dtype.name}, which safetensors has no type for")
    shape = view.shape
    if code == "F4":  # two 4-bit values per byte; safetensors counts the values
        shape = (*shape[:-1], shape[-1] * 2) if shape else (2,)
    storage = view.storage
    in_place = view.is_contiguous() and not (storage.big_endian and storage.dtype.swap_unit > 1)
    return OutTensor(
        name=name,
        dtype=code,
        shape=shape,
        nbytes=view.nbytes,
        itemsize=view.dtype.itemsize,
        chunks=lambda: tensor_bytes(view),
        span=(storage.data, storage.start + view.byte_span()[0]) if in_place else None,
    )
