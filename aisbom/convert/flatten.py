"""A checkpoint's object as safetensors can hold it: tensors under flat names, and every other
value kept as JSON.

Names join dict keys and list positions with dots, as `state_dict()` names parameters
(`{"model": {"fc": {"weight": t}}}` -> `model.fc.weight`; `{"state": {0: {...}}}` ->
`state.0....`). A part of the object that holds no tensor (an epoch, a config dict, the optimizer's
param_groups) is one JSON value under its name. A file whose object is a single tensor or array
names it after the file.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from aisbom.convert.errors import ConversionError
from aisbom.convert.layout import TensorView


@dataclass(frozen=True)
class Flat:
    tensors: dict[str, TensorView]  # in the order found; a tensor tied under two names appears twice
    values: dict[str, object]  # JSON-ready


def flatten(tree: object, stem: str) -> Flat:
    if isinstance(tree, TensorView):
        return Flat({stem: tree}, {})
    tensors: dict[str, TensorView] = {}
    values: dict[str, object] = {}
    holds = _holds_tensors(tree)

    def walk(node: object, name: str) -> None:
        if isinstance(node, TensorView):
            if name in tensors or name in values:
                raise ConversionError(f"two values would both be named {name!r}")
            tensors[name] = node
        elif holds.get(id(node)):
            items = node.items() if isinstance(node, dict) else enumerate(node)  # type: ignore[arg-type]
            for key, child in items:
                walk(child, f"{name}.{_part(key)}" if name else _part(key))
        else:
            if name in tensors or name in values:
                raise ConversionError(f"two values would both be named {name!r}")
            values[name] = as_json(node)

    walk(tree, "")
    if not tensors:
        raise ConversionError("it holds no tensors or arrays")
    return Flat(tensors, values)


def _part(key: object) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    raise ConversionError(f"a dict key of tensors ({key!r}) is not a string or an integer")


def _holds_tensors(tree: object) -> dict[int, bool]:
    """id(container) -> whether a tensor is somewhere inside it (computed once, bottom up)."""
    found: dict[int, bool] = {}
    stack: list[tuple[object, bool]] = [(tree, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, (dict, list, tuple)) or (id(node) in found and not done):
            continue
        children = list(node.values()) if isinstance(node, dict) else list(node)
        if done:
            found[id(node)] = any(isinstance(c, TensorView) or found.get(id(c), False) for c in children)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children)
    return found


def as_json(value: object) -> object:
    """A plain value as JSON: tuples and sets become lists, dict keys strings, bytes base64."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise ConversionError(f"a dict key ({key!r}) cannot be a JSON key")
            out[key if isinstance(key, str) else str(key)] = as_json(item)
        return out
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise ConversionError(f"the value {value!r} cannot be kept as JSON")
