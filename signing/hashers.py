"""The hashers and file handles signing hashes through (`aisbom.hashing`), with what goes wrong
(an algorithm this installation lacks, a file that is gone or no longer regular) as one
TargetReadError naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

import aisbom.hashing as hashing
from aisbom.signing.errors import TargetReadError


def new_hasher(hash_type: str) -> Any:
    try:
        return hashing.new_hasher(hash_type)
    except hashing.UnsupportedHash as exc:
        raise TargetReadError(str(exc)) from None


def open_file(path: Path, *, follow_symlinks: bool = False) -> BinaryIO:
    """A file the walk saw as regular, opened for hashing (`hashing.open_regular`)."""
    try:
        return hashing.open_regular(path, follow_symlinks=follow_symlinks)
    except hashing.NotRegularFile:
        raise TargetReadError("not a regular file", path=str(path)) from None
    except OSError as exc:
        raise TargetReadError(f"cannot open: {exc.strerror or exc}", path=str(path)) from None
