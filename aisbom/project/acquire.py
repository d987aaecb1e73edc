"""Get an asset's bytes onto this machine and scan them before anything else uses them.

Local paths are read where they are, relative to the project root. Remote sources (hf://,
https://) go through `aisbom.sources.resolve`, which downloads into its cache and records where
and when the bytes came from; the scan then checks its hashes against the ones the source
published (`pipeline.scan_resolved`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aisbom.errors import AisbomError
from aisbom.pipeline import ScanReport, scan_resolved
from aisbom.policy import Policy
from aisbom.project.manifest import is_remote
from aisbom.project.tree import project_files, without_project_files
from aisbom.sources import Resolved, resolve


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
) -> Resolved:
    """The bytes of `source` (a manifest source string) on this machine."""
    if not is_remote(source):
        path = Path(source) if Path(source).is_absolute() else root / source
        return Resolved(path, None, None)
    options = options or FetchOptions()
    try:
        return resolve(
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


def scan_acquired(
    acquired: Resolved, root: Path, policy: Policy, progress: Callable[[int], None] | None = None
) -> ScanReport:
    """Scan every file of the asset (not the project's own files, should they lie inside it).
    For a fetched asset, the scan's hashes must then match those its source published."""
    report = scan_resolved(acquired, policy=policy, progress=progress)
    skip = without_project_files({f.path: f for f in report.files}, acquired.path, project_files(root))
    if skip:
        report = dataclasses.replace(report, files=tuple(f for f in report.files if f.path not in skip))
    return report
