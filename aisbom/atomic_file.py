"""Files written whole or not at all: reports, BOMs, signatures, the lock and aisbom.toml.

The content goes to a temporary file beside the target, is flushed to disk, and is renamed over
the target: a reader, or the next run after an interrupted one (SIGINT, SIGTERM, a full disk),
finds the old file or the new one, never half of one. On any failure the temporary file is
removed and the error raised.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: str | bytes, *, mode: int | None = None) -> None:
    """Replace `path` with `data` (text is written as UTF-8 with '\\n' line ends). The file keeps
    its permissions; a new one gets `mode`, else what the umask leaves of 0o666. Raises OSError."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    content = data.encode("utf-8") if isinstance(data, str) else data
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _mode_for(path, mode))  # mkstemp creates 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode_for(path: Path, mode: int | None) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        pass
    if mode is not None:
        return mode
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
