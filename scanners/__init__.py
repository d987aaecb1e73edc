"""Format scanners. `registry.scan_blob` sniffs content and dispatches to the right one."""
