"""Real key stores for the signing tests: a SoftHSM2 token made through the PKCS #11 API, and
keys in moto's KMS server (see the `softhsm` and `kms_server` fixtures in conftest.py)."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _signing_helpers import make_cert, write_pem
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

EC_PARAMS = {"p256": "06082a8648ce3d030107", "p384": "06052b81040022"}


@dataclass(frozen=True)
class Hsm:
    module: str
    label: str
    pin: str
    public: dict[str, Path]  # key label → its public key (PEM)
    leaf: Path  # certificate for the "p256" key
    root: Path  # the CA that issued it (trust anchor)

    def uri(self, key: str = "p256", *, pin: bool = True, module: str | None = None) -> str:
        query = f"module-path={module or self.module}" + (f"&pin-value={self.pin}" if pin else "")
        return f"pkcs11:token={self.label};object={key}?{query}"


def make_token_keys(module: str, directory: Path, token_label: str, pin: str) -> Hsm:
    """Keys on the (initialised, empty) token `token_label`, made through the PKCS #11 API."""
    import PyKCS11 as P

    lib = P.PyKCS11Lib().load(module)
    slot = next(
        s for s in lib.getSlotList(tokenPresent=True) if lib.getTokenInfo(s).label.strip() == token_label
    )
    session = lib.openSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION)
    session.login(pin)
    public: dict[str, Path] = {}
    for key_id, (label, params) in enumerate(EC_PARAMS.items(), start=1):
        common = [(P.CKA_TOKEN, True), (P.CKA_LABEL, label), (P.CKA_ID, (key_id,))]
        pub, _ = session.generateKeyPair(
            [(P.CKA_CLASS, P.CKO_PUBLIC_KEY), (P.CKA_KEY_TYPE, P.CKK_EC), (P.CKA_VERIFY, True),
             (P.CKA_EC_PARAMS, bytes.fromhex(params)), *common],
            [(P.CKA_CLASS, P.CKO_PRIVATE_KEY), (P.CKA_KEY_TYPE, P.CKK_EC), (P.CKA_SIGN, True),
             (P.CKA_PRIVATE, True), (P.CKA_SENSITIVE, True), *common],
            mecha=P.Mechanism(P.CKM_EC_KEY_PAIR_GEN),
        )  # fmt: skip
        point = bytes(session.getAttributeValue(pub, [P.CKA_EC_POINT])[0])
        curve = ec.SECP256R1() if label == "p256" else ec.SECP384R1()
        key = ec.EllipticCurvePublicKey.from_encoded_point(curve, point[2:])  # DER OCTET STRING, short form
        public[label] = directory / f"{label}.pub"
        public[label].write_bytes(
            key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    rsa = [(P.CKA_TOKEN, True), (P.CKA_LABEL, "rsa"), (P.CKA_ID, (9,))]
    session.generateKeyPair(
        [(P.CKA_CLASS, P.CKO_PUBLIC_KEY), (P.CKA_KEY_TYPE, P.CKK_RSA), (P.CKA_VERIFY, True),
         (P.CKA_MODULUS_BITS, 2048), (P.CKA_PUBLIC_EXPONENT, (1, 0, 1)), *rsa],
        [(P.CKA_CLASS, P.CKO_PRIVATE_KEY), (P.CKA_KEY_TYPE, P.CKK_RSA), (P.CKA_SIGN, True),
         (P.CKA_PRIVATE, True), (P.CKA_SENSITIVE, True), *rsa],
        mecha=P.Mechanism(P.CKM_RSA_PKCS_KEY_PAIR_GEN),
    )  # fmt: skip
    session.logout()
    session.closeSession()

    ca_key = ec.generate_private_key(ec.SECP384R1())
    root = make_cert("hsm-test-root", ca_key.public_key(), "hsm-test-root", ca_key, ca=True)
    hsm_key = serialization.load_pem_public_key(public["p256"].read_bytes())
    assert isinstance(hsm_key, ec.EllipticCurvePublicKey)
    leaf = make_cert("hsm-signer", hsm_key, "hsm-test-root", ca_key, ca=False)
    return Hsm(
        module=module,
        label=token_label,
        pin=pin,
        public=public,
        leaf=write_pem(directory / "hsm-leaf.pem", leaf),
        root=write_pem(directory / "hsm-root.pem", root),
    )


@dataclass(frozen=True)
class Kms:
    endpoint: str
    region: str
    public: dict[str, Path]  # alias name → the key's public key (PEM), as GetPublicKey gives it
    arns: dict[str, str]

    def uri(self, alias: str) -> str:
        return f"awskms:///alias/{alias}"


KMS_KEYS = {
    "p256": ("ECC_NIST_P256", "SIGN_VERIFY"),
    "p384": ("ECC_NIST_P384", "SIGN_VERIFY"),
    "rsa": ("RSA_2048", "SIGN_VERIFY"),
    "disabled": ("ECC_NIST_P256", "SIGN_VERIFY"),
    "symmetric": ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
}


def make_kms_keys(endpoint: str, region: str, directory: Path) -> Kms:
    import boto3

    client = boto3.client(
        "kms",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    public: dict[str, Path] = {}
    arns: dict[str, str] = {}
    for alias, (spec, usage) in KMS_KEYS.items():
        meta = client.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
        client.create_alias(AliasName=f"alias/{alias}", TargetKeyId=meta["KeyId"])
        arns[alias] = meta["Arn"]
        if usage == "SIGN_VERIFY":
            der = client.get_public_key(KeyId=meta["KeyId"])["PublicKey"]
            key = serialization.load_der_public_key(der)
            public[alias] = directory / f"{alias}.pub"
            public[alias].write_bytes(
                key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            )
        if alias == "disabled":
            client.disable_key(KeyId=meta["KeyId"])
    return Kms(endpoint, region, public, arns)


def teach_moto_digest_signing() -> None:
    """moto's KMS treats Sign with MessageType=DIGEST like RAW (it hashes the digest again, see
    its `sign` docstring), so no client that signs a precomputed digest, as aisbom and cosign
    do, gets a valid signature from it. AWS KMS signs the digest as given; this makes the
    in-process server do the same, for ECDSA keys, and leaves everything else to moto."""
    from moto.kms.responses import KmsResponse

    if getattr(KmsResponse.sign, "_aisbom_digest", False):
        return
    moto_sign = KmsResponse.sign
    hashes_by_algorithm = {"ECDSA_SHA_256": "sha256", "ECDSA_SHA_384": "sha384", "ECDSA_SHA_512": "sha512"}

    def sign(self: Any) -> str:
        algorithm = self._get_param("SigningAlgorithm")
        if self._get_param("MessageType") != "DIGEST" or algorithm not in hashes_by_algorithm:
            return str(moto_sign(self))
        key = self.kms_backend.describe_key(self._get_param("KeyId"))
        if key.key_state != "Enabled":  # as AWS answers; moto would sign with a disabled key
            from moto.core.exceptions import JsonRESTError

            raise JsonRESTError("DisabledException", f"{key.arn} is disabled.")
        digest = self._get_param("Message")  # moto's _get_param has decoded the base64
        hash_name = hashes_by_algorithm[algorithm]
        if len(digest) != hashlib.new(hash_name).digest_size:
            return str(moto_sign(self))
        from cryptography.hazmat.primitives import hashes

        algo = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}[hash_name]()
        signature = key.private_key.private_key.sign(digest, ec.ECDSA(Prehashed(algo)))
        return json.dumps(
            {
                "KeyId": key.arn,
                "Signature": base64.b64encode(signature).decode(),
                "SigningAlgorithm": algorithm,
            }
        )

    sign._aisbom_digest = True  # type: ignore[attr-defined]
    KmsResponse.sign = sign  # type: ignore[method-assign]
