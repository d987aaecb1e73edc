"""aisbom.toml: the assets a project declares, their relations and the system that uses them.

Edited through tomlkit, which keeps the user's comments, order and layout when `aisbom add`
or `aisbom remove` changes one table (and parses on Python 3.10, which has no tomllib):

    [system]
    name = "support-bot"
    # uses = ["chat-model", "system-prompt"]  # default: every asset no other asset depends on

    [assets.chat-model]
    kind = "model"
    source = "models/chat"          # a path relative to this file, or hf://…, https://…
    license = "apache-2.0"
    trained_on = ["faq"]            # datasets (by name) the model was trained or fine-tuned on
    fine_tuned_from = "base-model"  # the model (by name) it was fine-tuned from

Unknown keys are errors, not ignored: a misspelt `trained-on` must not silently drop a relation.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from aisbom.atomic_file import write_atomically
from aisbom.errors import AisbomError
from aisbom.project.values import ASSET_NAME

MANIFEST_NAME = "aisbom.toml"
KINDS = ("model", "dataset", "prompt", "config")
# Kinds whose every change is audited (EN 304 223 5.2.4-3: system prompts and model configuration).
AUDITED_KINDS = frozenset({"prompt", "config"})

_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ASSET_KEYS = ("kind", "source", "license", "description", "justification", "trained_on", "fine_tuned_from")
_SYSTEM_KEYS = ("name", "version", "description", "uses")
_AUDIT_KEYS = ("diffs",)
_TOP_KEYS = ("system", "assets", "audit", "scan")  # [scan]: read by aisbom.config

TEMPLATE = """\
# The AI assets of this system: models, datasets, prompts and configs, and how they relate
# (EN 304 223 5.2.1-1). `aisbom add KIND SOURCE` adds one and keeps your comments.
# aisbom.lock records what aisbom resolved (hashes, revisions, times): commit both files.
# aisbom-audit.jsonl logs every change of a prompt or config (5.2.4-3): commit it too.

[system]
name = {name}
# version = "1.0"
# uses = ["model-name", "prompt-name"]  # default: every asset no other asset depends on

