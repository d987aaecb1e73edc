"""Output formats: one module each, rendering a finished ScanReport."""
