"""One module per CLI command; `aisbom.cli` wires them into the click group."""
