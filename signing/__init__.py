"""Signing and verification (OMS v1.0, OpenSSF model_signing compatible), installed as
`aisbom.signing`.

Layers, each importing only the ones above it in this list:
  errors      typed errors carrying their exit code
  hashers     the hashers and file handles signing hashes through (aisbom.hashing), errors typed
  verify      expected vs actual manifest, readable diff
  shards      shard serialization: PATH:START:END resources, their layout checked, hashed, compared
  manifest    walk a model, hash its files (whole, several at a time, or in shards)
  resource_names
              how a signature names its files (aisbom.relative_paths; "." for a single file)
  bundle      Sigstore bundle v0.3 JSON with a DSSE envelope: write, read, check the shape
  compat_v0_2 model_signing v0.2.0's statement and signature encoding
  statement   manifest <-> OMS in-toto statement (deterministic bytes; checked on the way in)
  base        the Signer / Verifier interfaces
  providers   where a signing key lives (PEM file, PKCS #11 token, cloud KMS), one interface
  sigstore_trust
              which Sigstore instance, and its trust root (refreshed through TUF, or offline)
  keys, certificate, keyless
              the three signing methods, each a signer paired with a verifier
  api         sign_model / verify_model, what the CLI commands call; verify_hashes (a model
              against digests from elsewhere: an AI-BOM) and verify_bytes (a BOM read once)
Nothing here imports sigstore-python, PyKCS11 or boto3 at import time.
"""
