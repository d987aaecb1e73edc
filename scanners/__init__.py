"""Format scanners, installed as `aisbom.scanners`: every file is read as each format a loader
could take it for, and nothing is ever loaded or run.

`frame` holds what every scanner works in (the ScanContext, the registry of formats and their
checks, content sniffing, and `dispatch.scan_blob`, which sniffs bytes and runs their checks);
`readers` the bounded low-level readers the families share. One subpackage per format family:
`pickles` (pickle, joblib, NumPy, PyTorch), `archives` (zip, tar, 7z, compressed streams),
`keras`, `tensorflow` (and TFLite), `templates` (Jinja chat templates), `onnx`, `safetensors`
and `gguf`. docs/architecture.md says how to add a format.
"""
