"""Code a model makes its loader fetch from other Hugging Face repositories, looked up in the local
Hugging Face cache (never on the network) so that the pipeline scans it as it scans the model's own.

An auto_map value `org/repo--module.Class` (a `model-code-elsewhere` finding) makes transformers
import `module.py`, and the files it imports relatively, from that repository's `main` (unless
the caller passes code_revision); offline, from the snapshot the cache's `refs/main` names. The
`.py` files of that snapshot are what gets scanned; what they find is restated on the file that
made the reference, naming the repository, the commit and the file. The other repository's own
configs are not followed: the loader imports its code, not its references (one level deep). At
most `Limits.max_code_repositories` repositories are looked up per scan. A repository the cache
does not hold, or not at refs/main, could not be checked: a finding says so and the scan is
incomplete.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from aisbom.findings import Finding
from aisbom.limits import Limits
from aisbom.severity import Severity

REFERENCE_RULE = "model-code-elsewhere"
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REVISION = "main"  # what transformers fetches another repository's code from


@dataclass(frozen=True)
class Lookup:
    """One other repository: where the cache holds it, or why it could not be checked."""

    repository: str
    module_file: str  # "modeling_x.py", the file the reference imports
    referred_by: Finding  # the first model-code-elsewhere finding that names it
    snapshot: Path | None = None
    commit: str | None = None
    why_not: str | None = None


def lookups(findings: Iterable[Finding], cache: Path, limits: Limits) -> list[Lookup]:
    """The other repositories the findings name, once each, in order, looked up in `cache`."""
    first: dict[str, Finding] = {}
    for finding in findings:
        if finding.rule == REFERENCE_RULE and "repository" in dict(finding.evidence):
            first.setdefault(dict(finding.evidence)["repository"], finding)
    found = []
    for index, (repository, finding) in enumerate(first.items()):
        module = dict(finding.evidence).get("reference", "").split(".")[0]
        lookup = Lookup(repository, f"{module}.py", finding)
        if index >= limits.max_code_repositories:
            why = f"over the limit of {limits.max_code_repositories} other repositories a scan looks up"
            found.append(_unchecked(lookup, why))
        else:
            found.append(_in_cache(lookup, cache))
    return found


def _in_cache(lookup: Lookup, cache: Path) -> Lookup:
    module = lookup.module_file.removesuffix(".py")
    if not _REPO_ID.match(lookup.repository) or not _MODULE.match(module):
        return _unchecked(lookup, "the reference is not a repository id and a module name")
    repo = cache / f"models--{lookup.repository.replace('/', '--')}"
    try:
        commit = (repo / "refs" / _REVISION).read_text(encoding="ascii").strip()
    except (OSError, UnicodeError):
        return _unchecked(lookup, f"the Hugging Face cache ({cache}) does not hold it at refs/{_REVISION}")
    snapshot = repo / "snapshots" / commit
    if not _COMMIT.match(commit) or not snapshot.is_dir():
        why = f"the cache's refs/{_REVISION} names no snapshot it holds ({commit[:60]!r})"
        return _unchecked(lookup, why)
    if not (snapshot / lookup.module_file).is_file():
        return _unchecked(lookup, f"its cached commit {commit} has no {lookup.module_file}")
    return Lookup(lookup.repository, lookup.module_file, lookup.referred_by, snapshot, commit)


def _unchecked(lookup: Lookup, why: str) -> Lookup:
    return Lookup(lookup.repository, lookup.module_file, lookup.referred_by, why_not=why)


def is_code(path: str) -> bool:
    """The files of the other repository that are scanned: its Python modules."""
    return path.endswith(".py")


def unchecked(lookup: Lookup) -> Finding:
    """A repository whose code could not be scanned: the scan is incomplete."""
    where = lookup.referred_by
    return Finding(
        "model-code-elsewhere-unchecked",
        Severity.HIGH,
        f"{lookup.repository}: its code ({lookup.module_file}) could not be checked: {lookup.why_not}; "
        "run `aisbom scan hf://" + lookup.repository + "` to scan it",
        where.path,
        where.members,
        evidence=(("repository", lookup.repository), ("why", lookup.why_not or "")),
    )


def restated(lookup: Lookup, findings: Iterable[Finding], hashes: Mapping[str, str | None]) -> list[Finding]:
    """What the scan of the other repository's code found, on the file that made the reference,
    after the edge itself: the repository, the commit scanned and each file's SHA-256."""
    assert lookup.commit is not None
    where = lookup.referred_by
    at = f"{lookup.repository}@{lookup.commit}"
    files = ", ".join(f"{path} sha256:{sha}" if sha else path for path, sha in sorted(hashes.items()))
    edge = Finding(
        "model-code-elsewhere-scanned",
        Severity.INFO,
        f"{lookup.repository}: the Hugging Face cache holds refs/{_REVISION} at commit {lookup.commit}; "
        f"its code was scanned, findings below: {files}",
        where.path,
        where.members,
        evidence=(
            ("repository", lookup.repository),
            ("revision", lookup.commit),
            ("files", files),
        ),
    )
    found = [edge]
    for finding in findings:
        found.append(
            Finding(
                finding.rule,
                finding.severity,
                f"{at}/{finding.path}: {finding.message}",
                where.path,
                where.members,
                finding.offset,
                (
                    *finding.evidence,
                    ("repository", lookup.repository),
                    ("revision", lookup.commit),
                    ("file", finding.path),
                ),
            )
        )
    return found
