"""The CycloneDX AI-BOM: assets of a scan, their model cards, findings and the EN 304 223
evidence they give, as one checked CycloneDX 1.6 or 1.7 JSON document (see docs/bom.md).

Layers, each importing only those before it: `card` (facts; where the bytes came from is
`aisbom.provenance`, shared with the sources that record it) -> `assets`
(what the BOM describes) -> `etsi` (what that evidences of `etsi_catalogue`) -> `library` (what
cyclonedx-python-lib models) and `extensions` (what it does not) -> `check` -> `build`.
`diff` reads finished BOMs as plain JSON.
"""
