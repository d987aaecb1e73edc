"""Which files of a target to scan: --include and --exclude globs (or the config file's).

A glob is matched against a file's path relative to the target ('/'-separated, `*` crossing
'/' as in fnmatch) and against its name alone, so `*.pkl` matches `sub/dir/model.pkl` and
`cache/*` everything under cache/. With include globs, only files matching one are scanned;
a file matching an exclude glob never is. What is left out is named in the report, never
silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Selection:
    """The --include and --exclude patterns of a scan."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def keeps(self, path: str) -> bool:
        if self.include and not _matches(path, self.include):
            return False
        return not _matches(path, self.exclude)


def _matches(path: str, globs: tuple[str, ...]) -> bool:
    name = path.rpartition("/")[2]
    return any(fnmatchcase(path, glob) or fnmatchcase(name, glob) for glob in globs)
