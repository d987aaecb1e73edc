"""Signing and verification (OMS v1.0, OpenSSF model_signing compatible)."""
