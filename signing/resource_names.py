"""How a signature names the files it covers: a normalized relative `/` path for each
(`aisbom.relative_paths`), or "." for the only file of a single-file model, as model_signing 1.1.1
writes it. Every statement encoding (OMS v1.0, model_signing v0.2.0) holds names to this."""

from __future__ import annotations

from pathlib import Path

from aisbom.relative_paths import name_problem
from aisbom.signing.errors import StatementError

# Where a directory's signature goes, inside it (model_signing's name).
DEFAULT_SIGNATURE_NAME = "model.sig"

# model_signing 1.1.1 names the only resource of a single-file model "." (OMS says basename).
SINGLE_FILE_COMPAT_NAME = "."


def default_signature_path(target: Path) -> Path:
    """`TARGET/model.sig` for a directory (model_signing's name), `TARGET.sig` for a file. Here,
    not in `api`: a release names its signatures before its scan, without the signing modules."""
    target = Path(target)
    if target.is_dir():
        return target / DEFAULT_SIGNATURE_NAME
    return target.with_name(target.name + ".sig")


def check_resource_name(name: object, *, what: str = "resource name") -> str:
    """A resource name must be a normalized relative `/` path with no `..`, `.` or empty part.

    `what` names the thing in the error."""
    problem = name_problem(name)
    if problem is not None:
        raise StatementError(f"{what} {name!r} {problem}")
    assert isinstance(name, str)
    return name
