"""Where a private key's password, or a token's PIN, comes from."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aisbom.signing.errors import KeyMaterialError

PASSWORD_ENV = "AISBOM_KEY_PASSWORD"
MAX_PASSWORD_FILE = 64 << 10


@dataclass(frozen=True)
class Password:
    """In this order: `value` (given in code, through the Python API), `file` (its first line),
    $AISBOM_KEY_PASSWORD, then `prompt(what)` (the CLI asks on a terminal). None of them is read
    until a key turns out to need it."""

    file: Path | None = None
    prompt: Callable[[str], bytes] | None = None
    value: bytes | None = None

    def get(self, what: str) -> bytes | None:
        if self.value is not None:
            return self.value
        if self.file is not None:
            return _first_line(self.file)
        if os.environ.get(PASSWORD_ENV):
            return os.environ[PASSWORD_ENV].encode()
        if self.prompt is not None:
            return self.prompt(what)
        return None

    def require(self, what: str, path: str | None = None) -> bytes:
        secret = self.get(what)
        if secret is None:
            raise KeyMaterialError(
                f"{what} needed: give --password-file FILE or set {PASSWORD_ENV}", path=path
            )
        return secret


def _first_line(path: Path) -> bytes:
    """The file's first line, without its line ending (a trailing newline is not part of it)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_PASSWORD_FILE + 1)
    except OSError as exc:
        raise KeyMaterialError(f"cannot read password file: {exc.strerror or exc}", path=str(path)) from None
    if len(data) > MAX_PASSWORD_FILE:
        raise KeyMaterialError("password file is too large to hold a password", path=str(path))
    return data.split(b"\n", 1)[0].removesuffix(b"\r")
