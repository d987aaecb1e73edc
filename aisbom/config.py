"""Scan settings from a file: `[tool.aisbom]` in pyproject.toml, or `[scan]` in aisbom.toml.

The nearest file at or above the current directory that holds such a table is used (aisbom.toml
before pyproject.toml in the same directory); `aisbom --config FILE` names one, `--no-config`
uses none. Options given on the command line override the file. Every value is checked when the
file is read; allow files are relative to the file's directory. Where a value came from is kept
(`aisbom config` prints it, and `scan` names the file on stderr): a settings file can weaken a
scan (a higher fail_on, exclusions, allow files), so it is never applied silently.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aisbom.errors import UsageError
from aisbom.limits import Limits
from aisbom.severity import Severity

# setting -> what it is, for errors and `aisbom config`. Each is the `aisbom scan` option of the
# same name (allow: --allow, format: --format); limits is a table of aisbom.limits.Limits fields.
SETTINGS: dict[str, str] = {
    "fail_on": "severity at or above which a finding fails the scan",
    "strict": "fail on anything outside the allowlist",
    "allow": "allow files of extra trusted globals",
    "allow_dangerous": "allow files may silence known code-execution gadgets",
    "include": "globs of the files to scan",
    "exclude": "globs of the files to leave out",
    "format": "report format",
    "limits": "resource limits (aisbom.limits.Limits fields)",
}
FORMATS = ("text", "json", "sarif", "cyclonedx", "html")
FAIL_ON = tuple(s.label for s in Severity if s >= Severity.LOW)


@dataclass(frozen=True)
class Settings:
    """The scan settings a configuration file gives."""

    path: Path  # the file
    table: str  # "[tool.aisbom]" or "[scan]"
    values: Mapping[str, Any]  # checked: str, bool, tuple[str, ...] / tuple[Path, ...], dict[str, int|float]

    @property
    def origin(self) -> str:
        return f"{self.path} {self.table}"

    def limits(self) -> Limits | None:
        overrides = self.values.get("limits")
        return dataclasses.replace(Limits(), **overrides) if overrides else None

    def default_map(self) -> dict[str, dict[str, Any]]:
        """click's default_map: the file's values as the defaults of `scan` and `bom` (which the
        command line then overrides)."""
        names = {"allow": "allow_files", "format": "output_format"}
        scan = {names.get(k, k): v for k, v in self.values.items() if k != "limits"}
        bom = {k: v for k, v in scan.items() if k in ("fail_on", "strict", "allow_files", "allow_dangerous")}
        return {"scan": scan, "bom": bom}


def find_settings(start: Path) -> Settings | None:
    """The settings of the nearest directory at or above `start` whose aisbom.toml has a [scan]
    table or whose pyproject.toml has [tool.aisbom]; None if there is none."""
    for directory in (start, *start.parents):
        for name in ("aisbom.toml", "pyproject.toml"):
            candidate = directory / name
            if candidate.is_file():
                settings = load_settings(candidate, required=False)
                if settings is not None:
                    return settings
    return None


def load_settings(path: Path, *, required: bool = True) -> Settings | None:
    """The settings in `path` (an aisbom.toml or a pyproject.toml, by its name; any other name
    is read as a [scan] table). Raises UsageError naming the file and the setting."""
    document = _read_toml(path)
    if path.name == "pyproject.toml":
        table_name = "[tool.aisbom]"
        tool = document.get("tool", {})
        table = tool.get("aisbom") if isinstance(tool, dict) else None
    else:
        table_name = "[scan]"
        table = document.get("scan")
    if table is None:
        if required:
            raise UsageError(f"no {table_name} table", path=str(path))
        return None
    if not isinstance(table, dict):
        raise UsageError(f"{table_name} must be a table", path=str(path))
    return Settings(path, table_name, _checked(table, path, table_name))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read settings: {getattr(exc, 'strerror', None) or exc}", path=str(path)
        ) from None
    # Every command reads its settings, `--help` included: tomllib (Python 3.11+) parses a
    # pyproject.toml in 2 ms of CPU, tomlkit (a dependency already, for 3.10) in 30 ms.
    if sys.version_info >= (3, 11):
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"not valid TOML: {exc}", path=str(path)) from None
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        return tomlkit.parse(text).unwrap()
    except ParseError as exc:
        raise UsageError(f"not valid TOML: {exc}", path=str(path)) from None


def _checked(table: dict[str, Any], path: Path, table_name: str) -> dict[str, Any]:
    def fail(message: str) -> UsageError:
        return UsageError(f"{table_name} {message}", path=str(path))

    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in SETTINGS:
            raise fail(f"unknown setting {key!r} (known: {', '.join(SETTINGS)})")
        if key in ("fail_on", "format"):
            choices = FAIL_ON if key == "fail_on" else FORMATS
            if value not in choices:
                raise fail(f"{key} must be one of {', '.join(choices)}, got {value!r}")
            values[key] = value
        elif key in ("strict", "allow_dangerous"):
            if not isinstance(value, bool):
                raise fail(f"{key} must be true or false")
            values[key] = value
        elif key in ("allow", "include", "exclude"):
            if not (isinstance(value, list) and all(isinstance(v, str) and v for v in value)):
                raise fail(f"{key} must be a list of strings")
            if key == "allow":
                allow = tuple((path.parent / v).resolve() for v in value)
                missing = [str(a) for a in allow if not a.is_file()]
                if missing:
                    raise fail(f"allow: no such file: {', '.join(missing)}")
                values[key] = allow
            else:
                values[key] = tuple(value)
        else:
            values[key] = _limits(value, fail)
    return values


def _limits(value: Any, fail: Any) -> dict[str, int | float]:
    if not isinstance(value, dict):
        raise fail("limits must be a table")
    fields = {f.name: f.type for f in dataclasses.fields(Limits)}
    checked: dict[str, int | float] = {}
    for name, number in value.items():
        if name not in fields:
            raise fail(f"limits: unknown limit {name!r} (see aisbom/limits.py)")
        whole = fields[name] in (int, "int")
        if isinstance(number, bool) or not isinstance(number, int if whole else (int, float)) or number <= 0:
            raise fail(f"limits: {name} must be a positive {'integer' if whole else 'number'}")
        checked[name] = number
    return checked
