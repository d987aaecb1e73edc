"""Signing and verification (OMS v1.0, OpenSSF model_signing compatible), installed as
`aisbom.signing`.

Layers, each importing only the ones above it in this list:
  errors      typed errors carrying their exit code
  manifest    walk a model, hash its files (aisbom.hashing, several at a time)
  statement   manifest <-> OMS in-toto statement (deterministic bytes; checked on the way in,
              file names by aisbom.relative_paths)
  bundle      Sigstore bundle v0.3 JSON with a DSSE envelope: write, read, check the shape
  base        the Signer / Verifier interfaces
  keys, certificate, keyless
              the three signing methods, each a signer paired with a verifier
  verify      expected vs actual manifest, readable diff
  api         sign_model / verify_model, what the CLI commands call; verify_hashes (a model
              against digests from elsewhere: an AI-BOM) and verify_bytes (a BOM read once)
Nothing here imports sigstore-python at import time.
"""
