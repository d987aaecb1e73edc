"""aisbom: protect the ML supply chain: scan, hash, sign and inventory AI assets."""

__version__ = "0.1.0"
