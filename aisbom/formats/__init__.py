"""Output formats of a scan: one module each behind `interface.ReportFormat`, and the table that
names them for `--format`. Adding an output is one module and one line in FORMATS.

The table holds names, not classes: a format is imported when it is used, so `aisbom --help`
imports none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aisbom.formats.interface import ReportFormat

# --format name -> "module:class", in the order --help lists them.
FORMATS: dict[str, str] = {
    "text": "aisbom.formats.text:TextFormat",
    "json": "aisbom.formats.json_report:JsonFormat",
    "sarif": "aisbom.formats.sarif:SarifFormat",
    "cyclonedx": "aisbom.formats.cyclonedx:CycloneDxFormat",
    "html": "aisbom.formats.html:HtmlFormat",
}


def get_format(name: str) -> ReportFormat:
    module_name, _, class_name = FORMATS[name].partition(":")
    module = importlib.import_module(module_name)  # safe: our own modules, from the table above
    return getattr(module, class_name)()  # type: ignore[no-any-return]
