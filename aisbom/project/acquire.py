"""Get an asset's bytes onto this machine and scan them before anything else uses them.

Local paths are read where they are. Remote sources (hf://, https://) go through
`aisbom.sources.resolve`, which downloads into its cache and records where and when the bytes
came from; it is imported only for them, so a build without it still handles local assets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aisbom.bom.provenance import Provenance
from aisbom.errors import AisbomError, UsageError
from aisbom.pipeline import ScanReport, scan_target
from aisbom.policy import Policy
from aisbom.project.manifest import is_remote
from aisbom.project.tree import project_files, without_project_files


@dataclass(frozen=True)
class Acquired:
    path: Path  # a file or directory holding the asset's bytes
    provenance: Provenance | None  # remote sources only
    kind_hint: str | None = None  # what the source says it is (e.g. a dataset repository)
    notes: tuple[str, ...] = ()  # how the bytes were obtained, when the user should know (Resolved.notes)

    @property
    def single_file(self) -> bool:
        return not self.path.is_dir()


@dataclass(frozen=True)
class FetchOptions:
    cache_dir: Path | None = None
    allow_http: bool = False


def acquire(
    source: str,
    root: Path,
    options: FetchOptions | None = None,
    *,
    expected_sha256: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Acquired:
    """The bytes of `source` (a manifest source string) on this machine."""
    if not is_remote(source):
        path = Path(source) if Path(source).is_absolute() else root / source
        return Acquired(path, None)
    options = options or FetchOptions()
    try:
        from aisbom.sources import resolve
    except ImportError:
        raise UsageError(
            f"{source}: remote sources need aisbom.sources, which this installation does not have"
        ) from None
    try:
        resolved = resolve(
            source,
            cache_dir=options.cache_dir,
            expected_sha256=expected_sha256,
            allow_http=options.allow_http,
            progress=progress,
        )
    except AisbomError:
        raise
    except OSError as exc:
        raise AisbomError(f"cannot fetch: {exc.strerror or exc}", path=source) from None
    return Acquired(Path(resolved.path), resolved.provenance, resolved.kind_hint, resolved.notes)


def scan_acquired(
    acquired: Acquired, root: Path, policy: Policy, progress: Callable[[int], None] | None = None
) -> ScanReport:
    """Scan every file of the asset (not the project's own files, should they lie inside it).
    For a fetched asset, the scan's hashes must then match those its source published."""
    report = scan_target(acquired.path, policy=policy, progress=progress)
    if acquired.provenance is not None:
        from aisbom.sources import check_scanned_hashes

        check_scanned_hashes(acquired.provenance, {f.path: f.sha256 for f in report.files})
    skip = without_project_files({f.path: f for f in report.files}, acquired.path, project_files(root))
    if skip:
        report = dataclasses.replace(report, files=tuple(f for f in report.files if f.path not in skip))
    return report
