"""A key on a hardware token or HSM, reached through its PKCS #11 module (PyKCS11).

The token computes the ECDSA signature over a digest made here (CKM_ECDSA), as model_signing
does, so the bundle is the same as for a key file. Every failure of the module — missing or
unloadable, no matching token or key, wrong PIN, a refused signature — is one KeyMaterialError.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from aisbom.signing.errors import KeyMaterialError
from aisbom.signing.providers.base import SUPPORTED_KEYS, der_from_raw
from aisbom.signing.providers.password import Password
from aisbom.signing.providers.pkcs11_uri import Pkcs11Uri, parse_pkcs11_uri

# Where module-name=NAME is looked for (p11-kit's directories on Debian, Fedora, Arch).
MODULE_DIRS = ("/usr/lib/x86_64-linux-gnu/pkcs11", "/usr/lib64/pkcs11", "/usr/lib/pkcs11")
# DER of the curve OIDs a token reports in CKA_EC_PARAMS.
_CURVES: dict[bytes, ec.EllipticCurve] = {
    bytes.fromhex("06082a8648ce3d030107"): ec.SECP256R1(),
    bytes.fromhex("06052b81040022"): ec.SECP384R1(),
    bytes.fromhex("06052b81040023"): ec.SECP521R1(),
}


def _pykcs11() -> Any:
    try:
        import PyKCS11
    except ImportError:
        raise KeyMaterialError("PKCS #11 signing needs PyKCS11: pip install 'aisbom[pkcs11]'") from None
    return PyKCS11


def module_path(uri: Pkcs11Uri) -> str:
    if "module-path" in uri.query:
        path = uri.query["module-path"]
    elif "module-name" in uri.query:
        name = uri.query["module-name"]
        if "/" in name:
            raise KeyMaterialError(f"module-name {name!r} must be a bare name (use module-path)")
        candidates = [os.path.join(d, f"{name}.so") for d in MODULE_DIRS]
        path = next((c for c in candidates if os.path.isfile(c)), "")
        if not path:
            raise KeyMaterialError(f"PKCS #11 module {name!r} not found in {', '.join(MODULE_DIRS)}")
    else:
        raise KeyMaterialError(
            f"the PKCS #11 URI names no module: add ?module-path=/path/to/module.so ({uri.redacted})"
        )
    if not os.path.isfile(path):
        raise KeyMaterialError("PKCS #11 module not found", path=path)
    return path


def _pin_from_uri(uri: Pkcs11Uri) -> bytes | None:
    if "pin-value" in uri.query:
        return uri.query["pin-value"].encode()
    source = uri.query.get("pin-source")
    if source is None:
        return None
    path = source.removeprefix("file:")
    try:
        return Path(path).read_bytes().split(b"\n", 1)[0].removesuffix(b"\r")
    except OSError as exc:
        raise KeyMaterialError(
            f"cannot read the PIN (pin-source): {exc.strerror or exc}", path=path
        ) from None


def _error(exc: Exception) -> str:
    """PyKCS11Error's text is the CKR_ name and its code; keep the name."""
    return str(exc).strip().split(" (0x")[0] or type(exc).__name__


