"""The pickle family, installed as `aisbom.scanners.pickles`: pickles and what wraps them.

`engine` runs a pickle's opcodes symbolically; `policy` (with the curated `allowlist`) judges
each global it imports; `stream` scans consecutive pickles with them and reports. The formats
that unwrap to pickles: plain pickle and joblib files (`pickle_file`, with `joblib_arrays`, the
hook that reads raw arrays inside a joblib stream), NumPy `.npy` arrays (`numpy_arrays`) and
PyTorch checkpoints, TorchScript archives and legacy files (`pytorch`).
"""
