"""Where a signing key lives, behind one small interface (`KeyProvider`, in `base`).

  pem      an ECDSA private key in a PEM file (encrypted or not)
  pkcs11   a key on a hardware token or HSM, named by a PKCS #11 URI (RFC 7512)
  kms      a key in a cloud KMS, named by a cosign-style URI (awskms://…)

Each provider holds one P-256/384/521 key, hands out its public key and signs a digest with
it; the key itself never leaves the provider. `KeySigner` and `CertificateSigner` wrap any
provider into an OMS bundle, and the bundle verifies with the public key alone (or the
certificate chain), whichever provider signed it. Optional libraries (PyKCS11, boto3) are
imported only when their provider is used.
"""