class Pkcs11KeyProvider:
    """The private key the URI names, with its public key read from the token."""

    def __init__(self, uri_text: str, password: Password | None = None) -> None:
        password = password or Password()
        self._uri = parse_pkcs11_uri(uri_text)
        self._pkcs11 = _pykcs11()
        path = module_path(self._uri)
        lib = self._pkcs11.PyKCS11Lib()
        try:
            lib.load(path)
        except Exception as exc:  # PyKCS11Error, or OSError from dlopen
            raise KeyMaterialError(f"cannot load the PKCS #11 module: {_error(exc)}", path=path) from None
        self._lib = lib  # keeps the module loaded while the provider lives
        self._slot, self._label, needs_login = self._find_token(lib)
        self._pin = self._read_pin(password) if needs_login else None
        # Everything is checked now, before the model is hashed: the PIN, the key, its type.
        with self._logged_in() as session:
            self._find_private_key(session)
            self._public_key = self._read_public_key(session)
        self.description = (
            f"PKCS #11 key {self._uri.path.get('object') or self._uri.key_id!r} on token {self._label!r}"
        )

    def _read_pin(self, password: Password) -> bytes:
        return _pin_from_uri(self._uri) or password.require(f"PIN for token {self._label!r}")

    def _find_token(self, lib: Any) -> tuple[int, str, bool]:
        p = self._pkcs11
        try:
            slots = lib.getSlotList(tokenPresent=True)
            matching = [(s, lib.getTokenInfo(s)) for s in slots]
        except p.PyKCS11Error as exc:
            raise KeyMaterialError(f"PKCS #11 module failed: {_error(exc)}") from None
        matching = [(s, info) for s, info in matching if self._token_matches(s, info)]
        if not matching:
            raise KeyMaterialError(f"no PKCS #11 token matches {self._uri.redacted}")
        if len(matching) > 1:
            raise KeyMaterialError(f"{len(matching)} PKCS #11 tokens match: name one with token=LABEL")
        slot, info = matching[0]
        return slot, info.label.strip(), bool(info.flags & p.CKF_LOGIN_REQUIRED)

    @contextmanager
    def _logged_in(self) -> Iterator[Any]:
        """A session on the token, logged in for as long as it is used, then logged out and
        closed, so no login outlives the signature."""
        p = self._pkcs11
        label = self._label
        try:
            session = self._lib.openSession(self._slot, p.CKF_SERIAL_SESSION)
        except p.PyKCS11Error as exc:
            raise KeyMaterialError(f"cannot open a session on token {label!r}: {_error(exc)}") from None
        logged_in = False
        try:
            if self._pin is not None:
                try:
                    session.login(self._pin.decode("utf-8", "surrogateescape"))
                    logged_in = True
                except p.PyKCS11Error as exc:
                    reason = _error(exc)
                    if any(code in reason for code in ("PIN_INCORRECT", "PIN_INVALID", "PIN_LEN_RANGE")):
                        raise KeyMaterialError(f"wrong PIN for token {label!r}") from None
                    if "ALREADY_LOGGED_IN" not in reason:  # another session of this process did
                        raise KeyMaterialError(f"cannot log in to token {label!r}: {reason}") from None
            yield session
        finally:
            with suppress(p.PyKCS11Error):
                if logged_in:
                    session.logout()
                session.closeSession()

    def _token_matches(self, slot: int, info: Any) -> bool:
        wanted = self._uri.path
        fields = {
            "token": info.label,
            "manufacturer": info.manufacturerID,
            "model": info.model,
            "serial": info.serialNumber,
        }
        for name, value in fields.items():
            if name in wanted and wanted[name] != str(value).strip():
                return False
        return "slot-id" not in wanted or wanted["slot-id"] == str(slot)

    def _template(self, object_class: int) -> list[tuple[int, Any]]:
        p = self._pkcs11
        template: list[tuple[int, Any]] = [(p.CKA_CLASS, object_class)]
        if "object" in self._uri.path:
            template.append((p.CKA_LABEL, self._uri.path["object"]))
        if self._uri.key_id is not None:
            template.append((p.CKA_ID, tuple(self._uri.key_id)))
        return template

    def _find(self, session: Any, object_class: int, what: str) -> Any:
        try:
            found = session.findObjects(self._template(object_class))
        except self._pkcs11.PyKCS11Error as exc:
            raise KeyMaterialError(f"cannot search the token: {_error(exc)}") from None
        if not found:
            raise KeyMaterialError(f"no {what} on the token matches {self._uri.redacted}")
        if len(found) > 1:
            raise KeyMaterialError(f"{len(found)} {what}s match {self._uri.redacted}: add id= or object=")
        return found[0]

    def _find_private_key(self, session: Any) -> Any:
        p = self._pkcs11
        key = self._find(session, p.CKO_PRIVATE_KEY, "private key")
        (key_type,) = session.getAttributeValue(key, [p.CKA_KEY_TYPE])
        if key_type != p.CKK_EC:
            name = p.CKK.get(key_type, key_type)
            raise KeyMaterialError(f"unsupported key type {name} on the token ({SUPPORTED_KEYS} only)")
        return key

    def _read_public_key(self, session: Any) -> ec.EllipticCurvePublicKey:
        p = self._pkcs11
        public = self._find(session, p.CKO_PUBLIC_KEY, "public key")
        try:
            params, point = session.getAttributeValue(public, [p.CKA_EC_PARAMS, p.CKA_EC_POINT])
        except p.PyKCS11Error as exc:
            raise KeyMaterialError(f"cannot read the public key from the token: {_error(exc)}") from None
        curve = _CURVES.get(bytes(params or b""))
        if curve is None:
            raise KeyMaterialError(f"unsupported curve on the token ({SUPPORTED_KEYS} only)")
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, _unwrap_point(bytes(point), curve))
        except ValueError:
            raise KeyMaterialError("the token's public key is not a valid EC point") from None

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public_key

    def sign_digest(self, digest: bytes) -> bytes:
        p = self._pkcs11
        with self._logged_in() as session:
            key = self._find_private_key(session)
            try:
                raw = session.sign(key, digest, p.Mechanism(p.CKM_ECDSA, None))
            except p.PyKCS11Error as exc:
                raise KeyMaterialError(f"the token refused to sign: {_error(exc)}") from None
        try:
            return der_from_raw(bytes(raw))
        except ValueError as exc:
            raise KeyMaterialError(f"the token returned a malformed signature: {exc}") from None


def _unwrap_point(data: bytes, curve: ec.EllipticCurve) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING around the point; some tokens return the bare point."""
    bare = 1 + 2 * ((curve.key_size + 7) // 8)
    if len(data) == bare:
        return data
    if len(data) < 2 or data[0] != 0x04:
        raise ValueError("not an OCTET STRING")
    length, offset = data[1], 2
    if length & 0x80:
        n = length & 0x7F
        length, offset = int.from_bytes(data[2 : 2 + n], "big"), 2 + n
    if offset + length != len(data):
        raise ValueError("OCTET STRING length does not match")
    return data[offset:]
