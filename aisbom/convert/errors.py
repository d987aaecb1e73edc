"""Why a conversion or a static load did not happen. The CLI turns each into one line and an exit
code: 1 when the input is unsafe or needs code to rebuild, 2 when it cannot be read or written."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aisbom.errors import AisbomError

if TYPE_CHECKING:
    from aisbom.pipeline import ScanReport


class ConversionError(AisbomError):
    """The input is malformed, of a kind this path does not read, or holds a value safetensors
    cannot represent; or the output cannot be written. Nothing was written."""


class Unsupported(ConversionError):
    """A valid file that the static path does not read (a layout or format it does not know);
    `--sandbox` loads it with its own loader instead."""


class NeedsCode(AisbomError):
    """Rebuilding the input would need code to run (a class, a computed call): the static path
    never guesses what that code would have built."""


class UnsafeInput(AisbomError):
    """The scan of the input is not clean at the default policy (unsafe or incomplete)."""

    def __init__(self, message: str, report: ScanReport, *, path: str | None = None) -> None:
        super().__init__(message, path=path)
        self.report = report


class SandboxUnavailable(ConversionError):
    """The sandbox cannot be set up here; nothing was loaded."""
