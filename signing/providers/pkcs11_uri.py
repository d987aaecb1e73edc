"""PKCS #11 URIs (RFC 7512): `pkcs11:token=…;object=…;id=%01?module-path=…&pin-value=…`."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from aisbom.signing.errors import KeyMaterialError

SCHEME = "pkcs11:"
# Attributes aisbom reads; RFC 7512 defines more (library-*, slot-description …), which are
# accepted and ignored, as the RFC asks of attributes a consumer does not use.
PATH_ATTRIBUTES = ("token", "manufacturer", "model", "serial", "slot-id", "object", "id", "type")
QUERY_ATTRIBUTES = ("module-path", "module-name", "pin-value", "pin-source")


@dataclass(frozen=True)
class Pkcs11Uri:
    """The attributes of a PKCS #11 URI, percent-decoded (`id` stays bytes, the rest text)."""

    text: str
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    key_id: bytes | None = None

    @property
    def redacted(self) -> str:
        """The URI for messages: a PIN given in it is not repeated."""
        if "pin-value" not in self.query:
            return self.text
        head, _, tail = self.text.partition("?")
        parts = ["pin-value=***" if p.startswith("pin-value=") else p for p in tail.split("&")]
        return head + "?" + "&".join(parts)


def parse_pkcs11_uri(text: str) -> Pkcs11Uri:
    if not text.startswith(SCHEME):
        raise KeyMaterialError(f"not a PKCS #11 URI (must start with {SCHEME!r}): {text!r}")
    body = text[len(SCHEME) :]
    path_part, _, query_part = body.partition("?")
    path = _attributes(path_part, ";", text)
    query = _attributes(query_part, "&", text)
    raw_id = path.pop("id", None)
    decoded = {k: _text(v, k, text) for k, v in path.items()}
    decoded_query = {k: _text(v, k, text) for k, v in query.items()}
    if "pin-value" in decoded_query and "pin-source" in decoded_query:
        raise KeyMaterialError("a PKCS #11 URI gives either pin-value or pin-source, not both")
    if "object" not in decoded and raw_id is None:
        raise KeyMaterialError(f"the PKCS #11 URI names no key: add object=LABEL or id=%XX ({text})")
    kind = decoded.get("type")
    if kind is not None and kind != "private":
        raise KeyMaterialError(f"the PKCS #11 URI names a {kind!r} object; signing needs type=private")
    return Pkcs11Uri(text, decoded, decoded_query, raw_id)


def _attributes(part: str, separator: str, text: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for item in filter(None, part.split(separator)):
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise KeyMaterialError(f"malformed PKCS #11 URI attribute {item!r} in {text!r}")
        if name in out:
            raise KeyMaterialError(f"PKCS #11 URI attribute {name!r} is given twice")
        out[name] = unquote_to_bytes(value)
    return out


def _text(value: bytes, name: str, text: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyMaterialError(f"PKCS #11 URI attribute {name!r} is not UTF-8 text") from None
