"""aisbom: protect the ML supply chain: scan, hash, sign and inventory AI assets."""

import os as _os

__version__ = "0.1.0"

# The design card keeps scanners/ and signing/ beside aisbom/ in the source tree, while an
# install puts them at aisbom/scanners and aisbom/signing. When this package is imported from
# a checkout (e.g. `python -m aisbom` in the repository root), look for them beside it too.
_checkout = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(__path__[0], "scanners")) and _os.path.isfile(
    _os.path.join(_checkout, "scanners", "registry.py")
):
    __path__.append(_checkout)
