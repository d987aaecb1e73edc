"""The syntax of IRIs (RFC 3987), for the schema's "iri" and "iri-reference" formats.

jsonschema checks these two formats with the `rfc3987_syntax` package when it is installed, which
builds 38 Lark grammars as it is imported: 3 s of CPU, more than hashing a gigabyte, paid by every
`bom` and `verify --bom`. `use_for_jsonschema` keeps jsonschema from importing it and checks the
two formats with the regular expressions below instead, written from the RFC's ABNF.
"""

from __future__ import annotations

import functools
import re
import sys

_UCSCHAR = (
    "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
    "\U00010000-\U0001fffd\U00020000-\U0002fffd\U00030000-\U0003fffd\U00040000-\U0004fffd"
    "\U00050000-\U0005fffd\U00060000-\U0006fffd\U00070000-\U0007fffd\U00080000-\U0008fffd"
    "\U00090000-\U0009fffd\U000a0000-\U000afffd\U000b0000-\U000bfffd\U000c0000-\U000cfffd"
    "\U000d0000-\U000dfffd\U000e1000-\U000efffd"
)
_IPRIVATE = "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"


def _grammar(ucschar: str, iprivate: str) -> tuple[str, str]:
    """The expressions of an IRI and of an IRI reference, with these non-ASCII classes."""
    _IUNRESERVED = f"A-Za-z0-9\\-._~{ucschar}"
    _SUB_DELIMS = "!$&'()*+,;="
    _PCT = "%[0-9A-Fa-f]{2}"
    _IPCHAR = f"(?:[{_IUNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
    _SEGMENT_NZ_NC = f"(?:[{_IUNRESERVED}{_SUB_DELIMS}@]|{_PCT})+"
    _IQUERY = f"(?:{_IPCHAR}|[{iprivate}/?])*"
    _IFRAGMENT = f"(?:{_IPCHAR}|[/?])*"
    _DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    _IPV4 = f"{_DEC_OCTET}(?:\\.{_DEC_OCTET}){{3}}"
    _H16 = "[0-9A-Fa-f]{1,4}"
    _LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"
    _IPV6 = "|".join(
        (
            f"(?:{_H16}:){{6}}{_LS32}",
            f"::(?:{_H16}:){{5}}{_LS32}",
            f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
            f"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
            f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
            f"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
            f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
            f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
            f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
        )
    )
    _IP_LITERAL = f"\\[(?:{_IPV6}|[vV][0-9A-Fa-f]+\\.[A-Za-z0-9\\-._~{_SUB_DELIMS}:]+)\\]"
    _IREG_NAME = f"(?:[{_IUNRESERVED}{_SUB_DELIMS}]|{_PCT})*"
    _IUSERINFO = f"(?:[{_IUNRESERVED}{_SUB_DELIMS}:]|{_PCT})*"
    _IAUTHORITY = f"(?:{_IUSERINFO}@)?(?:{_IP_LITERAL}|{_IPV4}|{_IREG_NAME})(?::[0-9]*)?"
    _ABEMPTY = f"(?:/{_IPCHAR}*)*"
    _ABSOLUTE = f"/(?:{_IPCHAR}+(?:/{_IPCHAR}*)*)?"
    _ROOTLESS = f"{_IPCHAR}+(?:/{_IPCHAR}*)*"
    _NOSCHEME = f"{_SEGMENT_NZ_NC}(?:/{_IPCHAR}*)*"
    _HIER = f"(?://{_IAUTHORITY}{_ABEMPTY}|{_ABSOLUTE}|{_ROOTLESS}|)"
    _RELATIVE = f"(?://{_IAUTHORITY}{_ABEMPTY}|{_ABSOLUTE}|{_NOSCHEME}|)"
    _TAIL = f"(?:\\?{_IQUERY})?(?:#{_IFRAGMENT})?"
    _IRI = f"[A-Za-z][A-Za-z0-9+\\-.]*:{_HIER}{_TAIL}"
    _IRELATIVE_REF = f"{_RELATIVE}{_TAIL}"
    return _IRI, _IRELATIVE_REF


# The whole grammar, and the grammar of ASCII text: to text without a character over U+007F, the
# classes of non-ASCII characters can match nothing, so both say the same of it, and the ASCII
# one compiles in 8 ms rather than 55 (a BOM's IRIs are nearly always ASCII: `bom --sign-model`
# writes one, the signature's path).
_FULL = _grammar(_UCSCHAR, _IPRIVATE)
_ASCII = _grammar("", "")


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # On first use, not at import: the Unicode classes take 0.05 s of CPU to compile, and most
    # BOMs hold no IRI that the schema checks.
    return re.compile(pattern)


def is_iri(text: str) -> bool:
    iri, _ = _ASCII if text.isascii() else _FULL
    return _compiled(iri).fullmatch(text) is not None


def is_iri_reference(text: str) -> bool:
    _, relative = _ASCII if text.isascii() else _FULL
    return is_iri(text) or _compiled(relative).fullmatch(text) is not None


# jsonschema checks these formats with these packages when they are installed; the CycloneDX
# schemas (bom-1.6, bom-1.7, spdx, jsf-0.82, cryptography-defs) use none of the formats: their
# formats are date-time, date, iri-reference, idn-email and uri.
_UNUSED_FORMAT_PACKAGES = (
    "fqdn",  # hostname
    "idna",  # idn-hostname
    "isoduration",  # duration (it imports arrow)
    "jsonpointer",  # json-pointer, relative-json-pointer
    "uri_template",  # uri-template
    "webcolors",  # color
)


def use_for_jsonschema() -> None:
    """Before jsonschema is first imported: check "iri" and "iri-reference" here rather than
    with rfc3987_syntax. Once jsonschema is imported, its checkers stay as they are."""
    if "jsonschema" in sys.modules:
        return
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # an ImportError
    # Nor the packages of formats no CycloneDX schema uses (45 ms of CPU, arrow the most): for
    # the time of the import only, so that whoever needs them later (idna) still has them.
    blocked = [name for name in _UNUSED_FORMAT_PACKAGES if name not in sys.modules]
    # rfc3986_validator compiles its expressions as it is imported (15 ms), for the one "uri" of
    # jsf-0.82 (a BOM's JSF signature): imported on first use instead, checking the same.
    lazy_uri = "rfc3986_validator" not in sys.modules and _installed("rfc3986_validator")
    lazy_uri = lazy_uri and not _installed("rfc3987")  # (which jsonschema would prefer)
    if lazy_uri:
        blocked.append("rfc3986_validator")
    sys.modules.update(dict.fromkeys(blocked))  # type: ignore[arg-type]  # None: an ImportError
    try:
        import jsonschema
    finally:
        for name in blocked:
            if sys.modules.get(name, True) is None:
                del sys.modules[name]

    for validator in (
        jsonschema.Draft7Validator,
        jsonschema.Draft201909Validator,
        jsonschema.Draft202012Validator,
    ):
        checker = validator.FORMAT_CHECKER
        for name, check in (("iri", is_iri), ("iri-reference", is_iri_reference)):
            checker.checks(name)(lambda value, check=check: not isinstance(value, str) or check(value))
        if lazy_uri:  # as jsonschema._format registers them with rfc3986_validator
            checker.checks("uri")(functools.partial(_rfc3986, rule="URI"))
            checker.checks("uri-reference", raises=ValueError)(
                functools.partial(_rfc3986, rule="URI_reference")
            )


def _installed(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _rfc3986(value: object, *, rule: str) -> bool:
    if not isinstance(value, str):
        return True
    from rfc3986_validator import validate_rfc3986

    return bool(validate_rfc3986(value, rule=rule))
