"""Typed signing errors, each carrying the exit code the CLI should use.

Two families: `SigningError` itself means aisbom could not do its job (unreadable bundle,
bad key file, no identity token: exit 2); `VerificationFailure` means the job was done and the
answer is "no" (bad signature, unsafe manifest, files that differ: exit 1).
"""

from __future__ import annotations

from aisbom.errors import AisbomError
from aisbom.severity import ExitCode


class SigningError(AisbomError):
    """Signing or verification could not be carried out."""

    exit_code: ExitCode = ExitCode.ERROR


class BundleError(SigningError):
    """The signature file is unreadable or is not a well-formed OMS Sigstore bundle."""


class KeyMaterialError(SigningError):
    """A key, certificate or trust-root file is unreadable or unsupported."""


class TargetReadError(SigningError):
    """The model (or a file in it) cannot be read, or is something we refuse to hash."""


class KeylessError(SigningError):
    """Keyless (Sigstore) signing could not obtain an identity or reach Sigstore."""


class VerificationFailure(SigningError):
    """Verification ran and the model must not be trusted."""

    exit_code = ExitCode.UNSAFE


class SignatureInvalidError(VerificationFailure):
    """The signature does not verify with the trust material given."""


class StatementError(VerificationFailure):
    """The signed statement is not an acceptable OMS statement (wrong type, unsafe names …)."""


class UnsafePathError(VerificationFailure):
    """The model contains a path we refuse: a symlink that leaves it, or one not allowed."""