# [audit]
# diffs = true  # also log a unified diff of each prompt/config change (keeps copies in .aisbom/)
"""


class ManifestError(AisbomError):
    """aisbom.toml cannot be read, or says something inconsistent."""


def is_remote(source: str) -> bool:
    return bool(_REMOTE.match(source))


@dataclass(frozen=True)
class Asset:
    name: str
    kind: str  # one of KINDS
    source: str  # a path relative to the project root ('/'-separated), or a URL (hf://, https://)
    license: str | None = None
    description: str | None = None
    justification: str | None = None  # why it is used although not well documented (5.2.3-2)
    trained_on: tuple[str, ...] = ()  # dataset names (models only)
    fine_tuned_from: str | None = None  # model name (models only)

    @property
    def remote(self) -> bool:
        return is_remote(self.source)

    @property
    def audited(self) -> bool:
        return self.kind in AUDITED_KINDS

    @property
    def depends_on(self) -> tuple[str, ...]:
        return self.trained_on + ((self.fine_tuned_from,) if self.fine_tuned_from else ())

    def local_path(self, root: Path) -> Path:
        return Path(self.source) if Path(self.source).is_absolute() else root / self.source


@dataclass(frozen=True)
class System:
    name: str
    version: str | None = None
    description: str | None = None
    uses: tuple[str, ...] | None = None  # None: every asset no other asset depends on


class Manifest:
    """One aisbom.toml: the parsed, checked assets, and the tomlkit document to edit."""

    def __init__(self, path: Path, document: Any) -> None:
        self.path = path
        self._doc = document
        self.system, self.assets, self.audit_diffs = _parse(document, str(path))

    @property
    def root(self) -> Path:
        return self.path.parent

    @classmethod
    def load(cls, path: Path) -> Manifest:
        import tomlkit
        from tomlkit.exceptions import ParseError

        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ManifestError("no such file", path=str(path)) from None
        except OSError as exc:
            raise ManifestError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
        except UnicodeDecodeError:
            raise ManifestError("not UTF-8 text", path=str(path)) from None
        try:
            document = tomlkit.parse(text)
        except ParseError as exc:
            raise ManifestError(f"not valid TOML: {exc}", path=str(path)) from None
        return cls(path, document)

    @classmethod
    def new(cls, path: Path, system_name: str) -> Manifest:
        import tomlkit

        return cls(path, tomlkit.parse(TEMPLATE.format(name=tomlkit.string(system_name).as_string())))

    def roots(self) -> tuple[str, ...]:
        """The assets the system uses directly: as declared, or every asset nothing depends on."""
        if self.system.uses is not None:
            return self.system.uses
        needed = {d for a in self.assets.values() for d in a.depends_on}
        return tuple(name for name in self.assets if name not in needed)

    def add(self, asset: Asset) -> None:
        """Add a new asset table at the end. Raises ManifestError if the result is inconsistent."""
        import tomlkit

        if asset.name in self.assets:
            raise ManifestError(f"an asset named {asset.name!r} is already declared", path=str(self.path))
        table = tomlkit.table()
        table.add("kind", asset.kind)
        table.add("source", asset.source)
        for key in ("license", "description", "justification"):
            value = getattr(asset, key)
            if value:
                table.add(key, value)
        if asset.trained_on:
            table.add("trained_on", list(asset.trained_on))
        if asset.fine_tuned_from:
            table.add("fine_tuned_from", asset.fine_tuned_from)
        if "assets" not in self._doc:
            self._doc.add("assets", tomlkit.table(is_super_table=True))
        self._doc["assets"].add(asset.name, table)
        self._reparse()

    def remove(self, name: str) -> None:
        if name not in self.assets:
            raise ManifestError(f"no asset named {name!r} is declared", path=str(self.path))
        users = [a.name for a in self.assets.values() if name in a.depends_on]
        if users:
            verb = "depends" if len(users) == 1 else "depend"
            raise ManifestError(
                f"{name!r} cannot be removed: {', '.join(users)} {verb} on it",
                path=str(self.path),
            )
        del self._doc["assets"][name]
        uses = self._doc.get("system", {}).get("uses")
        if uses is not None and name in [str(u) for u in uses]:
            uses.remove(name)
        self._reparse()

    def text(self) -> str:
        import tomlkit

        return tomlkit.dumps(self._doc)

    def save(self) -> None:
        write_atomically(self.path, self.text())

    def _reparse(self) -> None:
        self.system, self.assets, self.audit_diffs = _parse(self._doc, str(self.path))


def find_manifest(start: Path) -> Path | None:
    """The nearest aisbom.toml in `start` or a parent directory, as git finds its repository."""
    here = start.resolve()
    for directory in (here, *here.parents):
        candidate = directory / MANIFEST_NAME
        if candidate.is_file():
            return candidate
    return None


def normalize_source(source: str, root: Path, cwd: Path) -> str:
    """A URL as given; a local path relative to the project root ('/'-separated) when it is inside
    it, so the manifest works in any checkout, else absolute."""
    if is_remote(source):
        return source
    absolute = Path(os.path.abspath(cwd / source))
    try:
        return absolute.relative_to(Path(os.path.abspath(root))).as_posix() or "."
    except ValueError:
        return absolute.as_posix()


def default_name(source: str) -> str:
    """A name derived from the source: the repository or file name without its extension."""
    if is_remote(source):
        rest = _REMOTE.sub("", source).split("?", 1)[0].split("#", 1)[0].rstrip("/")
        rest = rest.split("@", 1)[0] if source.startswith("hf://") else rest
        last = rest.rsplit("/", 1)[-1]
    else:
        last = PurePosixPath(source.replace(os.sep, "/")).name or Path(os.getcwd()).name
    stem = last.split(".", 1)[0] if not last.startswith(".") else last.lstrip(".")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", stem or last).strip("-.") or "asset"
    return name[:128]


def _parse(document: Any, where: str) -> tuple[System, dict[str, Asset], bool]:
    data = document.unwrap()

    def fail(message: str) -> ManifestError:
        return ManifestError(message, path=where)

    _check_keys(data, _TOP_KEYS, "aisbom.toml", fail)
    audit = data.get("audit", {})
    if not isinstance(audit, dict):
        raise fail("[audit] must be a table")
    _check_keys(audit, _AUDIT_KEYS, "[audit]", fail)
    diffs = audit.get("diffs", False)
    if not isinstance(diffs, bool):
        raise fail("[audit] diffs must be true or false")
    system_table = data.get("system", {})
    if not isinstance(system_table, dict):
        raise fail("[system] must be a table")
    _check_keys(system_table, _SYSTEM_KEYS, "[system]", fail)
    name = system_table.get("name")
    if name is not None and not (isinstance(name, str) and name.strip()):
        raise fail("[system] name must be a non-empty string")
    uses = system_table.get("uses")
    system = System(
        name=name or Path(where).resolve().parent.name or "system",
        version=_optional_string(system_table, "version", "[system]", fail),
        description=_optional_string(system_table, "description", "[system]", fail),
        uses=None if uses is None else _names(uses, "[system] uses", fail),
    )

    assets_table = data.get("assets", {})
    if not isinstance(assets_table, dict):
        raise fail("expected [assets.NAME] tables")
    assets: dict[str, Asset] = {}
    for asset_name, table in assets_table.items():
        label = f"[assets.{asset_name}]"
        if not ASSET_NAME.fullmatch(asset_name):  # ('$' would let a final newline through)
            raise fail(
                f"{label}: a name is letters, digits, '.', '_' and '-', starting with a letter or digit"
            )
        if not isinstance(table, dict):
            raise fail(f"{label} must be a table")
        _check_keys(table, _ASSET_KEYS, label, fail)
        kind = table.get("kind")
        if kind not in KINDS:
            raise fail(f"{label}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        source = table.get("source")
        if not isinstance(source, str) or not source.strip():
            raise fail(f"{label}: source must be a path or URL")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in source):
            raise fail(f"{label}: source contains a control character")
        trained_on = _names(table.get("trained_on", []), f"{label} trained_on", fail)
        base = _optional_string(table, "fine_tuned_from", label, fail)
        if (trained_on or base) and kind != "model":
            raise fail(f"{label}: only a model can be trained_on datasets or fine_tuned_from a model")
        assets[asset_name] = Asset(
            name=asset_name,
            kind=kind,
            source=source,
            license=_optional_string(table, "license", label, fail),
            description=_optional_string(table, "description", label, fail),
            justification=_optional_string(table, "justification", label, fail),
            trained_on=trained_on,
            fine_tuned_from=base,
        )
    _check_relations(system, assets, fail)
    return system, assets, diffs


def _check_relations(system: System, assets: dict[str, Asset], fail: Any) -> None:
    for asset in assets.values():
        label = f"[assets.{asset.name}]"
        for dataset in asset.trained_on:
            if dataset not in assets:
                raise fail(f"{label}: trained_on names {dataset!r}, which is not declared")
            if assets[dataset].kind != "dataset":
                raise fail(f"{label}: trained_on names {dataset!r}, a {assets[dataset].kind}, not a dataset")
        base = asset.fine_tuned_from
        if base is not None:
            if base not in assets:
                raise fail(f"{label}: fine_tuned_from names {base!r}, which is not declared")
            if assets[base].kind != "model":
                raise fail(f"{label}: fine_tuned_from names {base!r}, a {assets[base].kind}, not a model")
            seen = [asset.name]
            while base is not None:
                if base in seen:
                    raise fail(f"{label}: fine_tuned_from makes a cycle: {' -> '.join([*seen, base])}")
                seen.append(base)
                base = assets[base].fine_tuned_from
    for used in system.uses or ():
        if used not in assets:
            raise fail(f"[system] uses names {used!r}, which is not declared")


def _check_keys(table: dict[str, Any], known: tuple[str, ...], label: str, fail: Any) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise fail(f"{label}: unknown key {unknown[0]!r} (known: {', '.join(known)})")


def _optional_string(table: dict[str, Any], key: str, label: str, fail: Any) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(f"{label}: {key} must be a string")
    return value.strip() or None


def _names(value: Any, label: str, fail: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(f"{label} must be a list of asset names")
    return tuple(dict.fromkeys(value))
