"""The frame every scanner works in, installed as `aisbom.scanners.frame`.

`context`: what a check receives (the bytes, and a ScanContext to report findings and scan nested
content through); `sniff`: a format from the bytes, never from the name; `registry`: the table
from a format to its checks, and `scan_blob`, which sniffs and runs them.
"""
